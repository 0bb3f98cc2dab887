import CZlib
#if canImport(Glibc)
import FolioModel
import FolioStore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's bytes, read in chunks: as stored, or decompressed from gzip (zlib's gz* API:
/// concatenated members are read on, damaged or truncated data is an error).
final class ByteSource {
    private enum Handle {
        case plain(UnsafeMutablePointer<FILE>)
        case gzip(gzFile)
    }

    private let handle: Handle
    let path: String
    /// Why reading stopped early (damaged or truncated gzip data, an I/O error), if it did.
    private(set) var failure: String?

    init(path: String, gzip: Bool) throws {
        self.path = path
        if gzip {
            guard let g = gzopen(path, "rb") else { throw LineReader.OpenError(path: path, errno: errno) }
            gzbuffer(g, 1 << 18)
            handle = .gzip(g)
        } else {
            guard let f = fopen(path, "rb") else { throw LineReader.OpenError(path: path, errno: errno) }
            handle = .plain(f)
        }
    }

    /// Up to `buffer.count` bytes; 0 at the end or after a failure (see `failure`).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard failure == nil, buffer.count > 0 else { return 0 }
        switch handle {
        case let .plain(f):
            let n = fread(buffer.baseAddress!, 1, buffer.count, f)
            if n == 0, ferror(f) != 0 { failure = "read error: \(String(cString: strerror(errno)))" }
            return n
        case let .gzip(g):
            let n = gzread(g, buffer.baseAddress!, UInt32(min(buffer.count, Int(Int32.max))))
            var code: Int32 = Z_OK
            let message = gzerror(g, &code).map { String(cString: $0) } ?? ""
            if n < 0 || (code != Z_OK && code != Z_STREAM_END) {
                failure = code == Z_BUF_ERROR
                    ? "the gzip data ends early (truncated file)"
                    : "damaged gzip data (\(message.isEmpty ? "zlib error \(code)" : message))"
                return max(0, Int(n))
            }
            return Int(n)
        }
    }

    /// Bytes of the file consumed so far (compressed bytes for gzip), for progress.
    var offset: Int {
        switch handle {
        case let .plain(f): return max(0, ftell(f))
        case let .gzip(g): return max(0, Int(gzoffset(g)))
        }
    }

    /// The whole content, refused past `limit` bytes (a JSON document, a page).
    func readAll(limit: Int) -> Result<[UInt8], ReadAllFailure> {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(into: $0) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { return .failure(.tooLarge) }
        }
        if let failure { return .failure(.unreadable(failure)) }
        return .success(out)
    }

    enum ReadAllFailure: Error { case tooLarge, unreadable(String) }

    deinit {
        switch handle {
        case let .plain(f): fclose(f)
        case let .gzip(g): gzclose_r(g)
        }
    }
}

/// Reads a file line by line in fixed-size chunks, so a large JSON Lines file is never held
/// in memory whole. A line longer than `maxLineBytes` is reported by length and skipped. A
/// UTF-8 byte order mark opening the first line is dropped.
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

    let source: ByteSource
    private let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private var lineNumber = 0
    /// Lines returned so far.
    var linesRead: Int { lineNumber }
    /// Bytes consumed so far (for progress).
    private(set) var bytesRead = 0

    init(path: String, maxLineBytes: Int, gzip: Bool = false) throws {
        source = try ByteSource(path: path, gzip: gzip)
        self.maxLineBytes = maxLineBytes
    }

    /// Why the file could not be read to its end, if it could not.
    var failure: String? { source.failure }

    private var chunk = [UInt8](repeating: 0, count: 1 << 20)
    private var sawStart = false

    private mutating func fill() -> Bool {
        if eof { return false }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let n = chunk.withUnsafeMutableBytes { source.read(into: $0) }
        if n == 0 {
            eof = true
            return false
        }
        chunk.withUnsafeBytes { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        if !sawStart {
            if buffer.count < 3 && !eof { return true }
            sawStart = true
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        }
        bytesRead = source.offset
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
