/// Finds where UTF-8 goes wrong, for error messages that point at the byte.
package enum UTF8Check {
    /// The index of the first byte of the first invalid sequence in `bytes`, or nil when all
    /// of it is valid UTF-8 (overlong forms and encoded surrogates count as invalid).
    package static func firstInvalid<C: Collection>(_ bytes: C) -> C.Index? where C.Element == UInt8 {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            let n: Int
            switch b {
            case 0..<0x80: n = 1
            case 0xC2...0xDF: n = 2
            case 0xE0...0xEF: n = 3
            case 0xF0...0xF4: n = 4
            default: return i
            }
            guard let end = bytes.index(i, offsetBy: n, limitedBy: bytes.endIndex) else { return i }
            if n > 1, String(validating: bytes[i..<end], as: UTF8.self) == nil { return i }
            i = end
        }
        return nil
    }

    /// Whether `bytes` is valid UTF-8, without making a String when it is ASCII (the common
    /// case of a title or a URL): eight bytes at a time.
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < n && bytes[i] < 0x80 { i += 1 }
        if i == n { return true }
        return firstInvalid(UnsafeRawBufferPointer(rebasing: bytes[i...])) == nil
    }
}
