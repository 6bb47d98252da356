import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// IPv4 socket addresses for the tests that speak to a node through raw sockets (a misbehaving peer, a slow client,
/// a wire tap): made once here instead of in each of them.
public enum IPv4 {
    public static func address(_ host: String, port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        return address
    }

    /// `bind(2)`, 0 on success.
    public static func bind(_ fd: Int32, _ address: sockaddr_in) -> Int32 {
        withUnsafePointer(to: address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    /// `connect(2)`, 0 on success.
    public static func connect(_ fd: Int32, _ address: sockaddr_in) -> Int32 {
        withUnsafePointer(to: address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }
}
