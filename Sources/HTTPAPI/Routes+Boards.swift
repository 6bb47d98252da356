import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    func addBoardRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        let photos = self.photos

        router.get("/v1/committees/:cid/boards") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let committee = try await store.read { try $0.requireCommittee(cid) }
            try actor.requireReader(committee)
            return JSONResponse.make(.object(["items": .list(Board.all.map(Representation.board))]))
        }

        router.get("/v1/committees/:cid/boards/:board/posts") { request, context in
            let cid = try context.parameters.require("cid")
            let slug = try context.parameters.require("board")
            let actor = try context.requireActor()
            let page = try Page(request)
            guard let board = Board.named(slug) else { throw APIError.notFound("board \(slug)") }
            let items = try await store.read { view -> (Value, PageCursor?) in
                let committee = try view.requireCommittee(cid)
                try actor.requireReader(committee)
                let scope: Scope = board.districtWide ? .district(committee.district) : .committee(cid)
                let all = try view.posts(board: slug, scopes: [scope], limit: page.limit, after: page.after)
                let staff = actor.isStaff(of: committee)
                let values = try all.filter { staff || $0.hidden == nil }.map { post in
                    Representation.post(post, likes: try view.likeCount(post: post.id),
                                        likedByMe: try view.likes(post: post.id, member: actor.memberID), comments: nil, staff: staff)
                }
                let posts = all
                return (.list(values), posts.last.map { PageCursor(created: Int64($0.created.rawValue), id: $0.id) })
            }
            return JSONResponse.make(page.envelope(items.0.list ?? [], last: items.1))
        }

        router.post("/v1/committees/:cid/boards/:board/posts") { request, context in
            let cid = try context.parameters.require("cid")
            let slug = try context.parameters.require("board")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let input = PostInput(title: try body.string("title"), body: try body.string("body"), photos: try body.strings("photos"),
                                  mentions: try body.strings("mentions"), category: try body.optionalString("category"))
            guard let board = Board.named(slug) else { throw APIError.notFound("board \(slug)") }
            try Self.requireKnownPhotos(input.photos, in: photos)
            let post = try await store.write { tx in try tx.createPost(input, board: board, committee: cid, by: actor) }
            return JSONResponse.make(Representation.post(post, likes: 0, likedByMe: false, comments: []), status: .created)
        }

        router.get("/v1/posts/:pid") { _, context in
            let pid = try context.parameters.require("pid")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                let (post, committee) = try view.visiblePost(pid, to: actor)
                return Representation.post(post, likes: try view.likeCount(post: pid), likedByMe: try view.likes(post: pid, member: actor.memberID),
                                           comments: try view.comments(post: pid, shownTo: actor, via: committee), staff: actor.isStaff(of: committee))
            }
            return JSONResponse.make(value)
        }

        router.patch("/v1/posts/:pid") { request, context in
            let pid = try context.parameters.require("pid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let title = try body.optionalString("title"), text = try body.optionalString("body"), newPhotos = try body.optionalStrings("photos")
            if let newPhotos { try Self.requireKnownPhotos(newPhotos, in: photos) }
            let value = try await store.write { tx -> Value in
                let post = try tx.editPost(pid, title: title, body: text, photos: newPhotos, by: actor)
                let view = tx.view
                let (_, committee) = try view.visiblePost(pid, to: actor)
                return Representation.post(post, likes: try view.likeCount(post: pid), likedByMe: try view.likes(post: pid, member: actor.memberID),
                                           comments: try view.comments(post: pid, shownTo: actor, via: committee), staff: actor.isStaff(of: committee))
            }
            return JSONResponse.make(value)
        }

        router.delete("/v1/posts/:pid") { _, context in
            let pid = try context.parameters.require("pid")
            let actor = try context.requireActor()
            try await store.write { tx in try tx.deletePost(pid, by: actor) }
            return Response(status: .noContent)
        }

        router.post("/v1/posts/:pid/comments") { request, context in
            let pid = try context.parameters.require("pid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let text = try body.string("body")
            let comment = try await store.write { tx in try tx.comment(on: pid, body: text, by: actor) }
            return JSONResponse.make(Representation.comment(comment), status: .created)
        }

        for (method, on) in [(HTTPRequest.Method.put, true), (.delete, false)] {
            router.on("/v1/posts/:pid/like", method: method) { _, context in
                let pid = try context.parameters.require("pid")
                let actor = try context.requireActor()
                let count = try await store.write { tx in try tx.setLike(on, post: pid, by: actor) }
                return JSONResponse.make(.object(["post": .string(pid), "likes": .int(Int64(count)), "likedByMe": .bool(on)]))
            }
        }

        router.post("/v1/committees/:cid/messages") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let to = try body.string("to"), text = try body.string("body")
            let message = try await store.write { tx in try tx.sendMessage(to: to, body: text, committee: cid, by: actor) }
            return JSONResponse.make(Representation.message(message), status: .created)
        }

        router.get("/v1/messages") { _, context in
            let actor = try context.requireActor()
            let (messages, mentions) = try await store.read { view in
                (try view.messages(for: actor.memberID), try view.mentions(of: actor.memberID))
            }
            return JSONResponse.make(.object([
                "items": .list(messages.map(Representation.message)),
                "mentions": .list(mentions.map { .object(["post": .string($0.id), "title": .string($0.title), "author": .string($0.author),
                                                          "createdAt": Time.value($0.createdMillis)]) }),
            ]))
        }
    }

    /// A post the actor may see, with the committee it is seen through (its own, or for a district-wide
    /// post, the actor's committee in that district).
}
