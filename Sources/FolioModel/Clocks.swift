/// How Folio treats writers' clocks (STORAGE.md "Clocks", SPEC §5.1 and §4.1).
public enum Clocks {
    /// Milliseconds two clocks may differ before Folio calls it skew: a store's clock adopts a
    /// received timestamp only this far ahead of its wall clock, and a peer whose HELLO clock
    /// differs by more is named in the log and in `folio peers`.
    public static let maxSkew: Int64 = 60_000

    /// True when `skew` (a peer's clock minus ours, ms) is more than `maxSkew` either way.
    public static func isSkewed(_ skew: Int64) -> Bool {
        skew.magnitude > UInt64(maxSkew)
    }

    /// `theirs − ours` without wrapping: a clock of ±2^63 is "very far", never the other way.
    public static func skew(theirs: Int64, ours: Int64) -> Int64 {
        let (d, overflow) = theirs.subtractingReportingOverflow(ours)
        return overflow ? (theirs < ours ? .min : .max) : d
    }

    /// "3600 s ahead of" / "90 s behind" (followed by "ours", "this machine's"), for logs and `folio peers`.
    public static func describe(skew: Int64) -> String {
        let seconds = skew.magnitude / 1000 + (skew.magnitude % 1000 >= 500 ? 1 : 0)
        return skew >= 0 ? "\(seconds) s ahead of" : "\(seconds) s behind"
    }
}
