import Foundation
import XCTest

/// Runs the built `folio` binary as a user would, capturing its output and exit code.
struct CLIResult {
    var code: Int32
    var stdout: String
    var stderr: String
}

final class DataBox: @unchecked Sendable {
    var data = Data()
}

enum CLI {
    /// The `folio` executable built next to this test bundle.
    static let binary: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("folio")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/folio")
    }()

    static let samples: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Samples").path
    }()

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:], stdin: String? = nil, through executable: String? = nil) throws -> CLIResult {
        let p = Process()
        p.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? binary
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "FOLIO_DATA")
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read stderr on another thread so a full pipe never blocks the child.
        let errBox = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        Thread {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errDone.wait()
        p.waitUntilExit()
        let errData = errBox.data
        return CLIResult(code: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func tool(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }
}

func temporaryDirectory(_ test: XCTestCase) -> String {
    let dir = NSTemporaryDirectory() + "folio-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func writeFile(_ path: String, _ text: String) {
    try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// Starts `folio serve` on port 0 (stopped when the test ends) and returns the process, the
/// address it printed as stdout's first line, and its stderr.
func startServe(_ test: XCTestCase, _ data: String, _ extra: [String] = []) throws -> (Process, String, Pipe) {
    try startServeOn(test, data, listen: "127.0.0.1:0", extra)
}

/// `startServe` on a given address (a restart on the port a node had).
func startServeOn(_ test: XCTestCase, _ data: String, listen: String, _ extra: [String] = []) throws -> (Process, String, Pipe) {
    let p = Process()
    p.executableURL = CLI.binary
    p.arguments = ["serve", "--data", data, "--listen", listen] + extra
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    test.addTeardownBlock { if p.isRunning { p.terminate(); p.waitUntilExit() } }
    var line = Data()
    while !line.contains(0x0A) {
        let d = out.fileHandleForReading.availableData
        if d.isEmpty { break }
        line.append(d)
    }
    return (p, String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), err)
}
