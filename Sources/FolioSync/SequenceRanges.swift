/// A set of sequence numbers kept as sorted, disjoint, non-adjacent ranges: what a pull
/// remembers of the articles it changed (`Replicator`). A pull numbers the changes it makes
/// one after another, so a million of them are usually one range, not 16 MB of hash set.
struct SequenceRanges: Sendable, Equatable {
    private(set) var ranges: [ClosedRange<UInt64>] = []

    /// The index of the first range whose upper bound is ≥ `seq`.
    private func firstEndingAtOrAfter(_ seq: UInt64) -> Int {
        var (lo, hi) = (0, ranges.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func contains(_ seq: UInt64) -> Bool {
        let i = firstEndingAtOrAfter(seq)
        return i < ranges.count && ranges[i].contains(seq)
    }

    mutating func insert(_ seq: UInt64) {
        let i = firstEndingAtOrAfter(seq)
        if i < ranges.count && ranges[i].contains(seq) { return }
        // Joins the range before (ending at seq − 1) and the one after (starting at seq + 1).
        let joinsBefore = i > 0 && ranges[i - 1].upperBound &+ 1 == seq
        let joinsAfter = i < ranges.count && seq < UInt64.max && ranges[i].lowerBound == seq + 1
        switch (joinsBefore, joinsAfter) {
        case (true, true):
            ranges[i - 1] = ranges[i - 1].lowerBound...ranges[i].upperBound
            ranges.remove(at: i)
        case (true, false): ranges[i - 1] = ranges[i - 1].lowerBound...seq
        case (false, true): ranges[i] = seq...ranges[i].upperBound
        case (false, false): ranges.insert(seq...seq, at: i)
        }
    }

    /// Removes `seq`; returns whether it was there.
    @discardableResult
    mutating func remove(_ seq: UInt64) -> Bool {
        let i = firstEndingAtOrAfter(seq)
        guard i < ranges.count, ranges[i].contains(seq) else { return false }
        let r = ranges[i]
        switch (r.lowerBound == seq, r.upperBound == seq) {
        case (true, true): ranges.remove(at: i)
        case (true, false): ranges[i] = (seq + 1)...r.upperBound
        case (false, true): ranges[i] = r.lowerBound...(seq - 1)
        case (false, false):
            ranges[i] = r.lowerBound...(seq - 1)
            ranges.insert((seq + 1)...r.upperBound, at: i + 1)
        }
        return true
    }
}
