#if canImport(Glibc)
import Glibc
#endif
/// Appends big-endian integers and length-prefixed strings to a byte array.
package struct ByteWriter {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    package mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    package mutating func raw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }
    /// u32 byte length, then the UTF-8 bytes.
    package mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            u32(UInt32(u.count))
            bytes.append(contentsOf: u)
        }
    }
}

/// Bytes that do not decode: a stored record this version cannot read, or a malformed value
/// on the wire (where `invalidUTF8` becomes the `invalidUTF8` error code, anything else `badFrame`).
public struct CorruptRecord: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    /// The bytes broke only in a string that is not valid UTF-8.
    public var invalidUTF8: Bool
    public init(_ reason: String, invalidUTF8: Bool = false) {
        self.reason = reason
        self.invalidUTF8 = invalidUTF8
    }
    public var description: String { "corrupt record: \(reason)" }
}

/// Reads what `ByteWriter` wrote, checking every length against the bytes that remain.
package struct ByteReader {
    package let buffer: UnsafeRawBufferPointer
    package private(set) var offset = 0

    package init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    package var remaining: Int { buffer.count - offset }
    package var isAtEnd: Bool { offset == buffer.count }

    private mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws(CorruptRecord) {
        if n < 0 || remaining < n {
            throw CorruptRecord("\(what()) needs \(n) bytes at offset \(offset), \(remaining) remain")
        }
    }

    package mutating func u8(_ what: @autoclosure () -> String = "u8") throws(CorruptRecord) -> UInt8 {
        try need(1, what())
        defer { offset += 1 }
        return buffer[offset]
    }

    package mutating func u32(_ what: @autoclosure () -> String = "u32") throws(CorruptRecord) -> UInt32 {
        try need(4, what())
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(buffer[offset + i]) }
        offset += 4
        return v
    }

    package mutating func u64(_ what: @autoclosure () -> String = "u64") throws(CorruptRecord) -> UInt64 {
        try need(8, what())
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(buffer[offset + i]) }
        offset += 8
        return v
    }

    package mutating func i64(_ what: @autoclosure () -> String = "i64") throws(CorruptRecord) -> Int64 {
        Int64(bitPattern: try u64(what()))
    }

    package mutating func raw(_ n: Int, _ what: @autoclosure () -> String = "bytes") throws(CorruptRecord) -> UnsafeRawBufferPointer {
        try need(n, what())
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
    }

    package mutating func string(_ what: @autoclosure () -> String = "string") throws(CorruptRecord) -> String {
        let n = Int(try u32("\(what()) length"))
        let b = try raw(n, what())
        return try decodeUTF8(b, what())
    }

    /// A count that must fit in what remains, at `minSize` bytes per element.
    package mutating func count(_ what: @autoclosure () -> String, minSize: Int) throws(CorruptRecord) -> Int {
        let n = Int(try u32("\(what()) count"))
        if n * minSize > remaining { throw CorruptRecord("\(what()) count \(n) overruns the record") }
        return n
    }
}

extension UInt64 {
    /// Eight big-endian bytes, so integer keys sort numerically in LMDB.
    package var bigEndianBytes: [UInt8] {
        withUnsafeBytes(of: bigEndian) { Array($0) }
    }

    package init(bigEndianBytes b: UnsafeRawBufferPointer) {
        var v: UInt64 = 0
        for x in b.prefix(8) { v = v << 8 | UInt64(x) }
        self = v
    }
}

/// Decodes UTF-8, refusing anything invalid (overlong forms, encoded surrogates, truncated
/// sequences) — the same rule for stored records and wire frames.
///
/// Decoding with repair and comparing is the stdlib's fast path for contiguous UTF-8 (one
/// ASCII scan and a copy); `String(validating:as:)` is generic and looks up type metadata on
/// every call, which costs more than the copy of a short field.
@inline(__always)
package func decodeUTF8(_ b: UnsafeRawBufferPointer, _ what: @autoclosure () -> String) throws(CorruptRecord) -> String {
    let bytes = UnsafeBufferPointer(start: b.baseAddress?.assumingMemoryBound(to: UInt8.self), count: b.count)
    var s = String(decoding: bytes, as: UTF8.self)
    // Repair replaces each invalid sequence with U+FFFD: the result then differs from the input.
    let same = s.withUTF8 { d in d.count == bytes.count && (d.isEmpty || memcmp(d.baseAddress!, bytes.baseAddress!, d.count) == 0) }
    guard same else { throw CorruptRecord("\(what()) is not valid UTF-8", invalidUTF8: true) }
    return s
}
