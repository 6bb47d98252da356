@testable import GossipNIO
import Testing

/// The frames a connection read and the driver has not taken: taken all at once, in order, never more than the capacity.
@Suite struct FrameInboxTests {
    static func frame(_ i: Int) -> [UInt8] { [UInt8(i)] }

    @Test func everythingWaitingIsTakenAtOnceInOrder() async {
        let inbox = FrameInbox(capacity: 8)
        for i in 0..<5 { #expect(await inbox.put(Self.frame(i))) }
        #expect(await inbox.takeAll() == (0..<5).map(Self.frame))
        #expect(await inbox.put(Self.frame(5)))
        #expect(await inbox.takeAll() == [Self.frame(5)])
    }

    @Test func aFullInboxHoldsTheReaderUntilTheConsumerTakes() async throws {
        let inbox = FrameInbox(capacity: 3)
        let reader = Task {
            for i in 0..<10 { _ = await inbox.put(Self.frame(i)) }
            inbox.finish()
        }
        var taken: [[UInt8]] = []
        while let frames = await inbox.takeAll() {
            #expect(frames.count <= 3)
            taken += frames
            try await Task.sleep(for: .milliseconds(2))   // a slow consumer: the reader fills the inbox and waits
        }
        await reader.value
        #expect(taken == (0..<10).map(Self.frame))
    }

    @Test func finishingWakesAWaitingConsumerAndRefusesLaterFrames() async throws {
        let inbox = FrameInbox(capacity: 2)
        let consumer = Task { await inbox.takeAll() }
        try await Task.sleep(for: .milliseconds(20))
        inbox.finish()
        #expect(await consumer.value == nil)
        #expect(await inbox.put(Self.frame(1)) == false)
        #expect(await inbox.takeAll() == nil)
    }

    @Test func aConsumerThatStopsReleasesAReaderHeldByAFullInbox() async throws {
        let inbox = FrameInbox(capacity: 1)
        #expect(await inbox.put(Self.frame(0)))
        let held = Task { await inbox.put(Self.frame(1)) }
        try await Task.sleep(for: .milliseconds(20))
        inbox.finish()
        #expect(await held.value == false)
    }
}
