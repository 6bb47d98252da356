import Governance
import Replication

/// Polls: create, vote (again, until the close), close by hand.
extension WriteTransaction {
    public mutating func createPoll(_ input: PollInput, committee committeeID: String, by actor: Actor) throws -> Poll {
        let committee = try view.requireCommittee(committeeID)
        let id = mintID(.poll)
        try append(try Poll.create(input, in: committee, by: actor, id: id, nowMillis: nowMillis))
        return try view.poll(id)!
    }

    /// A ballot (a later one replaces the voter's earlier one while the poll is open). Returns the poll.
    @discardableResult
    public mutating func vote(_ choices: [String], poll id: String, by actor: Actor) throws -> Poll {
        let (record, committee) = try view.requireOwned(id, kind: .poll)
        try actor.requireReader(committee)
        let poll = Poll(record)!
        try append(try poll.vote(choices, in: committee, by: actor, id: mintID(.ballot), nowMillis: nowMillis, ballotSecret: ballotSecret))
        return poll
    }

    @discardableResult
    public mutating func closePoll(_ id: String, by actor: Actor) throws -> Poll {
        let (record, committee) = try view.requireOwned(id, kind: .poll)
        try append(try Poll(record)!.close(in: committee, by: actor, nowMillis: nowMillis))
        return try view.poll(id)!
    }
}
