import Foundation
import Governance
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Testing

/// Open311 GeoReport v2, read by the real `georeport` client from PyPI in JSON and in XML, and written with the
/// standard's form-encoded POST.
@Suite struct Open311Tests {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/open311_georeport.py").path
    }

    /// Runs the client script; nil with its error output when it fails.
    static func runClient(base: String, apiKey: String) throws -> (Value?, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, base, apiKey]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return (nil, message) }
        return (try Value(json: String(decoding: data, as: UTF8.self)), message)
    }

    @Test func theGeoReportClientReadsServicesAndRequestsInJSONAndXML() async throws {
        let node = try TestNode(start: UInt64(Date().timeIntervalSince1970 * 1000))
        let (code, _, cadre) = try node.committee("yuepu-07", street: "yuepu")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("yuepu-07", code: code, cadre: cadre)
            let lamp = try await api.call(.post, "/v1/committees/yuepu-07/tickets", token: resident, json: .object([
                "category": "facilities", "title": "路灯不亮", "description": "东门路灯坏了一周",
                "location": .object(["address": "东门", "lat": "31.41", "long": "121.44"]),
            ]))["id"].string!
            try await api.call(.post, "/v1/tickets/\(lamp)/events", token: cadre, json: .object(["type": "resolve", "note": "已更换灯泡"]))
            let port = try #require(client.port)
            let (result, stderr) = try await offPool { try Self.runClient(base: "http://127.0.0.1:\(port)/open311/v2", apiKey: resident) }
            let out = try #require(result, "client failed: \(stderr)")

            #expect(out["created_status"] == .int(201))
            let created = try #require(out["created"].list?.first)
            let newID = try #require(created["service_request_id"].string)
            #expect(created["service_notice"].string?.contains("15") == true)
            #expect(out["bad_key"].list?.first == .int(403))
            #expect(out["bad_key"].list?.last?.string?.contains("<errors><error><code>403</code>") == true)
            for format in ["json", "xml"] {
                let read = out[format]
                #expect(read["service_codes"] == .strings(TicketCategory.allCases.map(\.rawValue)), "\(format)")
                #expect(read["service_names"].list?.contains(.string("交通出行")) == true)
                #expect(read["definition_code"] == "traffic" && read["attribute_codes"] == .strings(["building"]), "\(format)")
                #expect(Set(read["request_ids"].list ?? []) == [.string(newID), .string(lamp)], "\(format)")
                #expect(read["open_traffic_ids"] == .strings([newID]), "\(format): filtered by service_code and status")
                #expect(read["by_id"] == .strings([newID]))
                let one = read["one"]
                #expect(one["service_request_id"] == .string(newID) && one["status"] == "open" && one["service_code"] == "traffic")
                #expect(one["description"] == "路口缺少红绿灯，老人过马路危险" && one["agency_responsible"] == "居委会")
                // Coordinates rounded to about 100 m (JSON numbers, XML text).
                #expect(one["address"] == "yuepu-07" && one["lat"].string.flatMap(Double.init) == 31.41
                        && one["long"].string.flatMap(Double.init) == 121.442, "\(format): \(one)")
                // Due 15 hours after the request.
                let requested = try #require(one["requested_datetime"].string), expected = try #require(one["expected_datetime"].string)
                let formatter = ISO8601DateFormatter()
                let due = try #require(formatter.date(from: expected)).timeIntervalSince(try #require(formatter.date(from: requested)))
                #expect(abs(due - 15 * 3600) < 1, "\(format)")
            }
            #expect(out["unknown_service"].list?.first == .int(404))
            #expect(out["unknown_service"].list?.last?.string?.contains("<errors><error><code>404</code><description>") == true)
            #expect(out["window_too_long"].list?.first == .int(400))
            #expect(out["window_too_long"].list?.last?.list?.first?["code"] == .int(400))

            // The request created by the form is an ordinary ticket of the resident's committee, address and building kept.
            let ticket = try await api.call(.get, "/v1/tickets/\(newID)", token: cadre)
            #expect(ticket["category"] == "traffic" && ticket["stage"] == "submitted")
            #expect(ticket["location"]["address"] == "月浦镇 盛桥路口 12号楼")
            // The resolved lamp is closed for Open311, with the cadre's note.
            let text = try #require(try await api.call(.get, "/open311/v2/requests/\(lamp).json").body.string)
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
            let request = try #require(parsed?.first)
            #expect(request["status"] as? String == "closed" && request["status_notes"] as? String == "已更换灯泡")
            #expect(request["expected_datetime"] is NSNull && request["lat"] as? Double == 31.41)
            // What is never published: the reporter and the full description.
            #expect(!text.contains("东门路灯坏了一周") && !text.contains("reporter"))
        }
    }
}
