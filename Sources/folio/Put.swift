import ArgumentParser
import FolioModel
import FolioStore

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an article: from JSON, or field by field.",
        discussion: """
            From JSON: --file FILE (or - for stdin) holding one article object, a JSON array \
            of them, or JSON Lines (a UTF-8 byte order mark is skipped). All records are \
            checked first; if any is invalid nothing is written.

            Field by field: `folio put ID --title … --body-file …`. Fields you leave out keep \
            their current value when the article exists (an edit), or are empty.

            Without --context a put supersedes every version this store holds of the article. \
            With --context TOKEN (from `folio get --json`) it supersedes only what that read \
            saw, so two scripts that read the same version and both write leave two siblings, \
            never a silent loss.

            Prints one line per article written: added, updated or unchanged, its id and the \
            new version's dot; --json prints them as JSON Lines \
            ({"id","outcome","version","siblings"}).

            Examples:
              folio put --file article.json
              cat articles.jsonl | folio put --file - --json
              folio put notes/1 --title "Field notes" --tag draft --body-file notes.txt
              curl -s https://example.org/a.txt | folio put notes/2 --title "Fetched" --body-file -
              folio put notes/1 --title "Revised" --context "$(folio get notes/1 --json | jq -r .context)"
              folio put --remote 127.0.0.1:7070 --file article.json
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The article id (field-by-field form).") var id: String?
    @Option(name: .customLong("file"), help: ArgumentHelp("Read article(s) as JSON from a file, or - for stdin.", valueName: "file"), completion: .file())
    var jsonFile: String?
    @Flag(help: "Machine-readable output (JSON Lines, one object per article written).") var json = false
    @Option(help: "Title.") var title: String?
    @Option(help: "Source (publication) name.") var source: String?
    @Option(help: "Canonical URL.") var url: String?
    @Option(help: "Publication date, ISO-8601 (2024-04-17 or 2024-04-17T09:30:00Z).") var published: String?
    @Option(name: .customLong("tag"), help: "A tag (repeat for several); replaces the tags.") var tags: [String] = []
    @Flag(help: "Remove all tags.") var clearTags = false
    @Option(help: ArgumentHelp("Read the body from a file, or - for stdin.", valueName: "file"), completion: .file()) var bodyFile: String?
    @Option(help: "The causal context read with `folio get --json`.") var context: String?

    func validate() throws {
        let fields = title != nil || source != nil || url != nil || published != nil || !tags.isEmpty || clearTags || bodyFile != nil
        if (id == nil) == (jsonFile == nil) {
            throw ValidationError("give either an article id (with --title, --body-file, …) or --file FILE")
        }
        if jsonFile != nil, fields {
            throw ValidationError("--file cannot be combined with field options")
        }
        if let id, !fields {
            // `put --json FILE` read input before --json meant output: refuse rather than write an empty article named FILE.
            throw ValidationError("nothing to write to \"\(Terminal.shortened(id))\": give fields (--title, --body-file, …), or --file FILE for JSON input (--json only selects JSON output)")
        }
        if clearTags && !tags.isEmpty {
            throw ValidationError("--tag and --clear-tags contradict each other: --tag already replaces the tags")
        }

        if let id { try Check.articleID(id) }
        if jsonFile == "-" && bodyFile == "-" { throw ValidationError("only one input can come from stdin") }
    }

    func run() async throws {
        var ctx: VersionVector?
        var articles: [Article] = []
        var body: String?
        if let jsonFile {
            articles = try parseJSONArticles(readInput(jsonFile), name: jsonFile == "-" ? "stdin" : jsonFile)
            if context != nil && articles.count != 1 {
                throw CLIFailure(code: .usage, message: "--context applies to one article; the input holds \(articles.count)")
            }
        }
        // The token must have been read from the article written.
        if let context, let target = id ?? articles.first?.id { ctx = try contextVector(context, article: target) }
        if jsonFile == nil, let bodyFile {
            guard let text = String(validating: try readInput(bodyFile), as: UTF8.self) else {
                throw CLIFailure(code: .rejected, message: "\(bodyFile): the body is not valid UTF-8")
            }
            body = text
        }
        let backend = try await Backend.open(store, remote, readOnly: false)
        let outcomes = try await withBackend(backend) { backend -> [(String, WriteOutcome)] in
            guard let id else { return try await backend.put(articles, context: ctx) }
            let (title, source, url, published, tags, clearTags, body) = (title, source, url, published, tags, clearTags, body)
            let outcome = try await backend.edit(id, context: ctx) { a, _ in
                if let body { a.body = body }
                if let title { a.title = title }
                if let source { a.source = source }
                if let url { a.url = url }
                if let published { a.published = published }
                if !tags.isEmpty || clearTags { a.tags = tags }
            }
            return [(id, outcome)]
        }
        for (id, o) in outcomes {
            let v = o.version!
            if json {
                Terminal.out(JSONValue.object([
                    ("id", .string(id)), ("outcome", .string(o.kind.rawValue)),
                    ("version", .string("\(v.dot.node.hex):\(v.dot.counter)")), ("siblings", .number(String(o.siblings))),
                ]).serialized)
            } else {
                Terminal.out("\(o.kind.rawValue)\t\(Terminal.safe(id))\t\(v.dot.node.hex):\(v.dot.counter)")
            }
            if o.siblings > 1 {
                Terminal.err("folio: \"\(id)\" now has \(o.siblings) sibling versions (the context did not cover a concurrent write)")
            }
            if o.exceedsSiblingThreshold {
                Terminal.err("folio: warning: \"\(id)\" has more than \(WriteOutcome.siblingWarningThreshold) siblings; resolve it with `folio resolve`")
            }
        }
    }
}

/// Parses one JSON object, a JSON array of objects, or JSON Lines; every error names its line.
func parseJSONArticles(_ bytes: [UInt8], name: String) throws -> [Article] {
    var problems: [String] = []
    var articles: [Article] = []
    func add(_ v: JSONValue, line: Int, item: Int?) {
        do {
            articles.append(try Article(json: v))
        } catch {
            problems.append("\(name):\(line): " + (item.map { "item \($0): " } ?? "") + error.description)
        }
    }
    if let whole = try? JSONParser.parse(bytes) {
        if case let .array(items) = whole {
            for (i, v) in items.enumerated() { add(v, line: 1, item: i) }
        } else {
            add(whole, line: 1, item: nil)
        }
    } else {
        for (n, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                add(try JSONParser.parse(line), line: n + 1, item: nil)
            } catch let e as JSONParser.Error {
                problems.append("\(name):\(n + 1): invalid JSON at \(e)")
            } catch {
                problems.append("\(name):\(n + 1): \(error)")
            }
        }
    }
    if !problems.isEmpty {
        for p in problems { Terminal.err(p) }
        throw CLIFailure(code: .rejected, message: "\(problems.count) invalid record(s); nothing was written")
    }
    if articles.isEmpty { throw CLIFailure(code: .rejected, message: "\(name): no articles in the input") }
    return articles
}
