import ArgumentParser
import Foundation
import FolioClient
import FolioModel
import FolioStore

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the archive's text, offline.",
        discussion: """
            Finds articles whose title, body, source or tags hold the query's words, best \
            first (BM25; the title counts double). Case and diacritics do not matter \
            (stadtbibliothek finds Stadtbibliothek, espanol finds español); Chinese, Japanese \
            and Korean text, and Thai, Lao, Myanmar and Khmer (also written without spaces \
            between words; their vowel and tone marks do count, as they tell words apart, \
            in whatever order they were typed), is matched by character pairs, half-width \
            and full-width forms \
            alike (ガイド finds ｶﾞｲﾄﾞ), and one character typed alone finds every word \
            holding it (港 finds 神戸港). An article is indexed by its \
            first 65 536 distinct words (title, body, source, tags in that order).

            Query syntax: words are ANDed; OR between words (or phrases) takes any of them; \
            -word excludes; "exact phrase"; prefix*; filters source:NAME, tag:TAG, \
            since:DATE, until:DATE (on the published date) and id:PREFIX; quote a filter \
            value with spaces (source:"Nordic Wire"). since:, until: or id: given twice \
            narrows (each holds); several source: or tag: take any. Arguments that are not \
            options below are the query, -word included.

            A DATE is ISO-8601 (2026-11-20, 2026-11-20T14:05Z) or a day on this machine's \
            calendar: today, yesterday, a weekday (tuesday or tue: the latest one, today \
            included), Nd or Nw (N days or weeks before today); Nh is the instant N hours \
            ago. They become dates here, before the query runs or goes to a node \
            (--remote), and on a terminal the query is shown with them.

            Prints one line per hit — id, score, published, source, title, tab-separated — \
            then the snippet, indented, with matched words marked «like this». --json prints \
            one object per hit ({"id","score","title","source","published","snippet"}), best \
            first. Exit 1 when nothing matches.

            Examples:
              folio search port strike
              folio search '"port strike" since:2026-11-18'
              folio search port strike since:tuesday
              folio search 'walkout since:2w until:yesterday'
              folio search 'strike OR walkout -rail source:"Nordic Wire"'
              folio search port -rail --json
              folio search 'teles*' --limit 5 --json
              folio search 東京 --remote hub.example --key-file mesh.key
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: ArgumentHelp("The query (several arguments are joined by spaces).", valueName: "query")) var words: [String]
    @Option(help: "At most this many hits.") var limit = 20
    @Flag(help: "Machine-readable output (JSON Lines, one hit per line).") var json = false

    var text: String { words.joined(separator: " ") }

    /// The query with its relative dates (since:tuesday) as this machine's calendar names them.
    func resolvedText() throws -> String {
        // The C library's reading of TZ, as date(1) has it (Foundation ignores ":Area/City",
        // POSIX rules such as JST-9, and reads UTC+14 the other way round).
        var now = time(nil)
        var local = tm()
        let offset = localtime_r(&now, &local) == nil ? 0 : Int(local.tm_gmtoff)
        do {
            return try SearchQuery.resolvingRelativeDates(in: text, now: Int64(now), utcOffset: offset)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The command line with `folio search`'s query words moved after `--`, so that a word
    /// of the query syntax such as -rail (or "-shipping port", which holds an h) is never
    /// taken for an option: an argument is an option only when it is one of `search`'s
    /// (`--name`, `--name=value`, `-h`), the one after an option that takes a value is that
    /// value, and every other argument is a query word. Other commands' lines are unchanged.
    static func arrangingQuery(_ arguments: [String]) -> [String] {
        guard arguments.first == "search" else { return arguments }
        let options = Self.options
        var (arranged, words) = (["search"], [String]())
        var rest = arguments.dropFirst()
        while let a = rest.popFirst() {
            if a == "--" {
                words += rest
                break
            }
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if a == "-h", a == name {
                arranged.append(a)
            } else if a.hasPrefix("--"), let takesValue = options[name] {
                arranged.append(a)
                if takesValue, !a.contains("="), let value = rest.popFirst() {
                    // A value such as -1 joined to its option, so that it reaches validation
                    // (joined, an empty value would read as none).
                    if value.hasPrefix("-") { arranged[arranged.count - 1] += "=" + value } else { arranged.append(value) }
                }
            } else if a.hasPrefix("--") {
                // Not an option of search (a typo such as --limt): reported as one.
                arranged.append(a)
            } else {
                words.append(a)
            }
        }
        return arranged + ["--"] + words
    }

    /// `search`'s long options, each with whether it takes a value, as its help lists them
    /// ("--limit <limit>" takes one, "--json" does not).
    static let options: [String: Bool] = {
        var options: [String: Bool] = [:]
        for line in helpMessage(columns: 10_000).split(separator: "\n") {
            for field in line.split(separator: ",") {
                let f = field.trimmingPrefix(while: { $0 == " " })
                guard f.hasPrefix("--"), let name = f.split(separator: " ").first else { continue }
                options[String(name)] = f.dropFirst(name.count).hasPrefix(" <")
            }
        }
        return options
    }()

    func validate() throws {
        try Check.count(limit, "--limit", in: 1...1000)
        if words.isEmpty { throw ValidationError("give a query, e.g. folio search port strike") }
        do {
            _ = try SearchQuery(parsing: try resolvedText())
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: true)
        let (text, limit) = (try resolvedText(), self.limit)
        if text != self.text, Terminal.stderrIsTerminal { Terminal.err("searching: \(Terminal.safe(text))") }
        let hits: [SearchHit]
        do {
            hits = try await withBackend(backend) { try await $0.search(text, limit: limit) }
        } catch let FolioClientError.invalidArticle(why) {
            // The node's parser refused what ours took (another version): still the query's fault.
            throw CLIFailure(code: .usage, message: "the node refused the query: \(why)")
        }
        var out = ""
        for h in hits {
            if json {
                out += JSONValue.object([
                    ("id", .string(h.id)), ("score", .number(String(h.score))), ("title", .string(h.title)),
                    ("source", .string(h.source)), ("published", .string(h.published)), ("snippet", .string(h.snippet)),
                ]).serialized + "\n"
            } else {
                out += [h.id, String(format: "%.3f", h.score), h.published, h.source, h.title].map { Terminal.safe($0) }.joined(separator: "\t") + "\n"
                out += "    " + Terminal.safe(h.snippet) + "\n"
            }
        }
        if !out.isEmpty { Terminal.out(String(out.dropLast())) }
        if hits.isEmpty { throw CLIFailure(code: .notFound, message: "no article matches \(text)") }
    }
}

struct Reindex: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the full-text search index from the articles.",
        discussion: """
            The index is derived data, kept in the store and changed with every write; it is \
            never replicated. Rebuild it after `folio verify` reports it damaged. Everything but \
            search works meanwhile; searches are refused (exit 3, "being built") until the \
            build ends. A build that is stopped part-way resumes where it stopped the next \
            time the store is opened for writing (by any command that writes, or reindex).

            Examples:
              folio reindex --data ./archive
            """)

    @OptionGroup var store: StoreOptions

    func run() throws {
        let s = try store.open()
        defer { s.close() }
        try s.reindex()
        let status = try s.searchStatus()
        Terminal.err("indexed \(status.documents) articles")
    }
}
