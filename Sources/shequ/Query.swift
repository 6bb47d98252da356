import ArgumentParser
import Demo
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Governance
import Node
import Replication
import Storage

/// `shequ query ROLLUP`: asks a node for a rollup over HTTP and prints it as a table, or as the JSON it answered. The
/// rollups, their parameters and their tables are those declared in `Rollups.all`.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a rollup against a node and print a table (or --json).",
        discussion: """
            Rollups:
            \(Rollups.all.map { "  \($0.name): \($0.summary)" + ($0.parameters.names.isEmpty ? "" : " Takes \($0.parameters.names.joined(separator: ", ")).") }
                .joined(separator: "\n"))
              poll ID: one poll's turnout and result (an open secret poll's result stays hidden).
            Name the node by --url and --token, or by --demo DIR --node ID (the demo's officer of that node).
            Example: shequ query sla --demo data/demo --node district.pudong --group-by street
            """)

    @Argument(help: "\(Rollups.all.map(\.name).joined(separator: ", ")) or poll.") var rollup: String
    @Argument(help: "The poll id, for `poll`.") var id: String?
    @Option(help: "The node's HTTP address, e.g. http://127.0.0.1:8080.") var url: String?
    @Option(help: "An officer's or cadre's bearer token.") var token: String?
    @Option(help: "A demo data directory: take the node's address and its officer's token from its files.") var demo: String?
    @Option(help: "The node id, with --demo.") var node: String?
    @Option(name: .customLong("group-by"), help: "committee, street, district (tickets also: category, day).") var groupBy: String?
    @Option(help: "First day, YYYY-MM-DD (tickets).") var since: String?
    @Option(help: "Last day, YYYY-MM-DD (tickets).") var until: String?
    @Option(help: "Window for hot topics, e.g. 7d or 48h.") var window: String?
    @Option(help: "How many rows at most (hot topics' posts, polls).") var limit: Int?
    @Flag(help: "Print the JSON the node answered.") var json = false

    /// The options given, by the query parameter each one sets.
    private var given: [String: String] {
        ["groupBy": groupBy, "since": since, "until": until, "window": window, "limit": limit.map(String.init)].compactMapValues { $0 }
    }

    /// The path and query parameters asked for, and how the answer is printed.
    func asked() throws -> (path: String, query: [String: String], layout: [RollupLayout], single: Bool) {
        if rollup == "poll" {
            guard let id else { throw ValidationError("poll needs the poll id") }
            guard given.isEmpty else { throw ValidationError("poll takes no options but the poll id") }
            let path = "/v1/rollups/polls/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)"
            return (path, [:], Rollups.named("polls")!.layout, true)
        }
        guard let declared = Rollups.named(rollup) else {
            throw ValidationError("unknown rollup \(rollup): \(Rollups.all.map(\.name).joined(separator: ", ")) or poll")
        }
        let takes = declared.parameters.names
        func option(_ parameter: String) -> String { parameter == "groupBy" ? "--group-by" : "--\(parameter)" }
        if let refused = given.keys.sorted().first(where: { !takes.contains($0) }) {
            throw ValidationError("\(rollup) does not take \(option(refused))"
                                  + (takes.isEmpty ? "" : "; it takes \(takes.map(option).joined(separator: ", "))"))
        }
        return (declared.path, given, declared.layout, false)
    }

    func run() async throws {
        let (base, token) = try target()
        let (path, query, layout, single) = try asked()
        var components = URLComponents(string: base + path)
        if !query.isEmpty { components?.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
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
        say(RollupTables.render(layout, single ? .object(["items": .list([body])]) : body))
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

/// A rollup's answer as the tables its declaration lays out.
enum RollupTables {
    static func render(_ layout: [RollupLayout], _ answer: Value) -> String {
        layout.map { table in
            let (title, header, rows) = table.table(answer)
            return (title.map { $0 + "\n" } ?? "") + TextTable.render(header: header, rows: rows)
        }.joined(separator: "\n\n")
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
