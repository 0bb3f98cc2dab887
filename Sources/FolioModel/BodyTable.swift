/// The bodies loaded with an article, by hash: usually one, so a small array beats a
/// dictionary on the read path.
public struct BodyTable: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    private var entries: [(hash: BodyHash, body: String)] = []

    public init(dictionaryLiteral elements: (BodyHash, String)...) {
        for (h, b) in elements { self[h] = b }
    }

    public init(_ dictionary: [BodyHash: String]) {
        for (h, b) in dictionary { self[h] = b }
    }

    public subscript(hash: BodyHash) -> String? {
        get { entries.first { $0.hash == hash }?.body }
        set {
            if let i = entries.firstIndex(where: { $0.hash == hash }) {
                if let newValue { entries[i].body = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((hash, newValue))
            }
        }
    }

    public var count: Int { entries.count }

    /// The UTF-8 bytes of every body held.
    public var totalBytes: Int { entries.reduce(0) { $0 &+ $1.body.utf8.count } }

    public static func == (a: BodyTable, b: BodyTable) -> Bool {
        a.entries.count == b.entries.count && a.entries.allSatisfy { b[$0.hash] == $0.body }
    }
}
