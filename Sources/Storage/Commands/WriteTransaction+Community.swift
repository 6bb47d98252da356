import Governance
import Replication

/// Topics (the seven stages of 议题), volunteer campaigns (志愿者招募) and appointment queues (预约排队).
extension WriteTransaction {
    public mutating func proposeTopic(title: String, description: String, category: String?, committee committeeID: String, by actor: Actor) throws -> Topic {
        let committee = try view.requireCommittee(committeeID)
        let id = mintID(.topic)
        try append(try Topic.propose(title: title, description: description, category: category, in: committee, by: actor, id: id))
        return try view.topic(id)!
    }

    /// Moves a topic to its next stage; the vote stage names the poll that decides it.
    public mutating func advanceTopic(_ id: String, to stage: TopicStage, note: String, poll pollID: String?, by actor: Actor) throws -> Topic {
        let (_, committee) = try view.requireOwned(id, kind: .topic)
        let topic = try view.topic(id)!
        let poll = try pollID.map { pid in
            guard let poll = try view.poll(pid) else { throw GovernanceError.invalid("pollId", "no poll \(pid)") }
            return poll
        }
        try append(try topic.advance(to: stage, note: note, poll: poll, in: committee, by: actor, id: mintID(.topicEvent)))
        return try view.topic(id)!
    }

    /// Supports a topic (or takes the support back); writing what already holds writes nothing.
    public mutating func supportTopic(_ id: String, _ on: Bool, by actor: Actor) throws -> Topic {
        let (_, committee) = try view.requireOwned(id, kind: .topic)
        let topic = try view.topic(id)!
        if topic.supporters.contains(actor.memberID) != on { try append(try topic.support(on, in: committee, by: actor)) }
        return try view.topic(id)!
    }

    public mutating func createCampaign(title: String, description: String, capacity: Int, startsAtMillis: Int64?, committee committeeID: String,
                                        by actor: Actor) throws -> Campaign {
        let committee = try view.requireCommittee(committeeID)
        let id = mintID(.campaign)
        try append(try Campaign.create(title: title, description: description, capacity: capacity, startsAtMillis: startsAtMillis,
                                       in: committee, by: actor, id: id))
        return try view.campaign(id)!
    }

    /// Signs the actor up (once: signing up again writes nothing); returns their standing, confirmed or waitlisted.
    public mutating func signUp(campaign id: String, by actor: Actor) throws -> Campaign.Standing {
        let (record, committee) = try view.requireOwned(id, kind: .campaign)
        let campaign = Campaign(record)!
        let attempts = try view.attempts(under: id, kind: .signup, member: actor.memberID)
        if attempts.allSatisfy(\.isDeleted) {
            try append(try campaign.signup(in: committee, by: actor, attempt: attempts.count + 1))
        }
        return campaign.standings(try view.signups(campaign: id)).first { $0.member == actor.memberID }!
    }

    /// Cancels the actor's sign-up (or, for staff, `member`'s); 404 when there is none.
    public mutating func cancelSignup(campaign id: String, member: String? = nil, by actor: Actor) throws {
        let (_, committee) = try view.requireOwned(id, kind: .campaign)
        guard let current = try view.attempts(under: id, kind: .signup, member: member ?? actor.memberID).last(where: { !$0.isDeleted }) else {
            throw GovernanceError.notFound("sign-up")
        }
        try append(try Campaign.cancel(signup: current, in: committee, by: actor))
    }

    public mutating func createQueue(title: String, slots: [Queue.Slot], committee committeeID: String, by actor: Actor) throws -> Queue {
        let committee = try view.requireCommittee(committeeID)
        let id = mintID(.queue)
        try append(try Queue.create(title: title, slots: slots, in: committee, by: actor, id: id))
        return try view.queue(id)!
    }

    /// Books the actor a number (once: booking again returns the number they have, `created` false).
    public mutating func book(queue id: String, by actor: Actor) throws -> (number: Int, slot: String, created: Bool) {
        let (record, committee) = try view.requireOwned(id, kind: .queue)
        if let existing = try view.booking(queue: id, member: actor.memberID) { return (existing.number, existing.slot, false) }
        let attempts = try view.attempts(under: id, kind: .booking, member: actor.memberID).count
        let result = try Queue(record)!.book(alreadyBooked: try view.bookingCount(queue: id), in: committee, by: actor, attempt: attempts + 1)
        try append(result.draft)
        return (result.number, result.slot, true)
    }

    /// Cancels the actor's booking (or, for staff, `member`'s); its number is not handed out again. 404 when none.
    public mutating func cancelBooking(queue id: String, member: String? = nil, by actor: Actor) throws {
        let (_, committee) = try view.requireOwned(id, kind: .queue)
        guard let current = try view.attempts(under: id, kind: .booking, member: member ?? actor.memberID).last(where: { !$0.isDeleted }) else {
            throw GovernanceError.notFound("booking")
        }
        try append(try Queue.cancel(booking: current, in: committee, by: actor))
    }
}
