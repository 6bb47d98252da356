import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A Server-Sent Events client over one loopback connection, for tests and the notification bench: the events as they
/// arrive, parsed per the WHATWG rules (id, event, data; comment lines ignored), each stamped with its arrival.
/// Bounded: `next(within:)` waits at most its timeout.
public final class EventStreamClient: Sendable {
    public struct Event: Sendable, Equatable {
        public var id: String?
        public var name: String
        public var data: String
        /// When its last line arrived.
        public var arrived: ContinuousClock.Instant = .now

        public init(id: String?, name: String, data: String) {
            self.id = id
            self.name = name
            self.data = data
        }
    }

    public let status: Int
    private let channel: any Channel
    private let inbox: Inbox

    /// Connects and sends `GET path` with the headers; returns once the response head has come.
    /// `source`: the local address to connect from (many clients of one machine as many addresses of 127.0.0.0/8).
    public static func connect(port: Int, path: String, headers: [(String, String)], host: String = "127.0.0.1",
                               source: String? = nil) async throws -> EventStreamClient {
        let inbox = Inbox()
        let head = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Int.self)
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Parser(head: head, inbox: inbox))
                }
            }
            .connect(host: host, port: port).get()
        var fields = HTTPHeaders([("Host", "\(host):\(port)"), ("Accept", "text/event-stream")])
        for (name, value) in headers { fields.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: fields)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: .seconds(10)) { head.fail(ChannelError.connectTimeout(.seconds(10))) }
        defer { timer.cancel() }
        let status = try await head.futureResult.get()
        return EventStreamClient(status: status, channel: channel, inbox: inbox)
    }

    private init(status: Int, channel: any Channel, inbox: Inbox) {
        self.status = status
        self.channel = channel
        self.inbox = inbox
    }

    /// The next event, or nil if none comes within `timeout` (or the stream ended).
    public func next(within timeout: Duration) async -> Event? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let event = inbox.take() { return event }
            guard ContinuousClock.now < deadline, !inbox.ended else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Events until `predicate` holds for one (returned) or `timeout` passes (nil).
    public func first(within timeout: Duration, where predicate: (Event) -> Bool) async -> Event? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let event = await next(within: deadline - ContinuousClock.now) else { return nil }
            if predicate(event) { return event }
        }
        return nil
    }

    /// Whether the server ended the stream.
    public var ended: Bool { inbox.ended && inbox.isEmpty }

    public func close() async {
        try? await channel.close()
    }

    private final class Parser: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let head: EventLoopPromise<Int>
        let inbox: Inbox
        var pending = ""
        var id: String?, name = "message", data: [String] = []

        init(head: EventLoopPromise<Int>, inbox: Inbox) {
            self.head = head
            self.inbox = inbox
        }

        func channelRead(context: ChannelHandlerContext, data part: NIOAny) {
            switch unwrapInboundIn(part) {
            case .head(let response): head.succeed(Int(response.status.code))
            case .body(let buffer): feed(String(buffer: buffer))
            case .end: inbox.end()
            }
        }

        func feed(_ text: String) {
            pending += text
            while let newline = pending.firstIndex(of: "\n") {
                let line = String(pending[..<newline])
                pending = String(pending[pending.index(after: newline)...])
                if line.isEmpty {
                    if !data.isEmpty { inbox.put(Event(id: id, name: name, data: data.joined(separator: "\n"))) }
                    id = nil; name = "message"; data = []
                } else if !line.hasPrefix(":") {
                    let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    let value = parts.count > 1 ? String(parts[1].hasPrefix(" ") ? parts[1].dropFirst() : parts[1]) : ""
                    switch parts[0] {
                    case "id": id = value
                    case "event": name = value
                    case "data": data.append(value)
                    default: break
                    }
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            head.fail(ChannelError.eof)
            inbox.end()
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

/// Events received and not yet taken.
final class Inbox: Sendable {
    private let state = Mutex<(events: [EventStreamClient.Event], ended: Bool)>(([], false))
    func put(_ event: EventStreamClient.Event) { state.withLock { $0.events.append(event) } }
    func take() -> EventStreamClient.Event? { state.withLock { $0.events.isEmpty ? nil : $0.events.removeFirst() } }
    func end() { state.withLock { $0.ended = true } }
    var ended: Bool { state.withLock { $0.ended } }
    var isEmpty: Bool { state.withLock { $0.events.isEmpty } }
}
