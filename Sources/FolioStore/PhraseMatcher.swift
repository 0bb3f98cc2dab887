import FolioModel

/// Finds a phrase (its terms, in order) in a stream of a text's terms — CJK singles left out,
/// as they take no position — one term at a time, as `CandidateText.holds` checks a
/// candidate's text and `Snippet` marks a phrase where it stands whole.
///
/// A **lone character** of the phrase (one CJK, Thai, Lao, Myanmar or Khmer character, a run
/// of its own in the query: `港` in `港2026`, `ปี` in `ปี2567`) may stand in the text where a
/// longer run ends or begins, held there by the index only inside a pair: first in the
/// phrase, as the last character of a run (`戸港` of 神戸港2026, the term after it not
/// overlapping it); last in the phrase, as the first character of one (`港湾` of 2026港湾);
/// elsewhere, as the whole term, as every other term of the phrase. The index gives a run's
/// first and last character the position of its first and last pair, so the position masks
/// agree.
struct PhraseMatcher {
    let terms: [[UInt8]]
    private let loneFirst: Bool
    private let loneLast: Bool
    /// The partial matches ending at the last term fed (several at once when the phrase
    /// repeats a word: at most one per term of it): how many terms each matched, where the
    /// last of them ends in the text, and whether that one was a lone first character inside
    /// a pair (the next term must then begin after it: the pair ended its run).
    private var partial: [(matched: Int, end: Int, inside: Bool)] = []

    init(_ terms: [[UInt8]]) {
        self.terms = terms
        loneFirst = terms.count > 1 && SearchText.isLoneCharacter(terms[0])
        loneLast = terms.count > 1 && SearchText.isLoneCharacter(terms[terms.count - 1])
    }

    /// Whether the text's term `t` is the phrase's first term, or a pair ending with it when
    /// that is a lone character (nil: neither; true: inside a pair).
    @inline(__always) private func startsHere(_ t: UnsafeBufferPointer<UInt8>) -> Bool? {
        let p = terms[0]
        if p.count == t.count { return p.elementsEqual(t) ? false : nil }
        guard loneFirst, p.count < t.count else { return nil }
        let tail = UnsafeBufferPointer(rebasing: t[(t.count - p.count)...])
        // Its last character whole: a mark there would belong to the character before.
        return tail.elementsEqual(p) && SearchText.startsCharacter(tail) ? true : nil
    }

    /// Whether the text's term `t`, beginning at `start`, is the phrase's term `j` (the last
    /// one, when a lone character, also as the first character of a pair beginning its run).
    @inline(__always) private func continues(_ j: Int, _ t: UnsafeBufferPointer<UInt8>, at start: Int, after end: Int) -> Bool {
        let p = terms[j]
        if p.count == t.count { return p.elementsEqual(t) }
        guard j == terms.count - 1, loneLast, p.count < t.count, start >= end else { return false }
        guard UnsafeBufferPointer(rebasing: t[..<p.count]).elementsEqual(p) else { return false }
        return SearchText.startsCharacter(UnsafeBufferPointer(rebasing: t[p.count...]))
    }

    /// Feeds the text's next term (singles aside) and where it stands; true when the phrase
    /// ends whole with it (its first term then being the one `terms.count - 1` before).
    mutating func feed(_ t: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard !terms.isEmpty else { return false }
        var whole = false
        var kept = 0
        for i in partial.indices {
            let (m, end, inside) = partial[i]
            guard !inside || range.lowerBound >= end, continues(m, t, at: range.lowerBound, after: end) else { continue }
            if m + 1 == terms.count {
                whole = true
            } else {
                partial[kept] = (m + 1, range.upperBound, false)
                kept += 1
            }
        }
        partial.removeLast(partial.count - kept)
        if let inside = startsHere(t) {
            if terms.count == 1 { whole = true } else { partial.append((1, range.upperBound, inside)) }
        }
        return whole
    }

    /// Whether `phrase` stands whole in `text` (its terms as `forEachTermBytes` makes them).
    static func holds(_ phrase: [[UInt8]], in text: String, foldCache: FoldCache) -> Bool {
        var matcher = PhraseMatcher(phrase)
        var found = false
        SearchText.forEachTermBytes(text, foldCache: foldCache, singles: false) { t, range, _ in
            if !found && matcher.feed(t, range) { found = true }
        }
        return found
    }
}
