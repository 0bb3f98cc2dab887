import FolioModel

// Helpers for tests of the model alone (no LMDB): a seeded generator and version content.

public typealias SeededRandom = SplitMix64

public func content(_ title: String, body: String = "body") -> VersionContent {
    VersionContent(title: title, source: "", url: "", published: "", tags: [], extra: [], bodyHash: BodyHash(of: body), bodyLength: body.utf8.count)
}
