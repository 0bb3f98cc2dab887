import Foundation
import XCTest

/// Filtered syncs, remote administration of a hub, and a change followed across a mesh, all
/// through the `folio` binary against real nodes.
final class ReplicationCLITests: XCTestCase {
    func json(_ r: CLIResult) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout + r.stderr)
    }

    func lines(_ r: CLIResult) -> [String] { r.stdout.split(separator: "\n").map(String.init) }

    /// `import --remote` writes an article whose text differs only in normalization (é
    /// precomposed, then e + U+0301): the node holds the new bytes, as a local import would.
    func testImportRemoteCallsUnchangedOnlyTheSameBytes() throws {
        let dir = temporaryDirectory(self)
        let hub = dir + "/hub"
        XCTAssertEqual(try CLI.run(["init", "--data", hub]).code, 0)
        let (_, address, _) = try startServe(self, hub)
        writeFile(dir + "/b1.jsonl", #"{"id":"n/1","title":"t","body":"Caf\u00e9"}"# + "\n")
        writeFile(dir + "/b2.jsonl", #"{"id":"n/1","title":"t","body":"Cafe\u0301"}"# + "\n")
        XCTAssertEqual(try CLI.run(["import", "--remote", address, dir + "/b1.jsonl"]).code, 0)
        let second = try CLI.run(["import", "--remote", address, "--json", dir + "/b2.jsonl"])
        XCTAssertEqual(second.code, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains(#""updated":1"#), second.stdout)
        let again = try CLI.run(["import", "--remote", address, "--json", dir + "/b2.jsonl"])
        XCTAssertTrue(again.stdout.contains(#""unchanged":1"#), again.stdout)
        let got = try CLI.run(["get", "n/1", "--remote", address, "--json"])
        // As bytes: String's contains would hold the precomposed é equal too.
        let body = Array("Cafe\u{301}".utf8)
        let out = Array(got.stdout.utf8)
        XCTAssertTrue((0...max(0, out.count - body.count)).contains { out[$0..<min(out.count, $0 + body.count)].elementsEqual(body) }, got.stdout)
    }

    func testFilteredSyncFlagsAndPeersShowTheFilter() throws {
        let dir = temporaryDirectory(self)
        let (hub, laptop) = (dir + "/hub", dir + "/laptop")
        for d in [hub, laptop] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        var text = ""
        for i in 0..<20 { text += #"{"id":"wire/\#(i)","title":"w","source":"Reuters"}"# + "\n" }
        for i in 0..<20 { text += #"{"id":"desk/\#(i)","title":"d","source":"AP","tags":["\#(i % 2 == 0 ? "port" : "x")"]}"# + "\n" }
        writeFile(dir + "/in.jsonl", text)
        XCTAssertEqual(try CLI.run(["import", dir + "/in.jsonl", "--data", hub]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "notes/1", "--title", "mine", "--data", laptop]).code, 0)
        let (node, address, _) = try startServe(self, hub)

        let first = try json(try CLI.run(["sync", address, "--data", laptop, "--json", "--filter", "prefix=desk/", "--filter", "tag=port"]))
        XCTAssertEqual(first["received"] as? Int, 10)
        XCTAssertEqual(first["sent"] as? Int, 1)
        XCTAssertEqual(first["filter"] as? String, "prefix=desk/&tag=port")
        let held = lines(try CLI.run(["ls", "--data", laptop]))
        XCTAssertEqual(held.count, 11, "\(held)")
        // Widened: every desk/ article.
        let wider = try json(try CLI.run(["sync", address, "--data", laptop, "--json", "--filter", "prefix=desk/"]))
        XCTAssertEqual(wider["received"] as? Int, 10)
        let peers = try CLI.run(["peers", "--data", laptop])
        XCTAssertTrue(peers.stdout.contains("filter prefix=desk/&tag=port"), peers.stdout)
        XCTAssertTrue(peers.stdout.contains("filter prefix=desk/\n") || peers.stdout.hasSuffix("filter prefix=desk/"), peers.stdout)
        let peersJSON = try CLI.run(["peers", "--data", laptop, "--json"])
        XCTAssertTrue(peersJSON.stdout.contains(#""filter":"prefix=desk/""#), peersJSON.stdout)

        // A push filter: only notes/ goes.
        XCTAssertEqual(try CLI.run(["put", "private/1", "--title", "p", "--data", laptop]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "notes/2", "--title", "n", "--data", laptop]).code, 0)
        let push = try json(try CLI.run(["sync", address, "--data", laptop, "--json", "--push-only", "--push-filter", "prefix=notes/"]))
        XCTAssertEqual(push["sent"] as? Int, 1)
        XCTAssertEqual(try CLI.run(["get", "private/1", "--remote", address]).code, 1)

        // Bad filters are usage errors, before anything is touched.
        for bad in [["--filter", "color=red"], ["--filter", "since=yesterday"], ["--filter", "prefix"], ["--push-only", "--filter", "prefix=a"]] {
            let r = try CLI.run(["sync", address, "--data", laptop] + bad)
            XCTAssertEqual(r.code, 2, "\(bad): \(r.stderr)")
        }
        XCTAssertEqual(try CLI.run(["serve", "--data", laptop, "--filter", "prefix=a", "--check"]).code, 2)
        // The change feed, filtered and with the articles.
        let feed = try CLI.run(["changes", "--data", hub, "--json", "--filter", "prefix=desk/", "--filter", "tag=port", "--include-bodies"])
        XCTAssertEqual(feed.code, 0, feed.stderr)
        let entries = lines(feed)
        XCTAssertEqual(entries.count, 10, feed.stdout)
        XCTAssertTrue(entries.allSatisfy { $0.contains(#""article":{"id":"desk/"#) && $0.contains(#""siblings":1"#) }, feed.stdout)
        XCTAssertEqual(try CLI.run(["changes", "--data", hub, "--include-bodies"]).code, 2)
        XCTAssertEqual(try CLI.run(["changes", "--data", hub, "--filter", "colour=red"]).code, 2)
        let remoteFeed = try CLI.run(["changes", "--remote", address, "--json", "--filter", "prefix=desk/", "--filter", "tag=port"])
        XCTAssertEqual(lines(remoteFeed).count, 10, remoteFeed.stdout + remoteFeed.stderr)
        node.terminate()
        node.waitUntilExit()
    }

    /// `serve --peer … --filter …` and `peer: {address, filter}` in a config file.
    func testServeTakesPeerFiltersFromFlagsAndConfig() throws {
        let dir = temporaryDirectory(self)
        let (hub, edge) = (dir + "/hub", dir + "/edge")
        for d in [hub, edge] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        XCTAssertEqual(try CLI.run(["put", "wire/1", "--title", "w", "--data", hub]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "desk/1", "--title", "d", "--data", hub]).code, 0)
        let (hubNode, hubAddress, _) = try startServe(self, hub)
        writeFile(dir + "/edge.yaml", """
            data: \(edge)
            listen: 127.0.0.1:0
            peer:
              - address: \(hubAddress)
                filter: [prefix=wire/]
                push-filter: prefix=out/
            """)
        let check = try CLI.run(["serve", "--config", dir + "/edge.yaml", "--check"])
        XCTAssertEqual(check.code, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("filter: prefix=wire/; push-filter: prefix=out/"), check.stdout)
        writeFile(dir + "/bad.yaml", "peer:\n  - address: \(hubAddress)\n    filter: [colour=red]\n")
        let bad = try CLI.run(["serve", "--config", dir + "/bad.yaml", "--check", "--data", edge])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.stderr.contains("bad.yaml:3"), bad.stderr)

        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["serve", "--config", dir + "/edge.yaml"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(15)
        var peers = ""
        while Date() < deadline {
            peers = try CLI.run(["peers", "--data", edge]).stdout
            if peers.contains("connected\t") && peers.contains("pending ≈0 in") { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertTrue(peers.contains("filter prefix=wire/"), peers)
        XCTAssertTrue(peers.contains("push-filter prefix=out/"), peers)
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(lines(try CLI.run(["ls", "--data", edge])).map { $0.split(separator: "\t").first.map(String.init) ?? "" }, ["wire/1"])
        hubNode.terminate()
        hubNode.waitUntilExit()
    }

    /// A hub administered from a laptop: its conflicts listed and settled, exported and
    /// imported into, all with --remote.
    func testAHubsConflictIsResolvedFromALaptop() throws {
        let dir = temporaryDirectory(self)
        let (hub, laptop) = (dir + "/hub", dir + "/laptop")
        for d in [hub, laptop] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        let (node, address, _) = try startServe(self, hub)
        XCTAssertEqual(try CLI.run(["put", "wire/1", "--title", "first", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["sync", address, "--data", laptop]).code, 0)
        // Concurrent edits, then a sync: the hub holds a conflict.
        XCTAssertEqual(try CLI.run(["put", "wire/1", "--title", "laptop's", "--data", laptop]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "wire/1", "--title", "hub's", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["sync", address, "--data", laptop, "--push-only"]).code, 0)

        let conflicts = try CLI.run(["conflicts", "--remote", address, "--json"])
        XCTAssertEqual(conflicts.code, 1)
        XCTAssertTrue(conflicts.stdout.contains(#""id":"wire/1""#), conflicts.stdout)
        // Which sibling is the laptop's? The one titled so, in `get --all` order.
        let all = try CLI.run(["get", "wire/1", "--all", "--json", "--remote", address])
        // `--keep N` numbers versions as `get --all` does: in dot order (node, then counter).
        let shown = try json(all)
        var versions: [(node: String, counter: Int, title: String)] = []
        func add(_ version: Any?, _ article: Any?) {
            let v = version as? [String: Any] ?? [:]
            versions.append((v["node"] as? String ?? "", v["counter"] as? Int ?? 0, (article as? [String: Any])?["title"] as? String ?? ""))
        }
        add(shown["version"], shown["article"])
        for c in shown["conflicts"] as? [[String: Any]] ?? [] { add(c["version"], c["article"]) }
        versions.sort { ($0.node, $0.counter) < ($1.node, $1.counter) }
        let keep = try XCTUnwrap(versions.firstIndex { $0.title == "laptop's" }, all.stdout) + 1
        let resolved = try CLI.run(["resolve", "wire/1", "--keep", "\(keep)", "--remote", address, "--json"])
        XCTAssertEqual(resolved.code, 0, resolved.stderr)
        XCTAssertEqual(try json(resolved)["superseded"] as? Int, 2)
        XCTAssertEqual(try CLI.run(["conflicts", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["resolve", "wire/1", "--keep", "1", "--remote", address]).code, 1)
        let after = try json(try CLI.run(["get", "wire/1", "--json", "--remote", address]))
        XCTAssertEqual((after["article"] as? [String: Any])?["title"] as? String, "laptop's")
        // The resolution syncs back and clears the laptop's conflict too.
        XCTAssertEqual(try CLI.run(["sync", address, "--data", laptop]).code, 0)
        XCTAssertEqual(try CLI.run(["conflicts", "--data", laptop]).code, 0)

        // Import into and export from the hub; a re-import changes nothing.
        var text = ""
        for i in 0..<300 { text += #"{"id":"bulk/\#(i)","title":"b\#(i)","body":"x\#(i)","lang":{"a":[1,2]}}"# + "\n" }
        writeFile(dir + "/bulk.jsonl", text)
        let imported = try json(try CLI.run(["import", dir + "/bulk.jsonl", "--remote", address, "--json"]))
        XCTAssertEqual(imported["added"] as? Int, 300)
        let again = try json(try CLI.run(["import", dir + "/bulk.jsonl", "--remote", address, "--json"]))
        XCTAssertEqual(again["unchanged"] as? Int, 300, "\(again)")
        let exported = try CLI.run(["export", "--remote", address, "--prefix", "bulk/"])
        XCTAssertEqual(exported.code, 0)
        XCTAssertEqual(lines(exported).count, 300)
        XCTAssertEqual(exported.stdout, try CLI.run(["export", "--data", hub, "--prefix", "bulk/"]).stdout)
        let versions2 = try CLI.run(["export", "--remote", address, "--all-versions"])
        XCTAssertEqual(versions2.stdout, try CLI.run(["export", "--data", hub, "--all-versions"]).stdout)
        // Version records cannot be restored over the wire: refused by line, exit 4.
        writeFile(dir + "/versions.jsonl", versions2.stdout)
        let refused = try CLI.run(["import", dir + "/versions.jsonl", "--remote", address])
        XCTAssertEqual(refused.code, 4)
        XCTAssertTrue(refused.stderr.contains("versions.jsonl:1:"), refused.stderr)
        node.terminate()
        node.waitUntilExit()
    }

    /// `folio purge` (local and --remote), `folio gc`, tombstones in `folio stats`, and
    /// `folio peers --forget`.
    func testPurgeCollectAndForgetFromTheCommandLine() throws {
        let dir = temporaryDirectory(self)
        let (hub, laptop) = (dir + "/hub", dir + "/laptop")
        for d in [hub, laptop] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        for id in ["a", "b", "c", "d"] { XCTAssertEqual(try CLI.run(["put", id, "--title", id, "--data", hub]).code, 0) }
        let (node, address, _) = try startServe(self, hub, ["--tombstone-horizon", "0s"])
        XCTAssertEqual(try CLI.run(["sync", address, "--data", laptop]).code, 0)

        let purged = try CLI.run(["purge", "a", "missing", "--remote", address, "--json"])
        XCTAssertEqual(purged.code, 1, purged.stderr)
        XCTAssertTrue(purged.stdout.contains(#""id":"a","outcome":"purged""#), purged.stdout)
        XCTAssertTrue(purged.stdout.contains(#""id":"missing","outcome":"not_found""#), purged.stdout)
        XCTAssertEqual(try CLI.run(["purge", "a", "--remote", address]).code, 1, "already purged")
        XCTAssertEqual(try CLI.run(["rm", "b", "--remote", address]).code, 0)
        XCTAssertEqual(try CLI.run(["purge", "b", "--remote", address]).code, 0, "a deleted article can be purged")
        node.terminate()
        node.waitUntilExit()

        // The laptop has not acknowledged: nothing collectable on the hub yet.
        let held = try json(try CLI.run(["gc", "--data", hub, "--dry-run", "--json", "--tombstone-horizon", "0s"]))
        XCTAssertEqual(held["held"] as? Int, 2)
        XCTAssertEqual(held["purges_held"] as? Int, 2)
        XCTAssertEqual(held["collectable"] as? Int, 0)
        let laptopNode = try XCTUnwrap(try json(try CLI.run(["stats", "--data", laptop, "--json"]))["node"] as? String)
        XCTAssertNotNil((held["held_back_by"] as? [String: Any])?[laptopNode], "\(held)")
        let stats = try CLI.run(["stats", "--data", hub])
        XCTAssertTrue(stats.stdout.contains("tombstones:  2 held (2 purges), 0 collectable now"), stats.stdout)

        // The laptop syncs: it drops a and b, and acknowledges; the node then collects them.
        let (node2, address2, _) = try startServe(self, hub, ["--tombstone-horizon", "0s"])
        XCTAssertEqual(try CLI.run(["sync", address2, "--data", laptop]).code, 0)
        XCTAssertEqual(try CLI.run(["get", "a", "--data", laptop]).code, 1)
        XCTAssertEqual(try CLI.run(["ls", "--data", laptop]).stdout.split(separator: "\n").count, 2, "c and d are left")
        node2.terminate()
        node2.waitUntilExit()
        let collected = try json(try CLI.run(["gc", "--data", hub, "--json", "--tombstone-horizon", "0s"]))
        XCTAssertEqual(collected["collected"] as? Int, 2)
        XCTAssertEqual(collected["purges"] as? Int, 2)
        XCTAssertEqual(try CLI.run(["get", "a", "--data", hub]).code, 1)
        XCTAssertEqual(try CLI.run(["verify", "--data", hub]).code, 0)

        // The laptop collects the purges the hub acknowledged (its push after the pull moved the
        // hub's checkpoint past them); its own new deletion waits for the hub, or for the hub
        // to be forgotten.
        XCTAssertEqual(try CLI.run(["rm", "c", "--data", laptop]).code, 0)
        XCTAssertEqual(try json(try CLI.run(["gc", "--data", laptop, "--json", "--tombstone-horizon", "0s"]))["collected"] as? Int, 2)
        XCTAssertEqual(try json(try CLI.run(["gc", "--data", laptop, "--json", "--tombstone-horizon", "0s"]))["collected"] as? Int, 0)
        let hubNode = try XCTUnwrap(try json(try CLI.run(["stats", "--data", hub, "--json"]))["node"] as? String)
        XCTAssertEqual(try CLI.run(["peers", "--data", laptop, "--forget", hubNode]).code, 0)
        XCTAssertEqual(try CLI.run(["peers", "--data", laptop, "--forget", hubNode]).code, 1)
        XCTAssertEqual(try CLI.run(["peers", "--data", laptop, "--forget", "xyz"]).code, 2)
        XCTAssertEqual(try json(try CLI.run(["gc", "--data", laptop, "--json", "--tombstone-horizon", "0s"]))["collected"] as? Int, 1)
        XCTAssertEqual(try json(try CLI.run(["gc", "--data", laptop, "--json"]))["collected"] as? Int, 0)
        for bad in ["30", "d", "-1d", "1y", "99999999999d"] {
            XCTAssertEqual(try CLI.run(["gc", "--data", laptop, "--tombstone-horizon", bad]).code, 2, bad)
        }
        XCTAssertEqual(try CLI.run(["purge", "--data", laptop]).code, 2)
        XCTAssertEqual(try CLI.run(["verify", "--data", laptop]).code, 0)
    }

    /// The example program subscribes to a node's changes and settles a conflict.
    func testTheExampleProgramFollowsChangesAndSettlesAConflict() throws {
        let dir = temporaryDirectory(self)
        XCTAssertEqual(try CLI.run(["init", "--data", dir + "/n"]).code, 0)
        let (node, address, _) = try startServe(self, dir + "/n")
        let p = Process()
        p.executableURL = CLI.binary.deletingLastPathComponent().appendingPathComponent("folio-client-example")
        p.arguments = [address]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("stale-context write: 2 siblings"), text)
        XCTAssertTrue(text.contains("resolved: 2 sibling(s) superseded, 1 left"), text)
        // The conflict and its resolution, or (the feed giving each article once, at its latest
        // change, to a subscription that starts after the conflicting write) the resolution alone.
        XCTAssertTrue((1...2).contains(text.components(separatedBy: "feed: #").count - 1), text)
        XCTAssertTrue(text.contains("feed: #4 example/hello — Hello from FolioClient (edited), 1 version(s)"), text)
        XCTAssertEqual(try CLI.run(["conflicts", "--remote", address]).code, 0)
        node.terminate()
        node.waitUntilExit()
    }

    /// Review findings: restoring versions of a collected article is reported (exit 4), and
    /// peer mappings in a config file name the right lines.
    func testRestoringCollectedVersionsIsReportedAndPeerMappingsNameTheirLines() throws {
        let dir = temporaryDirectory(self)
        let store = dir + "/s"
        XCTAssertEqual(try CLI.run(["init", "--data", store]).code, 0)
        XCTAssertEqual(try CLI.run(["put", "gone", "--title", "old", "--data", store]).code, 0)
        let old = try CLI.run(["export", "--all-versions", "--data", store]).stdout
        writeFile(dir + "/old.jsonl", old)
        XCTAssertEqual(try CLI.run(["rm", "gone", "--data", store]).code, 0)
        XCTAssertEqual(try json(try CLI.run(["gc", "--data", store, "--json", "--tombstone-horizon", "0s"]))["collected"] as? Int, 1)
        let restore = try CLI.run(["import", dir + "/old.jsonl", "--data", store, "--json"])
        XCTAssertEqual(restore.code, 4, restore.stderr)
        XCTAssertTrue(restore.stderr.contains("\"gone\": not restored"), restore.stderr)
        XCTAssertTrue(restore.stdout.contains(#""not_restored":[{"id":"gone""#), restore.stdout)
        XCTAssertEqual(try CLI.run(["get", "gone", "--data", store]).code, 1)

        writeFile(dir + "/null.yaml", "peer:\n  - address: ~\n")
        let null = try CLI.run(["serve", "--config", dir + "/null.yaml", "--check", "--data", store])
        XCTAssertEqual(null.code, 2)
        XCTAssertTrue(null.stderr.contains("null.yaml:2:"), null.stderr)
        writeFile(dir + "/dup.yaml", "peer:\n  - address: 127.0.0.1:7999\n    filter: prefix=a/\n    filter: prefix=b/\n")
        let dup = try CLI.run(["serve", "--config", dir + "/dup.yaml", "--check", "--data", store])
        XCTAssertEqual(dup.code, 2)
        XCTAssertTrue(dup.stderr.contains("dup.yaml:4: \"filter\" is set twice (first on line 3)"), dup.stderr)
        writeFile(dir + "/clause.yaml", "peer:\n  - address: 127.0.0.1:7999\n    filter:\n      - prefix=a/\n      - bogus=1\n")
        let clause = try CLI.run(["serve", "--config", dir + "/clause.yaml", "--check", "--data", store])
        XCTAssertEqual(clause.code, 2)
        XCTAssertTrue(clause.stderr.contains("clause.yaml:5:"), clause.stderr)
    }

    /// A node that goes away part-way through `rm --remote` or `purge --remote`: each id is
    /// reported (not found, failed, not attempted) and the command exits 3.
    func testRemoteDeletionsReportEveryIdWhenTheNodeFailsPartWay() throws {
        guard let python = CLI.tool("python3") else { throw XCTSkip("python3 not installed") }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/node-that-fails.py").path
        for command in ["rm", "purge"] {
            let node = Process()
            node.executableURL = URL(fileURLWithPath: python)
            node.arguments = [script]
            let out = Pipe()
            node.standardOutput = out
            try node.run()
            defer { node.terminate(); node.waitUntilExit() }
            var line = Data()
            while !line.contains(0x0A) {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                line.append(d)
            }
            let address = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let r = try CLI.run([command, "a", "b", "c", "--remote", address, "--json"])
            XCTAssertEqual(r.code, 3, "\(command): \(r.stdout) \(r.stderr)")
            let outcomes = lines(r).map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            XCTAssertEqual(outcomes.map { $0?["id"] as? String }, ["a", "b", "c"], r.stdout)
            XCTAssertEqual(outcomes.map { $0?["outcome"] as? String }, ["not_found", "failed", "failed"], r.stdout)
            XCTAssertTrue(r.stderr.contains("not attempted"), r.stderr)
        }
    }

    /// `folio changes --follow` on one node prints a put made on another node of the mesh
    /// within a second.
    func testAChangeOnAnotherNodeOfTheMeshIsFollowedWithinASecond() throws {
        let dir = temporaryDirectory(self)
        let (a, b) = (dir + "/a", dir + "/b")
        for d in [a, b] { XCTAssertEqual(try CLI.run(["init", "--data", d]).code, 0) }
        let (nodeA, addressA, _) = try startServe(self, a)
        let (nodeB, addressB, _) = try startServe(self, b, ["--peer", addressA])
        // The link is up once a write on A reaches B.
        XCTAssertEqual(try CLI.run(["put", "warmup", "--title", "w", "--remote", addressA]).code, 0)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, try CLI.run(["get", "warmup", "--remote", addressB]).code != 0 { Thread.sleep(forTimeInterval: 0.05) }
        let follow = Process()
        follow.executableURL = CLI.binary
        follow.arguments = ["changes", "--follow", "--json", "--remote", addressB, "--since", "0"]
        let out = Pipe()
        follow.standardOutput = out
        follow.standardError = FileHandle.nullDevice
        try follow.run()
        defer { if follow.isRunning { follow.terminate(); follow.waitUntilExit() } }
        let box = LockedText()
        out.fileHandleForReading.readabilityHandler = { h in box.append(h.availableData) }
        // Wait for the follower to show what B holds already.
        while Date() < deadline, !box.text.contains("warmup") { Thread.sleep(forTimeInterval: 0.02) }
        let put = Date()
        XCTAssertEqual(try CLI.run(["put", "live/1", "--title", "from A", "--remote", addressA]).code, 0)
        while Date().timeIntervalSince(put) < 5, !box.text.contains("live/1") { Thread.sleep(forTimeInterval: 0.01) }
        let latency = Date().timeIntervalSince(put)
        XCTAssertTrue(box.text.contains("live/1"), box.text)
        XCTAssertLessThan(latency, 1.0, "a put on A reached B's follower after \(latency) s")
        out.fileHandleForReading.readabilityHandler = nil
        for n in [nodeB, nodeA] {
            n.terminate()
            n.waitUntilExit()
        }
    }
}

/// Output collected from a pipe's readability handler, read from the test's thread.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.lock(); data.append(d); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
