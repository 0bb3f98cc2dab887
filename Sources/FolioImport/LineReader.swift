#if canImport(Glibc)
import FolioModel
import FolioStore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line in fixed-size chunks, so a large JSON Lines file is never held
/// in memory whole. A line longer than `maxLineBytes` is reported by length and skipped.
struct LineReader {
    enum Line {
        case text(number: Int, bytes: ArraySlice<UInt8>)
        case tooLong(number: Int, bytes: Int)
    }

    struct OpenError: Error, CustomStringConvertible {
        var path: String
        var errno: Int32
        var description: String { "cannot open \(path): \(String(cString: strerror(errno)))" }
    }

    private let file: UnsafeMutablePointer<FILE>
    private let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private var lineNumber = 0
    /// Bytes consumed so far (for progress).
    private(set) var bytesRead = 0

    init(path: String, maxLineBytes: Int) throws {
        guard let f = fopen(path, "rb") else { throw OpenError(path: path, errno: errno) }
        file = f
        self.maxLineBytes = maxLineBytes
    }

    func close() { fclose(file) }

    private var chunk = [UInt8](repeating: 0, count: 1 << 20)

    private mutating func fill() -> Bool {
        if eof { return false }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress!, 1, $0.count, file) }
        if n == 0 {
            eof = true
            return false
        }
        chunk.withUnsafeBytes { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        bytesRead += n
        return true
    }

    /// Index of the first "\n" at or after `from`, found with memchr.
    private func newline(from: Int) -> Int? {
        guard from < buffer.count else { return nil }
        return buffer.withUnsafeBytes { raw -> Int? in
            guard let p = memchr(raw.baseAddress! + from, 0x0A, raw.count - from) else { return nil }
            return raw.baseAddress!.distance(to: UnsafeRawPointer(p))
        }
    }

    /// The next line without its "\n" (and "\r"), or nil at the end of the file.
    mutating func next() -> Line? {
        var scanned = 0  // bytes after `start` known to hold no newline
        var skipped = 0  // bytes of an oversized line already dropped
        while true {
            if let nl = newline(from: start + scanned) {
                lineNumber += 1
                let length = skipped + (nl - start)
                defer { start = nl + 1 }
                if skipped > 0 || length > maxLineBytes { return .tooLong(number: lineNumber, bytes: length) }
                var end = nl
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                return .text(number: lineNumber, bytes: buffer[start..<end])
            }
            scanned = buffer.count - start
            if scanned > maxLineBytes {
                skipped += scanned
                start = buffer.count
                scanned = 0
            }
            if !fill() {
                let rest = buffer.count - start
                guard rest > 0 || skipped > 0 else { return nil }
                lineNumber += 1
                let length = skipped + rest
                defer { start = buffer.count }
                if skipped > 0 || length > maxLineBytes { return .tooLong(number: lineNumber, bytes: length) }
                var end = buffer.count
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                return .text(number: lineNumber, bytes: buffer[start..<end])
            }
        }
    }
}
