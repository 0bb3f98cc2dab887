import FolioStore
import Foundation
import XCTest

/// The README's Swift snippets compile with the imports they show and run against a real
/// node and store; the README and the test files must not drift apart.
final class ReadmeSnippetTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The README's ```swift blocks, without their import lines, as trimmed lines.
    static func readmeSnippets() throws -> [[String]] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [[String]] = []
        var current: [String]?
        for line in readme.components(separatedBy: "\n") {
            if line.hasPrefix("```swift") { current = [] } else if line.hasPrefix("```"), let c = current {
                blocks.append(c)
                current = nil
            } else if current != nil, !line.hasPrefix("import "), !line.trimmingCharacters(in: .whitespaces).isEmpty {
                current!.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        return blocks
    }

    func testTheReadmeSnippetsAreTheOnesTheseTestsRun() throws {
        let blocks = try Self.readmeSnippets()
        XCTAssertEqual(blocks.count, 2, "README has the client and the embedded-library snippet")
        for (block, file) in zip(blocks, ["ReadmeClientSnippet.swift", "ReadmeStoreSnippet.swift"]) {
            let source = try String(contentsOf: Self.root.appendingPathComponent("Tests/FolioNodeTests/" + file), encoding: .utf8)
            let lines = source.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let expected = block.map {
                $0.replacingOccurrences(of: "\"127.0.0.1:7070\"", with: "address").replacingOccurrences(of: "\"/srv/folio\"", with: "path")
            }
            guard let start = lines.firstIndex(of: expected[0]) else { return XCTFail("\(file) lacks: \(expected[0])") }
            XCTAssertEqual(Array(lines[start..<min(lines.count, start + expected.count)]), expected, "\(file) differs from the README")
        }
    }

    func testTheClientSnippetRunsAgainstANode() async throws {
        let node = try await TestNode(self)
        try await readmeClientSnippet(address: node.address)
        XCTAssertEqual(try node.store.get("a1")?.versions.versions.count, 1)
        XCTAssertEqual(try node.store.get("a1")?.article?.title, "Edited")
        await node.stop()
    }

    func testTheStoreSnippetRunsAgainstAStore() throws {
        let dir = NSTemporaryDirectory() + "folio-readme-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Store.create(at: dir).close()
        try readmeStoreSnippet(path: dir)
        let store = try Store.open(at: dir)
        defer { store.close() }
        XCTAssertEqual(try store.get("a1")?.article?.title, "Edited")
    }
}
