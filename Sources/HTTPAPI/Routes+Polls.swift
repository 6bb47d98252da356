import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    func addPollRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        let ballotSecret = store.ballotSecret

        router.post("/v1/committees/:cid/polls") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            guard let kind = PollKind(rawValue: try body.string("kind")) else {
                throw APIError.invalid("kind", "one of \(PollKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let title = try body.string("title"), options = try body.strings("options")
            let maxChoices = try body.optionalInt("maxChoices") ?? 1, secret = try body.bool("secret", default: false)
            let opensAt = try body.optionalTime("opensAt"), closesAt = try body.time("closesAt"), quorum = try body.optionalInt("quorum") ?? 0
            let value = try await store.write { tx -> Value in
                let input = PollInput(title: title, kind: kind, options: options, maxChoices: maxChoices, secret: secret,
                                      opensAtMillis: opensAt ?? tx.nowMillis, closesAtMillis: closesAt, quorum: quorum)
                let poll = try tx.createPoll(input, committee: cid, by: actor)
                return Representation.poll(poll, ballots: [], viewer: actor.memberID, ballotSecret: ballotSecret, nowMillis: tx.nowMillis)
            }
            return JSONResponse.make(value, status: .created)
        }

        router.get("/v1/committees/:cid/polls") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                try actor.requireReader(try view.requireCommittee(cid))
                let now = view.nowMillis
                return .list(try view.polls(committee: cid).map { poll in
                    Representation.poll(poll, ballots: try view.ballots(poll: poll.id), viewer: actor.memberID, ballotSecret: ballotSecret, nowMillis: now)
                })
            }
            return JSONResponse.make(.object(["items": value]))
        }

        router.get("/v1/polls/:id") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                let (record, committee) = try view.requireOwned(id, kind: .poll)
                try actor.requireReader(committee)
                return Representation.poll(Poll(record)!, ballots: try view.ballots(poll: id), viewer: actor.memberID, ballotSecret: ballotSecret, nowMillis: view.nowMillis)
            }
            return JSONResponse.make(value)
        }

        router.put("/v1/polls/:id/ballot") { request, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let choices = try await JSONBody.read(request).strings("choices")
            let value = try await store.write { tx -> Value in
                let poll = try tx.vote(choices, poll: id, by: actor)
                return Representation.poll(poll, ballots: try tx.view.ballots(poll: id), viewer: actor.memberID, ballotSecret: ballotSecret, nowMillis: tx.nowMillis)
            }
            return JSONResponse.make(value)
        }

        router.post("/v1/polls/:id/close") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let value = try await store.write { tx -> Value in
                let poll = try tx.closePoll(id, by: actor)
                return Representation.poll(poll, ballots: try tx.view.ballots(poll: id), viewer: actor.memberID, ballotSecret: ballotSecret, nowMillis: tx.nowMillis)
            }
            return JSONResponse.make(value)
        }
    }
}
