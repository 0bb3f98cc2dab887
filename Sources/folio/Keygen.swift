import ArgumentParser
import FolioProtocol

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a new random 256-bit mesh key (hex) for --key-file.",
        discussion: """
            Every node and client of a mesh uses the same key; nodes started with it require \
            mutual HMAC-SHA256 challenge–response authentication. Keep the file private.

            Examples:
              folio keygen > mesh.key && chmod 600 mesh.key
              folio serve --key-file mesh.key --listen 0.0.0.0:7070
            """)

    func run() throws {
        Terminal.out(SharedKey.generateHex())
    }
}
