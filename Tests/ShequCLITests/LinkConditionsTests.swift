import Gossip
import Replication
@testable import GossipNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// The userspace network of the WAN bench: frames wait their delay and leave in the order written (as over one TCP
/// stream), and only messages after the handshake are ever dropped.
@Suite struct LinkConditionsTests {
    @Test func framesWaitTheirDelayAndLeaveInOrder() throws {
        let conditions = NIOLockedValueBox(LinkConditions(delayMillis: 10, jitterMillis: 2, loss: 0))
        let channel = EmbeddedChannel(handler: LinkDelayHandler(conditions: { conditions.withLockedValue { $0 } }))
        for i in 0..<50 { channel.writeAndFlush(ByteBuffer(integer: UInt32(i)), promise: nil) }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before its delay")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(7))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "8 ms is the least delay")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(6))
        var order: [UInt32] = []
        while var frame = try channel.readOutbound(as: ByteBuffer.self) { order.append(frame.readInteger()!) }
        #expect(order == Array(0..<50), "every frame by 13 ms, in the order written")

        // Switched off: a frame goes straight out.
        conditions.withLockedValue { $0 = .none }
        try channel.writeAndFlush(ByteBuffer(integer: UInt32(99))).wait()
        var next = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(next.readInteger(as: UInt32.self) == 99)
        _ = try channel.finish()
    }

    @Test func aFrameWrittenAfterTheDelayIsSwitchedOffWaitsBehindTheHeldOnes() throws {
        let conditions = NIOLockedValueBox(LinkConditions(delayMillis: 10, jitterMillis: 0, loss: 0))
        let channel = EmbeddedChannel(handler: LinkDelayHandler(conditions: { conditions.withLockedValue { $0 } }))
        channel.writeAndFlush(ByteBuffer(integer: UInt32(1)), promise: nil)
        conditions.withLockedValue { $0 = .none }
        channel.writeAndFlush(ByteBuffer(integer: UInt32(2)), promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(11))
        var first = try #require(try channel.readOutbound(as: ByteBuffer.self))
        var second = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect([first.readInteger(as: UInt32.self), second.readInteger(as: UInt32.self)] == [1, 2])
        _ = try channel.finish()
    }

    @Test func onlyMessagesAfterTheHandshakeAreDropped() {
        let all = LinkConditions(delayMillis: 0, jitterMillis: 0, loss: 1)
        let none = LinkConditions(delayMillis: 0, jitterMillis: 0, loss: 0)
        let messages: [GossipMessage] = [.sync(VersionVector(), clock: 0), .changes([], claims: [:])]
        for message in messages {
            #expect(all.drops(message))
            #expect(!none.drops(message))
        }
        #expect(!all.drops(.proof([])))
        let delays = (0..<200).map { _ in LinkConditions(delayMillis: 10, jitterMillis: 2, loss: 0).nextDelay().nanoseconds / 1_000_000 }
        #expect(delays.min() == 8 && delays.max() == 12, "uniform in 10 ± 2 ms")
    }
}
