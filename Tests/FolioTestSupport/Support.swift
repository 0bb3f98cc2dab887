import FolioModel
import FolioStore
import Foundation
import XCTest

// Helpers shared by the model, store and import tests.

@_exported import FolioModelTestSupport

/// A fresh temporary directory, removed when the test ends.
public func temporaryDirectory(_ test: XCTestCase) -> String {
    let dir = NSTemporaryDirectory() + "folio-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// A clock the test advances by hand.
public final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64
    public init(_ start: Int64 = 1_700_000_000_000) { now = start }
    public func tick(_ ms: Int64 = 1) -> Int64 { lock.withLock { now += ms; return now } }
}

public func makeStore(_ test: XCTestCase, path: String? = nil, mapSize: Int = 8 << 20, clock: TestClock = TestClock()) throws -> Store {
    var o = Store.Options()
    o.mapSize = mapSize
    o.clock = { clock.tick() }
    let s = try Store.create(at: path ?? temporaryDirectory(test) + "/store", options: o)
    test.addTeardownBlock { s.close() }
    return s
}


/// The repository's Samples directory (fixtures shipped with the project).
public let samplesDirectory: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples").path
}()
