import Replication

/// The seven stages of the topic pipeline (议题): 提出议题—把关筛选—开展协商—形成项目—推动实施—效果评估—建立公约.
public enum TopicStage: String, Sendable, CaseIterable, Codable, Comparable {
    case propose, screen, deliberate, project, implement, evaluate, convention

    public var index: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var label: String { ["提出议题", "把关筛选", "开展协商", "形成项目", "推动实施", "效果评估", "建立公约"][index] }
}

/// A step taken in a topic's pipeline.
public struct TopicEvent: Hashable, Sendable {
    public var id: String
    public var topic: String
    public var stage: TopicStage
    public var note: String
    public var poll: String?
    public var actor: String
    public var stamp: WriteStamp
    /// Set on a member's support (支持) of the topic, not a step: true while they support it. Carried as a topic event so
    /// that nodes of the release before, which know no other kind for it, read it as a step at the stage it was given
    /// at (it moves nothing: the stage is a max-register) instead of refusing it.
    public var support: Bool?

    public init?(_ record: EntityRecord) {
        guard record.kind == .topicEvent, let topic = record["topic"].string,
              let stage = TopicStage(rawValue: record["stage"].string ?? "") else { return nil }
        self.id = record.id
        self.topic = topic
        self.stage = stage
        self.note = record["note"].string ?? ""
        self.poll = record["poll"].string
        self.actor = record["actor"].string ?? ""
        self.stamp = record.created
        self.support = record["support"].bool
    }
}

/// A public topic raised by a resident and carried toward a community convention.
/// Its stage is a max-register over the steps taken: concurrent advances keep the furthest.
public struct Topic: Hashable, Sendable {
    public var id: String
    public var committee: String
    public var title: String
    public var description: String
    public var category: String?
    public var author: String
    public var createdMillis: Int64
    public var stage: TopicStage = .propose
    public var poll: String?
    public var history: [TopicEvent] = []
    /// The members who support the topic now.
    public var supporters: Set<String> = []

    public init?(_ record: EntityRecord, events: [TopicEvent]) {
        guard record.kind == .topic, let committee = record.scope.committee else { return nil }
        self.id = record.id
        self.committee = committee
        self.title = record["title"].string ?? ""
        self.description = record["description"].string ?? ""
        self.category = record["category"].string
        self.author = record["author"].string ?? ""
        self.createdMillis = record.createdMillis
        for event in events.filter({ $0.topic == id }).sorted(by: { $0.stamp < $1.stamp }) {
            if let support = event.support {
                if support { supporters.insert(event.actor) } else { supporters.remove(event.actor) }
                continue
            }
            history.append(event)
            stage = max(stage, event.stage)
            if let poll = event.poll { self.poll = poll }
        }
    }

    /// A member proposes a topic.
    public static func propose(title: String, description: String, category: String?, in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard actor.canRead(committee) else { throw .forbidden("only members of the committee raise topics") }
        if let category, TicketCategory(rawValue: category) == nil { throw .invalid("category", "unknown category \(category)") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.topic.rawValue, entity: id, op: .add,
                           fields: [
                               "title": .string(try Text.required(title, field: "title", max: 100)),
                               "description": .string(try Text.optional(description, field: "description", max: 5_000)),
                               "category": .optional(category), "author": .string(actor.memberID),
                           ],
                           author: actor.memberID)
    }

    /// The id of a member's support of a topic: one entity a member, turned on and off (last writer wins).
    public static func supportID(topic: String, member: String) -> String { "ie:support:\(topic):\(member)" }

    /// An approved member of the committee supports the topic (附议), or takes the support back.
    public func support(_ on: Bool, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard actor.isMember(of: committee) || actor.isStaff(of: committee), committee.id == self.committee else {
            throw .forbidden("only members of the committee support topics")
        }
        return ChangeDraft(scope: .committee(self.committee), kind: EntityKind.topicEvent.rawValue,
                           entity: Self.supportID(topic: id, member: actor.memberID), op: .assign,
                           fields: ["topic": .string(id), "stage": .string(stage.rawValue), "support": .bool(on), "actor": .string(actor.memberID)],
                           author: actor.memberID)
    }

    /// Staff move the topic to the next stage, optionally linking the poll used to decide it.
    public func advance(to next: TopicStage, note: String, poll: Poll?, in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only cadres advance topics") }
        guard next.index == stage.index + 1 else {
            throw .conflict("wrong_stage", "the topic is at \(stage.rawValue); the next stage is \(TopicStage.allCases[min(stage.index + 1, 6)].rawValue)")
        }
        if let poll, poll.committee != committee.id { throw .notFound("poll") }
        return ChangeDraft(scope: .committee(self.committee), kind: EntityKind.topicEvent.rawValue, entity: id, op: .add,
                           fields: [
                               "topic": .string(self.id), "stage": .string(next.rawValue),
                               "note": .string(try Text.optional(note, field: "note", max: 2_000)),
                               "poll": .optional(poll?.id), "actor": .string(actor.memberID),
                           ],
                           author: actor.memberID)
    }
}
