import Foundation

/// How text becomes search terms (STORAGE.md "Search index"): the same rules index an article
/// and read a query, so what is typed finds what was written.
///
/// - A word is a run of letters, digits and combining marks. It is folded: compatibility
///   decomposition (full-width forms, ligatures), combining marks dropped (diacritics: "öffnet"
///   → "offnet", "español" → "espanol"), lowercased, "ß" → "ss". At most 64 bytes are kept.
/// - CJK text (Han, Hiragana, Katakana, Hangul) has no spaces between words: each run becomes
///   its overlapping character bigrams ("東京で" → "東京", "京で"); a lone character is a term.
///   Thai, Lao, Myanmar and Khmer are paired the same way, a letter and its marks being one
///   character ("ท่าเรือ" → "ท่า", "าเ", "เรื", "รือ").
///   Half-width and decomposed forms fold to the forms typed (`foldCJK`).
///   The index also holds each character of a longer run as a single (`forEachTermBytes(…,
///   singles: true)`), so one character typed alone finds the words holding it.
/// - Everything else separates terms.
///
/// Changing these rules changes every index: `version` goes up, and a store whose index was
/// built by another version rebuilds it at its next write-open.
///
/// Terms are told apart by their bytes. Version 4: before it, the index grouped terms as
/// Swift Strings, whose == holds canonically equivalent text equal, so a CJK compatibility
/// ideograph (U+F900) and its canonical form (U+8C48), or a precomposed Hangul syllable and
/// its jamo, shared postings; now each has its own, as a query's bytes look them up.
/// Version 5: an article indexes at most `maxDocumentTerms` distinct terms.
/// Version 6: the index holds CJK singles (before it, 港 found only a 港 standing alone, never
/// 神戸港 or 港湾); a CJK character takes the marks after it (voicing marks, Hangul vowels and
/// finals) and is folded (ｶﾞ, か + U+3099 → ガ, が; ヿ → コ, ト; decomposed Hangul → its
/// syllables; compatibility ideographs → their canonical forms); 々〆〇, Bopomofo, the kana
/// supplements and extensions G and H are CJK; ・ ゠ separate.
/// Version 7: Thai, Lao, Myanmar and Khmer, written without spaces between words, are paired
/// as CJK text is, each letter with the marks after it one character (before it, a run of them
/// between spaces was one word, cut at 64 bytes and stripped of its vowel and tone marks, so a
/// word inside it was never found); Thai and Lao marks fold to one order and sara am typed any
/// way is one form; a variation selector joins the CJK character before it (葛󠄀城 is 葛城; it
/// ended the run).
public enum SearchText {
    public static let version: UInt32 = 7

    /// The rules' version with a fingerprint of the Unicode tables this build folds with
    /// (they come with the toolchain): an index made under other tables is rebuilt, never
    /// silently mixed with new terms.
    public static let fingerprint: UInt64 = {
        let probe = "Straße İSTANBUL ΣΊΣΥΦΟΣ ﬁ ＦＵＬＬ Ångström naïve 東京で ｶﾞｲﾄﾞ か\u{3099}ﾊﾟ \u{F91F}\u{2F800} 々 Ꙗ ǅ ᾧ ϴ ꥠꥡ 𝔘𝔫𝔦 ١٢٣ ௫ Ⅻ ท่าเรือทำงาน นํ้า ก่ิง ໜ້າທີ່ ກໍາ ကြော်ငြာ ကျောင်း ក្រុងភ្នំពេញ ๚ ៕ ၊ 葛\u{E0100}城 辻\u{FE00}"
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in terms(probe).joined(separator: "|").utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return UInt64(version) << 32 | (h & 0xFFFF_FFFF)
    }()

    /// Longest filter value (a folded source or tag) kept, so a filter term is a valid LMDB key.
    public static let maxFilterBytes = 400
    public static let maxTermBytes = 64
    /// Most distinct terms indexed for one article (its filter terms aside): its text is read
    /// in order (title, body, source, tags), and a term that first appears after this many
    /// others is not indexed for it (every occurrence of one already indexed still counts).
    /// News text has a few hundred per article, a 100 000-word English text about 30 000;
    /// what it bounds is the memory a write spends on one article (a few hundred bytes per
    /// distinct term), which random CJK text of the largest allowed article would otherwise
    /// drive to half a gigabyte.
    public static let maxDocumentTerms = 65_536

    /// The terms of `text`, in order.
    public static func terms(_ text: String) -> [String] {
        var out: [String] = []
        forEachTerm(text) { out.append($0) }
        return out
    }

    /// Calls `body` with each term of `text`, in order.
    public static func forEachTerm(_ text: String, _ body: (String) -> Void) {
        forEachTerm(text) { term, _ in body(term) }
    }

    /// Calls `body` with each term of `text` and the UTF-8 byte range of the text it came
    /// from (a word, or a CJK pair), in order.
    public static func forEachTerm(_ text: String, _ body: (String, Range<Int>) -> Void) {
        var word: [UInt8] = []
        var wordIsASCII = true
        var wordStart = 0
        // The CJK run so far: its characters (a scalar and the marks it takes), each with
        // the UTF-8 range it came from, and how many marks it took.
        var cjk: [(String.UnicodeScalarView, Int, Int, Int)] = []
        var offset = 0
        func flushWord() {
            guard !word.isEmpty else { return }
            let range = wordStart..<offset
            if wordIsASCII {
                // Lowercased as it was read; a term of ≤ 15 bytes is a small string (no allocation).
                body(String(decoding: word.prefix(maxTermBytes), as: UTF8.self), range)
            } else {
                let folded = fold(String(decoding: word, as: UTF8.self))
                if !folded.isEmpty { body(capped(folded), range) }
            }
            word.removeAll(keepingCapacity: true)
            wordIsASCII = true
        }
        func flushCJK() {
            guard !cjk.isEmpty else { return }
            // Each scalar of a folded form is a character, from its cluster's range.
            let chars = cjk.flatMap { c -> [(String, Int, Int)] in
                guard c.3 > 0 || needsCJKFold(c.0.first!) else { return [(String(c.0), c.1, c.2)] }
                var chars: [(String, Int, Int)] = []
                for u in foldCJK(String(c.0)).unicodeScalars {
                    // A Thai, Lao, Myanmar or Khmer mark stays with its letter.
                    if isUnspacedMark(u), !chars.isEmpty { chars[chars.count - 1].0.unicodeScalars.append(u) } else { chars.append((String(u), c.1, c.2)) }
                }
                return chars
            }
            if chars.count == 1 {
                body(chars[0].0, chars[0].1..<chars[0].2)
            } else {
                for i in 0..<(chars.count - 1) { body(chars[i].0 + chars[i + 1].0, chars[i].1..<chars[i + 1].2) }
            }
            cjk.removeAll(keepingCapacity: true)
        }
        var scalar: [UInt8] = []
        let bytes = text.utf8
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let byte = bytes[i]
            let start = offset
            if byte < 0x80 {
                i = bytes.index(after: i)
                offset += 1
                let letter = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                if letter {
                    if !cjk.isEmpty { flushCJK() }
                    if word.isEmpty { wordStart = start }
                    word.append(byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte)
                } else {
                    offset -= 1
                    flushCJK()
                    flushWord()
                    offset += 1
                }
                continue
            }
            // A multi-byte scalar (the string is valid UTF-8: a lead byte, then continuations).
            scalar.removeAll(keepingCapacity: true)
            scalar.append(byte)
            i = bytes.index(after: i)
            while i != bytes.endIndex, bytes[i] & 0xC0 == 0x80 {
                scalar.append(bytes[i])
                i = bytes.index(after: i)
            }
            offset += scalar.count
            guard let u = String(decoding: scalar, as: UTF8.self).unicodeScalars.first else { continue }
            if isCJK(u) || (isVariationSelector(u) && !cjk.isEmpty) {
                let end = offset
                offset = start
                flushWord()
                offset = end
                if let last = cjk.last, last.3 < markLimit(last.0.first!), isCJKMark(u) || isVariationSelector(u) || joinsAsSaraAm(u, last.0.contains(where: isNikhahit)) {
                    // A mark (`isCJKMark`) joins the character before it.
                    cjk[cjk.count - 1].0.append(u)
                    cjk[cjk.count - 1].2 = end
                    cjk[cjk.count - 1].3 += 1
                } else {
                    cjk.append((String.UnicodeScalarView([u]), start, end, 0))
                }
            } else if isWordPart(u, inWord: !word.isEmpty) {
                if !cjk.isEmpty { flushCJK() }
                if word.isEmpty { wordStart = start }
                word += scalar
                wordIsASCII = false
            } else {
                let end = offset
                offset = start
                flushCJK()
                flushWord()
                offset = end
            }
        }
        flushCJK()
        flushWord()
    }

    /// Calls `body` with the UTF-8 bytes of each term of `text`, in order: the same terms as
    /// `forEachTerm`, without making a String for each (the index's hot path). An ASCII word
    /// is lowercased into a scratch buffer; only a word holding other letters is folded through
    /// a String. The bytes are valid only during the call.
    public static func forEachTermBytes(_ text: String, foldCache: FoldCache? = nil, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var text = text
        text.withUTF8 { forEachTermBytes(utf8: $0, foldCache: foldCache) { term, _ in body(term) } }
    }

    /// `forEachTermBytes` over valid UTF-8.
    static func forEachTermBytes(utf8 bytes: UnsafeBufferPointer<UInt8>, foldCache: FoldCache? = nil, _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> Void) {
        forEachTermBytes(utf8: bytes, foldCache: foldCache, singles: false) { term, range, _ in body(term, range) }
    }

    /// The terms of `text` as `forEachTermBytes` gives them, and with `singles` also each
    /// character of a CJK run of two or more as a **single** (`body`'s third argument true),
    /// after the pair it begins (the last, after the run's last pair): what the index holds
    /// so that one character typed alone finds it inside longer words (港 in 神戸港). Singles
    /// take no position of their own; the terms without them are exactly `forEachTerm`'s.
    public static func forEachTermBytes(_ text: String, foldCache: FoldCache? = nil, singles: Bool, _ body: (UnsafeBufferPointer<UInt8>, Range<Int>, Bool) -> Void) {
        var text = text
        text.withUTF8 { forEachTermBytes(utf8: $0, foldCache: foldCache, singles: singles, body) }
    }

    static func forEachTermBytes(utf8 bytes: UnsafeBufferPointer<UInt8>, foldCache: FoldCache? = nil, singles: Bool, _ emit: (UnsafeBufferPointer<UInt8>, Range<Int>, Bool) -> Void) {
        @inline(__always) func body(_ term: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) { emit(term, range, false) }
        // Words holding other letters than ASCII ones are folded through Unicode's tables, the
        // slow part of tokenizing: each distinct one once per cache (this call's, if none is given).
        var cache = foldCache
        // The word so far: ASCII lowercased, or (wordIsASCII false) its raw bytes to fold.
        var capacity = 256
        var word = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { word.deallocate() }
        var wordCount = 0
        var wordIsASCII = true
        // Where the word stands in `bytes`.
        var wordStart = 0, wordEnd = 0
        // The CJK run so far: how many characters it has made final, the last of them (its
        // folded bytes, and the range of `bytes` it came from), and the character after it,
        // not final while a mark may still join it (`pending`: its range and marks).
        var cjkCount = 0
        var previousCount = 0, previousStart = 0, previousEnd = 0
        var pending = false, pendingStart = 0, pendingEnd = 0, pendingMarks = 0, pendingFolds = false
        // How many marks the pending character may take, and whether it holds a nikhahit (the
        // sara aa after it joins it: ํ + า is ำ).
        var pendingMarkLimit = maxCJKMarks, pendingNikhahit = false
        let previous = UnsafeMutablePointer<UInt8>.allocate(capacity: maxCJKCharacterBytes)
        let pair = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * maxCJKCharacterBytes)
        defer {
            previous.deallocate()
            pair.deallocate()
        }
        func flushWord() {
            guard wordCount > 0 else { return }
            if wordIsASCII {
                body(UnsafeBufferPointer(start: word, count: min(wordCount, maxTermBytes)), wordStart..<wordEnd)
            } else {
                let folding = cache ?? FoldCache()
                cache = folding
                folding.withFolded(UnsafeBufferPointer(start: word, count: wordCount)) { folded in
                    if !folded.isEmpty { body(folded, wordStart..<wordEnd) }
                }
            }
            wordCount = 0
            wordIsASCII = true
        }
        @inline(__always) func appendWord(_ b: UInt8) {
            if wordCount == capacity {
                let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                bigger.update(from: word, count: wordCount)
                word.deallocate()
                word = bigger
                capacity *= 2
            }
            word[wordCount] = b
            wordCount += 1
        }
        // Makes the pending character final: folded (when it holds what folds), paired with
        // the one before it, and then the one before the next.
        func finishPending() {
            pending = false
            let raw = UnsafeBufferPointer(rebasing: bytes[pendingStart..<pendingEnd])
            func take(_ char: UnsafeBufferPointer<UInt8>) {
                // Characters are a few bytes: copied by hand, not by a call to memmove.
                let c = char.baseAddress!
                if cjkCount > 0 {
                    // The pair (previous character, this one), then the previous one's single.
                    for k in 0..<previousCount { pair[k] = previous[k] }
                    for k in 0..<char.count { pair[previousCount + k] = c[k] }
                    body(UnsafeBufferPointer(start: pair, count: previousCount + char.count), previousStart..<pendingEnd)
                    if singles { emit(UnsafeBufferPointer(start: previous, count: previousCount), previousStart..<previousEnd, true) }
                }
                for k in 0..<char.count { previous[k] = c[k] }
                previousCount = char.count
                previousStart = pendingStart
                previousEnd = pendingEnd
                cjkCount += 1
            }
            if pendingFolds {
                let folding = cache ?? FoldCache()
                cache = folding
                // Each scalar of the folded form is a character (ヿ → コ, ト; ｱﾞ → ア, ゙),
                // all from the same range of the text.
                folding.withFoldedCJK(raw) { folded in
                    var k = 0
                    while k < folded.count {
                        var n = min(folded.count - k, utf8Length(lead: folded[k]))
                        // A Thai, Lao, Myanmar or Khmer mark stays with its letter.
                        while k + n < folded.count {
                            let m = min(folded.count - k - n, utf8Length(lead: folded[k + n]))
                            guard let u = scalar(UnsafeBufferPointer(rebasing: folded[(k + n)..<(k + n + m)])), isUnspacedMark(u) else { break }
                            n += m
                        }
                        take(UnsafeBufferPointer(rebasing: folded[k..<k + n]))
                        k += n
                    }
                }
            } else {
                take(raw)
            }
        }
        func cjkScalar(_ u: Unicode.Scalar, _ start: Int, _ end: Int) {
            if pending && pendingMarks < pendingMarkLimit && (isCJKMark(u) || isVariationSelector(u) || joinsAsSaraAm(u, pendingNikhahit)) {
                // A mark (`isCJKMark`) joins the character before it.
                pendingEnd = end
                pendingMarks += 1
                pendingFolds = true
                pendingNikhahit = pendingNikhahit || isNikhahit(u)
                return
            }
            if pending { finishPending() }
            pending = true
            pendingStart = start
            pendingEnd = end
            pendingMarks = 0
            pendingMarkLimit = markLimit(u)
            pendingNikhahit = isNikhahit(u)
            pendingFolds = needsCJKFold(u)
        }
        func flushCJK() {
            if pending { finishPending() }
            // A lone character is a term; a longer run has made its pairs already (and the
            // singles of all its characters but the last).
            if cjkCount == 1 {
                body(UnsafeBufferPointer(start: previous, count: previousCount), previousStart..<previousEnd)
            } else if singles && cjkCount > 1 {
                emit(UnsafeBufferPointer(start: previous, count: previousCount), previousStart..<previousEnd, true)
            }
            cjkCount = 0
        }
        var i = 0
        let n = bytes.count
        guard let base = bytes.baseAddress else { return }
        let asciiFold = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        defer { asciiFold.deallocate() }
        asciiFold.initialize(from: Self.asciiFold, count: 256)
        while i < n {
            if wordCount == 0 && !pending && n - i >= 8 {
                // Between words, with no CJK run open: ASCII text is taken eight bytes at a
                // time (`asciiWords`) up to the first byte from 0x80 on; a word it has not
                // finished there is read again from its start below.
                i = asciiWords(base, from: i, count: n, lowercased: word, body)
                if i == n { break }
            }
            let byte = base[i]
            if byte < 0x80 {
                // ASCII: 0 separates, else the byte lowercased (letters and digits).
                let folded = asciiFold[Int(byte)]
                guard folded != 0 else {
                    i += 1
                    if pending { flushCJK() }
                    flushWord()
                    continue
                }
                if pending { flushCJK() }
                if wordCount == 0 {
                    // A word starting here that is lowercase ASCII to its end (an ASCII
                    // separator or the end of the text) is handed over in place, uncopied.
                    var j = i
                    var changed: UInt8 = 0
                    while j < n {
                        let b = base[j]
                        let f = asciiFold[Int(b)]
                        if f == 0 { break }
                        changed |= f ^ b
                        j += 1
                    }
                    if changed == 0 && (j == n || base[j] < 0x80) {
                        body(UnsafeBufferPointer(start: base + i, count: min(j - i, maxTermBytes)), i..<j)
                        i = j
                        continue
                    }
                    wordStart = i
                }
                // The whole run of ASCII letters and digits in one tight loop.
                var j = i
                while j < n {
                    let f = asciiFold[Int(base[j])]
                    if f == 0 { break }
                    if wordCount == capacity { appendWord(f) } else {
                        word[wordCount] = f
                        wordCount += 1
                    }
                    j += 1
                }
                i = j
                wordEnd = i
                continue
            }
            // A multi-byte scalar (valid UTF-8: a lead byte, then continuations).
            let start = i
            var value: UInt32
            if byte < 0xE0 {
                value = UInt32(byte & 0x1F)
            } else if byte < 0xF0 {
                value = UInt32(byte & 0x0F)
            } else {
                value = UInt32(byte & 0x07)
            }
            i += 1
            while i < n, bytes[i] & 0xC0 == 0x80 {
                value = value << 6 | UInt32(bytes[i] & 0x3F)
                i += 1
            }
            guard let u = Unicode.Scalar(value) else { continue }
            if isCJK(u) || (isVariationSelector(u) && pending) {
                flushWord()
                cjkScalar(u, start, i)
            } else if isWordPart(u, inWord: wordCount > 0) {
                if pending { flushCJK() }
                if wordCount == 0 { wordStart = start }
                for k in start..<i { appendWord(bytes[k]) }
                wordEnd = i
                wordIsASCII = false
            } else {
                if pending { flushCJK() }
                flushWord()
            }
        }
        if pending { flushCJK() }
        flushWord()
    }

    /// The words of `base[from..<count]` as `forEachTermBytes` gives them, eight bytes at a
    /// time while all eight are ASCII: where its bytes are ASCII letters and digits (found by
    /// arithmetic on each 64-bit word, SWAR), a word is handed over where it lies when it has no
    /// capital, else lowercased into `scratch` (room for `maxTermBytes`). Stops at the first
    /// eight bytes holding one from 0x80 on, or with fewer than eight left, and returns where
    /// the caller goes on: the start of a word not yet ended (it may go on with other letters),
    /// else the first byte not read. `from` is not inside a word (the text's start, or after a
    /// byte that ends one).
    @inline(__always) static func asciiWords(_ base: UnsafePointer<UInt8>, from: Int, count n: Int, lowercased scratch: UnsafeMutablePointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> Void) -> Int {
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        // Bit 7 of each byte of `x` (all below 0x80) set where lo ≤ byte ≤ hi: adding
        // 0x80 - lo carries into bit 7 exactly when byte ≥ lo, and never into the next byte.
        @inline(__always) func between(_ x: UInt64, _ lo: UInt64, _ hi: UInt64) -> UInt64 {
            (x &+ ones &* (0x80 - lo)) & ~(x &+ ones &* (0x7F - hi)) & high
        }
        let raw = UnsafeRawPointer(base)
        var i = from
        // The word being read: where it starts (-1: none), and whether it holds a capital.
        var start = -1
        var capital = false
        // Bit 7 of byte 0 set when the byte before these eight is a word byte.
        var carry: UInt64 = 0
        while n - i >= 8 {
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            guard x & high == 0 else { break }
            let capitals = between(x, 0x41, 0x5A)
            let letters = between(x | ones &* 0x20, 0x61, 0x7A)
            let m = between(x, 0x30, 0x39) | letters
            let before = m << 8 | carry
            // Word bytes after a separator start a word; separators after a word byte end one.
            var starts = m & ~before
            var ends = ~m & before & high
            carry = m >> 56 & 0x80
            // The bytes of this word from `from8` on (in this eight) are checked for capitals
            // when it ends or the eight run out.
            var from8 = 0
            while starts | ends != 0 {
                let s = starts.trailingZeroBitCount, e = ends.trailingZeroBitCount
                if s < e {
                    start = i + s >> 3
                    capital = false
                    from8 = s
                    starts &= starts &- 1
                } else {
                    // Bytes from8..<e of these eight (bit indices, multiples of 8).
                    capital = capital || capitals & (~0 << UInt64(from8)) & ~(~0 << UInt64(e)) != 0
                    let end = i + e >> 3
                    let length = min(end - start, maxTermBytes)
                    if capital {
                        for k in 0..<length {
                            let b = base[start + k]
                            scratch[k] = b &- 0x41 < 26 ? b | 0x20 : b
                        }
                        body(UnsafeBufferPointer(start: scratch, count: length), start..<end)
                    } else {
                        body(UnsafeBufferPointer(start: base + start, count: length), start..<end)
                    }
                    start = -1
                    ends &= ends &- 1
                }
            }
            if start >= 0 { capital = capital || capitals & (~0 << UInt64(from8)) != 0 }
            i += 8
        }
        return start >= 0 ? start : i
    }

    /// Per byte: 0 for every byte that is not an ASCII letter or digit (bytes from 0x80 too),
    /// else the byte lowercased.
    private static let asciiFold: [UInt8] = (0..<256).map { b -> UInt8 in
        switch b {
        case 0x30...0x39, 0x61...0x7A: return UInt8(b)
        case 0x41...0x5A: return UInt8(b + 32)
        default: return 0
        }
    }

    /// One value folded as a whole (a source or a tag used as an exact filter): its terms
    /// joined by single spaces, so "Nordic  Wire" and "nordic wire" are the same source.
    public static func foldedValue(_ text: String) -> String {
        cut(terms(text).joined(separator: " "), to: maxFilterBytes)
    }

    /// True when `u` separates terms (neither a CJK character nor part of a word); right after
    /// a letter, a combining mark continues the word, while elsewhere it separates.
    public static func isSeparator(_ u: Unicode.Scalar, afterWord: Bool) -> Bool {
        !isCJK(u) && !isWordPart(u, inWord: afterWord)
    }

    /// Han (with 々〆〇 and the Hangzhou numerals), Hiragana, Katakana (half-width too, and the
    /// kana supplements), Bopomofo, Hangul (syllables, jamo, compatibility and half-width
    /// jamo), the ideographs of every extension; and the letters, digits and marks of Thai,
    /// Lao, Myanmar and Khmer (`isUnspacedLetter`), paired the same way.
    @inline(__always) public static func isCJK(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x3000 {
            // Latin, Greek, Cyrillic… leave at once; Thai to Khmer by their table.
            if v < 0x0E00 || v > 0x17FF { return false }
            if v >= 0x1100 && v <= 0x11FF { return true }
            return unspacedClass(v) & UnspacedClass.inRun != 0
        }
        switch v {
        // The common blocks first (cases are tried in order); ゠ and ・ (U+30A0, U+30FB) are
        // punctuation (the dot between the words of a name: ジョン・スミス), not characters.
        case 0x4E00...0x9FFF, 0x3040...0x309F, 0x30A1...0x30FA, 0x30FC...0x30FF, 0xAC00...0xD7FF:
            return true
        case 0x3005...0x3007, 0x3021...0x3029, 0x3031...0x3035, 0x3038...0x303C,
            0x3100...0x312F, 0x3130...0x318F, 0x31A0...0x31BF, 0x31F0...0x31FF, 0x3400...0x4DBF,
            0xA960...0xA97F, 0xF900...0xFAFF, 0xFF66...0xFFDC, 0x1B000...0x1B16F,
            0x20000...0x2FFFF, 0x30000...0x323AF:
            return true
        default:
            return false
        }
    }

    /// What a scalar of the Thai, Lao, Myanmar and Khmer blocks is to the tokenizer, read off
    /// this build's Unicode tables once (a property lookup per scalar made tokenizing Thai
    /// text several times slower).
    enum UnspacedClass {
        /// A letter, digit or mark: part of a run (`isUnspacedLetter`).
        static let inRun: UInt8 = 1
        /// Joins the character before it (`isCJKMark`).
        static let mark: UInt8 = 2
        /// Has another form under NFKC (`needsCJKFold`).
        static let folds: UInt8 = 4
        /// In one of the four blocks (a character starting with it takes up to
        /// `maxUnspacedMarks`).
        static let block: UInt8 = 8
    }

    private static let unspacedClasses: [UInt8] = {
        var out: [UInt8] = []
        for r in [0x0E00...0x0EFF, 0x1000...0x109F, 0x1780...0x17FF] as [ClosedRange<UInt32>] {
            for v in r {
                guard let u = Unicode.Scalar(v) else {
                    out.append(UnspacedClass.block)
                    continue
                }
                var c: UInt8 = UnspacedClass.block | (isUnspacedLetter(u) ? UnspacedClass.inRun : 0)
                switch u.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: c |= UnspacedClass.mark
                default: break
                }
                if v == 0x0E33 || v == 0x0EB3 {
                    // Sara am joins the letter before it, and is not folded alone: NFKC makes
                    // it a nikhahit and a sara aa, and a mark split off would start a character.
                    c |= UnspacedClass.mark
                } else {
                    let folded = String(u).precomposedStringWithCompatibilityMapping.unicodeScalars
                    if folded.count != 1 || folded.first != u { c |= UnspacedClass.folds }
                }
                out.append(c)
            }
        }
        return out
    }()

    /// The class of `v` (`UnspacedClass`), 0 outside the four blocks.
    @inline(__always) static func unspacedClass(_ v: UInt32) -> UInt8 {
        switch v {
        case 0x0E00...0x0EFF: return unspacedClasses[Int(v &- 0x0E00)]
        case 0x1000...0x109F: return unspacedClasses[256 + Int(v &- 0x1000)]
        case 0x1780...0x17FF: return unspacedClasses[416 + Int(v &- 0x1780)]
        default: return 0
        }
    }

    /// Thai, Lao, Myanmar and Khmer are written without spaces between words too, and are
    /// paired like CJK text (version 7): their letters, digits and marks (`isCJKMark`) are
    /// characters of a run, their punctuation (๏ ๚ ๛, ។ ៕, ၊ ။) and currency signs separate.
    static func isUnspacedLetter(_ u: Unicode.Scalar) -> Bool {
        let p = u.properties
        if p.isAlphabetic || p.numericType != nil { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// What joins the character before it, which is then folded with it: a voicing mark
    /// (decomposed ゙ ゚, spacing ゛ ゜, half-width ﾞ ﾟ: か + ゙ → が, ｶ + ﾞ → ガ), a Hangul
    /// vowel (conjoining, compatibility or half-width: ㄱ + ㅏ → 가) or a conjoining final
    /// (decomposed Hangul → its syllables).
    /// In Thai, Lao, Myanmar and Khmer, each combining mark (vowel signs above and below,
    /// tone marks, viramas: ก + ่ is one character, as is ក + ្).
    public static func isCJKMark(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x3099...0x309C, 0xFF9E, 0xFF9F, 0x1160...0x11FF, 0xD7B0...0xD7FF, 0x314F...0x3163, 0xFFC2...0xFFDC: return true
        default:
            // Thai, Lao, Myanmar and Khmer marks, and sara am (ำ ຳ): written after the tone
            // mark that sits on the letter before it (น้ำ), and typed in other orders (นำ้,
            // นํ้า), it joins that letter, and folds with it (`UnspacedClass`).
            return isUnspacedMark(u)
        }
    }

    /// The length of the UTF-8 sequence led by `b` (1 for a byte that leads none).
    @inline(__always) public static func utf8Length(lead b: UInt8) -> Int {
        b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
    }

    /// Most marks (`isCJKMark`) one character takes (more start characters of their own).
    static let maxCJKMarks = 2
    /// Most marks a Thai, Lao, Myanmar or Khmer letter takes (a Burmese syllable often has
    /// three or four: ကျော); at 3 bytes each, a character still fits `maxCJKCharacterBytes`.
    static let maxUnspacedMarks = 7

    /// How many marks a character starting with `u` takes.
    @inline(__always) static func markLimit(_ u: Unicode.Scalar) -> Int {
        unspacedClass(u.value) & UnspacedClass.block != 0 ? maxUnspacedMarks : maxCJKMarks
    }

    /// A variation selector (U+FE00–FE0F, U+E0100–E01EF: 葛󠄀 is 葛 drawn another way, common in
    /// Japanese names): after a CJK character it joins it, and folds away with it.
    @inline(__always) static func isVariationSelector(_ u: Unicode.Scalar) -> Bool {
        (0xFE00...0xFE0F).contains(u.value) || (0xE0100...0xE01EF).contains(u.value)
    }

    /// Thai ํ and Lao ໍ (nikhahit, niggahita): with the sara aa after them, the sara am.
    @inline(__always) static func isNikhahit(_ u: Unicode.Scalar) -> Bool { u.value == 0x0E4D || u.value == 0x0ECD }

    /// Whether `u` joins the character before it as the second half of a sara am typed as two
    /// scalars (ํ + า, ໍ + າ), that character holding a nikhahit.
    @inline(__always) static func joinsAsSaraAm(_ u: Unicode.Scalar, _ afterNikhahit: Bool) -> Bool {
        afterNikhahit && (u.value == 0x0E32 || u.value == 0x0EB2)
    }
    /// Most bytes of a folded cluster (`foldCJK`); each of its scalars is a character of its
    /// own, so a character is at most 4 bytes and a pair 8.
    static let maxCJKCharacterBytes = 24

    /// Whether a CJK character starting with `u` is folded (by NFKC), as it has other forms:
    /// half-width katakana and Hangul, compatibility ideographs and jamo, the spacing voicing
    /// marks, the kana digraphs ゟ ヿ (→ より, コト). Every other CJK character is its own
    /// folded form; one that took a mark (`isCJKMark`) is folded too.
    static func needsCJKFold(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x3038...0x303A, 0x3099...0x309C, 0x309F, 0x30FF, 0x3131...0x318E, 0xF900...0xFAFF, 0xFF66...0xFFDC, 0x2F800...0x2FA1F: return true
        default: return unspacedClass(u.value) & UnspacedClass.folds != 0
        }
    }

    /// Whether `term` is one CJK (or Thai, Lao, Myanmar, Khmer) character: what a run of one
    /// makes, and the index holds inside a longer run only as a single.
    public static func isLoneCharacter<Bytes: Collection<UInt8>>(_ term: Bytes) -> Bool {
        let scalars = String(decoding: term, as: UTF8.self).unicodeScalars
        guard let first = scalars.first, isCJK(first) else { return false }
        // A letter and the marks it took (past its limit, a mark is a character of its own).
        let marks = scalars.dropFirst()
        return marks.count <= markLimit(first) && marks.allSatisfy(isUnspacedMark)
    }

    /// Whether `bytes` are empty or begin a character of a CJK run (not a mark that stays
    /// with the character before it).
    public static func startsCharacter(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return true }
        let n = min(bytes.count, utf8Length(lead: bytes[0]))
        guard let u = scalar(UnsafeBufferPointer(rebasing: bytes[0..<n])) else { return true }
        return !isUnspacedMark(u)
    }

    /// A mark of Thai, Lao, Myanmar or Khmer: it stays with the letter before it, in a folded
    /// form too.
    @inline(__always) public static func isUnspacedMark(_ u: Unicode.Scalar) -> Bool {
        unspacedClass(u.value) & UnspacedClass.mark != 0
    }

    /// The scalar `bytes` (one UTF-8 sequence) encode.
    static func scalar(_ bytes: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        if case let .scalarValue(u) = decoder.decode(&it) { return u }
        return nil
    }

    /// The folded form of a CJK character (`needsCJKFold`, or one that took a mark): its
    /// compatibility composition (NFKC) keeping only CJK scalars, composed again (NFC) once
    /// they are alone (か + ゛ is か, space, ゙ under NFKC; Foundation's NFKC also leaves ｶﾞ as
    /// カ + ゙), at most `maxCJKCharacterBytes`; the character itself when that leaves nothing.
    static func foldCJK(_ char: String) -> String {
        let kept = char.precomposedStringWithCompatibilityMapping.unicodeScalars.filter(isCJK)
        let folded = cut(orderingThaiAndLaoMarks(String(String.UnicodeScalarView(kept)).precomposedStringWithCanonicalMapping), to: maxCJKCharacterBytes)
        return folded.isEmpty ? cut(char, to: maxCJKCharacterBytes) : folded
    }

    /// A Thai or Lao character (after NFKC and NFC) in the one order its marks are typed in
    /// most: vowel signs, then tone marks, then the rest, and a sara am (NFKC makes it a
    /// nikhahit and a sara aa, wherever they were typed) last: น้ำ, นํ้า, น้ํา and นำ้ are
    /// the same character. (Unicode's canonical order leaves a tone typed before an upper
    /// vowel, ก่ิ, apart from กิ่.) Other text is returned as it is.
    static func orderingThaiAndLaoMarks(_ char: String) -> String {
        var scalars = Array(char.unicodeScalars)
        guard let first = scalars.first, (0x0E00...0x0EFF).contains(first.value) else { return char }
        let lao = first.value >= 0x0E80
        let (nikhahit, aa, am): (UInt32, UInt32, UInt32) = lao ? (0x0ECD, 0x0EB2, 0x0EB3) : (0x0E4D, 0x0E32, 0x0E33)
        var saraAm = false
        if let n = scalars.firstIndex(where: { $0.value == nikhahit }), let a = scalars[n...].firstIndex(where: { $0.value == aa }) {
            scalars.remove(at: a)
            scalars.remove(at: n)
            saraAm = true
        }
        func rank(_ u: Unicode.Scalar) -> Int {
            switch u.value {
            case 0x0E31, 0x0E34...0x0E3A, 0x0EB1, 0x0EB4...0x0EBC: return 0
            case 0x0E47: return 1
            case 0x0E48...0x0E4B, 0x0EC8...0x0ECB: return 2
            default: return 3
            }
        }
        // Each run of marks (after a letter, or leading) in rank order, each rank as it came
        // (stable); letters (ໜ folds to two) stay where they are.
        var i = 0
        while i < scalars.count {
            guard isCJKMark(scalars[i]) else {
                i += 1
                continue
            }
            var j = i
            while j < scalars.count, isCJKMark(scalars[j]) { j += 1 }
            let run = scalars[i..<j].enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
            scalars.replaceSubrange(i..<j, with: run)
            i = j
        }
        if saraAm { scalars.append(Unicode.Scalar(am)!) }
        return String(String.UnicodeScalarView(scalars))
    }

    static func isWordPart(_ u: Unicode.Scalar, inWord: Bool) -> Bool {
        let p = u.properties
        if p.isAlphabetic || p.numericType != nil { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return inWord
        default: return false
        }
    }

    private static func asciiLowercased(_ word: String.UnicodeScalarView) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(word.count)
        for u in word {
            let b = UInt8(u.value)
            bytes.append(b >= 0x41 && b <= 0x5A ? b + 32 : b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Lowercased, then compatibility decomposition with the marks dropped (so "İ" → "i"),
    /// ß → ss, final ς → σ.
    static func fold(_ word: String) -> String {
        var out = String.UnicodeScalarView()
        for u in word.lowercased().decomposedStringWithCompatibilityMapping.unicodeScalars {
            switch u.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: break
            }
            switch u {
            case "ß", "ẞ":
                out.append("s")
                out.append("s")
            case "ς":
                out.append("σ")
            default:
                // Decomposition can bring back capitals (full-width, ligature forms).
                for l in u.properties.lowercaseMapping.unicodeScalars { out.append(l) }
            }
        }
        return String(out)
    }

    private static func capped(_ term: String) -> String { cut(term, to: maxTermBytes) }

    /// Scalars below this (Latin, IPA, combining marks, Greek, Cyrillic) are folded from
    /// `tableFolds`.
    static let tableFoldEnd = 0x500

    /// Per scalar below `tableFoldEnd`, what `fold` makes of it alone, as UTF-8: scalar `v`'s
    /// bytes are `bytes[starts[v]..<starts[v + 1]]`. Made once, by `fold` itself.
    private static let tableFolds: (starts: [Int], bytes: [UInt8]) = {
        var starts = [0]
        var bytes: [UInt8] = []
        for v in 0..<tableFoldEnd {
            bytes += Array(fold(String(Unicode.Scalar(UInt32(v))!)).utf8)
            starts.append(bytes.count)
        }
        return (starts, bytes)
    }()

    /// `cut(fold(word), to: maxTermBytes)` as UTF-8, for a word (valid UTF-8) of scalars below
    /// `tableFoldEnd` only, from `tableFolds`, or nil for any other word. Folding such a word
    /// scalar by scalar gives what folding it whole does: the case mappings and compatibility
    /// decompositions of those scalars do not depend on their neighbours (but Greek capital
    /// sigma's, whose final form `fold` makes σ again), and the marks are dropped whatever
    /// their order. Folding through Strings takes microseconds a word; this, tens of
    /// nanoseconds (German, French, Spanish, Turkish, Polish, Czech, Greek, Russian… text).
    static func foldedFromTable(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let (starts, bytes) = tableFolds
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + 4)
        var i = 0
        while i < raw.count {
            let b = raw[i]
            let v: Int
            if b < 0x80 {
                v = Int(b)
                i += 1
            } else if b & 0xE0 == 0xC0 && i + 1 < raw.count && raw[i + 1] & 0xC0 == 0x80 {
                v = Int(b & 0x1F) << 6 | Int(raw[i + 1] & 0x3F)
                i += 2
            } else {
                return nil
            }
            guard v < tableFoldEnd else { return nil }
            out.append(contentsOf: bytes[starts[v]..<starts[v + 1]])
        }
        // Cut at a scalar's start, as `cut` does.
        if out.count > maxTermBytes {
            var n = maxTermBytes
            while n > 0 && out[n] & 0xC0 == 0x80 { n -= 1 }
            out.removeSubrange(n...)
        }
        return out
    }

    /// `text` cut to at most `limit` UTF-8 bytes at a scalar boundary (a grapheme may be
    /// longer than the limit: cutting by characters could leave nothing); never empty when
    /// `text` is not.
    public static func cut(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var out = String.UnicodeScalarView()
        var bytes = 0
        for u in text.unicodeScalars {
            let n = String(u).utf8.count
            if bytes + n > limit { break }
            out.append(u)
            bytes += n
        }
        return String(out)
    }
}

/// A parsed search query (README "Searching offline"):
///
/// - terms are ANDed: `port strike`;
/// - `OR` between terms or phrases makes a group any of which may match: `strike OR walkout`;
/// - `-term` (or `-"a phrase"`) excludes;
/// - `"exact phrase"` matches those terms next to each other in that order;
/// - `prefix*` matches every term starting with it;
/// - `source:NAME`, `tag:TAG` (quoted for spaces: `source:"Nordic Wire"`), `since:DATE`,
///   `until:DATE` (ISO-8601, on the published date), `id:PREFIX` filter.
public struct SearchQuery: Sendable, Equatable {
    /// One thing that may match: a term, a prefix or a phrase (its terms, in order).
    public enum Atom: Sendable, Equatable {
        case term(String)
        case prefix(String)
        case phrase([String])
    }

    /// Every group must match (each group: any of its atoms).
    public var groups: [[Atom]] = []
    /// No document matching any of these is returned.
    public var excluded: [Atom] = []
    /// Exact folded sources / tags; several of one kind: any of them.
    public var sources: [String] = []
    public var tags: [String] = []
    /// Published on or after / on or before each of these (`PublishedTime`: `since:2026-11-20`
    /// keeps "2026-11-20T14:05:00Z"). Several of one kind: all hold (a date bound and a timed
    /// one are compared differently, so neither is dropped for the other).
    public var since: [String] = []
    public var until: [String] = []
    public var idPrefix: String?

    public struct Invalid: Failure, Equatable, CustomStringConvertible {
        public var reason: String
        public var kind: FailureKind { .invalidInput }
        public var description: String { "invalid query: \(reason)" }
    }

    public static let maxLength = 4096
    /// Most words in a query, each word of a phrase counted.
    public static let maxAtoms = 64

    public init(parsing text: String) throws(Invalid) {
        guard text.utf8.count <= Self.maxLength else { throw Invalid(reason: "longer than \(Self.maxLength) bytes") }
        var pendingOr = false
        // Whether the last word was something to find (OR joins two of those, nothing else).
        var afterAtom = false
        var atoms = 0
        let words = try Self.split(text)
        for (index, w) in words.enumerated() {
            if !w.quoted && w.text == "OR" {
                guard afterAtom, index + 1 < words.count else {
                    throw Invalid(reason: pendingOr || afterAtom || index + 1 == words.count || groups.isEmpty && excluded.isEmpty && !hasFilters
                        ? "OR needs a word or phrase on both sides"
                        : "OR joins words or phrases: it cannot follow an excluded word or a filter")
                }
                pendingOr = true
                afterAtom = false
                continue
            }
            // What the word is: a filter, an excluded atom, or an atom.
            var negated = false
            var body = w.text
            var quoted = w.quoted
            var field: String?
            if w.quoted {
                switch w.prefix {
                case "": break
                case "-": negated = true
                default:
                    if let f = Self.fieldName(w.prefix) { field = f } else { body = w.prefix + w.text }
                }
            } else if let colon = body.firstIndex(of: ":"), let f = Self.fieldName(String(body[...colon])) {
                field = f
                body = String(body[body.index(after: colon)...])
            } else if body.hasPrefix("-"), body.count > 1 {
                negated = true
                body.removeFirst()
                if let colon = body.firstIndex(of: ":"), Self.fieldName(String(body[...colon])) != nil {
                    throw Invalid(reason: "a filter (\(body[..<colon]):) cannot be excluded")
                }
            }
            if let field {
                guard !pendingOr else { throw Invalid(reason: "OR cannot join a filter (\(field):)") }
                try addFilter(field, body)
                afterAtom = false
                continue
            }
            let atom: Atom
            let stem = !quoted && body.hasSuffix("*") ? SearchText.terms(String(body.dropLast())) : []
            if !stem.isEmpty, stem.allSatisfy({ $0.unicodeScalars.allSatisfy(SearchText.isCJK) }) {
                // CJK (or Thai, Lao, Myanmar, Khmer) text: its pairs and characters already match
                // inside longer runs (東京 finds 東京都, ข่าว finds ข่าวสาร), so * adds nothing.
                atom = stem.count == 1 ? .term(stem[0]) : .phrase(stem)
            } else if !quoted, body.hasSuffix("*") {
                guard stem.count == 1 else {
                    throw Invalid(reason: stem.isEmpty
                        ? "\"\(body)\": a prefix needs at least two letters before *"
                        : "\"\(body)\": a prefix is one word followed by *")
                }
                // Counted in scalars: two jamo may make one Character.
                guard stem[0].unicodeScalars.count >= 2 else { throw Invalid(reason: "\"\(body)\": a prefix needs at least two letters before *") }
                atom = .prefix(stem[0])
            } else {
                quoted = true
                let terms = SearchText.terms(body)
                guard !terms.isEmpty else {
                    if pendingOr { throw Invalid(reason: "OR needs something on both sides") }
                    continue
                }
                // "e-mail", "東京展": several terms typed as one word must be adjacent.
                atom = terms.count == 1 ? .term(terms[0]) : .phrase(terms)
            }
            if case let .phrase(t) = atom { atoms += t.count } else { atoms += 1 }
            guard atoms <= Self.maxAtoms else { throw Invalid(reason: "more than \(Self.maxAtoms) words") }
            if negated {
                guard !pendingOr else { throw Invalid(reason: "OR cannot join an excluded term") }
                excluded.append(atom)
            } else if pendingOr {
                groups[groups.count - 1].append(atom)
            } else {
                groups.append([atom])
            }
            afterAtom = !negated
            pendingOr = false
        }
        if groups.isEmpty && !hasFilters {
            throw Invalid(reason: excluded.isEmpty ? "nothing to search for" : "only excluded terms: add something to find")
        }
    }

    private var hasFilters: Bool { !sources.isEmpty || !tags.isEmpty || !since.isEmpty || !until.isEmpty || idPrefix != nil }

    private mutating func addFilter(_ field: String, _ value: String) throws(Invalid) {
        switch field {
        case "source", "tag":
            let v = SearchText.foldedValue(value)
            guard !v.isEmpty else { throw Invalid(reason: "\(field): needs a value") }
            if field == "source" { sources.append(v) } else { tags.append(v) }
        case "since", "until":
            if let problem = value.isEmpty ? "it is empty" : ISO8601Check.problem(with: value) {
                throw Invalid(reason: "\(field): needs an ISO-8601 date (2026-11-20) or date-time, not \"\(value)\" (\(problem))")
            }
            if field == "since" { since.append(value) } else { until.append(value) }
        case "id":
            guard !value.isEmpty else { throw Invalid(reason: "id: needs a prefix") }
            // Given twice, both hold: an id starting with both starts with the longer one.
            if let held = idPrefix {
                let (a, b) = (Array(held.utf8), Array(value.utf8))
                guard a.starts(with: b) || b.starts(with: a) else {
                    throw Invalid(reason: "id:\(held) and id:\(value) cannot both hold (an article has one id)")
                }
                if b.count > a.count { idPrefix = value }
            } else {
                idPrefix = value
            }
        default:
            throw Invalid(reason: "unknown field \"\(field):\" (fields: source:, tag:, since:, until:, id:)")
        }
    }

    /// "source:" → "source" when it names a field (lowercase ASCII letters before a colon).
    private static func fieldName(_ prefix: String) -> String? {
        guard prefix.hasSuffix(":"), prefix.count > 1 else { return nil }
        let name = prefix.dropLast()
        guard name.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        return name.lowercased()
    }

    /// A word of the query: its text (quotes removed), whether it had quotes, what stood
    /// before its opening quote ("-" in `-"a phrase"`, "source:" in `source:"Nordic Wire"`),
    /// and the scalars of the query it was read from (`resolvingRelativeDates` rewrites them).
    struct Word {
        var text: String
        var quoted: Bool
        var prefix: String
        var scalars: Range<Int>
    }

    static func split(_ text: String) throws(Invalid) -> [Word] {
        var out: [Word] = []
        var current = ""
        var prefix = ""
        var quoted = false
        var inQuotes = false
        var start = 0
        func flush(_ end: Int) {
            if !current.isEmpty || quoted { out.append(Word(text: current, quoted: quoted, prefix: prefix, scalars: start..<end)) }
            (current, prefix, quoted) = ("", "", false)
            start = end
        }
        // Per scalar: a quote followed by a combining mark is still a quote.
        for (i, ch) in text.unicodeScalars.enumerated() {
            if ch == "\"" {
                if inQuotes {
                    inQuotes = false
                    flush(i + 1)
                } else {
                    inQuotes = true
                    quoted = true
                    prefix = current
                    current = ""
                }
            } else if !inQuotes && ch.properties.isWhitespace {
                flush(i)
                start = i + 1
            } else {
                current.unicodeScalars.append(ch)
            }
        }
        if inQuotes { throw Invalid(reason: "a quote is not closed") }
        flush(text.unicodeScalars.count)
        return out
    }
}

/// One search result.
public struct SearchHit: Sendable, Equatable {
    public var id: String
    public var score: Double
    public var title: String
    public var source: String
    public var published: String
    /// A passage of the body (or the title) with the matched terms marked «like this».
    public var snippet: String

    public init(id: String, score: Double, title: String, source: String, published: String, snippet: String) {
        self.id = id
        self.score = score
        self.title = title
        self.source = source
        self.published = published
        self.snippet = snippet
    }
}


/// Words already folded (`SearchText.fold`, capped to `maxTermBytes`), and CJK characters
/// (`SearchText.foldCJK`), by their raw UTF-8 bytes, for tokenizing many texts of one language
/// on one thread: an import batch's articles repeat most of their words, and folding one
/// through Unicode's tables costs a microsecond or more. Used by one thread at a time; holds
/// at most `capacity` of each (then starts over).
public final class FoldCache {
    public static let capacity = 65_536
    /// Longest word kept (its raw bytes).
    public static let maxKeyBytes = 256
    /// Words folded, and CJK characters folded (`SearchText.foldCJK`), by their raw bytes.
    private let folded: Table
    private let foldedCJK: Table

    public convenience init() { self.init(collidingForTesting: false) }

    /// With `collidingForTesting`, every word hashes alike (tests of the probe limit).
    init(collidingForTesting: Bool) {
        folded = Table(colliding: collidingForTesting)
        foldedCJK = Table(colliding: collidingForTesting)
    }

    /// Bytes of words and characters folded afresh (not found kept) since it was made, and of
    /// those, the bytes folded through Unicode's tables (not `SearchText.foldedFromTable`):
    /// the slow parts of tokenizing, which a search counts against its work limit. Behind a
    /// pointer, as the tables' state.
    public var foldedBytes: (all: Int, slowly: Int) { (counts[0], counts[1]) }
    private let counts: UnsafeMutablePointer<Int> = {
        let p = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        p.initialize(repeating: 0, count: 2)
        return p
    }()

    deinit { counts.deallocate() }

    /// How many words and characters it keeps (tests).
    var kept: Int { folded.count + foldedCJK.count }

    /// Lends `body` the folded form of the CJK character whose raw bytes are `raw`.
    func withFoldedCJK(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let counts = counts
        foldedCJK.withValue(raw, { raw in
            counts[0] &+= raw.count
            counts[1] &+= raw.count
            return Array(SearchText.foldCJK(String(decoding: raw, as: UTF8.self)).utf8)
        }, body)
    }

    /// Lends `body` the folded, capped form of the word whose raw bytes are `raw` (empty when
    /// folding leaves nothing).
    func withFolded(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let counts = counts
        folded.withValue(raw, { raw in
            counts[0] &+= raw.count
            if let quick = SearchText.foldedFromTable(raw) { return quick }
            counts[1] &+= raw.count
            return Array(SearchText.cut(SearchText.fold(String(decoding: raw, as: UTF8.self)), to: SearchText.maxTermBytes).utf8)
        }, body)
    }

    /// Raw bytes → folded bytes: an open-addressing table of hashes (`ByteHash`, seeded per
    /// table) over one arena holding each key followed by its value, so a word found costs a
    /// hash and a compare, no allocation. Its memory sits behind pointers (an access to a
    /// class's stored property is checked for exclusivity at run time). It keeps at most
    /// `capacity` words (then starts again, empty), none longer than `maxKeyBytes`, and none
    /// further than `maxProbe` slots from where its hash points: a text crafted to collide
    /// gets its words folded each time, as without a cache, and no longer walks.
    final class Table {
        static let maxProbe = 16

        struct State {
            /// Per slot: the hash's 32 bits << 32 | entry + 1 (0: empty).
            var slots: UnsafeMutablePointer<UInt64>
            var slotCount: Int
            /// Per entry: where its key starts in the arena, the key's and the value's length.
            var entries: UnsafeMutablePointer<(start: Int32, key: Int32, value: Int32)>
            var entriesCapacity: Int
            var count = 0
            var arena: UnsafeMutablePointer<UInt8>
            var arenaCount = 0
            var arenaCapacity: Int
        }

        private let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
        private let seed = UInt64.random(in: .min ... .max) | 1
        private let colliding: Bool

        init(colliding: Bool) {
            self.colliding = colliding
            let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
            slots.initialize(repeating: 0, count: 64)
            state.initialize(to: State(
                slots: slots, slotCount: 64,
                entries: .allocate(capacity: 32), entriesCapacity: 32,
                arena: .allocate(capacity: 1024), arenaCapacity: 1024))
        }

        var count: Int { state.pointee.count }

        deinit {
            state.pointee.slots.deallocate()
            state.pointee.entries.deallocate()
            state.pointee.arena.deallocate()
            state.deinitialize(count: 1)
            state.deallocate()
        }

        @inline(__always) private func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt32 {
            colliding ? 0 : ByteHash.hash(b, seed: seed)
        }

        /// Lends `body` the value of `raw`: kept, or made by `fold` and kept when it may be.
        /// `body` must not use this table (what it is lent may move).
        func withValue(_ raw: UnsafeBufferPointer<UInt8>, _ fold: (UnsafeBufferPointer<UInt8>) -> [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
            let st = state
            let h = hash(raw)
            var slot = Int(h) & (st.pointee.slotCount - 1)
            var probes = 0
            if raw.count <= FoldCache.maxKeyBytes {
                while probes <= Self.maxProbe {
                    let s = st.pointee.slots[slot]
                    if s == 0 { break }
                    if UInt32(truncatingIfNeeded: s >> 32) == h {
                        let e = st.pointee.entries[Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1]
                        let key = st.pointee.arena + Int(e.start)
                        if Int(e.key) == raw.count && (raw.isEmpty || memcmp(key, raw.baseAddress!, raw.count) == 0) {
                            body(UnsafeBufferPointer(start: key + Int(e.key), count: Int(e.value)))
                            return
                        }
                    }
                    slot = (slot + 1) & (st.pointee.slotCount - 1)
                    probes += 1
                }
            }
            fold(raw).withUnsafeBufferPointer { v in
                body(v)
                // Kept only when short enough, and near enough to where its hash points.
                guard raw.count <= FoldCache.maxKeyBytes, probes <= Self.maxProbe, st.pointee.slots[slot] == 0 else { return }
                if st.pointee.count >= FoldCache.capacity {
                    reset()
                    return
                }
                insert(raw, v, hash: h, slot: slot)
            }
        }

        private func insert(_ raw: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, hash h: UInt32, slot: Int) {
            let st = state
            let need = raw.count + value.count
            if st.pointee.arenaCount + need > st.pointee.arenaCapacity {
                let capacity = max(st.pointee.arenaCapacity * 2, st.pointee.arenaCount + need)
                let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
                bigger.update(from: st.pointee.arena, count: st.pointee.arenaCount)
                st.pointee.arena.deallocate()
                st.pointee.arena = bigger
                st.pointee.arenaCapacity = capacity
            }
            let start = st.pointee.arenaCount
            if !raw.isEmpty { (st.pointee.arena + start).update(from: raw.baseAddress!, count: raw.count) }
            if !value.isEmpty { (st.pointee.arena + start + raw.count).update(from: value.baseAddress!, count: value.count) }
            st.pointee.arenaCount += need
            let e = st.pointee.count
            if e == st.pointee.entriesCapacity {
                let capacity = min(e * 2, FoldCache.capacity)
                let bigger = UnsafeMutablePointer<(start: Int32, key: Int32, value: Int32)>.allocate(capacity: capacity)
                bigger.update(from: st.pointee.entries, count: e)
                st.pointee.entries.deallocate()
                st.pointee.entries = bigger
                st.pointee.entriesCapacity = capacity
            }
            st.pointee.entries[e] = (Int32(start), Int32(raw.count), Int32(value.count))
            st.pointee.count = e + 1
            st.pointee.slots[slot] = UInt64(h) << 32 | UInt64(e + 1)
            // At most half full.
            if st.pointee.count * 2 > st.pointee.slotCount { rehash(slotCount: st.pointee.slotCount * 2) }
        }

        /// Places every entry again in `slotCount` slots (one too far from its hash's slot is
        /// dropped from the slots: it stays in the arena, unreachable, until the next reset).
        private func rehash(slotCount: Int) {
            let st = state
            let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: slotCount)
            slots.initialize(repeating: 0, count: slotCount)
            let mask = slotCount - 1
            for e in 0..<st.pointee.count {
                let entry = st.pointee.entries[e]
                let h = hash(UnsafeBufferPointer(start: st.pointee.arena + Int(entry.start), count: Int(entry.key)))
                var slot = Int(h) & mask
                var probes = 0
                while slots[slot] != 0 && probes <= Self.maxProbe {
                    slot = (slot + 1) & mask
                    probes += 1
                }
                // Where a lookup still looks (within `maxProbe` of its hash's slot), else left out.
                if probes <= Self.maxProbe { slots[slot] = UInt64(h) << 32 | UInt64(e + 1) }
            }
            st.pointee.slots.deallocate()
            st.pointee.slots = slots
            st.pointee.slotCount = slotCount
        }

        /// Forgets every word (the memory stays).
        private func reset() {
            let st = state
            st.pointee.slots.update(repeating: 0, count: st.pointee.slotCount)
            st.pointee.count = 0
            st.pointee.arenaCount = 0
        }
    }
}
