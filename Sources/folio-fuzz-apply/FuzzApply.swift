// Fuzz target for what peers send: APPLY and FETCHED payloads merged into a real store.
//
// Built with -sanitize=fuzzer (tools/fuzz-apply), libFuzzer calls LLVMFuzzerTestOneInput with
// arbitrary bytes. The first byte picks how they are read:
//   even: the rest is an APPLY payload (byte 1 odd) or a FETCHED payload, decoded by the wire
//         codec; whatever decodes is merged like a peer's batch;
//   odd:  the rest drives `ArbitraryVersions` (1–3 well-formed but arbitrary sets).
// After each batch the store must keep `ReceivedVersionsProperty` (a refused batch changes
// nothing, no held version vanishes unless a received one supersedes it, every article stays
// a valid set) and verify clean; anything else is a crash, i.e. a finding. Built normally, the
// program replays the files named on its command line.
import FolioModel
import FolioStore
import FolioProtocol
import Foundation
import FuzzDriver
import NIOCore

/// A small store on tmpfs, recreated every few thousand inputs so it stays small and fast.
final class FuzzStore {
    /// libFuzzer calls the target from one thread only.
    nonisolated(unsafe) static let shared = FuzzStore()
    private var store: Store?
    private(set) var uses = 0
    private let dir = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/folio-fuzz-apply-\(getpid())"

    func current() -> Store {
        uses += 1
        if let store, uses % 5000 != 0 { return store }
        store?.close()
        try? FileManager.default.removeItem(atPath: dir)
        var o = Store.Options()
        o.mapSize = 64 << 20
        o.noMetaSync = true
        store = try! Store.create(at: dir, options: o)
        return store!
    }
}

func exercise(_ bytes: UnsafeRawBufferPointer) {
    guard let mode = bytes.first else { return }
    var batch: [ReceivedArticle] = []
    if mode % 2 == 0 {
        var payload = ByteBuffer(bytes: bytes.dropFirst(2))
        let type: UInt8 = bytes.count > 1 && bytes[1] % 2 == 1 ? 0x24 : 0xA1
        guard let message = try? Message.decode(type: type, payload: &payload) else { return }
        switch message {
        case let .apply(_, _, _, articles): batch = articles.map(ReceivedArticle.init)
        case let .fetched(articles): batch = articles.map(ReceivedArticle.init)
        default: return
        }
        guard !batch.isEmpty else { return }
    } else {
        var gen = ArbitraryVersions(rng: ArbitraryRandom(bytes: Array(bytes.dropFirst())), ids: 4)
        batch = (0..<Int.random(in: 1...3, using: &gen.rng)).map { _ in gen.next() }
    }
    let store = FuzzStore.shared.current()
    do {
        // A savepoint (an LMDB nested transaction) allocates LMDB's 2 MiB dirty list, which
        // AddressSanitizer maps and unmaps each time: one input in 16 takes that path.
        let n = FuzzStore.shared.uses
        let (problems, _) = try ReceivedVersionsProperty.apply(batch, to: store, verify: n % 64 == 0, savepoint: n % 16 == 0)
        if !problems.isEmpty { fatalError("property broken: \(problems)") }
    } catch {
        fatalError("store failure: \(error)")
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
@_cdecl("folio_fuzz_apply_main")
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
