import FolioModel
import FolioStore
import Foundation
import XCTest

/// `folio serve` as a process, and the CLI's remote mode against it.
final class ServeTests: XCTestCase {
    func serve(_ data: String, _ extra: [String] = []) throws -> (Process, String, Pipe) {
        try startServe(self, data, extra)
    }

    func testRemoteModeGivesTheSameOutputAndExitCodesAsLocal() throws {
        let data = temporaryDirectory(self) + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["import", CLI.samples, "--data", data]).code, 0)
        let localLs = try CLI.run(["ls", "--data", data])
        let localGet = try CLI.run(["get", "world/2026-11-23-tokyo-exhibit", "--data", data])
        let localJSON = try CLI.run(["get", "world/2026-11-23-tokyo-exhibit", "--json", "--data", data])

        let (server, address, _) = try serve(data)
        XCTAssertTrue(address.hasPrefix("127.0.0.1:"), address)
        XCTAssertEqual(try CLI.run(["ls", "--remote", address]).stdout, localLs.stdout)
        XCTAssertEqual(try CLI.run(["get", "world/2026-11-23-tokyo-exhibit", "--remote", address]).stdout, localGet.stdout)
        XCTAssertEqual(try CLI.run(["get", "world/2026-11-23-tokyo-exhibit", "--json", "--remote", address]).stdout, localJSON.stdout)
        XCTAssertEqual(try CLI.run(["get", "nope", "--remote", address]).code, 1)
        XCTAssertEqual(try CLI.run(["ls", "--remote", address, "--limit", "3"]).stdout.split(separator: "\n").count, 3)

        let put = try CLI.run(["put", "notes/remote", "--title", "Over the wire", "--body-file", "-", "--remote", address], stdin: "hello")
        XCTAssertEqual(put.code, 0, put.stderr)
        XCTAssertTrue(put.stdout.hasPrefix("added\tnotes/remote\t"))
        let edit = try CLI.run(["put", "notes/remote", "--tag", "x", "--remote", address])
        XCTAssertTrue(edit.stdout.hasPrefix("updated\t"), edit.stdout)
        let g = try CLI.run(["get", "notes/remote", "--json", "--remote", address]).stdout
        XCTAssertTrue(g.contains("\"title\":\"Over the wire\"") && g.contains("\"tags\":[\"x\"]") && g.contains("\"body\":\"hello\""), g)
        XCTAssertEqual(try CLI.run(["put", "bad", "--published", "soon", "--remote", address]).code, 4)
        XCTAssertEqual(try CLI.run(["rm", "notes/remote", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["rm", "notes/remote", "--remote", address]).code, 1)
        let stats = try CLI.run(["stats", "--json", "--remote", address])
        XCTAssertTrue(stats.stdout.contains("\"live\":9"), stats.stdout)
        XCTAssertEqual(try CLI.run(["ls", "--remote", "127.0.0.1:1"]).code, 3)
        XCTAssertEqual(try CLI.run(["ls", "--remote", address, "--data", data]).code, 2)

        // SIGTERM: graceful stop, exit 0, store closed cleanly.
        server.terminate()
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0)
        XCTAssertEqual(try CLI.run(["verify", "--data", data]).code, 0)
    }

    /// Two processes on one store: a node runs while another process (here this test, keeping
    /// no search index, as a library user may) writes an article. The node's index no longer
    /// holds every article, so its writes refuse — exit 3, the message says to restart it —
    /// instead of going on with an index that misses one; restarted, it rebuilds the index
    /// and finds that article too.
    func testANodeRefusesWritesAfterAnotherProcessLeftItsIndexStale() throws {
        let data = temporaryDirectory(self) + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        XCTAssertEqual(try CLI.run(["import", CLI.samples, "--data", data]).code, 0)
        var (server, address, _) = try serve(data)
        XCTAssertEqual(try CLI.run(["put", "n/1", "--title", "harbour one", "--remote", address]).code, 0)
        var o = Store.Options()
        o.maintainSearchIndex = false
        let other = try Store.open(at: data, options: o)
        try other.write { try $0.put(Article(id: "n/2", title: "harbour two")) }
        other.close()
        let refused = try CLI.run(["put", "n/3", "--title", "harbour three", "--remote", address])
        XCTAssertEqual(refused.code, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("restart the node"), refused.stderr)
        XCTAssertEqual(try CLI.run(["get", "n/3", "--remote", address]).code, 1)
        server.terminate()
        server.waitUntilExit()
        (server, address, _) = try serve(data)
        defer { server.terminate(); server.waitUntilExit() }
        XCTAssertEqual(try CLI.run(["put", "n/3", "--title", "harbour three", "--remote", address]).code, 0)
        let found = try CLI.run(["search", "harbour", "--json", "--remote", address])
        for id in ["n/1", "n/2", "n/3"] { XCTAssertTrue(found.stdout.contains("\"id\":\"\(id)\""), found.stdout) }
        XCTAssertEqual(try CLI.run(["verify", "--data", data]).code, 0)
    }

    func testKeyFileRequiresAuthenticationAndNonLoopbackNeedsOne() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        let key = try CLI.run(["keygen"]).stdout
        XCTAssertEqual(key.trimmingCharacters(in: .newlines).count, 64)
        writeFile(dir + "/mesh.key", key)
        writeFile(dir + "/other.key", try CLI.run(["keygen"]).stdout)
        let (server, address, _) = try serve(data, ["--key-file", dir + "/mesh.key"])
        XCTAssertEqual(try CLI.run(["put", "k", "--title", "t", "--remote", address, "--key-file", dir + "/mesh.key"]).code, 0)
        let noKey = try CLI.run(["ls", "--remote", address])
        XCTAssertEqual(noKey.code, 3)
        XCTAssertTrue(noKey.stderr.contains("unauthorized"), noKey.stderr)
        XCTAssertEqual(try CLI.run(["ls", "--remote", address, "--key-file", dir + "/other.key"]).code, 3)
        server.terminate()
        server.waitUntilExit()

        let refused = try CLI.run(["serve", "--data", data, "--listen", "0.0.0.0:0"])
        XCTAssertEqual(refused.code, 2)
        XCTAssertTrue(refused.stderr.contains("--key-file") && refused.stderr.contains("loopback only"), refused.stderr)
    }

    func testTwoKeysDuringARotationAndTLSFlagsAreChecked() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        for name in ["old", "new", "third"] { writeFile(dir + "/\(name).key", try CLI.run(["keygen"]).stdout) }
        let (server, address, _) = try serve(data, ["--key-file", dir + "/new.key", "--key-file", dir + "/old.key"])
        for name in ["old", "new"] {
            let r = try CLI.run(["put", "k/\(name)", "--title", name, "--remote", address, "--key-file", dir + "/\(name).key"])
            XCTAssertEqual(r.code, 0, r.stderr)
        }
        let stranger = try CLI.run(["ls", "--remote", address, "--key-file", dir + "/third.key"])
        XCTAssertEqual(stranger.code, 3)
        XCTAssertTrue(stranger.stderr.contains("unauthorized"), stranger.stderr)
        server.terminate()
        server.waitUntilExit()

        let three = try CLI.run(["serve", "--data", data, "--key-file", dir + "/old.key", "--key-file", dir + "/new.key", "--key-file", dir + "/third.key"])
        XCTAssertEqual(three.code, 2, three.stderr)
        XCTAssertTrue(three.stderr.contains("at most two"), three.stderr)
        let half = try CLI.run(["serve", "--data", data, "--tls-cert", dir + "/old.key"])
        XCTAssertEqual(half.code, 2, half.stderr)
        XCTAssertTrue(half.stderr.contains("--tls-cert and --tls-key go together"), half.stderr)
        let notPEM = try CLI.run(["serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", dir + "/old.key", "--tls-key", dir + "/old.key"])
        XCTAssertEqual(notPEM.code, 2, notPEM.stderr)
        XCTAssertTrue(notPEM.stderr.contains("no PEM certificate"), notPEM.stderr)
        let localWithTLS = try CLI.run(["ls", "--data", data, "--key-file", dir + "/old.key"])
        XCTAssertEqual(localWithTLS.code, 2, localWithTLS.stderr)
    }

    func testPingChecksANodeForScriptsAndVersionNamesTheFormats() throws {
        let dir = temporaryDirectory(self)
        let data = dir + "/store"
        XCTAssertEqual(try CLI.run(["init", "--data", data]).code, 0)
        writeFile(dir + "/mesh.key", try CLI.run(["keygen"]).stdout)
        let (server, address, _) = try serve(data, ["--key-file", dir + "/mesh.key"])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let ok = try CLI.run(["ping", address, "--key-file", dir + "/mesh.key"])
        XCTAssertEqual(ok.code, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("round trip") && ok.stdout.contains("TLS"), ok.stdout)
        let json = try CLI.run(["ping", address, "--key-file", dir + "/mesh.key", "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertNotNil(report["rtt_ms"] as? Double)
        XCTAssertEqual(report["tls"] as? Bool, true)
        let noKey = try CLI.run(["ping", address])
        XCTAssertEqual(noKey.code, 3)
        XCTAssertTrue(noKey.stderr.contains("requires TLS"), noKey.stderr)
        // A port nobody listens on: one readable line, exit 3.
        let closed = try CLI.run(["ping", "127.0.0.1:1", "--timeout", "2"])
        XCTAssertEqual(closed.code, 3)
        XCTAssertEqual(closed.stderr.split(separator: "\n").count, 1, closed.stderr)
        XCTAssertEqual(try CLI.run(["ping", "no:port:here"]).code, 2)

        let version = try CLI.run(["--version"]).stdout
        XCTAssertTrue(version.contains("protocol versions 2") && version.contains("storage format 5"), version)
    }
}
