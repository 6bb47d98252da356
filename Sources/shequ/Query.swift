import ArgumentParser
import Demo
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Governance
import Node
import Replication

/// `shequ query ROLLUP`: asks a node for a rollup over HTTP and prints it as a table, or as the JSON it answered.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a rollup against a node and print a table (or --json).",
        discussion: """
            Rollups: tickets, sla, hot-topics, participation, polls (closed polls), poll ID (one poll).
            Name the node by --url and --token, or by --demo DIR --node ID (the demo's officer of that node).
            Example: shequ query sla --demo data/demo --node district.pudong --group-by street
            """)

    @Argument(help: "tickets, sla, hot-topics, participation, polls or poll.") var rollup: String
    @Argument(help: "The poll id, for `poll`.") var id: String?
    @Option(help: "The node's HTTP address, e.g. http://127.0.0.1:8080.") var url: String?
    @Option(help: "An officer's or cadre's bearer token.") var token: String?
    @Option(help: "A demo data directory: take the node's address and its officer's token from its files.") var demo: String?
    @Option(help: "The node id, with --demo.") var node: String?
    @Option(name: .customLong("group-by"), help: "committee, street, district (tickets also: category, day).") var groupBy: String?
    @Option(help: "First day, YYYY-MM-DD (tickets).") var since: String?
    @Option(help: "Last day, YYYY-MM-DD (tickets).") var until: String?
    @Option(help: "Window for hot topics, e.g. 7d or 48h.") var window: String?
    @Flag(help: "Print the JSON the node answered.") var json = false

    func run() async throws {
        let (base, token) = try target()
        var query: [(String, String?)] = [("groupBy", groupBy)]
        let path: String
        switch rollup {
        case "tickets": path = "/v1/rollups/tickets"; query += [("since", since), ("until", until)]
        case "sla": path = "/v1/rollups/sla"
        case "hot-topics": path = "/v1/rollups/hot-topics"; query = [("window", window)]
        case "participation": path = "/v1/rollups/participation"
        case "polls": path = "/v1/rollups/polls"; query = []
        case "poll":
            guard let id else { throw ValidationError("poll needs the poll id") }
            path = "/v1/rollups/polls/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)"; query = []
        default: throw ValidationError("unknown rollup \(rollup): tickets, sla, hot-topics, participation, polls or poll")
        }
        var components = URLComponents(string: base + path)
        let items = query.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        if !items.isEmpty { components?.queryItems = items }
        guard let address = components?.url else { throw ValidationError("not a URL: \(base)") }
        var request = URLRequest(url: address, timeoutInterval: 30)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        let text = String(decoding: data, as: UTF8.self)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let body = try? Value(json: text)
        guard status == 200, let body else {
            let message = body?["error"].object?["message"]?.string ?? text
            throw ValidationError("the node answered \(status): \(message)")
        }
        if json { say(text); return }
        say(RollupTables.render(rollup, body))
    }

    /// The node's address and the token to use.
    private func target() throws -> (String, String) {
        if let url, let token { return (url.hasSuffix("/") ? String(url.dropLast()) : url, token) }
        guard let demo, let node else { throw ValidationError("give --url and --token, or --demo DIR and --node ID") }
        let endpoints = try JSONFile.read(demo + "/endpoints.json", as: Endpoint.init)
        let accounts = try JSONFile.read(demo + "/demo-accounts.json", as: DemoAccount.init)
        guard let endpoint = endpoints.first(where: { $0.id == node }) else {
            throw ValidationError("no node \(node) in \(demo)/endpoints.json: \(endpoints.map(\.id).joined(separator: ", "))")
        }
        guard let officer = accounts.first(where: { $0.node == node && $0.role.hasSuffix("_officer") }) else {
            throw ValidationError("no officer of \(node) in \(demo)/demo-accounts.json")
        }
        return (endpoint.http, officer.token)
    }
}

/// How each rollup's JSON becomes a table.
enum RollupTables {
    static func render(_ rollup: String, _ body: Value) -> String {
        let items = body["items"].list ?? []
        func text(_ value: Value?) -> String {
            switch value ?? .null {
            case .null: "-"
            case .string(let s): s
            case .int(let i): String(i)
            case .bool(let b): b ? "yes" : "no"
            default: value?.canonicalJSON ?? "-"
            }
        }
        func rows(_ list: [Value], _ columns: [String]) -> [[String]] {
            list.map { item in columns.map { text(item.object?[$0]) } }
        }
        switch rollup {
        case "tickets":
            let stages = ["submitted", "acknowledged", "in_progress", "resolved", "closed"]
            let header: [String] = [body["groupBy"].string ?? "key", "total"] + stages
            let table: [[String]] = items.map { item in
                let counts: [String] = stages.map { stage in text(item["byStage"].object?[stage] ?? .int(0)) }
                return [text(item["key"]), text(item["total"])] + counts
            }
            return TextTable.render(header: header, rows: table)
        case "sla":
            let columns = ["key", "tickets", "responded", "respondedInTime", "overdue", "resolved", "resolvedInCommittee", "solvedInCommitteeShare",
                           "firstResponseP50Minutes", "firstResponseP90Minutes", "resolutionP50Minutes", "resolutionP90Minutes"]
            return TextTable.render(header: [body["groupBy"].string ?? "key", "tickets", "responded", "in 15 h", "overdue", "resolved",
                                             "in committee", "share", "1st resp p50 min", "p90", "resolution p50 min", "p90"],
                                    rows: rows(items, columns))
        case "hot-topics":
            let categories = TextTable.render(header: ["category", "label", "posts", "comments", "likes", "score"],
                                              rows: rows(body["categories"].list ?? [], ["category", "label", "posts", "comments", "likes", "score"]))
            let posts = TextTable.render(header: ["post", "title", "unit", "day", "comments", "likes"],
                                         rows: rows(body["posts"].list ?? [], ["post", "title", "unit", "day", "comments", "likes"]))
            return "hot topics \(text(body["since"])) … \(text(body["until"]))\n\(categories)\n\nmost active posts\n\(posts)"
        case "participation":
            return TextTable.render(header: [body["groupBy"].string ?? "key", "members", "households", "under 50", "share", "party", "volunteers"],
                                    rows: rows(items, ["key", "members", "households", "under50", "under50Share", "partyMembers", "volunteers"]))
        default:
            let polls = rollup == "poll" ? [body] : items
            return TextTable.render(header: ["poll", "committee", "title", "closed", "ballots", "electorate", "turnout", "results"],
                                    rows: polls.map { poll in
                                        let o = poll.object ?? [:]
                                        let results = (o["results"]?.list ?? []).map { "\(text($0.object?["option"])) \(text($0.object?["votes"]))" }
                                        return ["poll", "committee", "title", "closed", "ballots", "electorate", "turnout"].map { text(o[$0]) }
                                            + [o["results"] == .null ? "(hidden until closed)" : results.joined(separator: " / ")]
                                    })
        }
    }
}

/// A plain-text table whose columns line up in a terminal, counting CJK characters as two columns wide.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { Text.displayWidth(column < $0.count ? $0[column] : "") }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in cell + String(repeating: " ", count: widths[column] - Text.displayWidth(cell)) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + (rows.isEmpty ? "\n(no rows)" : "")
    }
}
