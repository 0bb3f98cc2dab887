import FolioModel
import FolioProtocol
import FolioStore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

@testable import FolioNode

/// The node's store machinery, tested directly: group commit, change notification, read batching.
final class NodeInternalsTests: XCTestCase {
    var dir = ""
    var store: Store!
    let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "folio-internals-\(UUID().uuidString)"
        store = try Store.create(at: dir)
    }

    override func tearDown() async throws {
        store.close()
        try? FileManager.default.removeItem(atPath: dir)
        try await loops.shutdownGracefully()
    }

    // MARK: GroupCommitWriter

    func testConcurrentJobsShareCommitsAndAFailingJobFailsAlone() async throws {
        let commits = NIOLockedValueBox(0)
        let writer = GroupCommitWriter(store: store) { _ in commits.withLockedValue { $0 += 1 } }
        let loop = loops.next()
        var futures: [EventLoopFuture<WriteOutcome>] = []
        for i in 0..<300 {
            // Job 150 writes an article with an invalid id: only it may fail.
            let id = i == 150 ? "" : "g/\(i)"
            futures.append(writer.submit(on: loop) { try $0.put(Article(id: id, title: "t")) })
        }
        var failed: [Int] = []
        for (i, f) in futures.enumerated() {
            do { _ = try await f.get() } catch { failed.append(i) }
        }
        XCTAssertEqual(failed, [150])
        XCTAssertEqual(try store.list(prefix: "g/", limit: 1000).count, 299)
        XCTAssertLessThan(commits.withLockedValue { $0 }, 299, "jobs queued together commit together")
        XCTAssertTrue(try store.verify().isClean)
        await writer.shutdown()
    }

    /// A group also ends at `maxGroupBytes` of text (a job larger than that commits alone), so
    /// a burst of large writes never puts all their index journal in one transaction.
    func testAGroupEndsAtItsTextBudget() async throws {
        let groups = NIOLockedValueBox<[Int]>([])
        let writer = GroupCommitWriter(store: store, maxGroupBytes: 1_000, observe: { jobs, _ in groups.withLockedValue { $0.append(jobs) } })
        let loop = loops.next()
        let open = NIOLockedValueBox(false)
        let running = NIOLockedValueBox(false)
        // Holds the writer thread until everything below is queued.
        let blocker = writer.submit(on: loop) { _ in
            running.withLockedValue { $0 = true }
            while !open.withLockedValue({ $0 }) { usleep(1_000) }
        }
        while !running.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        var futures: [EventLoopFuture<WriteOutcome>] = []
        for (i, bytes) in (Array(repeating: 400, count: 10) + [5_000, 10, 10]).enumerated() {
            futures.append(writer.submit(on: loop, bytes: bytes) { try $0.put(Article(id: "b/\(i)", title: "t")) })
        }
        open.withLockedValue { $0 = true }
        try await blocker.get()
        for f in futures { _ = try await f.get() }
        // A group is observed after its jobs complete: wait for the last one's report.
        for _ in 0..<5_000 where groups.withLockedValue({ $0.reduce(0, +) }) < 14 { try await Task.sleep(for: .milliseconds(1)) }
        XCTAssertEqual(groups.withLockedValue { $0 }, [1, 2, 2, 2, 2, 2, 1, 2])
        XCTAssertEqual(try store.list(prefix: "b/", limit: 100).count, 13)
        await writer.shutdown()
    }

    func testShutdownFinishesAcceptedJobsAndRefusesNewOnes() async throws {
        let writer = GroupCommitWriter(store: store, maxGroup: 4)
        let loop = loops.next()
        let accepted = (0..<50).map { i in writer.submit(on: loop) { try $0.put(Article(id: "s/\(i)", title: "t")) } }
        await writer.shutdown()
        for f in accepted { _ = try await f.get() }  // every accepted job got its answer
        XCTAssertEqual(try store.list(prefix: "s/", limit: 100).count, 50)
        do {
            _ = try await writer.submit(on: loop) { try $0.put(Article(id: "late", title: "t")) }.get()
            XCTFail("a job after shutdown was accepted")
        } catch is GroupCommitWriter.ShuttingDown {}
        XCTAssertNil(try store.get("late"))
    }

    // MARK: ChangeNotifier

    func testWaitersWakeOnCommitsByThisProcessAndByThePoll() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        // A poll too slow to matter here: only the announcement can wake the first waiter.
        let notifier = ChangeNotifier(store: store, loop: loops.next(), pool: pool, pollInterval: .seconds(30))
        // Nothing committed: the wait ends at its timeout with the current sequence.
        let started = Date()
        let idle = await notifier.wait(since: 0, timeout: .milliseconds(100))
        XCTAssertEqual(idle, 0)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.09)
        // A commit announced by this process wakes the waiter at once.
        async let woken = notifier.wait(since: 0, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(20))
        try store.write { try $0.put(Article(id: "n/1", title: "t")) }
        notifier.committed(upTo: try store.lastSequence())
        let announcedAt = Date()
        let seq = await woken
        XCTAssertEqual(seq, 1)
        XCTAssertLessThan(Date().timeIntervalSince(announcedAt), 5, "woken by the announcement, not a timeout")
        await notifier.stop()
        // A commit made behind its back (another process) is found by the poll.
        let polling = ChangeNotifier(store: store, loop: loops.next(), pool: pool, pollInterval: .milliseconds(20))
        async let polled = polling.wait(since: 1, timeout: .seconds(10))
        try store.write { try $0.put(Article(id: "n/2", title: "t")) }
        let seen = await polled
        XCTAssertEqual(seen, 2)
        // After stop, no poll runs: the store can be closed.
        await polling.stop()
        try store.write { try $0.put(Article(id: "n/3", title: "t")) }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(polling.last, 2, "a stopped notifier does not poll")
        // At shutdown every waiter is answered, and later waits are not held.
        polling.wakeAll()
        let start = Date()
        _ = await polling.wait(since: 99, timeout: .seconds(10))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "a wait after shutdown began is answered at once")
        try await pool.shutdownGracefully()
    }

    // MARK: ReadBatcher

    func testReadsOfOneLoopTurnRunAsOneBatchAndFailAlone() async throws {
        for i in 0..<5 { try store.write { try $0.put(Article(id: "r/\(i)", title: "t\(i)")) } }
        // Two pool threads: were the reads separate jobs, the second thread would take some
        // while the first read sleeps; one batch runs them all on one thread, in order.
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let loop = loops.next()
        let threads = NIOLockedValueBox<Set<String>>([])
        let store = self.store!
        let futures = try await loop.submit { () -> [EventLoopFuture<Message>] in
            let batcher = ReadBatcher(loop: loop, pool: pool, store: store)
            return (0..<6).map { i in
                batcher.submit { s in
                    XCTAssertFalse(loop.inEventLoop, "store reads run on the pool, not the loop")
                    threads.withLockedValue { _ = $0.insert("\(pthread_self())") }
                    if i == 0 { Thread.sleep(forTimeInterval: 0.05) }
                    guard let a = try s.get("r/\(i)") else { throw StoreError.notFound(id: "r/\(i)") }
                    return .article(a)
                }
            }
        }.get()
        var found = 0
        for (i, f) in futures.enumerated() {
            do {
                guard case let .article(a) = try await f.get() else { return XCTFail("not an article") }
                XCTAssertEqual(a.id, "r/\(i)")
                found += 1
            } catch StoreError.notFound {
                XCTAssertEqual(i, 5, "only the missing article fails")
            }
        }
        XCTAssertEqual(found, 5)
        XCTAssertEqual(threads.withLockedValue { $0.count }, 1, "the six reads ran as one pool job")
        try await pool.shutdownGracefully()
    }
}

/// The node answers GET from the record in place (`ArticleRecordView`, `EncodedState`): the
/// bytes must be exactly those of `.article(Store.get(…))`, for every shape a record takes.
final class EncodedGetTests: XCTestCase {
    func testAGetAnsweredFromTheRecordInPlaceEncodesExactlyWhatTheDecodedStateWould() throws {
        let dir = NSTemporaryDirectory() + "folio-test-\(UUID().uuidString)"
        let s = try Store.create(at: dir)
        defer {
            s.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let large = String(repeating: "a large body kept in bodies ", count: 1_000)
        try s.write { w in
            try w.put(Article(id: "plain", title: "Plain", source: "S", url: "u", published: "2026-11-30", body: "body", tags: ["a", "b"]))
            try w.put(Article(id: "empty", title: ""))
            try w.put(Article(id: "large", title: "Large", body: large))
            try w.put(Article(id: "gone", title: "x", body: "y"))
            try w.delete("gone")
        }
        // A conflict: two siblings, one with the winner's body, one with a large one.
        let plain = try XCTUnwrap(s.get("plain"))
        try s.write { try $0.put(Article(id: "plain", title: "Edit A", body: "body"), context: plain.versions.clock) }
        try s.write { try $0.put(Article(id: "plain", title: "Edit B", body: large), context: plain.versions.clock) }
        try s.write { try $0.put(Article(id: "plain", title: "Edit C", body: "other"), context: plain.versions.clock) }
        for id in ["plain", "empty", "large", "gone"] {
            for all in [false, true] {
                let state = try XCTUnwrap(s.get(id, bodies: all ? .all : .winner))
                let encoded = try XCTUnwrap(s.withRecord(id) { try ServerConnectionHandler.encodedState(id, $0, allBodies: all) })
                var mine = ByteBuffer(), theirs = ByteBuffer()
                Message.encodedArticle(encoded).encodePayload(into: &mine)
                Message.article(state).encodePayload(into: &theirs)
                XCTAssertEqual(mine, theirs, "\(id) all=\(all)")
                // And it decodes as the state.
                XCTAssertEqual(try Message.decode(type: Message.Kind.article.rawValue, payload: &mine), .article(state), "\(id) all=\(all)")
            }
        }
        XCTAssertNil(try s.withRecord("absent") { _ in 1 })
    }
}

final class SearchSchedulerTests: XCTestCase {
    /// Searches run one connection at a time in turn: a connection that queued one search
    /// behind another's ten waits for one of them, not ten. Beyond each connection's first,
    /// at most 16 wait — a connection's first is queued however full the queue is; a
    /// connection's queued searches can be answered without running (shutdown).
    func testSearchesRunOneConnectionAtATimeInTurnAndAtMostSixteenWait() throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { try? pool.syncShutdownGracefully() }
        let scheduler = SearchScheduler(pool: pool)
        let order = NIOLockedValueBox<[String]>([])
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        final class Tag {}
        let (a, b, c) = (Tag(), Tag(), Tag())
        func job(_ name: String, blocking: Bool = false) -> SearchScheduler.Job {
            done.enter()
            return { run in
                if blocking {
                    started.signal()
                    gate.wait()
                }
                order.withLockedValue { $0.append(run ? name : "cancelled " + name) }
                done.leave()
            }
        }
        XCTAssertTrue(scheduler.submit(ObjectIdentifier(a), job("a0", blocking: true)))
        // The thread takes a0 and waits; everything else queues behind it.
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        for i in 1...10 { XCTAssertTrue(scheduler.submit(ObjectIdentifier(a), job("a\(i)"))) }
        for i in 1...8 { XCTAssertTrue(scheduler.submit(ObjectIdentifier(c), job("c\(i)"))) }
        // 9 of a's and 7 of c's wait behind their first: the next further one is refused at
        // once, but b's first is queued.
        XCTAssertFalse(scheduler.submit(ObjectIdentifier(a), { _ in XCTFail("a refused search ran") }))
        XCTAssertTrue(scheduler.submit(ObjectIdentifier(b), job("b1")))
        XCTAssertFalse(scheduler.submit(ObjectIdentifier(b), { _ in XCTFail("a refused search ran") }))
        scheduler.cancel(ObjectIdentifier(c))
        // c's places are free again.
        XCTAssertTrue(scheduler.submit(ObjectIdentifier(b), job("b2")))
        gate.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let ran = order.withLockedValue { $0 }
        XCTAssertEqual(Array(ran.prefix(8)), (1...8).map { "cancelled c\($0)" })
        XCTAssertEqual(Array(ran.dropFirst(8)), ["a0", "a1", "b1", "a2", "b2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"])
    }
}
