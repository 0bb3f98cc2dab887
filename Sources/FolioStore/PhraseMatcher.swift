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
///
/// The phrase's terms between those ends (all of them, when neither is a lone character) are
/// found with Knuth–Morris–Pratt, one step per term of the text however the phrase repeats
/// its words; the ends are checked around each match, from what is remembered of the last
/// terms.
struct PhraseMatcher {
    let terms: [[UInt8]]
    private let loneFirst: Bool
    private let loneLast: Bool
    /// The terms matched exactly, in order: all but a lone first and a lone last.
    private let core: [[UInt8]]
    /// Knuth–Morris–Pratt's table for `core`: after its first k + 1 terms, how many of them
    /// a mismatch falls back to.
    private let fallback: [Int]
    /// How many of `core`'s terms the text's last terms match.
    private var matched = 0
    /// The last `core.count + 1` terms of the text: whether each may be the phrase's first
    /// term (and is so inside a pair), and where it stands.
    private var recent: [(first: Bool, inside: Bool, start: Int, end: Int)]
    private var seen = 0
    /// With a lone last term: a match of the rest ended with the last term fed, which ends
    /// at `pendingEnd`; `pendingFrontEnd` is where a lone first term inside a pair ends when
    /// nothing stands between it and the last term (a phrase of two lone characters).
    private var pending = false
    private var pendingEnd = 0
    private var pendingFrontEnd: Int?

    init(_ terms: [[UInt8]]) {
        self.terms = terms
        loneFirst = terms.count > 1 && SearchText.isLoneCharacter(terms[0])
        loneLast = terms.count > 1 && SearchText.isLoneCharacter(terms[terms.count - 1])
        core = Array(terms[(loneFirst ? 1 : 0)..<(terms.count - (loneLast ? 1 : 0))])
        var f = [Int](repeating: 0, count: core.count)
        var k = 0
        for i in core.indices.dropFirst() {
            while k > 0 && core[i] != core[k] { k = f[k - 1] }
            if core[i] == core[k] { k += 1 }
            f[i] = k
        }
        fallback = f
        recent = Array(repeating: (false, false, 0, 0), count: core.count + 1)
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

    /// Whether the text's term `t`, beginning at `start`, is the phrase's lone last term, or a
    /// pair beginning with it that does not overlap the term before (ending at `end`).
    @inline(__always) private func endsHere(_ t: UnsafeBufferPointer<UInt8>, at start: Int, after end: Int) -> Bool {
        let p = terms[terms.count - 1]
        if p.count == t.count { return p.elementsEqual(t) }
        guard p.count < t.count, start >= end else { return false }
        guard UnsafeBufferPointer(rebasing: t[..<p.count]).elementsEqual(p) else { return false }
        return SearchText.startsCharacter(UnsafeBufferPointer(rebasing: t[p.count...]))
    }

    /// Feeds the text's next term (singles aside) and where it stands; true when the phrase
    /// ends whole with it (its first term then being the one `terms.count - 1` before).
    mutating func feed(_ t: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard !terms.isEmpty else { return false }
        var whole = false
        // The lone last term, after a match of the rest that ended with the term before.
        if pending {
            pending = false
            if endsHere(t, at: range.lowerBound, after: pendingEnd), pendingFrontEnd.map({ range.lowerBound >= $0 }) ?? true { whole = true }
        }
        let first = loneFirst ? startsHere(t) : nil
        recent[seen % recent.count] = (first != nil, first == true, range.lowerBound, range.upperBound)
        seen += 1
        // The exact terms: does a match of them end here?
        var coreEnds = core.isEmpty
        if !core.isEmpty {
            while matched > 0 && !core[matched].elementsEqual(t) { matched = fallback[matched - 1] }
            if core[matched].elementsEqual(t) { matched += 1 }
            if matched == core.count {
                coreEnds = true
                matched = fallback[matched - 1]
            }
        }
        guard coreEnds else { return whole }
        // The lone first term just before them: a pair ending with it may not overlap them.
        var frontEnd: Int?
        if loneFirst {
            guard seen > core.count else { return whole }
            let front = recent[(seen - 1 - core.count) % recent.count]
            guard front.first else { return whole }
            if front.inside {
                if core.isEmpty {
                    frontEnd = front.end
                } else {
                    let next = recent[(seen - core.count) % recent.count]
                    guard next.start >= front.end else { return whole }
                }
            }
        }
        if loneLast {
            (pending, pendingEnd, pendingFrontEnd) = (true, range.upperBound, frontEnd)
            return whole
        }
        return true
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
