// The README's embedded-library snippet, verbatim but for the path (ReadmeSnippetTests checks
// it); this file imports only what the README imports.
import FolioStore

func readmeStoreSnippet(path: String) throws {
    let store = try Store.open(at: path)          // or Store.create(at:)
    try store.write { w in
        try w.put(Article(id: "a1", title: "Hello", body: "…"))
    }
    if let state = try store.get("a1") {
        print(state.article?.title ?? "(deleted)", state.versions.versions.count, "versions")
        // Read-modify-write that never loses a concurrent edit:
        try store.write { try $0.put(Article(id: "a1", title: "Edited"), context: state.context) }
    }
    // The winning article alone, decoded from the page in place (the fast point read):
    print(try store.article("a1")?.title ?? "(absent or deleted)")
    let feed = try store.changes(since: 0, limit: 100)   // (seq, id, version summary), in order
    print(feed.count)
    store.close()
}
