import FolioModel
import NIOCore

/// Reading and writing the protocol's primitives (SPEC §3): big-endian integers, `u32`-length
/// strings and byte strings, `u32`-count lists. Every read checks what remains in the frame.
extension ByteBuffer {
    @inlinable
    mutating func readWire<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        guard let v = readInteger(endianness: .big, as: T.self) else {
            throw ProtocolViolation(.badFrame, "payload ends inside \(what())")
        }
        return v
    }

    mutating func readWireBool(_ what: @autoclosure () -> String) throws -> Bool {
        switch try readWire(UInt8.self, what()) {
        case 0: return false
        case 1: return true
        case let b: throw ProtocolViolation(.badFrame, "\(what()) must be 0 or 1, got \(b)")
        }
    }

    mutating func readWireString(_ what: @autoclosure () -> String) throws -> String {
        let n = Int(try readWire(UInt32.self, "length of \(what())"))
        guard n <= readableBytes else {
            throw ProtocolViolation(.badFrame, "\(what()) declares \(n) bytes but only \(readableBytes) remain in the frame")
        }
        let s: String? = readWithUnsafeReadableBytes { raw in
            (0, String(validating: UnsafeRawBufferPointer(rebasing: raw[0..<n]), as: UTF8.self))
        }
        guard let s else { throw ProtocolViolation(.invalidUTF8, "\(what()) is not valid UTF-8") }
        moveReaderIndex(forwardBy: n)
        return s
    }

    mutating func readFixedBytes(_ n: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        guard let b = readBytes(length: n) else { throw ProtocolViolation(.badFrame, "payload ends inside \(what())") }
        return b
    }

    /// A list count, refused when `count × minItemSize` cannot fit in what remains.
    mutating func readWireCount(_ what: @autoclosure () -> String, minItemSize: Int) throws -> Int {
        let n = Int(try readWire(UInt32.self, "count of \(what())"))
        guard n.multipliedReportingOverflow(by: max(minItemSize, 1)).partialValue <= readableBytes else {
            throw ProtocolViolation(.badFrame, "\(what()) declares \(n) items, more than the frame can hold")
        }
        return n
    }

    mutating func writeWire<T: FixedWidthInteger>(_ v: T) { writeInteger(v, endianness: .big) }
    mutating func writeWireBool(_ v: Bool) { writeInteger(v ? 1 : 0 as UInt8) }

    mutating func writeWireString(_ s: String) {
        let lengthIndex = writerIndex
        writeInteger(0 as UInt32)
        let n = writeString(s)
        setInteger(UInt32(n), at: lengthIndex, endianness: .big)
    }


    mutating func writeWireOptional<T>(_ v: T?, _ write: (inout ByteBuffer, T) -> Void) {
        if let v {
            writeInteger(1 as UInt8)
            write(&self, v)
        } else {
            writeInteger(0 as UInt8)
        }
    }

    mutating func readWireOptional<T>(_ what: @autoclosure () -> String, _ read: (inout ByteBuffer) throws -> T) throws -> T? {
        try readWireBool("presence of \(what())") ? try read(&self) : nil
    }

    /// An optional write id: u8 presence, then 16 bytes (SPEC §4.5).
    mutating func readWriteID() throws -> WriteID? {
        try readWireOptional("write id") { b in WriteID(bytes: try b.readFixedBytes(WriteID.size, "write id"))! }
    }
}
