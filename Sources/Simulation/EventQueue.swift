/// The simulator's agenda: events ordered by simulated time, ties broken by the order they were scheduled, so that a
/// run depends on nothing but its seed. The heap holds plain keys; the events wait in slots beside it, so sifting
/// moves three integers instead of copying (and retaining) an event's payload at every step.
struct EventQueue<Event> {
    private struct Key {
        var time: Int64
        var order: UInt64
        var slot: Int
        func before(_ other: Key) -> Bool { time != other.time ? time < other.time : order < other.order }
    }
    private var heap: [Key] = []
    private var slots: [Event?] = []
    private var freeSlots: [Int] = []
    private var scheduled: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func schedule(_ event: Event, at time: Int64) {
        scheduled += 1
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = event
        } else {
            slot = slots.count
            slots.append(event)
        }
        heap.append(Key(time: time, order: scheduled, slot: slot))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest event, if it is due by `limit`.
    mutating func next(notAfter limit: Int64) -> (time: Int64, event: Event)? {
        guard let first = heap.first, first.time <= limit else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].before(heap[smallest]) { smallest = left }
                if right < heap.count, heap[right].before(heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        let event = slots[first.slot].take()!
        freeSlots.append(first.slot)
        return (first.time, event)
    }
}
