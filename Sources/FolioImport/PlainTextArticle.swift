import FolioModel
import FolioStore

/// Reads an article from a scraped web page saved as plain text:
///
///     Title of the article
///
///     Title of the article            ← the repeated title is skipped
///
///     SOURCE - First paragraph …      ← "SOURCE - " gives the source
///
///     Second paragraph …
///
///      Top stories                    ← page furniture: this line and all after it are dropped
///     …
///
/// Paragraphs are kept (joined by a blank line). The id is derived from the source and the
/// title, so importing the same page again finds the same article.
public enum PlainTextArticle {
    /// Lines (compared trimmed, case-insensitively) that start the page furniture after the body.
    public static let furnitureMarkers: Set<String> = [
        "top stories", "partner news", "related news", "related articles", "related stories", "most read",
        "most popular", "latest news", "more news", "more stories", "read more", "recommended", "you may also like",
        "share this article", "advertisement", "---",
    ]

    /// A line-numbered reason the text is not an article.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Parses UTF-8 bytes (a leading BOM is ignored).
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> Article {
        var b = bytes[...]
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { b = b.dropFirst(3) }
        guard let text = String(validating: b, as: UTF8.self) else {
            let (line, column, byte) = firstInvalidUTF8(b)
            throw Failure(line: line, reason: "invalid UTF-8 (byte 0x\(String(byte, radix: 16)) at column \(column))")
        }
        return try parse(text)
    }

    public static func parse(_ text: String) throws(Failure) -> Article {
        // "\r\n" is one Character in Swift, so split on every newline form.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        func blank(_ s: Substring) -> Bool { s.allSatisfy(\.isWhitespace) }
        var i = 0
        while i < lines.count, blank(lines[i]) { i += 1 }
        guard i < lines.count else { throw Failure(line: 1, reason: "the file is empty") }
        let title = lines[i].trimmingWhitespace()
        let titleLine = i + 1
        i += 1
        while i < lines.count, blank(lines[i]) { i += 1 }
        if i < lines.count, lines[i].trimmingWhitespace() == title { i += 1 }

        var paragraphs: [[Substring]] = []
        var current: [Substring] = []
        while i < lines.count {
            let line = lines[i]
            if furnitureMarkers.contains(line.trimmingWhitespace().lowercased()) { break }
            if blank(line) {
                if !current.isEmpty { paragraphs.append(current) }
                current = []
            } else {
                current.append(Substring(line.trimmingWhitespace()))
            }
            i += 1
        }
        if !current.isEmpty { paragraphs.append(current) }
        guard !paragraphs.isEmpty else {
            throw Failure(line: titleLine, reason: "no body text after the title \"\(title.prefix(60))\" (truncated file?)")
        }
        var source = ""
        if let first = paragraphs[0].first, let range = first.range(of: " - ") {
            let candidate = first[first.startIndex..<range.lowerBound].trimmingWhitespace()
            // A source is a short name, not the start of a sentence.
            if !candidate.isEmpty, candidate.utf8.count <= 80, candidate.split(separator: " ").count <= 6 {
                source = candidate
                paragraphs[0][0] = first[range.upperBound...]
            }
        }
        let body = paragraphs.map { $0.joined(separator: "\n") }.joined(separator: "\n\n")
        return Article(id: derivedID(source: source, title: title), title: title, source: source, body: body)
    }

    /// `slug(source)/slug(title)`: lowercase letters and digits of any script, other runs
    /// become "-"; long titles are cut and suffixed with a hash of the full title.
    public static func derivedID(source: String, title: String) -> String {
        let s = slug(source, max: 60)
        let fullTitle = slug(title, max: .max)
        var t = slug(title, max: 200)
        if t != fullTitle || t.isEmpty { t += (t.isEmpty ? "" : "-") + fnv1a(title) }
        return (s.isEmpty ? "text" : s) + "/" + t
    }

    /// The id of a page read with `--id-from path`: its path relative to the imported
    /// directory, without the extension(s), each part slugged: "site/2024/Some Page.txt" →
    /// "site/2024/some-page".
    public static func pathID(_ relative: String) -> String {
        var parts = relative.split(separator: "/").map(String.init)
        if var last = parts.popLast() {
            for ext in [".gz", ".txt", ".text"] where last.lowercased().hasSuffix(ext) { last = String(last.dropLast(ext.count)) }
            parts.append(last)
        }
        let slugs = parts.map { slug($0, max: 120) }.filter { !$0.isEmpty }
        return slugs.isEmpty ? "text/" + fnv1a(relative) : slugs.joined(separator: "/")
    }

    /// The id of a page whose source and title derive `id` already taken by another page of
    /// the same import: suffixed with a hash of its path, stable from one import to the next.
    public static func disambiguated(_ id: String, path: String) -> String {
        id + "-" + fnv1a(path).prefix(8)
    }

    static func slug(_ text: String, max: Int) -> String {
        var out = ""
        var pendingDash = false
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber {
                if pendingDash && !out.isEmpty { out.append("-") }
                pendingDash = false
                if out.utf8.count + ch.utf8.count > max { break }
                out.append(ch)
            } else {
                pendingDash = true
            }
        }
        return out
    }

    /// 64-bit FNV-1a of the UTF-8 bytes, as 16 hex digits (stable across runs and platforms).
    static func fnv1a(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16).leftPadded(to: 16)
    }

    /// Line and column (in characters) of the first invalid UTF-8 byte, and the byte.
    static func firstInvalidUTF8(_ b: ArraySlice<UInt8>) -> (line: Int, column: Int, byte: UInt8) {
        guard let bad = UTF8Check.firstInvalid(b) else { return (1, 1, 0) }
        let before = b[b.startIndex..<bad]
        let line = before.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? b.startIndex
        let column = String(decoding: b[lineStart..<bad], as: UTF8.self).count + 1
        return (line, column, b[bad])
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
