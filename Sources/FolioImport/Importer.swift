import FolioModel
import FolioStore
import Foundation

/// Imports articles from JSON Lines files, plain-text scraped pages and directories of them.
///
/// Records are read as a stream and written in batches (one LMDB transaction per batch), so
/// memory stays bounded whatever the input size. A bad record is reported with its file and
/// line and never stops the rest; in strict mode every record is checked first and nothing
/// is written unless all are good.
public final class Importer {
    public struct Options: Sendable {
        /// Abort, writing nothing, if any record is rejected.
        public var strict = false
        /// Articles per write transaction.
        public var batchSize = 1000
        /// Body bytes per write transaction. A write transaction holds the pages it dirties in
        /// memory until it commits (the bodies, and the search index's postings for every word):
        /// 8 MiB of bodies keeps an importer's heap under ~60 MB at any store size (at 1M
        /// articles of 3 KB, 5 000 per transaction peaked at 113 MB, 2 000 at 49 MB — for
        /// 15 % more time).
        public var batchBytes = 8 << 20
        /// Files whose kind is told by their content, not their name (standard input's copy).
        public var sniff: Set<String> = []
        /// Names files are reported under instead of their path (standard input's copy: "stdin").
        public var displayNames: [String: String] = [:]
        /// Plain-text pages get their id from their path (relative to the directory named on
        /// the command line, extension dropped, each part slugged) instead of source and title.
        public var idFromPath = false
        public init() {}
    }

    /// One refused record.
    public struct Rejection: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        /// 1-based line of the record (the line of the problem for plain text), 0 for a whole file.
        public var line: Int
        public var reason: String
        public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
    }

    public struct Report: Sendable, Equatable {
        public var files = 0
        public var added = 0
        public var updated = 0
        public var unchanged = 0
        /// Versions merged from `export --all-versions` records.
        public var restored = 0
        public var rejected: [Rejection] = []
        /// Entries of directories that were not imported, with the reason.
        public var skipped: [Skip] = []
        /// Version records not restored because of what this store collected (SPEC §5.2):
        /// article id and why. They count as rejected for the exit code.
        public var notRestored: [Skip] = []
        /// True when strict mode found rejections and wrote nothing.
        public var aborted = false
        public var written: Int { added + updated + restored }
    }

    public struct Progress: Sendable {
        public var bytesDone: Int
        public var bytesTotal: Int
        public var records: Int
        public var file: String
    }

    enum Item: Sendable {
        case article(Article)
        /// Consecutive `--all-versions` records of one article: its whole sibling set.
        case versions(id: String, [Version], bodies: [BodyHash: String])
        var bytes: Int {
            switch self {
            case let .article(a): return a.body.utf8.count + 256
            case let .versions(_, _, b): return b.values.reduce(256) { $0 + $1.utf8.count }
            }
        }
    }

    enum FileKind { case jsonLines, jsonDocument, plainText }

    /// How a file is read: its kind, and whether it is gzip-compressed.
    struct Format: Equatable {
        var kind: FileKind?
        var gzip = false
    }

    static let importableExtensions: [String: FileKind] = [
        "jsonl": .jsonLines, "ndjson": .jsonLines, "json": .jsonDocument, "txt": .plainText, "text": .plainText,
    ]

    /// What `files` says of a file of another type.
    static let importableTypes = "not an importable type (.jsonl, .ndjson, .json, .txt, .text, each optionally .gz)"

    /// The format a file's name declares: `a.jsonl`, `a.jsonl.gz`, …; nil for any other name.
    static func format(ofName name: String) -> Format? {
        var ext = (name as NSString).pathExtension.lowercased()
        var gzip = false
        if ext == "gz" {
            gzip = true
            ext = ((name as NSString).deletingPathExtension as NSString).pathExtension.lowercased()
        }
        return importableExtensions[ext].map { Format(kind: $0, gzip: gzip) }
    }

    let store: Store?
    let options: Options

    public init(store: Store, options: Options = Options()) {
        self.store = store
        self.limits = store.options.limits
        self.options = options
        self.sink = nil
    }

    /// What an article batch did where it was written.
    public struct Counts: Sendable {
        public var added = 0, updated = 0, unchanged = 0
        public init(added: Int = 0, updated: Int = 0, unchanged: Int = 0) {
            self.added = added
            self.updated = updated
            self.unchanged = unchanged
        }
    }

    /// An importer that hands each batch of articles to `sink` instead of a local store (a
    /// node, through its protocol). Version records (`export --all-versions`) are rejected:
    /// they restore exact versions, which only a store's merge can do.
    public init(limits: ArticleLimits = .default, options: Options = Options(), sink: @escaping ([Article]) throws -> Counts) {
        self.store = nil
        self.limits = limits
        self.options = options
        self.sink = sink
    }

    let limits: ArticleLimits
    let sink: (([Article]) throws -> Counts)?

    /// Expands `paths` into files (directories recursively, in name order).
    ///
    /// Symbolic links are followed, to files and to directories alike; a directory reached a
    /// second time (a link loop, or two links to one place) is not read again. Entries whose
    /// names start with "." are skipped (and listed). Anything else that is not imported — a file of
    /// another type, a broken link, a socket or device, a loop — is listed in
    /// `report.skipped` with the reason; a directory or file that cannot be read is a rejection.
    func files(_ paths: [String], report: inout Report) -> [(path: String, format: Format, relative: String)] {
        var out: [(String, Format, String)] = []
        var root = ""
        var visited = Set<FileIdentity>()
        func walk(_ dir: String, identity: FileIdentity) {
            guard visited.insert(identity).inserted else {
                report.skipped.append(Skip(path: dir, reason: "directory already read (a symbolic-link loop or a second link to it)"))
                return
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: dir)
            } catch {
                report.rejected.append(Rejection(file: dir, line: 0, reason: "cannot read the directory: \(Importer.errnoText(error))"))
                return
            }
            for name in names.sorted() {
                let full = (dir as NSString).appendingPathComponent(name)
                if name.hasPrefix(".") {
                    report.skipped.append(Skip(path: full, reason: "hidden (its name starts with \".\"); name it on the command line to import it"))
                    continue
                }
                switch FileIdentity.of(full) {
                case let .failure(why):
                    report.skipped.append(Skip(path: full, reason: why.description))
                case let .success((id, isDirectory, isRegular)):
                    if isDirectory {
                        walk(full, identity: id)
                    } else if !isRegular {
                        report.skipped.append(Skip(path: full, reason: "not a regular file"))
                    } else if let format = Importer.format(ofName: name) {
                        out.append((full, format, String(String(full.dropFirst(root.count)).trimmingPrefix("/"))))
                    } else {
                        report.skipped.append(Skip(path: full, reason: Importer.importableTypes))
                    }
                }
            }
        }
        for path in paths {
            switch FileIdentity.of(path) {
            case let .failure(why):
                report.rejected.append(Rejection(file: path, line: 0, reason: why.description))
            case let .success((id, isDirectory, isRegular)):
                if isDirectory {
                    root = path
                    walk(path, identity: id)
                } else if !isRegular {
                    // A pipe or a device would be read twice (sniffed, then imported) or for ever.
                    report.rejected.append(Rejection(file: path, line: 0, reason: "not a regular file (for standard input, give -)"))
                } else if options.sniff.contains(path) {
                    out.append((path, Format(kind: nil), options.displayNames[path] ?? "stdin"))
                } else if let format = Importer.format(ofName: path) {
                    out.append((path, format, (path as NSString).lastPathComponent))
                } else {
                    // Named on the command line, yet of no known type: refused by name, never guessed.
                    report.rejected.append(Rejection(file: path, line: 0, reason: Importer.importableTypes))
                }
            }
        }
        return out
    }

    /// A file or directory that was not imported, and why.
    public struct Skip: Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): skipped: \(reason)" }
    }

    static func fileSize(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    static func errnoText(_ error: Error) -> String {
        if let e = error as? CocoaError, let u = e.underlying as? POSIXError { return String(cString: strerror(u.code.rawValue)) }
        if let u = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        return error.localizedDescription
    }

    /// The store failed part-way (a full disk, say): what was committed before it stays, the
    /// batch in progress was not written, and re-running the same import resumes (what is
    /// already there counts as unchanged).
    public struct Failure: Error, CustomStringConvertible {
        /// What had been committed when the store failed.
        public var report: Report
        public var error: Error
        public var description: String { "\(error)" }
    }

    /// Imports `paths`; throws only `Failure`, on a store failure (bad input lands in the report).
    public func run(paths: [String], progress: ((Progress) -> Void)? = nil) throws(Failure) -> Report {
        var report = Report()
        do {
            return try run(paths: paths, into: &report, progress: progress)
        } catch {
            throw Failure(report: report, error: error)
        }
    }

    private func run(paths: [String], into report: inout Report, progress: ((Progress) -> Void)?) throws -> Report {
        let files = files(paths, report: &report)
        report.files = files.count
        let total = files.reduce(0) { acc, f in
            acc + ((try? FileManager.default.attributesOfItem(atPath: f.path)[.size] as? Int) ?? 0)
        }
        if options.strict {
            var check = report
            try read(files, total: total, progress: nil) { _ in } reject: { check.rejected.append($0) }
            if !check.rejected.isEmpty {
                check.aborted = true
                return check
            }
        }
        var batch: [Item] = []
        var batchBytes = 0
        // A batch is written on a thread of its own while the next is read, parsed and its
        // search documents prepared here: the two halves of an import overlap on two cores.
        let background = BackgroundWrite()
        // Words folded for search while preparing, kept across the batches (this thread's).
        let foldCache = FoldCache()
        func collect() throws {
            guard let done = try background.wait() else { return }
            report.added += done.added
            report.updated += done.updated
            report.unchanged += done.unchanged
            report.restored += done.restored
            report.notRestored += done.refused
        }
        func flush() throws {
            guard !batch.isEmpty else { return }
            if let sink {
                let c = try sink(batch.compactMap { if case let .article(a) = $0 { a } else { nil } })
                report.added += c.added
                report.updated += c.updated
                report.unchanged += c.unchanged
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
                return
            }
            let items = batch
            let store = self.store!
            // A lexicon per batch: the writer reads this one while the next is made.
            let documents = store.maintainsSearchIndex ? Self.prepareDocuments(items, lexicon: TermLexicon(foldCache: foldCache)) : [:]
            batch = []
            batchBytes = 0
            try collect()
            background.start { try Self.write(items, documents: documents, to: store) }
        }
        try read(files, total: total, progress: progress) { item in
            // Sibling records of one article stay together: they are merged as one set. One
            // store's export lists a set's versions by ascending dot, none superseding another;
            // a record that breaks either starts another set (another store's export of the
            // same article, concatenated after it), merged after it as that store's whole set.
            if case let .versions(id, vs, bodies) = item, case let .versions(lastID, held, heldBodies)? = batch.last, lastID.sameBytes(id),
                let before = held.last?.dot, let next = vs.first?.dot, before < next,
                !held.contains(where: { h in vs.contains { h.isObsoleted(by: $0) || $0.isObsoleted(by: h) } })
            {
                batch[batch.count - 1] = .versions(id: id, held + vs, bodies: heldBodies.merging(bodies) { a, _ in a })
                batchBytes += item.bytes
                return
            }
            if batch.count >= options.batchSize || batchBytes >= options.batchBytes { try flush() }
            batch.append(item)
            batchBytes += item.bytes
        } reject: { report.rejected.append($0) }
        do {
            try flush()
            try collect()
        } catch {
            // A failed write stops the import; the one in flight is waited for either way.
            _ = try? background.wait()
            throw error
        }
        return report
    }

    /// What one batch's write did.
    struct WriteCounts: Sendable {
        var added = 0, updated = 0, unchanged = 0, restored = 0
        var refused: [Skip] = []
    }

    /// The search documents of a batch's articles (for versions: of the set's own winner),
    /// worked out before its write transaction (`StoreWriter.prepare`).
    static func prepareDocuments(_ items: [Item], lexicon: TermLexicon) -> [String: PreparedSearchDocument] {
        var out: [String: PreparedSearchDocument] = [:]
        out.reserveCapacity(items.count)
        // The articles share their words: each is folded once for all of them.
        for item in items {
            switch item {
            case let .article(a):
                out[a.id] = PreparedSearchDocument(title: a.title, body: a.body, source: a.source, tags: a.tags, published: a.published, lexicon: lexicon)
            case let .versions(id, vs, bodies):
                out[id] = PreparedSearchDocument(winnerOf: VersionSet(versions: vs), lexicon: lexicon) { bodies[$0] }
            }
        }
        return out
    }

    /// Writes one batch in one transaction.
    static func write(_ batch: [Item], documents: [String: PreparedSearchDocument], to store: Store) throws -> WriteCounts {
        try store.write { w -> WriteCounts in
            w.prepare(documents)
            var counts = WriteCounts()
            for item in batch {
                switch item {
                case let .article(a):
                    switch try w.put(a, skipIfUnchanged: true).kind {
                    case .added: counts.added += 1
                    case .updated: counts.updated += 1
                    default: counts.unchanged += 1
                    }
                case let .versions(id, vs, bodies):
                    let o = try w.merge(id: id, versions: vs, bodies: bodies)
                    if o.refusedAsStale {
                        counts.refused.append(Skip(path: id, reason: "not restored: this store deleted the article and collected its tombstone after these versions were written (SPEC §5.2); to keep it, import it as a new article (without \"_folio\")"))
                    } else if o.droppedAsPurged {
                        counts.refused.append(Skip(path: id, reason: "not restored: versions a purge covered (SPEC §5.2)"))
                    }
                    if case let .changed(added, _) = o.result {
                        counts.restored += added.count
                    } else if !o.refusedAsStale && !o.droppedAsPurged {
                        counts.unchanged += 1
                    }
                }
            }
            return counts
        }
    }

    /// Streams every record of `files` to `accept`, or its rejection to `reject`.
    private func read(
        _ files: [(path: String, format: Format, relative: String)], total: Int, progress: ((Progress) -> Void)?,
        accept: (Item) throws -> Void, reject rejectAsNamed: (Rejection) -> Void
    ) throws {
        var done = 0
        var records = 0
        var lastReport = Date.distantPast
        var calls = 0
        func tick(_ file: String, _ bytes: Int, force: Bool = false) {
            guard let progress else { return }
            // Reading the clock per line would cost more than a blank line does.
            calls &+= 1
            guard force || calls & 1023 == 0 else { return }
            let now = Date()
            if force || now.timeIntervalSince(lastReport) > 0.1 {
                lastReport = now
                progress(Progress(bytesDone: bytes, bytesTotal: total, records: records, file: file))
            }
        }
        let limits = self.limits
        let maxLine = min(limits.maxBodyBytes, limits.maxArticleBytes) * 2 + (1 << 20)  // escapes can double a size
        // Pages of this run by id: a second, different page that derives the same id (same
        // source and title) becomes an article of its own instead of overwriting the first.
        var pageIDs: [String: String] = [:]
        for (path, format, relative) in files {
            let name = options.displayNames[path] ?? path
            func reject(_ r: Rejection) {
                var r = r
                r.file = name
                rejectAsNamed(r)
            }
            var kind = format.kind
            var format = format
            if format.gzip && !Importer.startsWithGzipMagic(path) {
                reject(Rejection(file: path, line: 0, reason: "named .gz but not gzip data"))
                continue
            }
            if kind == nil {
                // Content decides (standard input): gzip by its magic bytes, then the first character.
                format.gzip = Importer.startsWithGzipMagic(path)
                kind = sniff(path, gzip: format.gzip)
            }
            switch kind {
            case .jsonLines?, nil:
                var lines: LineReader
                do {
                    lines = try LineReader(path: path, maxLineBytes: maxLine, gzip: format.gzip)
                } catch {
                    reject(Rejection(file: path, line: 0, reason: "\(error)"))
                    continue
                }
                defer {
                    if let failure = lines.failure {
                        reject(Rejection(file: path, line: lines.linesRead + 1, reason: "\(failure); the records before this line were read"))
                    }
                }
                while let line = lines.next() {
                    switch line {
                    case let .tooLong(n, bytes):
                        reject(Rejection(file: path, line: n, reason: "record is \(bytes) bytes, over the \(maxLine)-byte line limit"))
                    case let .text(n, bytes):
                        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                        records += 1
                        do {
                            try accept(try item(from: JSONParser.parse(bytes), limits: limits))
                        } catch let e as JSONParser.Error {
                            reject(Rejection(file: path, line: n, reason: "invalid JSON at \(e)"))
                        } catch let e as InvalidArticle {
                            reject(Rejection(file: path, line: n, reason: e.description))
                        } catch let e as VersionJSON.BadVersion {
                            reject(Rejection(file: path, line: n, reason: e.description))
                        }
                    }
                    tick(path, done + lines.bytesRead)
                }
                done += lines.bytesRead
            case .jsonDocument?:
                // A document is parsed whole: past this size, JSON Lines is the way.
                if let size = Importer.fileSize(path), size > 1 << 30 {
                    reject(Rejection(file: path, line: 0, reason: "a JSON document of \(size) bytes is read whole; split it into JSON Lines (.jsonl) instead"))
                    continue
                }
                guard var bytes = readWhole(path, gzip: format.gzip, limit: 1 << 30, tooLarge: "a JSON document over 1 GiB is read whole; split it into JSON Lines (.jsonl) instead", reject: reject) else { continue }
                done += Importer.fileSize(path) ?? bytes.count
                if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
                let value: JSONValue
                do {
                    value = try JSONParser.parse(bytes)
                } catch let e as JSONParser.Error {
                    let (line, col) = lineAndColumn(bytes, e.offset)
                    reject(Rejection(file: path, line: line, reason: "invalid JSON at column \(col): \(e.reason)"))
                    continue
                }
                let values: [JSONValue]
                if case let .array(items) = value { values = items } else { values = [value] }
                for (i, v) in values.enumerated() {
                    records += 1
                    do {
                        try accept(try item(from: v, limits: limits))
                    } catch let e as InvalidArticle {
                        reject(Rejection(file: path, line: 1, reason: (values.count > 1 ? "item \(i): " : "") + e.description))
                    } catch let e as VersionJSON.BadVersion {
                        reject(Rejection(file: path, line: 1, reason: (values.count > 1 ? "item \(i): " : "") + e.description))
                    }
                }
                tick(path, done)
            case .plainText?:
                // One page is one article: a file larger than any article can be is refused unread.
                if !format.gzip, let size = Importer.fileSize(path), size > maxLine {
                    reject(Rejection(file: path, line: 0, reason: "is \(size) bytes, larger than an article may be (\(limits.maxArticleBytes) bytes)"))
                    continue
                }
                guard let data = readWhole(path, gzip: format.gzip, limit: maxLine, tooLarge: "is larger than an article may be (\(limits.maxArticleBytes) bytes)", reject: reject) else { continue }
                done += Importer.fileSize(path) ?? data.count
                records += 1
                do {
                    var article = try PlainTextArticle.parse(data)
                    if options.idFromPath {
                        article.id = PlainTextArticle.pathID(relative)
                    } else if let first = pageIDs[article.id], !first.sameBytes(relative) {
                        article.id = PlainTextArticle.disambiguated(article.id, path: relative)
                    }
                    pageIDs[article.id] = pageIDs[article.id] ?? relative
                    do {
                        try article.validate(limits: limits)
                    } catch {
                        reject(Rejection(file: path, line: 1, reason: error.description))
                        continue
                    }
                    try accept(.article(article))
                } catch let e as PlainTextArticle.Failure {
                    reject(Rejection(file: path, line: e.line, reason: e.reason))
                }
                tick(path, done)
            }
        }
        tick("", done, force: true)
    }

    /// A whole file's bytes (decompressed), or nil after rejecting it.
    private func readWhole(_ path: String, gzip: Bool, limit: Int, tooLarge: String, reject: (Rejection) -> Void) -> [UInt8]? {
        let source: ByteSource
        do {
            source = try ByteSource(path: path, gzip: gzip)
        } catch {
            reject(Rejection(file: path, line: 0, reason: "\(error)"))
            return nil
        }
        switch source.readAll(limit: limit) {
        case let .success(bytes): return bytes
        case .failure(.tooLarge):
            reject(Rejection(file: path, line: 0, reason: tooLarge))
        case let .failure(.unreadable(why)):
            reject(Rejection(file: path, line: 0, reason: why))
        }
        return nil
    }

    /// A JSON record: an article, or a sibling version exported with `--all-versions`.
    private func item(from json: JSONValue, limits: ArticleLimits) throws -> Item {
        guard case var .object(fields) = json, let vi = fields.firstIndex(where: { $0.key == VersionJSON.versionKey }) else {
            return .article(try Article(json: json, limits: limits))
        }
        guard sink == nil else {
            throw InvalidArticle(
                field: VersionJSON.versionKey,
                reason: "a version record (from export --all-versions) restores only into a local store: import it there, then `folio sync`")
        }
        let meta = try VersionJSON.parseVersion(fields[vi].value)
        fields.remove(at: vi)
        if meta.deleted {
            guard case let .string(id)? = JSONValue.object(fields)["id"], !id.isEmpty else {
                throw InvalidArticle(field: "id", reason: "is missing")
            }
            return .versions(id: id, [Version(dot: meta.dot, context: meta.context, timestamp: meta.timestamp, content: nil)], bodies: [:])
        }
        let a = try Article(json: .object(fields), limits: limits)
        let content = VersionContent(
            title: a.title, source: a.source, url: a.url, published: a.published, tags: a.tags, extra: a.extra,
            bodyHash: BodyHash(of: a.body), bodyLength: a.body.utf8.count)
        return .versions(
            id: a.id, [Version(dot: meta.dot, context: meta.context, timestamp: meta.timestamp, content: content)],
            bodies: [content.bodyHash: a.body])
    }

    /// Guesses a file's kind from its first non-blank byte: `{` means JSON Lines.
    private func sniff(_ path: String, gzip: Bool) -> FileKind? {
        guard let source = try? ByteSource(path: path, gzip: gzip) else { return nil }
        var head = [UInt8](repeating: 0, count: 4096)
        let n = head.withUnsafeMutableBytes { source.read(into: $0) }
        head.removeSubrange(n...)
        guard let first = head.first(where: { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }) else { return .plainText }
        if first == UInt8(ascii: "{") { return .jsonLines }
        if first == UInt8(ascii: "[") { return .jsonDocument }
        return .plainText
    }

    static func startsWithGzipMagic(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return [UInt8](h.readData(ofLength: 2)) == [0x1F, 0x8B]
    }

    private func lineAndColumn(_ bytes: [UInt8], _ offset: Int) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }
}

/// A file's device and inode, as `stat(2)` reports them after following links.
struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    /// Stats `path` (following symbolic links): its identity and type, or why it cannot be read.
    static func of(_ path: String) -> Result<(FileIdentity, isDirectory: Bool, isRegular: Bool), StatFailure> {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let err = errno
            var l = stat()
            if err == ENOENT, lstat(path, &l) == 0 { return .failure(StatFailure("broken symbolic link")) }
            if err == ELOOP { return .failure(StatFailure("symbolic-link loop")) }
            return .failure(StatFailure(err == ENOENT ? "no such file or directory" : String(cString: strerror(err))))
        }
        let type = st.st_mode & S_IFMT
        return .success((FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)), type == S_IFDIR, type == S_IFREG))
    }
}

struct StatFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One write at a time on a thread of its own (`Importer.run`): `start` hands it work, `wait`
/// blocks until it is done and returns what it returned (or throws what it threw). The
/// importer is synchronous code on a thread of its own, so blocking here is the point.
private final class BackgroundWrite: @unchecked Sendable {
    private let queue = DispatchQueue(label: "folio.import.write")
    private let group = DispatchGroup()
    // Written by the queue, read after `group.wait()` (which orders the two).
    private var result: Result<Importer.WriteCounts, Error>?

    func start(_ work: @escaping @Sendable () throws -> Importer.WriteCounts) {
        queue.async(group: group) { self.result = Result { try work() } }
    }

    func wait() throws -> Importer.WriteCounts? {
        group.wait()
        defer { result = nil }
        return try result?.get()
    }
}
