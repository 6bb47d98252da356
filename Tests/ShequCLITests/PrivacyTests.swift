import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Replication
import ShequTestSupport
import Testing

extension MultiProcess {
    /// Residents' personal data is at rest only on their own street node, tokens are stored only hashed, and no node's log
    /// ever holds a token, a phone number or a real name — checked byte by byte over every file of a federation's run.
    @Suite(.serialized) struct PrivacyTests {
        @Test(.timeLimit(.minutes(3)))
        func personalDataStaysOnTheStreetAndOutOfEveryLog() async throws {
            setenv("LOG_LEVEL", "debug", 1)
            let federation = try await TestFederation.start()
            defer { federation.stop() }
            let (street, district, city, x) = (federation.street, federation.district, federation.city, federation.committee)
            let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)["joinCode"] as! String
            let people = [("欧阳建国", "13912345678"), ("Nurgül Ablimit", "15800001111"), ("李秀英", "18622223333")]
            var tokens = [federation.cadre, federation.streetOfficer, federation.districtOfficer, federation.cityOfficer]
            var postIDs: [String] = []
            for (index, (name, phone)) in people.enumerated() {
                let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                    "joinCode": code, "realName": name, "phone": phone, "building": "\(index + 1)号楼", "room": "30\(index)", "birthYear": 1960 + index,
                ])
                let id = joined["memberId"] as! String, token = joined["token"] as! String
                tokens.append(token)
                _ = try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(id)/approve", token: federation.cadre)
                let post = try await federation.call(street, "POST", "/v1/committees/\(x)/boards/around-me/posts", token: token,
                                                     json: ["title": "邻里互助", "body": "需要帮忙搬家"])
                postIDs.append(post["id"] as! String)
                _ = try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: token,
                                              json: ["category": "facilities", "title": "电梯故障", "description": "电梯停在三楼"])
            }
            // Requests that put secrets where careless code logs them: a token in a URL, a bad token, a bad join code.
            for (node, token) in [(street, federation.streetOfficer), (district, federation.districtOfficer), (city, federation.cityOfficer)] {
                _ = try await federation.request(node, "GET", "/dashboard?token=\(token)", token: nil, json: nil)
                _ = try await federation.request(node, "GET", "/v1/me", token: token + "ff", json: nil)
            }
            _ = try await federation.request(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                "joinCode": "WRONG1", "realName": people[0].0, "phone": people[0].1, "building": "1号楼", "room": "1", "birthYear": 1960,
            ])
            try await federation.eventually("posts at the city") {
                for id in postIDs where try await federation.status(city, "/v1/posts/\(id)", token: federation.cityOfficer) != 200 { return false }
                return try await federation.converged(x)
            }

            // Every byte every node keeps: its database, WAL and log, and whatever lies in folders beneath (photos).
            let data = federation.directory + "/data"
            var files: [String: [String: Data]] = [:]
            for node in federation.topology.nodes.keys {
                for name in try FileManager.default.subpathsOfDirectory(atPath: "\(data)/\(node)") {
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: "\(data)/\(node)/\(name)", isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                    files[node, default: [:]][name] = try Data(contentsOf: URL(fileURLWithPath: "\(data)/\(node)/\(name)"))
                }
            }
            func holders(_ secret: String, in filter: (String) -> Bool) -> [String] {
                let needle = Data(secret.utf8)
                return files.flatMap { node, named in named.filter { filter($0.key) && $0.value.range(of: needle) != nil }.map { "\(node)/\($0.key)" } }.sorted()
            }
            let isLog = { (name: String) in name.hasSuffix(".log") }
            let logBytes = files.values.flatMap { $0.filter { isLog($0.key) }.values }.reduce(0) { $0 + $1.count }
            #expect(logBytes > 10_000, "the logs are too small to mean anything: \(logBytes) bytes")
            for (name, phone) in people {
                // Found on the street (the scan works) and nowhere else, and in no log at all.
                let stored = holders(phone, in: { !isLog($0) })
                #expect(!stored.isEmpty && stored.allSatisfy { $0.hasPrefix(street.id + "/") }, "\(phone) at rest in \(stored)")
                let named = holders(name, in: { !isLog($0) })
                #expect(named.allSatisfy { $0.hasPrefix(street.id + "/") }, "\(name) at rest in \(named)")
                #expect(holders(phone, in: isLog).isEmpty && holders(name, in: isLog).isEmpty, "\(name)/\(phone) in a log")
            }
            for token in tokens {
                #expect(holders(token, in: { _ in true }).isEmpty, "a bearer token in \(holders(token, in: { _ in true }))")
            }
            #expect(try federation.residentRows(street) == 3)
            #expect(try federation.residentRows(district) == 0 && federation.residentRows(city) == 0)
        }
    }
}
