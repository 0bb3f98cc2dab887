import FolioModel
import FolioStore

/// Human and JSON renderings of stored articles shared by get, ls, conflicts and resolve.
enum ArticleRendering {
    static func versionLine(_ v: Version) -> String {
        "\(v.dot.node.hex):\(v.dot.counter) \(v.vector) written \(VersionJSON.isoTime(v.timestamp))"
            + (v.isTombstone ? " (deleted)" : "")
    }

    /// The header fields and body of one version, as `folio get` prints it.
    static func human(_ state: ArticleState, _ v: Version) -> String {
        // Everything an article holds came from outside: printed terminal-safe (Terminal.safe).
        let safe = { (s: String) in Terminal.safe(s) }
        var lines = ["id:        \(safe(state.id))"]
        if let a = state.article(v) {
            lines += [
                "title:     \(safe(a.title))", "source:    \(safe(a.source))", "url:       \(safe(a.url))",
                "published: \(safe(a.published))", "tags:      \(safe(a.tags.joined(separator: ", ")))",
            ]
            for f in a.extra { lines.append("\(safe(f.name)): \(safe(f.json))") }
            lines.append("version:   \(versionLine(v))")
            lines.append("")
            lines.append(Terminal.safe(a.body, keepingLines: true))
        } else {
            lines.append("version:   \(versionLine(v))")
        }
        return lines.joined(separator: "\n")
    }

    /// `{"article", "version", "conflicts", "context"}` for `folio get --json`.
    static func json(_ state: ArticleState) -> JSONValue {
        let winner = state.winner!
        let conflicts: [JSONValue] = state.versions.conflicts.map { v in
            .object([("version", VersionJSON.version(v)), ("article", state.article(v)?.jsonValue ?? .null)])
        }
        return .object([
            ("id", .string(state.id)),
            ("article", state.article(winner)?.jsonValue ?? .null),
            ("version", VersionJSON.version(winner)),
            ("conflicts", .array(conflicts)),
            ("context", .string(state.contextToken)),
        ])
    }

    /// The listing form: the winner's fields without the body.
    static func summaryJSON(_ state: ArticleState) -> JSONValue {
        let w = state.winner!
        let c = w.content
        var fields: [(key: String, value: JSONValue)] = [("id", .string(state.id))]
        fields += [
            ("title", .string(c?.title ?? "")), ("source", .string(c?.source ?? "")), ("url", .string(c?.url ?? "")),
            ("published", .string(c?.published ?? "")), ("tags", .array((c?.tags ?? []).map { .string($0) })),
            ("bytes", .number(String(c?.bodyLength ?? 0))), ("deleted", .bool(w.isTombstone)),
            ("siblings", .number(String(state.versions.versions.count))), ("seq", .number(String(state.seq))),
        ]
        return .object(fields)
    }
}
