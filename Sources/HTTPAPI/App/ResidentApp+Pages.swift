import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// The signed-in member's pages: boards, posts, polls, tickets and their own settings.
extension ResidentApp {
    // MARK: - Home and boards

    func homePage(_ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let visits = try await store.boardVisits(member: actor.memberID)
        let (boards, openPolls, openTickets) = try await store.read { view -> (Value, Int, Int) in
            let committee = try view.requireCommittee(actor.committee ?? "")
            let boards = try Board.all.map { board -> Value in
                let scope: Scope = board.districtWide ? .district(committee.district) : .committee(committee.id)
                let seen = visits[board.slug] ?? 0
                let recent = try view.posts(board: board.slug, scopes: [scope], limit: 100, shownTo: actor, via: committee)
                let unread = recent.filter { $0.createdMillis > seen && $0.author != actor.memberID }.count
                var row: [String: Value] = ["slug": .string(board.slug), "name": .string(frame.name("board.\(board.slug)"))]
                if unread > 0 { row["unread"] = .string(unread >= 100 ? "99+" : String(unread)) }
                if let latest = recent.first { row["latest"] = .string(latest.title) }
                return .object(row)
            }
            let polls = try view.polls(committee: committee.id).filter { !$0.isClosed(nowMillis: view.nowMillis) }.count
            let tickets = try view.tickets(committee: committee.id, limit: 200).filter { $0.reporter == actor.memberID && $0.stage.isOpen }.count
            return (.list(boards), polls, tickets)
        }
        var values = base(frame)
        values["boards"] = boards.mustache
        if openPolls > 0 { values["openPolls"] = openPolls }
        if openTickets > 0 { values["openTickets"] = openTickets }
        values["nav_home"] = true
        return assets.page("home", values)
    }

    func boardPage(_ slug: String, _ frame: Frame) async throws -> Response {
        guard let board = Board.named(slug) else { throw APIError.notFound("board \(slug)") }
        let actor = frame.actor
        let (posts, mayPost, cadres) = try await store.read { view -> (Value, Bool, Value) in
            let committee = try view.requireCommittee(actor.committee ?? "")
            let cadres = Value.list(try Self.cadres(of: committee.id, in: view).map { .object(["id": .string($0.id), "name": .string($0.displayName)]) })
            let scope: Scope = board.districtWide ? .district(committee.district) : .committee(committee.id)
            let posts = try view.posts(board: slug, scopes: [scope], limit: 50, shownTo: actor, via: committee)
            let people = try Self.people(posts.map(\.author), view)
            return (.list(try posts.map { post in
                var row = Representation.post(post, likes: try view.likeCount(post: post.id), likedByMe: false, comments: nil).object ?? [:]
                row["by"] = people[post.author]
                row["when"] = .string(Self.short(post.createdMillis))
                row["excerpt"] = .string(String(post.body.prefix(80)))
                return .object(row)
            }), board.allowsPost(by: actor, in: committee), cadres)
        }
        try await store.visitBoard(slug, member: actor.memberID)
        var values = base(frame)
        values["board"] = ["slug": slug, "name": frame.name("board.\(slug)")]
        values["posts"] = posts.mustache
        values["mayPost"] = mayPost
        values["cadres"] = cadres.mustache
        values["live"] = "board:\(slug)"
        values["nav_home"] = true
        return assets.page("board", values)
    }

    func createPost(_ slug: String, _ request: Request, _ frame: Frame) async throws -> Response {
        guard let board = Board.named(slug) else { throw APIError.notFound("board \(slug)") }
        var request = request
        let form = try await Self.form(&request)
        let saved = try await APIServer.savePhotos(form.files.filter { $0.field == "photos" }, in: photos)
        let input = PostInput(title: form["title"] ?? "", body: form["body"] ?? "", photos: saved.map(\.id),
                              mentions: form.values("mentions").filter { !$0.isEmpty }, category: nil)
        let actor = frame.actor
        let post = try await store.write { tx in try tx.createPost(input, board: board, committee: actor.committee ?? "", by: actor) }
        return AppAssets.seeOther("/app/posts/\(post.id)")
    }

    func postPage(_ pid: String, editing: Bool, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let postValue = try await store.read { view -> Value in
            let (post, committee) = try view.visiblePost(pid, to: actor)
            let comments = try view.comments(post: pid, shownTo: actor, via: committee).filter { !$0.deleted }
            let people = try Self.people([post.author] + comments.map(\.author), view)
            var row = Representation.post(post, likes: try view.likeCount(post: pid), likedByMe: try view.likes(post: pid, member: actor.memberID), comments: nil).object ?? [:]
            row["by"] = people[post.author]
            row["when"] = .string(Self.short(post.createdMillis))
            row["mine"] = .bool(post.author == actor.memberID)
            row["mayDelete"] = .bool(post.author == actor.memberID || actor.isStaff(of: committee))
            row["boardName"] = .string(AppStrings.name("board.\(post.board)", frame.language))
            row["photoList"] = .list(post.photos.filter(PhotoStore.isID).map { .object(["id": .string($0)]) })
            row["comments"] = .list(comments.map { comment in
                .object(["id": .string(comment.id), "body": .string(comment.body), "by": people[comment.author] ?? .null,
                         "when": .string(Self.short(comment.createdMillis))])
            })
            return .object(row)
        }
        let post = Self.values(postValue)
        var values = base(frame)
        values["post"] = post
        values["editing"] = editing && (post["mine"] as? Bool ?? false)
        values["live"] = "post:\(pid)"
        values["nav_home"] = true
        return assets.page("post", values)
    }

    func postAction(_ action: String, _ pid: String, _ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        let actor = frame.actor
        switch action {
        case "comments":
            let text = form["body"] ?? ""
            _ = try await store.write { tx in try tx.comment(on: pid, body: text, by: actor) }
        case "like":
            let on = form["on"] != "false"
            _ = try await store.write { tx in try tx.setLike(on, post: pid, by: actor) }
        case "edit":
            let title = form["title"], body = form["body"]
            _ = try await store.write { tx in try tx.editPost(pid, title: title, body: body, photos: nil, by: actor) }
        default:
            let board = try await store.read { try $0.visiblePost(pid, to: actor).0.board }
            try await store.write { tx in try tx.deletePost(pid, by: actor) }
            return AppAssets.seeOther("/app/boards/\(board)")
        }
        return AppAssets.seeOther("/app/posts/\(pid)")
    }

    // MARK: - Search

    func searchPage(_ request: Request, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let text = (request.uri.queryParameters.get("q").map { String($0) } ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var values = base(frame)
        values["q"] = text
        values["nav_home"] = true
        guard !text.isEmpty else { return assets.page("search", values) }
        let query = try APIServer.searchQuery(request)
        let hits = try await store.read { view -> [SearchHit] in
            let committee = try view.requireCommittee(actor.committee ?? "")
            return try view.search(query, committee: committee.id, member: actor.memberID, staff: actor.isStaff(of: committee), limit: 50)
        }
        let paths: [EntityKind: String] = [.post: "/app/posts/", .topic: "/app/topics/", .ticket: "/app/tickets/"]
        values["results"] = hits.map { hit -> [String: Any] in
            ["href": (paths[hit.kind] ?? "/app/") + hit.id, "title": hit.title, "excerpt": hit.excerpt, "when": Self.short(hit.createdMillis),
             "kindName": frame.name("kind.\(hit.kind.rawValue)")]
        }
        values["searched"] = true
        return assets.page("search", values)
    }

    // MARK: - Polls

    func pollsPage(_ frame: Frame) async throws -> Response {
        let actor = frame.actor, secret = store.ballotSecret
        let pollValues = try await store.read { view -> Value in
            .list(try view.polls(committee: actor.committee ?? "").map { poll in
                var row = Representation.poll(poll, ballots: try view.ballots(poll: poll.id), viewer: actor.memberID, ballotSecret: secret, nowMillis: view.nowMillis).object ?? [:]
                row["closesShort"] = .string(Self.short(poll.closesAtMillis))
                return .object(row)
            })
        }
        let polls = pollValues.mustache as? [[String: Any]] ?? []
        var values = base(frame)
        values["open"] = polls.filter { !($0["closed"] as? Bool ?? false) }
        values["closed"] = polls.filter { $0["closed"] as? Bool ?? false }
        values["hasClosed"] = polls.contains { $0["closed"] as? Bool ?? false }
        values["nav_polls"] = true
        values["live"] = "polls"
        return assets.page("polls", values)
    }

    func pollPage(_ id: String, _ frame: Frame) async throws -> Response {
        let actor = frame.actor, secret = store.ballotSecret
        let pollValue = try await store.read { view -> Value in
            guard let poll = Poll(try Self.readable(id, .poll, by: actor, in: view)) else { throw APIError.notFound("poll \(id)") }
            let value = Representation.poll(poll, ballots: try view.ballots(poll: id), viewer: actor.memberID, ballotSecret: secret, nowMillis: view.nowMillis)
            var row = value.object ?? [:]
            let mine = Set(value["myChoices"].list?.compactMap(\.string) ?? [])
            let ballots = max(1, value["ballots"].int ?? 0)
            row["choices"] = .list(poll.options.map { option in
                var choice: [String: Value] = ["option": .string(option), "checked": .bool(mine.contains(option))]
                if let votes = value["tally"][option].int {
                    choice["votes"] = .int(votes)
                    choice["percent"] = .int(votes * 100 / ballots)
                }
                return .object(choice)
            })
            row["multiple"] = .bool(poll.maxChoices > 1)
            if !mine.isEmpty { row["myChoicesText"] = .string(poll.options.filter(mine.contains).joined(separator: "、")) }
            row["closesShort"] = .string(Self.short(poll.closesAtMillis))
            row["showTally"] = .bool(value["tally"] != .null)
            return .object(row)
        }
        let poll = Self.values(pollValue)
        var values = base(frame)
        values["poll"] = poll
        values["live"] = "poll:\(id)"
        values["nav_polls"] = true
        return assets.page("poll", values)
    }

    func vote(_ id: String, _ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        let choices = form.values("choices")
        let actor = frame.actor
        _ = try await store.write { tx in try tx.vote(choices, poll: id, by: actor) }
        return AppAssets.seeOther("/app/polls/\(id)")
    }

    // MARK: - Tickets

    func ticketsPage(_ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let tickets = try await store.read { view -> Value in
            .list(try view.tickets(committee: actor.committee ?? "", limit: 200).filter { $0.reporter == actor.memberID }.map { ticket in
                var row = Representation.ticket(ticket, nowMillis: view.nowMillis, history: false).object ?? [:]
                row["stageName"] = .string(AppStrings.name("stage.\(ticket.stage.rawValue)", frame.language))
                row["categoryName"] = .string(AppStrings.name("category.\(ticket.category.rawValue)", frame.language))
                row["when"] = .string(Self.short(ticket.createdMillis))
                return .object(row)
            })
        }
        var values = base(frame)
        values["tickets"] = tickets.mustache
        values["nav_tickets"] = true
        values["live"] = "tickets"
        return assets.page("tickets", values)
    }

    func newTicketPage(_ frame: Frame, error: String?, form: FormBody?, status: HTTPResponse.Status = .ok) async throws -> Response {
        var values = base(frame)
        let chosen = form?["category"]
        values["categories"] = TicketCategory.allCases.map {
            ["value": $0.rawValue, "name": AppStrings.name("category.\($0.rawValue)", frame.language), "selected": $0.rawValue == chosen] as [String: Any]
        }
        if let form { values["form"] = ["title", "description", "address", "lat", "long"].reduce(into: [String: String]()) { $0[$1] = form[$1] ?? "" } }
        if let error { values["error"] = error }
        values["nav_tickets"] = true
        return assets.page("ticket-new", values, status: status)
    }

    func createTicket(_ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        let actor = frame.actor
        do {
            guard let category = TicketCategory(rawValue: form["category"] ?? "") else {
                throw GovernanceError.invalid("category", frame.language == .zh ? "请选择类别" : "choose a category")
            }
            func coordinate(_ key: String) -> String? { (form[key] ?? "").isEmpty ? nil : form[key] }
            // Photos are checked and kept first; a refused one sends the form back with the reason.
            let saved = try await APIServer.savePhotos(form.files.filter { $0.field == "photos" }, in: photos)
            let input = TicketInput(category: category, title: form["title"] ?? "", description: form["description"] ?? "", photos: saved.map(\.id),
                                    location: Location(address: form["address"] ?? "", lat: coordinate("lat"), long: coordinate("long")))
            let ticket = try await store.write { tx in try tx.raiseTicket(input, committee: actor.committee ?? "", by: actor) }
            return AppAssets.seeOther("/app/tickets/\(ticket.id)")
        } catch let error as GovernanceError where error.code == .invalid {
            return try await newTicketPage(frame, error: error.message, form: form, status: .unprocessableContent)
        } catch let error as APIError where error.status == .unprocessableContent {
            return try await newTicketPage(frame, error: error.message, form: form, status: .unprocessableContent)
        }
    }

    func ticketPage(_ id: String, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let ticketValue = try await store.read { view -> Value in
            let (_, committee) = try view.requireOwned(id, kind: .ticket)
            guard let ticket = try view.ticket(id), actor.isStaff(of: committee) || ticket.reporter == actor.memberID else {
                throw APIError.notFound("ticket \(id)")
            }
            let people = try Self.people(ticket.history.map(\.actor), view)
            var row = Representation.ticket(ticket, nowMillis: view.nowMillis, history: false).object ?? [:]
            let name = { (key: String) in Value.string(AppStrings.name(key, frame.language)) }
            row["stageName"] = name("stage.\(ticket.stage.rawValue)")
            row["categoryName"] = name("category.\(ticket.category.rawValue)")
            row["levelName"] = name("level.\(ticket.level.name)")
            row["when"] = .string(Self.short(ticket.createdMillis))
            row["dueShort"] = .string(Self.short(ticket.dueMillis))
            row["stages"] = .list([TicketStage.submitted, .acknowledged, .inProgress, .resolved, .closed].map { stage in
                .object(["name": name("stage.\(stage.rawValue)"), "reached": .bool(Self.order(stage) <= Self.order(ticket.stage)),
                         "current": .bool(stage == ticket.stage)])
            })
            row["history"] = .list(ticket.history.map { event in
                var entry: [String: Value] = ["type": .string(event.type.rawValue), "name": name("event.\(event.type.rawValue)"),
                                              "note": .string(event.note), "when": .string(Self.short(event.millis)), "by": people[event.actor] ?? .null]
                // Keys of their own: a key an entry lacks would be looked up in the ticket around it (Mustache's context).
                if let level = event.level { entry["escalatedTo"] = name("level.\(level.name)") }
                if let rating = event.rating { entry["ratingStars"] = .string(String(repeating: "★", count: rating)) }
                return .object(entry)
            })
            row["photoList"] = .list(ticket.photos.filter(PhotoStore.isID).map { .object(["id": .string($0)]) })
            row["mayRate"] = .bool(ticket.stage == .resolved && ticket.reporter == actor.memberID && ticket.rating == nil)
            if let rating = ticket.rating { row["stars"] = .string(String(repeating: "★", count: rating)) }
            return .object(row)
        }
        let ticket = Self.values(ticketValue)
        var values = base(frame)
        values["ticket"] = ticket
        values["ratings"] = (1...5).reversed().map { ["value": $0, "stars": String(repeating: "★", count: $0)] as [String: Any] }
        values["live"] = "ticket:\(id)"
        values["nav_tickets"] = true
        return assets.page("ticket", values)
    }

    func rate(_ id: String, _ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        let actor = frame.actor
        let rating = Int(form["rating"] ?? "")
        _ = try await store.write { tx in try tx.ticketEvent(.rate, ticket: id, note: form["note"] ?? "", assignee: nil, rating: rating, by: actor) }
        return AppAssets.seeOther("/app/tickets/\(id)")
    }

    // MARK: - Me

    func mePage(_ frame: Frame) async throws -> Response {
        let member = frame.member!
        let sessions = try await store.sessions(member: member.id)
        var values = base(frame)
        values["member"] = ["displayName": member.displayName, "partyMember": member.partyMember, "volunteer": member.volunteer,
                            "role": member.role.label]
        values["sessions"] = sessions.map { session -> [String: Any] in
            ["id": session.id, "agent": Self.device(session.agent), "lastSeen": Self.short(session.lastSeenMillis), "current": session.id == frame.session?.id]
        }
        values["otherLanguage"] = frame.language == .zh ? "en" : "zh"
        values["nav_me"] = true
        return assets.page("me", values)
    }

    func setLanguage(_ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        guard let language = AppLanguage(rawValue: form["language"] ?? "") else { throw APIError.invalid("language", "zh or en") }
        try await store.setLanguage(language.rawValue, member: frame.member!.id)
        return AppAssets.seeOther("/app/me")
    }

    func endSession(_ sid: String, _ request: Request, _ frame: Frame) async throws -> Response {
        guard try await store.endSession(id: sid, member: frame.member!.id) else { throw APIError.notFound("session \(sid)") }
        return AppAssets.seeOther(sid == frame.session?.id ? "/app/sign-in" : "/app/me")
    }

    func signOut(_ request: Request, _ frame: Frame) async throws -> Response {
        if let session = frame.session { try await store.endSession(id: session.id, member: session.member) }
        return AppAssets.seeOther("/app/sign-in", cookies: [Self.cookie(AuthMiddleware.sessionCookie, "", maxAge: 0, sameSite: "Lax", secure: frame.secure)])
    }

    // MARK: - Helpers

    /// Authors as the app shows them: the display name (masked, as every replica has it) and the badges they show.
    static func people(_ ids: [String], _ view: ReadView) throws -> [String: Value] {
        var people: [String: Value] = [:]
        for id in Set(ids) {
            guard let member = try view.member(id) else { people[id] = .object(["displayName": .string(id == "system" ? "系统" : "—")]); continue }
            people[id] = .object(["displayName": .string(member.displayName), "partyMember": .bool(member.partyMember), "volunteer": .bool(member.volunteer),
                                  "staff": .bool(member.role != .resident && member.role != .volunteer), "role": .string(member.role.label)])
        }
        return people
    }

    /// An API representation as the templates read it.
    static func values(_ value: Value) -> [String: Any] { value.mustache as? [String: Any] ?? [:] }

    /// `12-02 10:30` in Shanghai time.
    static func short(_ millis: Int64) -> String {
        let text = ShanghaiCalendar.dateTime(ofMillis: millis)  // 2026-12-02T10:30:00+08:00
        let chars = Array(text)
        guard chars.count >= 16 else { return text }
        return String(chars[5..<10]) + " " + String(chars[11..<16])
    }

    static func order(_ stage: TicketStage) -> Int { [TicketStage.submitted, .acknowledged, .inProgress, .resolved, .closed].firstIndex(of: stage) ?? 0 }

    /// A User-Agent told as a device a person recognises.
    static func device(_ agent: String) -> String {
        for (needle, name) in [("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"), ("Mac OS", "Mac"), ("Linux", "Linux")]
        where agent.contains(needle) { return name }
        return agent.isEmpty ? "—" : String(agent.prefix(40))
    }
}
