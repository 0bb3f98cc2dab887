// What every fuzz target of Folio shares: handing control to libFuzzer when built with
// -sanitize=fuzzer -DFUZZING (tools/fuzz-*), and replaying corpus files otherwise.
import Foundation

/// Runs `input` over every file named on the command line (directories: every file in them),
/// then prints how many were replayed. A finding shows as a crash.
public func replayCorpus(_ input: (UnsafeRawBufferPointer) -> Void) {
    var count = 0
    for path in CommandLine.arguments.dropFirst() {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
        let files = isDir.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }
            : [path]
        for f in files {
            guard let d = FileManager.default.contents(atPath: f) else { continue }
            d.withUnsafeBytes { input($0) }
            count += 1
        }
    }
    print("replayed \(count) inputs without a finding")
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Hands control to libFuzzer, which calls `callback` with each input.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var count = argc
    var args = argv
    return LLVMFuzzerRunDriver(&count, &args, callback)
}
#endif
