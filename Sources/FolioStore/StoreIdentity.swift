import FolioModel
import Foundation

/// Where a store's data file lives: the file's device and inode and the machine's id. A store
/// records it (`meta/home`) and compares it at every write-open, so that a copy — made by
/// `folio backup`, `cp -a`, `rsync -a` or a disk image used on another machine — takes a new
/// node id and epoch before its first write instead of writing under its original's id
/// (Protocol/STORAGE.md "Identity").
struct StoreHome: Equatable {
    var device: UInt64
    var inode: UInt64
    var machine: String

    /// The home of the data file at `dataFile` on this machine, nil when it cannot be read.
    static func current(dataFile: String) -> StoreHome? {
        var st = stat()
        guard stat(dataFile, &st) == 0 else { return nil }
        return StoreHome(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), machine: machineID())
    }

    /// systemd's machine id, else D-Bus's, else the host name.
    static func machineID() -> String {
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let d = FileManager.default.contents(atPath: path) {
                let id = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !id.isEmpty { return id }
            }
        }
        return ProcessInfo.processInfo.hostName
    }

    /// `u8 format = 1`, u64 device, u64 inode, then the machine id's UTF-8 bytes.
    var encoded: [UInt8] {
        var w = ByteWriter(capacity: 17 + machine.utf8.count)
        w.u8(1)
        w.u64(device)
        w.u64(inode)
        w.raw(Array(machine.utf8))
        return w.bytes
    }

    init(device: UInt64, inode: UInt64, machine: String) {
        self.device = device
        self.inode = inode
        self.machine = machine
    }

    init(decoding b: UnsafeRawBufferPointer) throws(CorruptRecord) {
        var r = ByteReader(b)
        guard try r.u8("home format") == 1 else { throw CorruptRecord("meta home has an unknown format") }
        device = try r.u64("home device")
        inode = try r.u64("home inode")
        machine = String(decoding: UnsafeRawBufferPointer(rebasing: b[r.offset...]), as: UTF8.self)
    }

    func difference(from other: StoreHome) -> String {
        if machine != other.machine { return "it was written on another machine (id \(other.machine.prefix(12))…)" }
        return "its data file is another file than the one it was written in (device \(other.device), inode \(other.inode) then; device \(device), inode \(inode) now)"
    }
}

/// A store that found itself copied and took a new identity when opened for writing.
public struct IdentityChange: Sendable, Equatable, CustomStringConvertible {
    public var previousNode: NodeID
    public var newNode: NodeID
    public var reason: String
    public var description: String {
        "this store is a copy (\(reason)): it keeps its history but now writes as node \(newNode.hex) instead of \(previousNode.hex), so it can never fork its original's history"
    }
}
