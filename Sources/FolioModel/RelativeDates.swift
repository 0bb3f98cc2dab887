/// Relative dates in a query's `since:` and `until:` (`since:tuesday`, `until:yesterday`,
/// `since:3d`), written as the ISO-8601 dates they stand for on the user's calendar.
///
/// A query as a node or `Store.search` reads it holds ISO-8601 dates only (SPEC §6.2): "today"
/// is a day of the user's calendar, not of the node's clock and time zone, so a client resolves
/// these words before it sends or runs the query, with `resolvingRelativeDates`.
///
/// - `today`, `yesterday`: that day (a date: `since:` keeps all of it, and so does `until:`).
/// - A weekday, in full or in three letters (`tuesday`, `tue`): the most recent one, today
///   included (on a Tuesday, `since:tuesday` is today).
/// - `Nd`, `Nw`: N days or weeks before today (`0d` is today), N ≤ 36 600 days in all.
/// - `Nh`: the instant N hours ago, in UTC (`since:6h` → `2026-11-30T08:15:00Z`), N ≤ 878 400.
///
/// Case does not matter (`Since:Tuesday`), and a quoted value reads the same
/// (`since:"tuesday"` → `since:"2026-11-24"`). A value that is neither these nor ISO-8601, or
/// none, is refused, naming both.
extension SearchQuery {
    /// The most days a relative date reaches back (about a hundred years).
    public static let maxRelativeDays = 36_600

    /// `text` with each relative `since:`/`until:` value replaced by the date it names, when
    /// the time is `now` (seconds since 1970) and the user's clock is `utcOffset` seconds
    /// ahead of UTC. Everything else is kept as written, byte for byte.
    public static func resolvingRelativeDates(in text: String, now: Int64, utcOffset: Int) throws(Invalid) -> String {
        // The words as the parser reads them (an unclosed quote: left for it to refuse).
        guard let words = try? split(text) else { return text }
        var scalars = Array(text.unicodeScalars)
        var replaced = false
        for word in words.reversed() {
            guard let resolved = try resolve(word, now: now, utcOffset: utcOffset) else { continue }
            scalars.replaceSubrange(word.scalars, with: resolved.unicodeScalars)
            replaced = true
        }
        return replaced ? String(String.UnicodeScalarView(scalars)) : text
    }

    /// The word `since:VALUE` or `until:VALUE` (or `since:"VALUE"`) with VALUE's date, when
    /// VALUE is relative.
    private static func resolve(_ word: Word, now: Int64, utcOffset: Int) throws(Invalid) -> String? {
        // The field as the parser reads it: before the quotes, or before the first colon.
        let field: Substring
        let value: String
        if word.quoted {
            guard word.prefix.hasSuffix(":") else { return nil }
            (field, value) = (word.prefix.dropLast(), word.text)
        } else {
            guard let colon = word.text.firstIndex(of: ":") else { return nil }
            (field, value) = (word.text[..<colon], String(word.text[word.text.index(after: colon)...]))
        }
        let name = field.lowercased()
        guard name == "since" || name == "until" else { return nil }
        let forms = "ISO-8601 (2026-11-20, 2026-11-20T14:05Z), today, yesterday, a weekday (tuesday or tue), or Nd, Nw, Nh (days, weeks, hours ago)"
        guard !value.isEmpty else { throw Invalid(reason: "\(name): needs a date: \(forms)") }
        if let date = try relativeDate(value.lowercased(), field: name, now: now, utcOffset: utcOffset) {
            // Quoted as it was: a word may follow the closing quote (since:"2w"-rail).
            return word.quoted ? field + ":\"" + date + "\"" : field + ":" + date
        }
        if let problem = ISO8601Check.problem(with: value) {
            throw Invalid(reason: "\(name): needs a date, not \"\(value)\" (\(problem)): \(forms)")
        }
        return nil
    }

    private static let weekdays: [(full: String, short: String)] = [
        ("monday", "mon"), ("tuesday", "tue"), ("wednesday", "wed"), ("thursday", "thu"),
        ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun"),
    ]

    /// The ISO-8601 date (or, for hours, UTC date-time) a relative value names; nil when
    /// `value` is not one (an ISO date, or a word for the parser to refuse).
    static func relativeDate(_ value: String, field: String, now: Int64, utcOffset: Int) throws(Invalid) -> String? {
        // Today on the user's calendar, as days since 1970-01-01 (floored: before 1970 too).
        let local = now + Int64(utcOffset)
        let today = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        func date(daysAgo n: Int) -> String {
            let (y, m, d) = PublishedTime.civil(fromDays: today - n)
            return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
        }
        switch value {
        case "today": return date(daysAgo: 0)
        case "yesterday": return date(daysAgo: 1)
        default: break
        }
        if let index = weekdays.firstIndex(where: { $0.full == value || $0.short == value }) {
            // 1970-01-01 was a Thursday (index 3, Monday being 0).
            let todayIndex = ((today % 7) + 7 + 3) % 7
            return date(daysAgo: (todayIndex - index + 7) % 7)
        }
        // Nd, Nw, Nh: ASCII digits, then the unit.
        let b = Array(value.utf8)
        guard b.count >= 2, let unit = b.last, [UInt8(ascii: "d"), UInt8(ascii: "w"), UInt8(ascii: "h")].contains(unit),
              b.dropLast().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        let limit = unit == UInt8(ascii: "h") ? maxRelativeDays * 24 : unit == UInt8(ascii: "w") ? maxRelativeDays / 7 : maxRelativeDays
        // Read with a cap (a value of any length cannot overflow).
        var n = 0
        for digit in b.dropLast() {
            n = n * 10 + Int(digit - 0x30)
            if n > limit { break }
        }
        guard n <= limit else {
            throw Invalid(reason: "\(field):\(value) reaches back more than \(limit) \(unit == UInt8(ascii: "h") ? "hours" : unit == UInt8(ascii: "w") ? "weeks" : "days")")
        }
        switch unit {
        case UInt8(ascii: "d"): return date(daysAgo: n)
        case UInt8(ascii: "w"): return date(daysAgo: n * 7)
        default:
            // An instant: UTC, to the second.
            let t = now - Int64(n) * 3600
            let days = Int(t >= 0 ? t / 86_400 : (t - 86_399) / 86_400)
            let secs = Int(t - Int64(days) * 86_400)
            let (y, m, d) = PublishedTime.civil(fromDays: days)
            return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2) + "Z"
        }
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
