import FolioModel

/// The property of receiving arbitrary version sets (issue: "peer input can never harm a store").
package enum ReceivedVersionsProperty {
    /// Applies `batch` as one APPLY — inside a savepoint of a larger transaction, as a node's
    /// group commit does, or with `savepoint` false as a transaction of its own — and checks: a refused batch changes
    /// nothing; an accepted one keeps every previously held version that no received
    /// version supersedes, and leaves each article a valid set; with `verify`, the whole
    /// store verifies clean. Returns what broke (empty when the property holds) and whether
    /// the batch was accepted.
    package static func apply(
        _ batch: [ReceivedArticle], to store: Store, verify: Bool, savepoint: Bool = true
    ) throws -> (problems: [String], accepted: Bool) {
        let ids = Array(Set(batch.map(\.id)))
        func snapshot() throws -> [String: [Version]] {
            var s: [String: [Version]] = [:]
            // An id no article can have is refused with its batch: it holds nothing.
            for id in ids where (try? Article.validateID(id)) != nil {
                s[id] = try store.get(id, bodies: .none)?.versions.versions ?? []
            }
            return s
        }
        let before = try snapshot()
        var refusal: Error?
        func mergeAll(_ w: StoreWriter) throws {
            for a in batch { try w.merge(id: a.id, versions: a.versions, bodies: a.bodies) }
        }
        do {
            try store.write { w in
                if savepoint { try w.savepoint(mergeAll) } else { try mergeAll(w) }
            }
        } catch let e as StoreError {
            switch e {
            case .lmdb, .diskFull, .corrupt: throw e
            default: refusal = e
            }
        }
        let after = try snapshot()
        var problems: [String] = []
        for id in ids {
            let was = before[id] ?? [], now = after[id] ?? []
            if refusal != nil {
                if was != now { problems.append("\(id): a refused batch (\(refusal!)) changed the article") }
                continue
            }
            let received = batch.filter { $0.id == id }.flatMap(\.versions)
            for v in was where !now.contains(v) && !received.contains(where: { v.isObsoleted(by: $0) }) {
                problems.append("\(id): held version \(v.dot) disappeared though nothing received supersedes it")
            }
            if !now.isEmpty {
                do {
                    try VersionSet.validate(received: now, bodies: [:], limits: store.options.limits)
                } catch {
                    problems.append("\(id): the stored set breaks an invariant: \(error)")
                }
            }
        }
        if verify {
            let report = try store.verify()
            problems += report.problems.map { "verify: \($0)" }
        }
        return (problems, refusal == nil)
    }
}
