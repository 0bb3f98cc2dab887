/// A strict JSON parser (RFC 8259) over UTF-8 bytes that reports where input went wrong.
///
/// Strings must be valid UTF-8 and escapes well-formed (a lone surrogate is an error);
/// nesting is limited so hostile input cannot exhaust the stack.
public struct JSONParser {
    /// A parse failure at a byte offset of the input, with a 1-based column.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var column: Int { offset + 1 }
        public var description: String { "column \(column): \(reason)" }
    }

    public static let maxDepth = 128

    private let bytes: UnsafeRawBufferPointer
    private var pos = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses exactly one JSON value (surrounding white space allowed).
    public static func parse<C: Collection>(_ input: C) throws -> JSONValue where C.Element == UInt8 {
        let run: (UnsafeRawBufferPointer) throws -> JSONValue = { buf in
            var p = JSONParser(buf)
            p.skipSpace()
            let v = try p.value(depth: 0)
            p.skipSpace()
            if p.pos < buf.count { throw p.fail("unexpected \(p.describeCurrent()) after the JSON value") }
            return v
        }
        if let r = try input.withContiguousStorageIfAvailable({ try run(UnsafeRawBufferPointer($0)) }) { return r }
        return try Array(input).withUnsafeBytes(run)
    }

    public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

    private func fail(_ reason: String, at offset: Int? = nil) -> Error {
        Error(offset: offset ?? pos, reason: reason)
    }

    private func describeCurrent() -> String {
        guard pos < bytes.count else { return "end of input" }
        let b = bytes[pos]
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16)
    }

    private mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
        guard pos < bytes.count else { throw fail("unexpected end of input (truncated record?)") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected \(describeCurrent()), expected a JSON value")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: n)
        guard pos + n <= bytes.count, bytes[pos..<pos + n].elementsEqual(w) else {
            throw fail("invalid literal, expected '\(word)'")
        }
        pos += n
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        pos += 1
        var fields: [(key: String, value: JSONValue)] = []
        skipSpace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(fields)
        }
        while true {
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an object (truncated record?)") }
            guard bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a quoted key, found \(describeCurrent())") }
            let key = try string()
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else {
                throw fail("expected ':' after key \"\(key)\", found \(describeCurrent())")
            }
            pos += 1
            skipSpace()
            fields.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an object (truncated record?)") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(fields) }
            throw fail("expected ',' or '}' in an object, found \(describeCurrent())")
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        pos += 1
        var items: [JSONValue] = []
        skipSpace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an array (truncated record?)") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            throw fail("expected ',' or ']' in an array, found \(describeCurrent())")
        }
    }

    private mutating func number() throws -> String {
        let start = pos
        func digits() -> Int {
            let s = pos
            while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1 }
            return pos - s
        }
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count else { throw fail("truncated number", at: start) }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if digits() == 0 {
            throw fail("invalid number", at: start)
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digits() > 0 else { throw fail("invalid number: digits expected after '.'", at: start) }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits() > 0 else { throw fail("invalid number: digits expected in exponent", at: start) }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
    }

    private mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x41...0x46: d = b - 0x41 + 10
            case 0x61...0x66: d = b - 0x61 + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    private mutating func string() throws -> String {
        let open = pos
        pos += 1
        // Fast path: no escapes, validate the run as UTF-8 in one go.
        var i = pos
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            i += 1
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            let run = UnsafeRawBufferPointer(rebasing: bytes[pos..<i])
            guard let s = String(validating: run, as: UTF8.self) else {
                throw fail("invalid UTF-8 in a string", at: firstInvalidUTF8(in: pos..<i))
            }
            pos = i + 1
            return s
        }
        var out: [UInt8] = []
        out.reserveCapacity(i - pos + 16)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[pos..<i]))
        let runStart = pos
        pos = i
        while true {
            // Copy the run up to the next quote, backslash or control byte in one go.
            var end = pos
            while end < bytes.count {
                let c = bytes[end]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
                end += 1
            }
            if end > pos {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[pos..<end]))
                pos = end
            }
            guard pos < bytes.count else { throw fail("unterminated string (truncated record?)", at: open) }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") { pos += 1; break }
            if b < 0x20 { throw fail("control character 0x\(String(b, radix: 16)) inside a string must be escaped") }
            pos += 1
            guard pos < bytes.count else { throw fail("truncated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let at = pos - 2
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard pos + 2 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape", at: at)
                    }
                    pos += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate in \\u escape", at: at) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw fail("unpaired surrogate in \\u escape", at: at)
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: pos - 2)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw fail("invalid UTF-8 in a string", at: firstInvalidUTF8(in: runStart..<pos))
        }
        return s
    }

    /// The offset of the first byte that breaks UTF-8 in `range` (for error positions).
    private func firstInvalidUTF8(in range: Range<Int>) -> Int {
        UTF8Check.firstInvalid(bytes[range]) ?? range.lowerBound
    }
}
