// Fuzz target for Folio's frame decoder.
//
// Built with -sanitize=fuzzer (tools/fuzz-frames), libFuzzer calls LLVMFuzzerTestOneInput with
// arbitrary bytes; the decoder must answer each with frames, "need more data" or a
// ProtocolViolation — never a crash, a hang or unbounded memory. Built normally, the program
// replays the files named on its command line through the same function.
import FolioProtocol
import Foundation
import FuzzDriver
import NIOCore

/// Feeds `bytes` to a fresh decoder, once as a first frame and once after a HELLO (then
/// accepting DEFLATED frames, SPEC §2.1, which it inflates), in two differently split chunks,
/// and re-encodes whatever decodes.
func exercise(_ bytes: UnsafeRawBufferPointer) {
    for afterHello in [false, true] {
        let limits = FrameLimits(inbound: 1 << 20)
        limits.acceptsDeflated = afterHello
        var decoder = FrameDecoder(limits: limits)
        if afterHello {
            var hello = Envelope(0, .hello(Hello(nodeID: .none, software: "fuzz", features: [], nonce: Array(repeating: 0, count: 32), maxFrame: 1 << 20))).encoded()
            _ = try? decoder.decodeOne(&hello)
        }
        var buffer = ByteBuffer()
        let split = bytes.count / 2
        for part in [bytes[0..<split], bytes[split...]] {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: part))
            do {
                while let envelope = try decoder.decodeOne(&buffer) {
                    // Whatever decodes must encode and decode again to the same message.
                    var again = envelope.encoded()
                    var check = FrameDecoder(maxFrame: 1 << 24)
                    if envelope.message.kind != .hello && envelope.message.kind != .error {
                        var hello = Envelope(0, .hello(Hello(nodeID: .none, software: "fuzz", features: [], nonce: Array(repeating: 0, count: 32), maxFrame: 1 << 20))).encoded()
                        _ = try? check.decodeOne(&hello)
                    }
                    guard let round = try? check.decodeOne(&again), round == envelope else {
                        fatalError("re-encoding changed a message: \(envelope.message.kind)")
                    }
                }
            } catch is ProtocolViolation {
                break
            } catch {
                fatalError("unexpected error type: \(error)")
            }
        }
    }
}

#if FUZZING
/// libFuzzer's own entry, linked in but reached through `runFuzzer` below.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    exercise(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// SwiftPM links an executable's entry point under this name; hand control to libFuzzer.
@_cdecl("folio_fuzz_frames_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        exercise(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
#else
@main
enum ReplayCorpus {
    static func main() { replayCorpus(exercise) }
}
#endif
