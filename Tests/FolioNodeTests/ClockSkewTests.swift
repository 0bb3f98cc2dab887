import FolioModel
import FolioStore
import FolioClient
import FolioNode
import FolioProtocol
import Foundation
import XCTest

/// HELLO carries each side's clock; a peer more than a minute off is named (SPEC §4.1, §5.1).
final class ClockSkewTests: XCTestCase {
    func testAPeerWhoseClockIsAnHourAheadIsNamedInTheLogAndInPeerStatus() async throws {
        let hub = try await TestNode(self)
        let dir = NSTemporaryDirectory() + "folio-skewed-\(UUID().uuidString)"
        var options = Store.Options()
        options.clock = { Hello.wallClock() + 3_600_000 }
        let skewedStore = try Store.create(at: dir, options: options)
        let skewed = try await TestNode(self, store: skewedStore) { $0.peers = [hub.address] }
        try skewed.store.write { try $0.put(Article(id: "from/future", title: "an hour ahead")) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try? hub.store.get("from/future")) == nil { try await Task.sleep(for: .milliseconds(50)) }
        XCTAssertNotNil(try hub.store.get("from/future"), "skew does not stop replication")
        // The hub logs the skewed peer once per window…
        XCTAssertTrue(hub.logs.all.contains { $0.contains("is 3600 s ahead of ours") }, "\(hub.logs.all.filter { $0.contains("clock") })")
        // …and `folio peers` on the hub names the skewed node that dialled in.
        var incoming: PeerStatus?
        for _ in 0..<100 where incoming == nil {
            incoming = try hub.store.peerStatuses().first { $0.address.hasSuffix("(incoming)") }
            if incoming == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        XCTAssertEqual(incoming?.node, skewed.store.nodeID)
        XCTAssertEqual(Double(incoming?.clockSkew ?? 0), 3_600_000, accuracy: 5_000)
        // …and the skewed node's status of the hub says the hub is an hour behind.
        let status = try XCTUnwrap(try skewed.store.peerStatuses().first)
        let skew = try XCTUnwrap(status.clockSkew)
        XCTAssertEqual(Double(skew), -3_600_000, accuracy: 5_000)
        XCTAssertTrue(Clocks.isSkewed(skew))
        XCTAssertTrue(skewed.logs.all.contains { $0.contains("3600 s behind ours") }, "\(skewed.logs.all.filter { $0.contains("clock") })")
        // A client with an honest clock sees no skew with the hub.
        let client = try await hub.client()
        XCTAssertFalse(Clocks.isSkewed(try XCTUnwrap(client.clockSkew)))
        try await client.close()
        await skewed.stop()
        await hub.stop()
    }

    func testSkewArithmeticSaturatesInsteadOfWrapping() {
        XCTAssertEqual(Clocks.skew(theirs: .min, ours: 1_800_000_000_000), .min)
        XCTAssertEqual(Clocks.skew(theirs: .max, ours: -5), .max)
        XCTAssertTrue(Clocks.describe(skew: Clocks.skew(theirs: .min, ours: 1_800_000_000_000)).hasSuffix("behind"))
        XCTAssertEqual(Clocks.describe(skew: 3_600_000), "3600 s ahead of")
        XCTAssertFalse(Clocks.isSkewed(59_999))
        XCTAssertTrue(Clocks.isSkewed(-60_001))
    }
}
