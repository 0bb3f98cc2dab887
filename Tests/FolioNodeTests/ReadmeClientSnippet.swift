// The README's client snippet, verbatim but for the address (ReadmeSnippetTests checks it):
// this file imports only what the README imports, so the snippet compiles as documented.
import FolioClient

func readmeClientSnippet(address: String) async throws {
    let client = try await FolioClient.connect(to: address)   // key: try SharedKey(file: "mesh.key")
    let outcome = try await client.put(Article(id: "a1", title: "Hello", body: "…"))
    let state = try await client.get("a1")                               // throws FolioClientError.notFound
    try await client.put(Article(id: "a1", title: "Edited"), context: state.context)  // no silent loss
    let page = try await client.list(ListQuery(prefix: "wire/", limit: 100))
    print(outcome.kind, page.articles.count, page.more)
    try await client.close()
}
