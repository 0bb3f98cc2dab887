/// A `published` date-time that names its zone, moved to UTC: how search compares dates
/// written with different offsets (`since:2026-11-23T05:00Z` against
/// "2026-11-23T09:00:00+09:00", which is midnight UTC).
public enum PublishedTime {
    /// `text` (valid per `ISO8601Check`) as "YYYYY-MM-DDTHH:MM" in UTC — the year plus one
    /// in five digits, so that 0000-01-01T00:30+01:00 and 9999-12-31T20:00-05:00 have one —
    /// followed by its seconds and fraction as written (offsets are whole minutes), its zone
    /// dropped; nil when it has no time or no zone (a floating local time), or is not such a
    /// text. Only ever compared with another text made here.
    public static func utc(_ text: String) -> [UInt8]? {
        let b = Array(text.utf8)
        guard b.count >= 17, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " ") else { return nil }
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for c in b[at..<at + n] {
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), let hour = digits(11, 2), let minute = digits(14, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60
        else { return nil }
        // The zone: "Z", or ±HH:MM / ±HHMM, after the seconds and fraction.
        guard let zone = b[16...].firstIndex(where: { $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }) else { return nil }
        var offset = 0
        if b[zone] != UInt8(ascii: "Z") {
            let colon = zone + 3 < b.count && b[zone + 3] == UInt8(ascii: ":") ? 1 : 0
            guard let oh = digits(zone + 1, 2), let om = digits(zone + 3 + colon, 2) else { return nil }
            offset = (oh * 60 + om) * (b[zone] == UInt8(ascii: "-") ? -1 : 1)
        }
        let minutes = (daysFromCivil(year, month, day) * 24 + hour) * 60 + minute - offset
        let days = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440
        let (y, m, d) = civil(fromDays: days)
        guard (-1...10_000).contains(y) else { return nil }
        let inDay = minutes - days * 1440
        func two(_ v: Int) -> [UInt8] { [UInt8(0x30 + v / 10), UInt8(0x30 + v % 10)] }
        let shifted = y + 1
        var out = [10_000, 1000, 100, 10, 1].map { UInt8(0x30 + shifted / $0 % 10) }
        out += [UInt8(ascii: "-")] + two(m) + [UInt8(ascii: "-")] + two(d) + [UInt8(ascii: "T")] + two(inDay / 60) + [UInt8(ascii: ":")] + two(inDay % 60)
        // A decimal comma (which ISO-8601 allows) compares as the point.
        out += b[16..<zone].map { $0 == UInt8(ascii: ",") ? UInt8(ascii: ".") : $0 }
        return out
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z: Int) -> (Int, Int, Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// A date-time's bytes as written, with the space form of the separator read as "T"
    /// (`published` may be written either way).
    static func asWritten(_ s: String) -> [UInt8] { s.utf8.map { $0 == 0x20 ? 0x54 : $0 } }

    /// `a` on or after `b`, compared over the length both have (a date against a date-time
    /// compares the dates).
    static func notBefore(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let n = min(a.count, b.count)
        return !a.prefix(n).lexicographicallyPrecedes(b.prefix(n))
    }

    /// The texts `published` and `bound` are compared as (to the shorter length): both in
    /// UTC when both name a zone and the bound has a time; else as written (a date bound
    /// compares the article's own calendar date).
    static func comparable(_ published: String, _ bound: String) -> (published: [UInt8], bound: [UInt8]) {
        if let b = utc(bound), var p = utc(published) {
            // A published time written to fewer digits than the bound is the instant it names:
            // its missing seconds and fraction are zeros (14:05:00Z is before 14:05:00.7Z, as
            // 14:05:00.5Z is). A bound written to fewer digits names its whole minute, second, …
            if p.count < b.count {
                if p.count == 17 { p += Array(":00".utf8) }
                if p.count == 20, b.count > 20 { p.append(b[20]) }
                while p.count < b.count { p.append(UInt8(ascii: "0")) }
            }
            return (p, b)
        }
        return (asWritten(published), asWritten(bound))
    }

    /// `published` on or after `bound` (`comparable`).
    public static func onOrAfter(_ published: String, _ bound: String) -> Bool {
        let (p, b) = comparable(published, bound)
        return notBefore(p, b)
    }

    /// `published` on or before `bound` (`comparable`).
    public static func onOrBefore(_ published: String, _ bound: String) -> Bool {
        let (p, b) = comparable(published, bound)
        return notBefore(b, p)
    }
}
