import Replication

/// A volunteer campaign (志愿者招募) with a capacity. Sign-ups form a grow-only set; the first
/// `capacity` by stamp are confirmed and the rest wait, so every replica agrees on who got a place.
public struct Campaign: Hashable, Sendable {
    public var id: String
    public var committee: String
    public var title: String
    public var description: String
    public var capacity: Int
    public var startsAtMillis: Int64?
    public var createdMillis: Int64

    public init?(_ record: EntityRecord) {
        guard record.kind == .campaign, let committee = record.scope.committee else { return nil }
        self.id = record.id
        self.committee = committee
        self.title = record["title"].string ?? ""
        self.description = record["description"].string ?? ""
        self.capacity = Int(record["capacity"].int ?? 0)
        self.startsAtMillis = record["startsAt"].int
        self.createdMillis = record.createdMillis
    }

    /// A sign-up and whether it got a place.
    public struct Standing: Hashable, Sendable {
        public var member: String
        public var position: Int
        public var confirmed: Bool
    }

    /// Orders sign-ups by stamp and marks the first `capacity` confirmed.
    public func standings(_ signups: [(member: String, stamp: WriteStamp)]) -> [Standing] {
        signups.sorted { $0.stamp < $1.stamp }.enumerated().map { Standing(member: $1.member, position: $0 + 1, confirmed: $0 < capacity) }
    }

    /// A member's sign-up: one id per attempt, so that after a cancellation (a tombstone, which wins over anything
    /// written to that id) signing up again is a new entity at the back of the list. The first attempt keeps the
    /// historical id, `su:<campaign>:<member>`.
    public static func signupID(campaign: String, member: String, attempt: Int = 1) -> String {
        attempt <= 1 ? "su:\(campaign):\(member)" : "su:\(campaign):\(member):\(attempt)"
    }

    /// Staff open a campaign.
    public static func create(title: String, description: String, capacity: Int, startsAtMillis: Int64?, in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only cadres open campaigns") }
        guard (1...100_000).contains(capacity) else { throw .invalid("capacity", "between 1 and 100000") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.campaign.rawValue, entity: id, op: .add,
                           fields: [
                               "title": .string(try Text.required(title, field: "title", max: 100)),
                               "description": .string(try Text.optional(description, field: "description", max: 2_000)),
                               "capacity": .int(Int64(capacity)), "startsAt": .optional(startsAtMillis),
                           ],
                           author: actor.memberID)
    }

    /// A member signs up (我报名); signing up twice is the same sign-up.
    public func signup(in committee: Committee, by actor: Actor, attempt: Int = 1) throws(GovernanceError) -> ChangeDraft {
        guard actor.isMember(of: committee), committee.id == self.committee else { throw .forbidden("only approved members of the committee sign up") }
        return ChangeDraft(scope: .committee(self.committee), kind: EntityKind.signup.rawValue,
                           entity: Self.signupID(campaign: id, member: actor.memberID, attempt: attempt), op: .add,
                           fields: ["campaign": .string(id), "member": .string(actor.memberID)], author: actor.memberID)
    }
}

/// An appointment queue with numbered slots (the mask booking of the epidemic).
/// Numbers are handed out by the street node that owns the committee, inside the write transaction,
/// so no number is ever given twice.
extension Campaign {
    /// Cancels a sign-up: its member, or the committee's staff (a roster cleaned up). Those behind move up.
    public static func cancel(signup: EntityRecord, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard signup.kind == .signup, let member = signup["member"].string else { throw .notFound("sign-up") }
        guard actor.memberID == member || actor.isStaff(of: committee) else { throw .forbidden("only the member or a cadre cancels a sign-up") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.signup.rawValue, entity: signup.id, op: .remove, fields: [:],
                           author: actor.memberID)
    }
}

public struct Queue: Hashable, Sendable {
    public struct Slot: Hashable, Sendable {
        public var label: String
        public var capacity: Int
        public init(label: String, capacity: Int) {
            self.label = label
            self.capacity = capacity
        }
    }

    public var id: String
    public var committee: String
    public var title: String
    public var slots: [Slot]
    public var createdMillis: Int64

    public var capacity: Int { slots.reduce(0) { $0 + $1.capacity } }

    public init?(_ record: EntityRecord) {
        guard record.kind == .queue, let committee = record.scope.committee else { return nil }
        self.id = record.id
        self.committee = committee
        self.title = record["title"].string ?? ""
        self.slots = (record["slots"].list ?? []).compactMap { value in
            guard let o = value.object, let label = o["label"]?.string, let capacity = o["capacity"]?.int else { return nil }
            return Slot(label: label, capacity: Int(capacity))
        }
        self.createdMillis = record.createdMillis
    }

    /// A member's booking, one id per attempt (as `Campaign.signupID`): a cancelled number is never handed out again,
    /// and booking again after a cancellation takes the next free number.
    public static func bookingID(queue: String, member: String, attempt: Int = 1) -> String {
        attempt <= 1 ? "bk:\(queue):\(member)" : "bk:\(queue):\(member):\(attempt)"
    }

    /// Cancels a booking: its member, or the committee's staff. The number stays used.
    public static func cancel(booking: EntityRecord, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard booking.kind == .booking, let member = booking["member"].string else { throw .notFound("booking") }
        guard actor.memberID == member || actor.isStaff(of: committee) else { throw .forbidden("only the member or a cadre cancels a booking") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.booking.rawValue, entity: booking.id, op: .remove, fields: [:],
                           author: actor.memberID)
    }

    /// Staff open a queue.
    public static func create(title: String, slots: [Slot], in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only cadres open queues") }
        guard (1...100).contains(slots.count) else { throw .invalid("slots", "between 1 and 100 slots") }
        var values: [Value] = []
        for slot in slots {
            guard (1...100_000).contains(slot.capacity) else { throw .invalid("slots", "each slot holds 1 to 100000") }
            let label = try Text.required(slot.label, field: "slots.label", max: 50)
            values.append(.object(["label": .string(label), "capacity": .int(Int64(slot.capacity))]))
        }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.queue.rawValue, entity: id, op: .add,
                           fields: ["title": .string(try Text.required(title, field: "title", max: 100)), "slots": .list(values)],
                           author: actor.memberID)
    }

    /// Books the next number for a member, given how many numbers were already handed out.
    /// Returns the number and slot label; a member who already booked is answered by the caller.
    public func book(alreadyBooked: Int, in committee: Committee, by actor: Actor, attempt: Int = 1) throws(GovernanceError) -> (draft: ChangeDraft, number: Int, slot: String) {
        guard actor.isMember(of: committee), committee.id == self.committee else { throw .forbidden("only approved members of the committee book") }
        let number = alreadyBooked + 1
        var cumulative = 0
        for slot in slots {
            cumulative += slot.capacity
            if number <= cumulative {
                let draft = ChangeDraft(scope: .committee(self.committee), kind: EntityKind.booking.rawValue,
                                        entity: Self.bookingID(queue: id, member: actor.memberID, attempt: attempt), op: .add,
                                        fields: ["queue": .string(id), "member": .string(actor.memberID), "number": .int(Int64(number)), "slot": .string(slot.label)],
                                        author: actor.memberID)
                return (draft, number, slot.label)
            }
        }
        throw .conflict("queue_full", "all \(capacity) numbers are taken")
    }
}
