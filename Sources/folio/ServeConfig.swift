import FolioModel
import ArgumentParser
import Foundation
import Yams

/// `folio serve --config FILE`: the node's settings in YAML, keys named like the flags.
///
/// YAML through Yams because every value it composes carries its line: a bad value, not
/// only bad syntax, is reported as `FILE:LINE: …` (TOMLKit reports lines only for syntax
/// errors). Relative paths in the file are relative to the file's directory, so a unit or a
/// cron job finds them wherever it runs. Flags given on the command line override the file.
struct ServeConfigFile {
    /// One value of the file and where it is.
    struct Entry {
        var node: Node
        var line: Int
    }

    let path: String
    private(set) var entries: [String: Entry] = [:]

    /// The keys a file may hold, each the name of a `folio serve` flag.
    static let keys: [String] = [
        "data", "listen", "key-file", "tls-cert", "tls-key", "tls-ca", "peer", "max-connections", "idle-timeout",
        "handshake-timeout", "max-pending-handshakes", "max-connections-per-address", "read-threads",
        "event-loop-threads", "no-meta-sync", "tombstone-horizon", "compress", "log-level", "log-format", "admin-listen",
    ]

    /// A problem of the file: a usage error naming the file and line.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String) throws {
        self.path = path
        let text: String
        do {
            let bytes = try readInput(path)
            guard let t = String(validating: bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes, as: UTF8.self) else {
                let valid = bytes.indices.first { String(validating: bytes[..<$0], as: UTF8.self) == nil }.map { $0 - 1 } ?? 0
                let line = bytes[..<max(0, valid)].filter { $0 == 0x0A }.count + 1
                throw Problem(description: "\(path):\(line): not UTF-8 text")
            }
            text = t
        } catch let e as CLIFailure {
            throw Problem(description: e.message ?? "cannot read \(path)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw Problem(description: Self.describe(e, path: path, text: text))
        }
        guard let root else { return }  // an empty file (or only comments) sets nothing
        guard case let .mapping(mapping) = root else {
            throw Problem(description: "\(path):\(root.mark?.line ?? 1): the file must be a mapping of settings (key: value), like `listen: 127.0.0.1:7070`")
        }
        for (key, value) in mapping {
            let line = key.mark?.line ?? 0
            guard let name = key.string else {
                throw Problem(description: "\(path):\(line): a key must be a setting's name")
            }
            guard Self.keys.contains(name) else {
                let hint = Self.keys.first { $0.replacingOccurrences(of: "-", with: "") == name.lowercased().replacingOccurrences(of: "_", with: "").replacingOccurrences(of: "-", with: "") }
                    ?? (name == "peers" ? "peer" : name == "key-files" ? "key-file" : nil)
                throw Problem(description: "\(path):\(line): unknown setting \"\(Terminal.safe(name))\"" + (hint.map { " (did you mean \"\($0)\"?)" } ?? "") + "; settings: " + Self.keys.joined(separator: ", "))
            }
            if let earlier = entries[name] {
                throw Problem(description: "\(path):\(line): \"\(name)\" is set twice (first on line \(earlier.line))")
            }
            entries[name] = Entry(node: value, line: value.mark?.line ?? line)
        }
    }

    /// Where `key` is, for messages: "FILE:LINE: key".
    func origin(_ key: String) -> String { "\(path):\(entries[key]?.line ?? 0): \(key)" }

    func string(_ key: String) throws -> String? {
        guard let e = entries[key] else { return nil }
        if Self.isNull(e.node) {
            throw Problem(description: "\(origin(key)) has no value (empty, ~ or null): give one, or remove the line for the default")
        }
        guard case .scalar = e.node, let s = e.node.string else {
            throw Problem(description: "\(origin(key)) must be a single value, not \(Self.shape(e.node))")
        }
        return s
    }

    /// An empty value, `~` or `null` (YAML's null), unquoted.
    static func isNull(_ node: Node) -> Bool {
        guard case let .scalar(scalar) = node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A path, relative to the file's directory unless absolute.
    func path(_ key: String) throws -> String? {
        try string(key).map(resolve)
    }

    func resolve(_ p: String) -> String {
        if p.hasPrefix("/") || p == "-" { return p }
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? p : (dir as NSString).appendingPathComponent(p)
    }

    func int(_ key: String) throws -> Int? {
        guard let s = try string(key) else { return nil }
        guard let v = Int(s) else { throw Problem(description: "\(origin(key)) must be a whole number, not \"\(Terminal.safe(s))\"") }
        return v
    }

    func seconds(_ key: String) throws -> Double? {
        guard let s = try string(key) else { return nil }
        guard let v = Double(s), v.isFinite else {
            throw Problem(description: "\(origin(key)) must be a number of seconds, not \"\(Terminal.safe(s))\"")
        }
        return v
    }

    func bool(_ key: String) throws -> Bool? {
        guard let s = try string(key) else { return nil }
        switch s {
        case "true": return true
        case "false": return false
        default: throw Problem(description: "\(origin(key)) must be true or false, not \"\(Terminal.safe(s))\"")
        }
    }

    /// A list of values, each with its line; a single value is a list of one.
    func list(_ key: String) throws -> [(value: String, line: Int)]? {
        guard let e = entries[key] else { return nil }
        if Self.isNull(e.node) { return [] }  // `peer: ~`: none
        switch e.node {
        case .scalar:
            return [(try string(key)!, e.line)]
        case let .sequence(items):
            return try items.map { item in
                let line = item.mark?.line ?? e.line
                guard case .scalar = item, let s = item.string, !Self.isNull(item) else {
                    throw Problem(description: "\(path):\(line): each \(key) must be a single value, not \(Self.isNull(item) ? "empty" : Self.shape(item))")
                }
                return (s, line)
            }
        case .mapping, .alias:
            throw Problem(description: "\(origin(key)) must be a value or a list of values, not \(Self.shape(e.node))")
        }
    }

    /// `peer`: a list of addresses, or of mappings with an `address`.
    func peers() throws -> [(value: String, line: Int, filter: [String], pushFilter: [String])]? {
        guard let e = entries["peer"] else { return nil }
        if Self.isNull(e.node) { return [] }
        guard case let .sequence(items) = e.node else { return (try list("peer") ?? []).map { ($0.value, $0.line, [], []) } }
        return try items.map { item in
            let line = item.mark?.line ?? e.line
            switch item {
            case .scalar:
                guard let s = item.string, !Self.isNull(item) else { throw Problem(description: "\(path):\(line): a peer needs an address") }
                return (s, line, [], [])
            case let .mapping(m):
                var address: String?
                var filters: [String: [String]] = [:]
                for (k, v) in m {
                    let at = k.mark?.line ?? line
                    switch k.string {
                    case "address":
                        guard !Self.isNull(v), case .scalar = v else { throw Problem(description: "\(path):\(at): a peer's address is host:port, not \(Self.isNull(v) ? "null" : Self.shape(v))") }
                        address = v.string
                    case "filter", "push-filter":
                        let key = k.string!
                        switch v {
                        case .scalar:
                            guard let s = v.string, !Self.isNull(v) else { throw Problem(description: "\(path):\(at): \(key) needs a clause (key=value)") }
                            filters[key] = [s]
                        case let .sequence(list):
                            filters[key] = try list.map { c in
                                let cl = c.mark?.line ?? at
                                guard case .scalar = c, let s = c.string, !Self.isNull(c) else {
                                    throw Problem(description: "\(path):\(cl): each \(key) clause is a value key=value")
                                }
                                do {
                                    _ = try ReplicationFilter(expressions: [s])
                                } catch {
                                    throw Problem(description: "\(path):\(cl): \(key): \((error as? ReplicationFilter.Invalid)?.reason ?? "\(error)")")
                                }
                                return s
                            }
                        default:
                            throw Problem(description: "\(path):\(at): \(key) is a clause or a list of clauses (key=value)")
                        }
                        do {
                            _ = try ReplicationFilter(expressions: filters[key]!)
                        } catch {
                            throw Problem(description: "\(path):\(at): \(key): \((error as? ReplicationFilter.Invalid)?.reason ?? "\(error)")")
                        }
                    default:
                        throw Problem(description: "\(path):\(at): unknown peer setting \"\(Terminal.safe(k.string ?? "?"))\"; a peer has: address, filter, push-filter")
                    }
                }
                guard let address, !address.isEmpty else { throw Problem(description: "\(path):\(line): a peer needs an address") }
                return (address, line, filters["filter"] ?? [], filters["push-filter"] ?? [])
            default:
                throw Problem(description: "\(path):\(line): a peer is an address (host:port) or a mapping with one, not \(Self.shape(item))")
            }
        }
    }

    private static func shape(_ node: Node) -> String {
        switch node {
        case .scalar: return "a value"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .alias: return "an alias"
        }
    }

    private static func describe(_ error: YamlError, path: String, text: String) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return "\(path):\(mark.line): not valid YAML: \(problem) (column \(mark.column))"
        case let .reader(problem, offset, _, _):
            let line = offset.map { o in text.utf8.prefix(o).filter { $0 == 0x0A }.count + 1 } ?? 1
            return "\(path):\(line): not valid YAML: \(problem)"
        case let .duplicatedKeysInMapping(duplicates, _):
            // Yams names the keys, not their lines: find the second top-level occurrence.
            let key = duplicates.first ?? ""
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            // (Also inside a list item's mapping: indented, after "- ".)
            func opens(_ line: Substring) -> Bool {
                var l = line.drop { $0 == " " }
                if l.hasPrefix("- ") { l = l.dropFirst(2).drop { $0 == " " } }
                return l.hasPrefix(key + ":") || l.hasPrefix("\"\(key)\":")
            }
            let hits = lines.indices.filter { opens(lines[$0]) }
            let (first, second) = (hits.first.map { $0 + 1 } ?? 0, hits.dropFirst().first.map { $0 + 1 } ?? 0)
            return "\(path):\(second): \"\(Terminal.safe(key))\" is set twice (first on line \(first))"
        default:
            return "\(path): not valid YAML: \(error)"
        }
    }
}
