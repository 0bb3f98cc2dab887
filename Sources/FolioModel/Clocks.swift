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

    /// "+3600 s ahead" / "-90 s behind" for logs and `folio peers`.
    public static func describe(skew: Int64) -> String {
        let seconds = (Double(skew) / 1000).rounded()
        return "\(skew >= 0 ? "+" : "-")\(Int64(seconds.magnitude)) s \(skew >= 0 ? "ahead" : "behind")"
    }
}
