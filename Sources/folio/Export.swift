import ArgumentParser
import FolioModel
import FolioStore
import FolioClient
import FolioProtocol
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every article as JSON Lines.",
        discussion: """
            Writes the winning version of every live article, in id order, one JSON object \
            per line; importing the export into an empty store reproduces the same articles \
            byte for byte. --all-versions writes every sibling version, tombstones included, \
            each with a "_folio" object describing its version, so an import restores the \
            conflicts exactly. The export is one consistent snapshot, taken while the store \
            stays in use.

            --prefix exports only ids starting with it; --since TIME only articles written \
            (any version, deletions included with --all-versions) at or after TIME, an \
            ISO-8601 date or date-time (2026-11-01, 2026-11-01T09:30:00Z) — an incremental \
            export to import elsewhere.

            --remote exports a node's articles over the protocol, page by page (each page is \
            consistent; the whole export is not one snapshot while the node takes writes).

            Examples:
              folio export > archive.jsonl
              folio export --out backup.jsonl --all-versions
              folio export --prefix world/ --since 2026-11-01 | gzip > world-november.jsonl.gz
              folio export --remote hub.example --key-file mesh.key --out hub.jsonl
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: RemoteOptions
    @Option(help: ArgumentHelp("Write to this file instead of stdout (replaced atomically).", valueName: "file"), completion: .file()) var out: String?
    @Flag(help: "Every sibling version, with its causal metadata.") var allVersions = false
    @Option(help: "Only articles whose id starts with this.") var prefix: String = ""
    @Option(help: ArgumentHelp("Only articles written at or after this instant (ISO-8601 date, or date-time; UTC unless Z or an offset is given).", valueName: "time"))
    var since: String?

    func validate() throws {
        if let since, Export.milliseconds(since) == nil {
            throw ValidationError("--since must be an ISO-8601 date or date-time (2026-11-01 or 2026-11-01T09:30:00Z), not \"\(Terminal.shortened(since))\"")
        }
    }

    /// `text` as Unix milliseconds: a date (midnight UTC) or a date-time (UTC, or with Z or
    /// an offset); nil for anything else, impossible dates (2026-02-30) and times included.
    static func milliseconds(_ text: String) -> Int64? {
        let pattern = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/
        guard let m = text.wholeMatch(of: pattern) else { return nil }
        let (y, mo, d) = (Int(m.1)!, Int(m.2)!, Int(m.3)!)
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(mo), (1...days[mo - 1]).contains(d) else { return nil }
        let h = m.4.map { Int($0)! } ?? 0, mi = m.5.map { Int($0)! } ?? 0, sec = m.6.map { Int($0)! } ?? 0
        guard h <= 23, mi <= 59, sec <= 59 else { return nil }
        var offset = 0
        if let z = m.8, z != "Z" {
            let oh = Int(z.dropFirst().prefix(2))!, om = Int(z.suffix(2))!
            guard oh <= 14, om <= 59 else { return nil }
            offset = (z.first == "-" ? -1 : 1) * (oh * 3600 + om * 60)
        }
        // Days since 1970-01-01 (proleptic Gregorian), then the time of day, minus the offset.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let epochDays = era * 146_097 + doe - 719_468
        var ms = Int64(epochDays) * 86_400_000 + Int64(h * 3600 + mi * 60 + sec - offset) * 1000
        if let frac = m.7 { ms += Int64(String(frac.prefix(3)).padding(toLength: 3, withPad: "0", startingAt: 0))! }
        return ms
    }

    func run() async throws {
        let backend = try await Backend.open(store, remote, readOnly: true)
        let handle: FileHandle
        var tempPath: String?
        if let out {
            let tmp = out + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
                throw CLIFailure(code: .failure, message: "cannot write \(out)")
            }
            handle = h
            tempPath = tmp
        } else {
            handle = FileHandle.standardOutput
        }
        var buffer: [UInt8] = []
        var count = 0
        // A failed write (a full disk, a reader gone) stops the export.
        struct WriteFailed: Error { var errno: Int32 }
        func flush() throws {
            if let failure = Terminal.write(handle.fileDescriptor, buffer) { throw WriteFailed(errno: failure) }
            buffer.removeAll(keepingCapacity: true)
        }
        func emit(_ line: String) throws {
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
            count += 1
            if buffer.count > 1 << 20 { try flush() }
        }
        let (since, prefix, allVersions) = (self.since.flatMap(Export.milliseconds), self.prefix, self.allVersions)
        let visit: (ArticleState) throws -> Void = { state in
            if let since, state.versions.versions.map(\.timestamp).max() ?? .min < since { return }
            if allVersions {
                for v in state.versions.versions { try emit(VersionJSON.exportLine(state, v)) }
            } else if let a = state.article {
                try emit(a.jsonLine)
            }
        }
        var tooLarge: [OversizedArticle] = []
        do {
            try await withBackend(backend) { backend in
                switch backend {
                case let .local(s):
                    try s.forEach(prefix: prefix, includeDeleted: allVersions, visit)
                case let .remote(c, _):
                    tooLarge = try await Export.remoteArticles(c, prefix: prefix, includeDeleted: allVersions, since: since, visit)
                }
            }
            try flush()
        } catch {
            if let tempPath { try? FileManager.default.removeItem(atPath: tempPath) }
            if let w = error as? WriteFailed {
                guard let out else { Terminal.outputFailed(w.errno) }
                throw CLIFailure(code: .failure, message: "cannot write \(out): \(String(cString: strerror(w.errno)))")
            }
            throw error
        }
        if let out, let tempPath {
            try handle.synchronize()
            try handle.close()
            if rename(tempPath, out) != 0 {
                throw CLIFailure(code: .failure, message: "cannot replace \(out): \(String(cString: strerror(errno)))")
            }
        }
        Terminal.err("exported \(count) \(allVersions ? "versions" : "articles")" + (out.map { " to \($0)" } ?? ""))
        for o in tooLarge { Terminal.err("folio: article \(o) not exported: too large for one frame of this client") }
        if !tooLarge.isEmpty { throw CLIFailure(code: .rejected, message: "\(tooLarge.count) article(s) could not be exported; everything else is") }
    }

    /// A node's articles in id order, with their bodies: LIST pages of ids (metadata only),
    /// then FETCH for the articles that pass `since`, as much as fits an answer at a time.
    static func remoteArticles(
        _ c: FolioClient, prefix: String, includeDeleted: Bool, since: Int64?, _ visit: (ArticleState) throws -> Void
    ) async throws -> [OversizedArticle] {
        var after: String?
        var oversized: [OversizedArticle] = []
        while true {
            let page = try await c.list(ListQuery(prefix: prefix, after: after, source: nil, limit: ListQuery.maxLimit, includeDeleted: includeDeleted))
            var ids = page.articles.filter { s in since.map { s.versions.versions.map(\.timestamp).max() ?? .min >= $0 } ?? true }.map(\.id)
            while !ids.isEmpty {
                let r = try await c.fetch(ids, have: [], maxBytes: 4 << 20)
                oversized += r.oversized
                // Deleted meanwhile (or purged): skip; then go on after the last answered id.
                guard let last = r.lastAnswered(in: ids) else { break }
                for a in r.articles where includeDeleted || a.versions.isLive { try visit(a) }
                ids.removeFirst(last + 1)
            }
            guard page.more, let last = page.articles.last else { return oversized }
            after = last.id
        }
    }
}
