@testable import Simulation
import Testing

@Suite struct EventQueueTests {
    /// Earliest first; at one time, in the order scheduled — also after slots are freed and reused in between.
    @Test func eventsComeOutByTimeThenByTheOrderTheyWereScheduled() {
        var queue = EventQueue<String>()
        var rng: UInt64 = 42
        var expected: [(time: Int64, order: Int, name: String)] = []
        var order = 0
        func add(_ time: Int64) {
            let name = "e\(order)@\(time)"
            queue.schedule(name, at: time)
            expected.append((time, order, name))
            order += 1
        }
        var popped: [String] = []
        for round in 0..<200 {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            add(Int64(rng >> 59))  // 32 distinct times: many ties
            if round % 3 == 2, let (time, event) = queue.next(notAfter: .max) {
                let first = expected.min { ($0.time, $0.order) < ($1.time, $1.order) }!
                #expect(time == first.time && event == first.name)
                expected.removeAll { $0.name == first.name }
                popped.append(event)
            }
        }
        #expect(queue.next(notAfter: -1) == nil, "nothing is due before time 0")
        while let (_, event) = queue.next(notAfter: .max) { popped.append(event) }
        let rest = expected.sorted { ($0.time, $0.order) < ($1.time, $1.order) }.map(\.name)
        #expect(Array(popped.suffix(rest.count)) == rest)
        #expect(popped.count == 200 && queue.isEmpty)
    }
}
