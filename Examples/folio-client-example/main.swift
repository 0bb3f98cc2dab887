// A small program using FolioClient: put an article into a running node, read it back, edit it
// with the context it read, list what is there, follow the node's change feed while writing,
// and settle a conflict.
//
//   folio serve --data /tmp/example --listen 127.0.0.1:7070 &
//   swift run folio-client-example 127.0.0.1:7070 [KEY_FILE]
import FolioClient
import Foundation

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: folio-client-example HOST:PORT [KEY_FILE]")
    exit(2)
}
do {
    let key = args.count > 2 ? try SharedKey(file: args[2]) : nil
    let client = try await FolioClient.connect(to: args[1], key: key)
    print("connected to node \(client.serverHello.nodeID) (\(client.serverHello.software)), ping \(try await client.ping())")

    let written = try await client.put(Article(
        id: "example/hello", title: "Hello from FolioClient", source: "Example", published: "2026-11-29",
        body: "Written by a Swift program over Folio's binary protocol.", tags: ["example"]))
    print("\(written.kind.rawValue) example/hello as version \(written.version!.dot)")

    let state = try await client.get("example/hello")
    print("read back: \(state.article!.title) — \(state.article!.body)")

    var edited = state.article!
    edited.title += " (edited)"
    let second = try await client.put(edited, context: state.context)  // supersedes exactly what we read
    print("edited: \(second.siblings) sibling(s) now")

    let page = try await client.list(ListQuery(prefix: "example/"))
    for a in page.articles { print("  \(a.id)\t\(a.winner?.content?.title ?? "(deleted)")") }

    // Follow the node's changes under example/ while making and settling a conflict.
    try await followAndSettle(client, address: args[1], key: key, staleContext: state.context, since: second.seq)
    try await client.close()
} catch {
    print("error: \(error)")
    exit(1)
}

/// How far the feed has been followed, and up to which change it must be.
actor FeedProgress {
    private var seen: UInt64 = 0
    private var target: UInt64?

    /// Records a change printed; true once it reaches the target.
    func saw(_ seq: UInt64) -> Bool {
        seen = max(seen, seq)
        return target.map { seen >= $0 } ?? false
    }

    /// Sets the change to follow up to; true if it has been printed already.
    func follow(upTo seq: UInt64) -> Bool {
        target = seq
        return seen >= seq
    }
}

/// Prints the node's changes after `since` (matching `filter`, with the articles) until the
/// change `progress` names has come. The feed gives each changed article once, at its latest
/// change: a subscription that starts after the conflicting write sees the resolution alone.
nonisolated func printChanges(at address: String, options: FolioClient.Options, since: UInt64, filter: ReplicationFilter, progress: FeedProgress) async throws {
    for try await change in FolioClient.changes(at: address, options: options, since: since, filter: filter, includeBodies: true) {
        let siblings = change.article?.versions.versions.count ?? 0
        print("feed: #\(change.seq) \(change.id) — \(change.article?.article?.title ?? "(deleted)"), \(siblings) version(s)")
        if await progress.saw(change.seq) { return }
    }
}

/// Subscribes to the node's changes under example/ (with the articles' bodies) while making a
/// conflict — a second write with the stale context read before the edit does not replace the
/// edit, it becomes a sibling — and settling it.
nonisolated func followAndSettle(_ client: FolioClient, address: String, key: SharedKey?, staleContext: VersionVector, since start: UInt64) async throws {
    let options = FolioClient.Options(key: key)
    let filter = try ReplicationFilter(expressions: ["prefix=example/"])
    let progress = FeedProgress()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            // The conflicting write, then the resolution.
            try await printChanges(at: address, options: options, since: start, filter: filter, progress: progress)
        }
        let conflicting = try await client.put(
            Article(id: "example/hello", title: "Hello, concurrently", source: "Example", body: "Written without seeing the edit."),
            context: staleContext)
        print("stale-context write: \(conflicting.siblings) siblings — a conflict, shown, nothing lost")

        // Settle it: read every sibling, keep the edited one, write it with the context that
        // covers them all.
        let all = try await client.get("example/hello", allVersions: true)
        for (i, v) in all.versions.versions.enumerated() { print("  sibling \(i + 1): \(all.article(v)?.title ?? "(deleted)")") }
        let keep = all.versions.versions.compactMap { all.article($0) }.first { $0.title.hasSuffix("(edited)") }!
        let resolved = try await client.put(keep, context: all.context)
        print("resolved: \(resolved.superseded) sibling(s) superseded, \(resolved.siblings) left")
        // Follow the feed up to the resolution (stop at once if it has come already).
        if await progress.follow(upTo: resolved.seq) {
            group.cancelAll()
        } else {
            try await group.next()
        }
    }
}
