/// Validates the `published` field: an ISO-8601 calendar date, optionally with a time.
///
/// Accepted: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `…:SS`, `…:SS.fraction`, each with an optional
/// `Z` or `±HH:MM` offset. The text is stored as given; only its validity is checked.
enum ISO8601Check {
    /// nil when `text` is empty or valid, otherwise what is wrong.
    static func problem(with text: String) -> String? {
        if text.isEmpty { return nil }
        let b = Array(text.utf8)
        var i = 0
        func num(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = num(4) else { return "expected a four-digit year" }
        guard expect("-"), let month = num(2) else { return "expected -MM after the year" }
        guard expect("-"), let day = num(2) else { return "expected -DD after the month" }
        guard (1...12).contains(month) else { return "month \(month) is out of range" }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return "day \(day) does not exist in month \(month)" }
        if i == b.count { return nil }
        guard expect("T") || expect(" ") else { return "expected 'T' and a time after the date" }
        guard let hour = num(2), expect(":"), let minute = num(2) else { return "expected HH:MM after 'T'" }
        guard hour < 24, minute < 60 else { return "time \(b[i - 5 ..< i].map { String(UnicodeScalar($0)) }.joined()) is out of range" }
        if expect(":") {
            guard let second = num(2), second <= 60 else { return "invalid seconds" }
            if expect(".") || expect(",") {
                let s = i
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
                if i == s { return "expected digits after the decimal point" }
            }
        }
        if i == b.count { return nil }
        if expect("Z") { return i == b.count ? nil : "unexpected text after 'Z'" }
        guard expect("+") || expect("-") else { return "expected 'Z' or a ±HH:MM offset" }
        guard let oh = num(2), oh < 24 else { return "invalid offset hours" }
        _ = expect(":")
        guard let om = num(2), om < 60 else { return "invalid offset minutes" }
        return i == b.count ? nil : "unexpected text after the offset"
    }
}
