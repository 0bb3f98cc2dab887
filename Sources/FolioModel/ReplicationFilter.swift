/// Which articles a filtered replication moves (SPEC §8.4).
///
/// Clauses are `prefix=ID-PREFIX`, `source=NAME`, `tag=TAG`, `since=DATE`, `until=DATE`.
/// Clauses of the same key OR, different keys AND. The sending side applies the filter, so
/// articles outside it never cross the wire. It selects; it is not access control.
///
/// An article matches when it has no live version — a deletion always passes, whatever the
/// clauses, so a replica learns that what it took (perhaps under another filter) is gone — or
/// its id matches a `prefix` clause (or there is none) and some live version matches every
/// content key (source, tag and date, exactly as
/// written; dates compare the `published` text as `folio search`'s since:/until: do, and an
/// article without a published date matches no date clause).
///
/// The **canonical text** — clauses sorted by key (prefix, source, tag, since, until) then
/// value, duplicates dropped, joined by `&`, values percent-encoded except for
/// `A–Z a–z 0–9 - . _ ~ / :` — is what travels and what names a checkpoint. At most 16
/// clauses and 256 bytes of canonical text.
public struct ReplicationFilter: Sendable, Hashable, CustomStringConvertible {
    public enum Key: String, Sendable, CaseIterable, Comparable {
        case prefix, source, tag, since, until
        public static func < (a: Key, b: Key) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    }

    public struct Clause: Sendable, Hashable, Comparable {
        public var key: Key
        public var value: String
        public init(_ key: Key, _ value: String) {
            self.key = key
            self.value = value
        }
        // Byte-for-byte, not canonical equivalence: "é" and "e\u{301}" are two clauses.
        public static func == (a: Clause, b: Clause) -> Bool { a.key == b.key && a.value.utf8.elementsEqual(b.value.utf8) }
        public func hash(into h: inout Hasher) {
            h.combine(key)
            for b in value.utf8 { h.combine(b) }
        }
        public static func < (a: Clause, b: Clause) -> Bool {
            a.key != b.key ? a.key < b.key : Array(a.value.utf8).lexicographicallyPrecedes(Array(b.value.utf8))
        }
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public static let maxClauses = 16
    public static let maxTextBytes = 256

    /// Sorted, without duplicates. Empty: everything (no filter).
    public let clauses: [Clause]

    /// The filter that lets everything through.
    public static let all = ReplicationFilter(checked: [])

    private init(checked: [Clause]) { self.clauses = checked }

    /// A filter of `clauses` (any order, duplicates allowed), each validated.
    public init(_ clauses: [Clause]) throws(Invalid) {
        // A date-time bound may separate date and time with a space, as `published` may: it
        // is written with a T (one filter, one name).
        let clauses = clauses.map { c in
            c.key == .since || c.key == .until ? Clause(c.key, String(c.value.map { $0 == " " ? "T" : $0 })) : c
        }
        let sorted = Array(Set(clauses)).sorted()
        guard sorted.count <= Self.maxClauses else { throw Invalid(reason: "a filter has at most \(Self.maxClauses) clauses, not \(sorted.count)") }
        for c in sorted {
            switch c.key {
            case .prefix, .source, .tag:
                guard !c.value.isEmpty else { throw Invalid(reason: "\(c.key.rawValue)= needs a value") }
                guard !c.value.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
                    throw Invalid(reason: "\(c.key.rawValue)= contains a control character")
                }
            case .since, .until:
                guard !c.value.isEmpty, ISO8601Check.problem(with: c.value) == nil else {
                    throw Invalid(reason: "\(c.key.rawValue)= needs an ISO-8601 date or date-time (2026-11-20, 2026-11-20T09:30), not \"\(c.value)\"")
                }
            }
        }
        let sinces = sorted.filter { $0.key == .since }.map(\.value)
        let untils = sorted.filter { $0.key == .until }.map(\.value)
        if !sinces.isEmpty, !untils.isEmpty, sinces.allSatisfy({ s in untils.allSatisfy { u in !Self.onOrBefore(s, u) } }) {
            throw Invalid(reason: "since=\(sinces.min()!) is after until=\(untils.max()!): nothing would match")
        }
        self.clauses = sorted
        let bytes = text.utf8.count
        guard bytes <= Self.maxTextBytes else {
            throw Invalid(reason: "the filter is \(bytes) bytes as canonical text, over the \(Self.maxTextBytes) allowed")
        }
    }

    /// Parses clauses as given on a command line or in a config file: each `key=value`.
    public init(expressions: [String]) throws(Invalid) {
        var out: [Clause] = []
        for e in expressions {
            guard let eq = e.firstIndex(of: "=") else {
                throw Invalid(reason: "\"\(e)\" is not KEY=VALUE (keys: prefix, source, tag, since, until)")
            }
            let name = String(e[..<eq])
            guard let key = Key(rawValue: name) else {
                throw Invalid(reason: "unknown filter key \"\(name)\" (keys: prefix, source, tag, since, until)")
            }
            out.append(Clause(key, String(e[e.index(after: eq)...])))
        }
        try self.init(out)
    }

    /// Parses the canonical text (SPEC §8.4); anything not canonical is refused, so one filter
    /// has one name.
    public init(canonical text: String) throws(Invalid) {
        guard text.utf8.count <= Self.maxTextBytes else {
            throw Invalid(reason: "a filter's text is at most \(Self.maxTextBytes) bytes, not \(text.utf8.count)")
        }
        if text.isEmpty {
            self = .all
            return
        }
        var out: [Clause] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: false) {
            guard let eq = part.firstIndex(of: "="), let key = Key(rawValue: String(part[..<eq])) else {
                throw Invalid(reason: "filter clause \"\(part)\" is not KEY=VALUE with a known key")
            }
            guard let value = Self.percentDecoded(part[part.index(after: eq)...]) else {
                throw Invalid(reason: "filter clause \"\(part)\" has a malformed percent-encoding or is not UTF-8")
            }
            out.append(Clause(key, value))
        }
        try self.init(out)
        guard self.text == text else { throw Invalid(reason: "filter text \"\(text)\" is not canonical (expected \"\(self.text)\")") }
    }

    public var isEmpty: Bool { clauses.isEmpty }

    /// The canonical text ("" for no filter).
    public var text: String {
        clauses.map { "\($0.key.rawValue)=\(Self.percentEncoded($0.value))" }.joined(separator: "&")
    }

    public var description: String { isEmpty ? "(everything)" : text }

    /// The clauses as given on a command line, `key=value` each.
    public var expressions: [String] { clauses.map { "\($0.key.rawValue)=\($0.value)" } }

    func values(_ key: Key) -> [String] { clauses.filter { $0.key == key }.map(\.value) }

    /// Which deletions pass a filter: every one (what a source sends a filtered puller), or
    /// those under its `prefix` clauses (what a filtered push sends: the ids of deleted
    /// articles outside it stay home).
    public enum Deletions: Sendable { case always, withinPrefix }

    /// Whether the article `id` with these versions passes (see the type's description).
    public func matches(id: String, versions: VersionSet, deletions: Deletions = .always) -> Bool {
        guard !isEmpty else { return true }
        // A deletion always passes a pull's filter: a replica that took the article under
        // another filter learns it is gone (so its acknowledgement can be trusted).
        let live = versions.versions.compactMap(\.content)
        if live.isEmpty && deletions == .always { return true }
        let prefixes = values(.prefix)
        if !prefixes.isEmpty, !prefixes.contains(where: { Self.starts(id, with: $0) }) { return false }
        if live.isEmpty { return true }
        let (sources, tags, since, until) = (values(.source), values(.tag), values(.since), values(.until))
        if sources.isEmpty && tags.isEmpty && since.isEmpty && until.isEmpty { return true }
        return live.contains { c in
            (sources.isEmpty || sources.contains { Self.same($0, c.source) })
                && (tags.isEmpty || tags.contains { t in c.tags.contains { Self.same(t, $0) } })
                && (since.isEmpty || (!c.published.isEmpty && since.contains { Self.onOrAfter(c.published, $0) }))
                && (until.isEmpty || (!c.published.isEmpty && until.contains { Self.onOrBefore(c.published, $0) }))
        }
    }

    /// Byte-for-byte equality (Swift's `==` on strings is canonical equivalence; filters
    /// compare bytes, SPEC §8.4).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    static func starts(_ s: String, with prefix: String) -> Bool { s.utf8.starts(with: prefix.utf8) }

    /// `published` on or after `bound`, comparing as much of both texts as both have (a date
    /// against a date-time compares the dates), as written.
    static func onOrAfter(_ published: String, _ bound: String) -> Bool {
        PublishedTime.notBefore(PublishedTime.asWritten(published), PublishedTime.asWritten(bound))
    }

    static func onOrBefore(_ published: String, _ bound: String) -> Bool {
        PublishedTime.notBefore(PublishedTime.asWritten(bound), PublishedTime.asWritten(published))
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"), UInt8(ascii: ":"): true
        default: false
        }
    }

    static func percentEncoded(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if isUnreserved(b) { out.append(b) } else { out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecoded(_ s: Substring) -> String? {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - 48
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - 55
            default: nil  // canonical text uses upper case only
            }
        }
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard let h = it.popFirst().flatMap(hexValue), let l = it.popFirst().flatMap(hexValue) else { return nil }
                out.append(h << 4 | l)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
