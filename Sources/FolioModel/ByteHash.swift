/// A fast hash of short byte strings (terms, words), seeded so that text cannot be made to
/// collide without knowing the seed: the search index's term tables and the fold cache key by
/// it. Not cryptographic.
public enum ByteHash {
    /// Folds each 8 bytes into the state with a 64×64→128-bit multiply (as wyhash does).
    @inlinable @inline(__always) public static func hash(_ b: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt32 {
        @inline(__always) func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (hi, lo) = a.multipliedFullWidth(by: b)
            return hi ^ lo
        }
        let n = b.count
        var h = seed ^ UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        guard let p = b.baseAddress.map(UnsafeRawPointer.init) else { return UInt32(truncatingIfNeeded: mix(h, 0xA076_1D64_78BD_642F)) }
        var i = 0
        while i + 8 <= n {
            h = mix(h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0xE703_7ED1_A0B4_28DB)
            i += 8
        }
        if i < n { h = mix(h ^ word(p, from: i, to: n), 0xE703_7ED1_A0B4_28DB) }
        let f = mix(h, 0xA076_1D64_78BD_642F)
        return UInt32(truncatingIfNeeded: f ^ f >> 32)
    }

    /// The bytes `from..<to` of `p` (at most 8) as one little-endian integer, zero-padded:
    /// without a loop, by loads that overlap (bytes both read land on the same bits) and never
    /// reach outside `from..<to`.
    @inlinable @inline(__always) public static func word(_ p: UnsafeRawPointer, from: Int, to: Int) -> UInt64 {
        let n = to - from
        let q = p + from
        if n >= 8 { return UInt64(littleEndian: q.loadUnaligned(as: UInt64.self)) }
        if n >= 4 {
            let lo = UInt64(UInt32(littleEndian: q.loadUnaligned(as: UInt32.self)))
            let hi = UInt64(UInt32(littleEndian: q.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
            return lo | hi << UInt64(8 * (n - 4))
        }
        guard n > 0 else { return 0 }
        // One to three bytes: the first, the middle and the last.
        let a = UInt64(q.load(as: UInt8.self))
        let b = UInt64(q.load(fromByteOffset: n >> 1, as: UInt8.self))
        let c = UInt64(q.load(fromByteOffset: n - 1, as: UInt8.self))
        return a | b << UInt64(8 * (n >> 1)) | c << UInt64(8 * (n - 1))
    }
}
