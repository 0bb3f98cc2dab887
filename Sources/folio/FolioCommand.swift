import ArgumentParser
import FolioModel
import FolioStore
import FolioProtocol
import Foundation

/// `folio`: the admin CLI for a Folio article store.
struct FolioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folio",
        abstract: "Keep, inspect and sync an offline-first archive of news articles.",
        discussion: """
            Every subcommand takes --data DIR (or the FOLIO_DATA environment variable) to pick \
            the store; the default is $XDG_DATA_HOME/folio or ~/.local/share/folio.
            Data goes to stdout (--json for machine-readable output); messages and progress \
            go to stderr.

            Exit codes: 0 ok, 1 not found or conflict, 2 usage error, 3 failure, \
            4 some input records were rejected.

            Examples:
              folio init --data ./archive
              folio import --data ./archive ~/scraped/
              folio ls --data ./archive --limit 20
              folio get --data ./archive panarmenian-net/russia-confirms-start --json
              folio serve --data ./archive --listen 127.0.0.1:7070
              folio search port strike --data ./archive
              folio ls --remote 127.0.0.1:7070
            """,
        version: FolioVersion.string,
        subcommands: [
            Init.self, Put.self, Get.self, Remove.self, Purge.self, List.self, Import.self, Export.self, Stats.self,
            Conflicts.self, Resolve.self, Changes.self, Search.self, Reindex.self, Backup.self, Verify.self, Collect.self, Serve.self, Sync.self, Peers.self, Ping.self, Keygen.self,
        ]
    )
}

enum FolioVersion {
    /// What `folio --version` prints: the release, and the formats it speaks.
    static var string: String {
        "0.1.0 (protocol versions \(Hello.supportedVersions.map(String.init).joined(separator: ", ")), storage format \(Store.storageFormat))"
    }
}

@main
enum FolioMain {
    static func main() async {
        Terminal.sanitizeStandardDescriptors()
        do {
            var command = try FolioCommand.parseAsRoot(Search.arrangingQuery(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Terminal.exit(with: error)
        }
    }
}
