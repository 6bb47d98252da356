import Governance
import Replication

/// The JSON shapes of api.md and docs/openapi.yaml, one function per view.
enum Representation {
    static func committee(_ c: Committee) -> Value {
        .object(["id": .string(c.id), "name": .string(c.name), "street": .string(c.street), "district": .string(c.district)])
    }

    static func member(_ m: Member) -> Value {
        .object([
            "id": .string(m.id), "committee": .optional(m.committee), "unit": .optional(m.unit), "role": .string(m.role.rawValue),
            "status": .string(m.status.rawValue), "displayName": .string(m.displayName), "ageBand": .optional(m.ageBand),
            "partyMember": .bool(m.partyMember), "volunteer": .bool(m.volunteer), "joinedAt": Time.value(m.joinedMillis),
        ])
    }

    static func board(_ b: Board) -> Value {
        .object([
            "slug": .string(b.slug), "name": .string(b.name), "districtWide": .bool(b.districtWide),
            "openToMembers": .bool(b.openToMembers), "posters": .strings(b.posters.map(\.rawValue).sorted()),
        ])
    }

    /// A post; `staff` adds what only staff see: whether it is hidden and why, and how many flagged it.
    static func post(_ p: Post, likes: Int, likedByMe: Bool, comments: [Comment]?, staff: Bool = false) -> Value {
        var o: [String: Value] = [
            "id": .string(p.id), "scope": .string(p.scope.description), "board": .string(p.board), "author": .string(p.author),
            "title": .string(p.title), "body": .string(p.body), "photos": .strings(p.photos), "mentions": .strings(p.mentions),
            "category": .optional(p.category), "createdAt": Time.value(p.createdMillis), "editedAt": Time.value(p.editedMillis),
            "likes": .int(Int64(likes)), "likedByMe": .bool(likedByMe), "locked": .bool(p.locked),
        ]
        if staff {
            o["hidden"] = p.hidden.map { .object(["reason": .string($0.reason), "by": .string($0.by)]) } ?? .null
            o["flags"] = .int(Int64(p.flags.count))
        }
        if let comments { o["comments"] = .list(comments.map { comment($0, staff: staff) }) }
        return .object(o)
    }

    static func comment(_ c: Comment, staff: Bool = false) -> Value {
        var o: [String: Value] = ["id": .string(c.id), "post": .string(c.post), "author": .string(c.author), "body": .string(c.body),
                                  "createdAt": Time.value(c.createdMillis)]
        if staff {
            o["hidden"] = c.hidden.map { .object(["reason": .string($0.reason), "by": .string($0.by)]) } ?? .null
            o["flags"] = .int(Int64(c.flags.count))
        }
        return .object(o)
    }

    static func message(_ m: Message) -> Value {
        .object(["id": .string(m.id), "committee": .string(m.committee), "from": .string(m.from), "to": .string(m.to),
                 "body": .string(m.body), "createdAt": Time.value(m.createdMillis)])
    }

    static func poll(_ p: Poll, ballots: [Ballot], viewer: String?, ballotSecret: BallotSecret, nowMillis: Int64) -> Value {
        let tally = p.tally(ballots)
        let visible = p.tallyVisible(nowMillis: nowMillis)
        let voterKey = viewer.map { p.voterKey(for: $0, secret: ballotSecret) }
        let mine = ballots.filter { $0.voter == voterKey }.max { $0.stamp < $1.stamp }
        return .object([
            "id": .string(p.id), "committee": .string(p.committee), "title": .string(p.title), "kind": .string(p.kind.rawValue),
            "options": .strings(p.options), "maxChoices": .int(Int64(p.maxChoices)), "secret": .bool(p.secret),
            "opensAt": Time.value(p.opensAtMillis), "closesAt": Time.value(p.closesAtMillis), "quorum": .int(Int64(p.quorum)),
            "closed": .bool(p.isClosed(nowMillis: nowMillis)),
            "tally": visible ? .object(tally.counts.mapValues { .int(Int64($0)) }) : .null,
            "ballots": .int(Int64(tally.ballots)), "quorumMet": .bool(tally.quorumMet),
            "voted": .bool(mine != nil),
            // A secret ballot is never shown back, not even to its voter.
            "myChoices": (mine != nil && !p.secret) ? .strings(mine!.choices) : .null,
        ])
    }

    static func ticket(_ t: Ticket, nowMillis: Int64, history: Bool) -> Value {
        var o: [String: Value] = [
            "id": .string(t.id), "committee": .string(t.committee), "category": .string(t.category.rawValue),
            "categoryName": .string(t.category.label), "title": .string(t.title), "description": .string(t.description),
            "photos": .strings(t.photos),
            "location": .object(["address": .string(t.location.address), "lat": .optional(t.location.lat), "long": .optional(t.location.long)]),
            "reporter": .string(t.reporter), "createdAt": Time.value(t.createdMillis), "stage": .string(t.stage.rawValue),
            "level": .string(t.level.name), "assignee": .optional(t.assignee), "dueAt": Time.value(t.dueMillis),
            "overdue": .bool(t.isOverdue(nowMillis: nowMillis)), "firstResponseAt": Time.value(t.firstResponseMillis),
            "resolvedAt": Time.value(t.resolvedMillis), "rating": .optional(t.rating.map(Int64.init)),
        ]
        if history {
            o["history"] = .list(t.history.map { e in
                .object([
                    "id": .string(e.id), "type": .string(e.type.rawValue), "actor": .string(e.actor), "byStaff": .bool(e.byStaff),
                    "note": .string(e.note), "assignee": .optional(e.assignee), "level": .optional(e.level?.name),
                    "rating": .optional(e.rating.map(Int64.init)), "at": Time.value(e.millis),
                ])
            })
        }
        return .object(o)
    }

    static func topic(_ t: Topic) -> Value {
        .object([
            "id": .string(t.id), "committee": .string(t.committee), "title": .string(t.title), "description": .string(t.description),
            "category": .optional(t.category), "author": .string(t.author), "createdAt": Time.value(t.createdMillis),
            "stage": .string(t.stage.rawValue), "stageName": .string(t.stage.label), "pollId": .optional(t.poll),
            "supporters": .int(Int64(t.supporters.count)),
            "history": .list(t.history.map { e in
                .object(["stage": .string(e.stage.rawValue), "note": .string(e.note), "pollId": .optional(e.poll),
                         "actor": .string(e.actor), "at": Time.value(Int64(e.stamp.hlc.millis))])
            }),
        ])
    }

    static func campaign(_ c: Campaign, standings: [Campaign.Standing]) -> Value {
        .object([
            "id": .string(c.id), "committee": .string(c.committee), "title": .string(c.title), "description": .string(c.description),
            "capacity": .int(Int64(c.capacity)), "startsAt": Time.value(c.startsAtMillis),
            "signups": .int(Int64(standings.count)), "confirmed": .int(Int64(standings.filter(\.confirmed).count)),
        ])
    }

    static func queue(_ q: Queue, booked: Int) -> Value {
        .object([
            "id": .string(q.id), "committee": .string(q.committee), "title": .string(q.title),
            "slots": .list(q.slots.map { .object(["label": .string($0.label), "capacity": .int(Int64($0.capacity))]) }),
            "capacity": .int(Int64(q.capacity)), "booked": .int(Int64(booked)),
        ])
    }
}
