import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Gossip
import NIOCore
import ShequTestSupport
import Wire

/// A raw TCP connection to a node's gossip port, for playing a misbehaving peer. Blocking: call it off Swift's
/// cooperative threads (`offPool`). Every read waits at most its timeout.
final class RawPeer: @unchecked Sendable {
    let fd: Int32
    private var pending = ByteBuffer()

    init(address: String) throws {
        let colon = address.lastIndex(of: ":")!
        let host = String(address[..<colon]), port = UInt16(address[address.index(after: colon)...])!
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        let connected = IPv4.connect(fd, IPv4.address(host, port: port))
        guard connected == 0 else {
            close(fd)
            throw TestFailure("connect \(address): \(errno)")
        }
    }

    deinit { close(fd) }

    /// Writes bytes; false once the node has closed the connection.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == bytes.count }
    }

    /// Writes one framed message.
    @discardableResult
    func write(_ message: GossipMessage) -> Bool { write(Self.frame(message.payload)) }

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        try! Frame.write(payload, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// The next message the node sends within `seconds`; nil if none came or the connection closed.
    func read(seconds: Double = 3) -> GossipMessage? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let payload = try? Frame.read(from: &pending) { return try? GossipMessage(payload: payload) }
            guard let bytes = receive(until: deadline), !bytes.isEmpty else { return nil }
            pending.writeBytes(bytes)
        }
        return nil
    }

    /// Whether the node closes the connection within `seconds` (whatever it sends before is read and dropped).
    func closedByNode(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let bytes = receive(until: deadline) else { return false }
            if bytes.isEmpty { return true }
        }
        return false
    }

    /// Bytes read before `deadline`: empty when the node closed (or reset) the connection, nil when nothing came.
    private func receive(until deadline: Date) -> [UInt8]? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let wait = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
        guard poll(&poller, 1, wait) > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count <= 0 ? [] : Array(chunk[..<count])
    }
}
