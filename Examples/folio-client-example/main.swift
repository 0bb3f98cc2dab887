// A small program using FolioClient: put an article into a running node, read it back, edit it
// with the context it read, and list what is there.
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
    try await client.close()
} catch {
    print("error: \(error)")
    exit(1)
}
