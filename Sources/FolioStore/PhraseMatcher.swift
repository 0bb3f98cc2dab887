import FolioModel

/// Finds a phrase (its terms, in order) in a stream of a text's terms — CJK singles left out,
/// as they take no position — one term at a time, as `CandidateText.holds` checks a
/// candidate's text and `Snippet` marks a phrase where it stands whole.
///
/// A **lone character** of the phrase (one CJK, Thai, Lao, Myanmar or Khmer character, a run
/// of its own in the query: `港` in `港2026`, `ปี` in `ปี2567`) may stand in the text at the end
/// of a longer run, where the index holds it only inside a pair: first in the phrase, it is
/// the last character of the text's term (`戸港` of 神戸港2026); last in the phrase, the first
/// (`港湾` of 2026港湾); elsewhere, the whole term, as every other term of the phrase.
struct PhraseMatcher {
    let terms: [[UInt8]]
    private let loneFirst: Bool
    private let loneLast: Bool
    /// How many terms each partial match ending at the last term fed has matched (several
    /// at once when the phrase repeats a word: at most one per term of it).
    private var partial: [Int] = []

    init(_ terms: [[UInt8]]) {
        self.terms = terms
        loneFirst = terms.count > 1 && SearchText.isLoneCharacter(terms[0])
        loneLast = terms.count > 1 && SearchText.isLoneCharacter(terms[terms.count - 1])
    }

    /// Whether the text's term `t` stands for the phrase's term `j`.
    @inline(__always) private func matches(_ j: Int, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        let p = terms[j]
        if p.count == t.count { return p.elementsEqual(t) }
        guard p.count < t.count else { return false }
        if j == 0 && loneFirst {
            return UnsafeBufferPointer(rebasing: t[(t.count - p.count)...]).elementsEqual(p)
        }
        if j == terms.count - 1 && loneLast {
            // The first character whole: what follows it starts another one.
            guard UnsafeBufferPointer(rebasing: t[..<p.count]).elementsEqual(p) else { return false }
            return SearchText.startsCharacter(UnsafeBufferPointer(rebasing: t[p.count...]))
        }
        return false
    }

    /// Feeds the text's next term; true when the phrase ends whole with it (its first term
    /// then being the one `terms.count - 1` before).
    mutating func feed(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !terms.isEmpty else { return false }
        var whole = false
        var kept = 0
        for i in partial.indices {
            let m = partial[i]
            guard matches(m, t) else { continue }
            if m + 1 == terms.count {
                whole = true
            } else {
                partial[kept] = m + 1
                kept += 1
            }
        }
        partial.removeLast(partial.count - kept)
        if matches(0, t) {
            if terms.count == 1 { whole = true } else { partial.append(1) }
        }
        return whole
    }

    /// Whether `phrase` stands whole in `text` (its terms as `forEachTermBytes` makes them).
    static func holds(_ phrase: [[UInt8]], in text: String, foldCache: FoldCache) -> Bool {
        var matcher = PhraseMatcher(phrase)
        var found = false
        SearchText.forEachTermBytes(text, foldCache: foldCache, singles: false) { t, _, _ in
            if !found && matcher.feed(t) { found = true }
        }
        return found
    }
}
