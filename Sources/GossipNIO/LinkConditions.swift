import Foundation
import Gossip
import Metrics
import NIOCore

/// A network worse than loopback, emulated in userspace (kernel netem is not available everywhere the benches run):
/// every frame this node sends waits `delay ± jitter` before it reaches the socket, in order per connection as TCP
/// would deliver it, and a share `loss` of the messages after the handshake never go out at all — a frame lost for
/// good, which is what the protocol has to repair (a receiver that sees a gap asks at once; otherwise anti-entropy).
/// Set through the fault-injection switch (`PUT /v1/cluster/faults`); off by default and in production.
public struct LinkConditions: Sendable, Equatable {
    public var delayMillis: Int
    public var jitterMillis: Int
    /// The share of messages dropped, 0...1: `sync`, `changes` and `swim`, never the handshake (a lost hello would only
    /// stall the link until its deadline, which tests nothing).
    public var loss: Double

    public static let none = LinkConditions(delayMillis: 0, jitterMillis: 0, loss: 0)

    public init(delayMillis: Int, jitterMillis: Int, loss: Double) {
        self.delayMillis = delayMillis
        self.jitterMillis = jitterMillis
        self.loss = loss
    }

    var delays: Bool { delayMillis > 0 || jitterMillis > 0 }

    /// Whether this message is dropped, by a fair draw.
    func drops(_ message: GossipMessage) -> Bool {
        switch message {
        case .hello, .welcome, .proof: false
        case .sync, .changes, .swim: loss > 0 && Double.random(in: 0..<1) < loss
        }
    }

    /// One frame's delay: uniform in delay ± jitter, never below zero.
    func nextDelay() -> TimeAmount {
        let millis = max(0, delayMillis + (jitterMillis > 0 ? Int.random(in: -jitterMillis...jitterMillis) : 0))
        return .microseconds(Int64(millis) * 1_000)
    }

    /// `shequ_gossip_dropped_total`: messages the emulated loss kept off the wire.
    static let dropped = Counter(label: "shequ_gossip_dropped_total")
}

/// Holds each outbound frame for its delay before passing it on, in the order written: a frame is never released
/// before the one written ahead of it, as over one TCP stream. With no delay set it passes writes straight through.
final class LinkDelayHandler: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let conditions: @Sendable () -> LinkConditions
    /// When the last held frame is released (event-loop time); only touched on the channel's event loop.
    private var lastRelease = NIODeadline.uptimeNanoseconds(0)
    /// Frames held and not yet released: a flush with none held passes on.
    private var held = 0

    init(conditions: @escaping @Sendable () -> LinkConditions) { self.conditions = conditions }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let current = conditions()
        // Frames still held when the delay is switched off keep their place: what follows waits behind them.
        guard current.delays || held > 0 else { return context.write(data, promise: promise) }
        // Strictly after the frame ahead of it, so equal deadlines never reorder two frames.
        let release = max(context.eventLoop.now + current.nextDelay(), lastRelease + .nanoseconds(1))
        lastRelease = release
        held += 1
        let frame = unwrapOutboundIn(data)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: release) { [self] in
            held -= 1
            loopBound.value.writeAndFlush(wrapOutboundOut(frame), promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        if held == 0 { context.flush() }
    }
}
