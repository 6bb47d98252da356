import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ShequTestSupport
import Synchronization

/// A TCP relay on loopback that forwards every connection to `upstream` and keeps every byte it carries, both ways:
/// a capture of a link, as a wire tap would see it. It stops (closing everything) on `stop()`; each connection's pump
/// ends when either side closes.
final class CapturingRelay: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let upstream: UInt16
    private let state = Mutex<(bytes: [UInt8], sockets: [Int32], stopped: Bool)>(([], [], false))

    init(upstream: UInt16) throws {
        self.upstream = upstream
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = IPv4.address("127.0.0.1", port: 0)
        guard IPv4.bind(fd, address) == 0, listen(fd, 16) == 0 else { throw TestFailure("relay: bind/listen \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Everything carried so far, both directions interleaved.
    var captured: [UInt8] { state.withLock { $0.bytes } }

    func stop() {
        let sockets = state.withLock { state -> [Int32] in
            state.stopped = true
            return state.sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit {
        stop()
        for fd in state.withLock({ $0.sockets }) { close(fd) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let connected = IPv4.connect(server, IPv4.address("127.0.0.1", port: upstream))
            let stopped = state.withLock { state -> Bool in
                state.sockets += [client, server]
                return state.stopped
            }
            guard connected == 0, !stopped else {
                close(client)
                close(server)
                continue
            }
            Thread.detachNewThread { [self] in pump(from: client, to: server) }
            Thread.detachNewThread { [self] in pump(from: server, to: client) }
        }
    }

    private func pump(from source: Int32, to destination: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            state.withLock { $0.bytes += chunk[..<count] }
            let sent = chunk.withUnsafeBytes { send(destination, $0.baseAddress, count, Int32(MSG_NOSIGNAL)) }
            guard sent == count else { break }
        }
        shutdown(destination, Int32(SHUT_RDWR))
        shutdown(source, Int32(SHUT_RDWR))
    }
}
