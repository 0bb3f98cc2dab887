/// A news article: the unit Folio stores, versions and syncs.
///
/// Its JSON form is exactly `{"id","title","source","url","published","body","tags"}` followed
/// by any other top-level fields the archive carried (kept in `extra`, in their order, and
/// exported back unchanged).
public struct Article: Equatable, Sendable {
    public var id: String
    public var title: String
    public var source: String
    public var url: String
    /// ISO-8601 date (`2024-04-17`) or date-time (`2024-04-17T09:30:00Z`), or empty.
    public var published: String
    public var body: String
    public var tags: [String]
    /// Top-level fields beyond the seven above, in input order.
    public var extra: [ExtraField]

    public init(
        id: String, title: String = "", source: String = "", url: String = "", published: String = "",
        body: String = "", tags: [String] = [], extra: [ExtraField] = []
    ) {
        self.id = id
        self.title = title
        self.source = source
        self.url = url
        self.published = published
        self.body = body
        self.tags = tags
        self.extra = extra
    }

    /// The seven fields every article has, in their JSON order.
    public static let knownFields = ["id", "title", "source", "url", "published", "body", "tags"]
}

/// A top-level JSON field that is not one of the article's own; its value is kept as compact
/// JSON text so it survives storage and export unchanged.
public struct ExtraField: Equatable, Sendable {
    public var name: String
    /// Compact JSON text of the value.
    public var json: String

    public init(name: String, json: String) {
        self.name = name
        self.json = json
    }

    public init(name: String, value: JSONValue) {
        self.init(name: name, json: value.serialized)
    }
}

/// Limits applied when an article is accepted.
public struct ArticleLimits: Sendable, Equatable {
    /// UTF-8 bytes of an id (LMDB keys are at most 511 bytes).
    public var maxIDBytes = 400
    /// UTF-8 bytes of a body.
    public var maxBodyBytes = ArticleLimits.defaultMaxArticleBytes
    /// Encoded bytes of a whole article: every field, tag and extra field, the body included
    /// (`Article.encodedSize`). Two versions of this size still fit one 17 MiB frame with room
    /// to spare, so whatever a store accepts can always be sent (SPEC §9).
    public var maxArticleBytes = ArticleLimits.defaultMaxArticleBytes
    public static let defaultMaxArticleBytes = 8 << 20
    public init(maxBodyBytes: Int = ArticleLimits.defaultMaxArticleBytes, maxArticleBytes: Int = ArticleLimits.defaultMaxArticleBytes) {
        self.maxBodyBytes = maxBodyBytes
        self.maxArticleBytes = maxArticleBytes
    }
    public static let `default` = ArticleLimits()
}

/// Why an article was refused, naming the field.
public struct InvalidArticle: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { field.isEmpty ? reason : "field \"\(field)\": \(reason)" }
}

extension Article {
    /// Checks the article against `limits`; throws naming the first offending field.
    public func validate(limits: ArticleLimits = .default) throws(InvalidArticle) {
        try Article.validateID(id, limits: limits)
        if let problem = ISO8601Check.problem(with: published) {
            throw InvalidArticle(field: "published", reason: "\"\(published)\" is not an ISO-8601 date or date-time: \(problem)")
        }
        let bodyBytes = body.utf8.count
        if bodyBytes > limits.maxBodyBytes {
            throw InvalidArticle(field: "body", reason: "is \(bodyBytes) bytes, over the \(limits.maxBodyBytes)-byte cap")
        }
        var names = Set(Article.knownFields)
        for f in extra {
            if f.name.isEmpty { throw InvalidArticle(field: "", reason: "a field with an empty name is not allowed") }
            if !names.insert(f.name).inserted {
                throw InvalidArticle(field: f.name, reason: "appears twice (or as an extra field with a standard field's name)")
            }
            guard (try? JSONParser.parse(f.json)) != nil else { throw InvalidArticle(field: f.name, reason: "is not valid JSON") }
        }
        let total = encodedSize
        if total > limits.maxArticleBytes {
            throw InvalidArticle(
                field: largestField.name,
                reason: "the article is \(total) bytes encoded, over the \(limits.maxArticleBytes)-byte limit for a whole article (this field alone is \(largestField.bytes) bytes)")
        }
    }

    /// Checks an article id wherever one arrives (CLI, protocol, import): 1 to
    /// `limits.maxIDBytes` bytes of UTF-8, no control characters (C0, DEL, C1).
    public static func validateID(_ id: String, limits: ArticleLimits = .default) throws(InvalidArticle) {
        if id.isEmpty { throw InvalidArticle(field: "id", reason: "must not be empty") }
        let idBytes = id.utf8.count
        if idBytes > limits.maxIDBytes {
            throw InvalidArticle(field: "id", reason: "is \(idBytes) bytes long, the limit is \(limits.maxIDBytes)")
        }
        if id.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw InvalidArticle(field: "id", reason: "must not contain control characters")
        }
    }

    /// Bytes of this article as the wire and the store encode it (SPEC §5: each string with
    /// its u32 length, each list with its u32 count).
    public var encodedSize: Int {
        var n = 4 * 6 + id.utf8.count + title.utf8.count + source.utf8.count + url.utf8.count + published.utf8.count
        n += body.utf8.count
        n += 4 + tags.reduce(0) { $0 + 4 + $1.utf8.count }
        n += 4 + extra.reduce(0) { $0 + 8 + $1.name.utf8.count + $1.json.utf8.count }
        return n
    }

    /// The field that contributes most to `encodedSize` (tags and extras each count as one).
    var largestField: (name: String, bytes: Int) {
        let sizes: [(String, Int)] = [
            ("id", id.utf8.count), ("title", title.utf8.count), ("source", source.utf8.count), ("url", url.utf8.count),
            ("published", published.utf8.count), ("body", body.utf8.count),
            ("tags", tags.reduce(0) { $0 + 4 + $1.utf8.count }),
        ] + extra.map { ($0.name, $0.json.utf8.count + $0.name.utf8.count + 8) }
        return sizes.max { $0.1 < $1.1 }!
    }

    /// Reads an article from its JSON object form and validates it.
    public init(json: JSONValue, limits: ArticleLimits = .default) throws(InvalidArticle) {
        guard case let .object(fields) = json else {
            throw InvalidArticle(field: "", reason: "expected a JSON object, found \(json.typeName)")
        }
        var a = Article(id: "")
        var seen = Set<String>()
        var hasID = false
        for (key, value) in fields {
            guard seen.insert(key).inserted else { throw InvalidArticle(field: key, reason: "appears twice") }
            func text() throws(InvalidArticle) -> String {
                guard case let .string(s) = value else {
                    throw InvalidArticle(field: key, reason: "expected a string, found \(value.typeName)")
                }
                return s
            }
            switch key {
            case "id": a.id = try text(); hasID = true
            case "title": a.title = try text()
            case "source": a.source = try text()
            case "url": a.url = try text()
            case "published": a.published = try text()
            case "body": a.body = try text()
            case "tags":
                guard case let .array(items) = value else {
                    throw InvalidArticle(field: "tags", reason: "expected an array of strings, found \(value.typeName)")
                }
                a.tags = try items.enumerated().map { (i, item) throws(InvalidArticle) -> String in
                    guard case let .string(s) = item else {
                        throw InvalidArticle(field: "tags", reason: "item \(i) is \(item.typeName), expected a string")
                    }
                    return s
                }
            default: a.extra.append(ExtraField(name: key, value: value))
            }
        }
        if !hasID { throw InvalidArticle(field: "id", reason: "is missing") }
        try a.validate(limits: limits)
        self = a
    }

    /// The JSON object form: the seven fields, then the extra fields in order.
    public var jsonValue: JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("title", .string(title)), ("source", .string(source)), ("url", .string(url)),
            ("published", .string(published)), ("body", .string(body)), ("tags", .array(tags.map { .string($0) })),
        ]
        for f in extra {
            // Stored extras are valid JSON by construction; keep a corrupt one visible, not lost.
            fields.append((f.name, (try? JSONParser.parse(f.json)) ?? .string(f.json)))
        }
        return .object(fields)
    }

    /// One line of JSON Lines (no trailing newline).
    public var jsonLine: String { jsonValue.serialized }
}

extension String {
    /// The same UTF-8 bytes: how article ids (and texts) are compared. `==` on Strings holds
    /// canonically equivalent text equal — `café` with a precomposed é and with e + U+0301 —
    /// and those are two articles, as the store keys them by their bytes.
    @inlinable public func sameBytes(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}
