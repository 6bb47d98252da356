import Foundation
@testable import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Testing

/// 随手拍 photos over the JSON API: uploaded as multipart, kept without their location, served back as they are kept,
/// named by a ticket; what is not a photo, too many, or unknown is refused with a reason.
@Suite struct PhotoTests {
    @Test func aPhotoIsKeptWithoutItsLocationAndATicketNamesIt() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let located = SamplePhotos.withLocation(SamplePhotos.encoded(800, 600, "jpeg"), "jpeg")
            #expect(Data(located).range(of: Data("GPSLatitude".utf8)) != nil)

            let (type, body) = API.multipart(files: [("photos", "IMG_0001.jpg", located), ("photos", "plan.png", SamplePhotos.encoded(64, 48, "png"))])
            let uploaded = try await api.call(.post, "/v1/photos", token: resident, bytes: body, contentType: type)
            #expect(uploaded.status == .created, "\(uploaded.body)")
            let items = try #require(uploaded["items"].list)
            #expect(items.count == 2 && items[0]["width"] == .int(800) && items[0]["contentType"] == "image/jpeg" && items[1]["contentType"] == "image/png")
            let id = try #require(items[0]["id"].string)

            // Served back without the GPS position, as a JPEG that is never a page; the thumbnail is 320 wide.
            let served = try await client.execute(uri: "/v1/photos/\(id)", method: .get) { $0 }
            #expect(served.status == .ok && served.headers[.contentType] == "image/jpeg")
            #expect(served.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("sandbox") == true)
            let bytes = Data(buffer: served.body)
            #expect(bytes.starts(with: [0xFF, 0xD8]) && bytes.range(of: Data("GPSLatitude".utf8)) == nil && bytes.range(of: Data("Exif".utf8)) == nil)
            let thumbnail = try await client.execute(uri: "/v1/photos/\(id)/thumbnail", method: .get) { $0 }
            #expect(thumbnail.status == .ok && thumbnail.body.readableBytes < bytes.count)

            // A ticket names the photo; an unknown name is refused.
            let ticket = try await api.call(.post, "/v1/committees/c1/tickets", token: resident, json: .object([
                "category": "facilities", "title": "井盖松动", "description": "", "photos": .strings([id]),
            ]))
            #expect(ticket.status == .created && ticket["photos"] == .strings([id]))
            let unknown = try await api.call(.post, "/v1/committees/c1/tickets", token: resident, json: .object([
                "category": "facilities", "title": "井盖松动", "description": "", "photos": .strings(["../../etc/passwd"]),
            ]))
            #expect(unknown.status == .unprocessableContent && unknown["error"]["code"] == "invalid_photos")

            // Not a photo, too many, anonymous, another type of body, an id that is no id.
            let (htmlType, html) = API.multipart(files: [("photos", "cat.jpg", Array("<html><script>alert(1)</script></html>".utf8))])
            let refused = try await api.call(.post, "/v1/photos", token: resident, bytes: html, contentType: htmlType)
            #expect(refused.status == .unprocessableContent && refused["error"]["message"].string?.contains("cat.jpg") == true)
            let ten = (0..<10).map { ("photos", "\($0).png", SamplePhotos.encoded(8, 8, "png")) }
            let (tenType, tenBody) = API.multipart(files: ten)
            #expect(try await api.call(.post, "/v1/photos", token: resident, bytes: tenBody, contentType: tenType).status == .unprocessableContent)
            #expect(try await api.call(.post, "/v1/photos", bytes: body, contentType: type).status == .unauthorized)
            #expect(try await api.call(.post, "/v1/photos", token: resident, json: .object([:])).status == .unsupportedMediaType)
            #expect(try await api.call(.get, "/v1/photos/..%2F..%2Fetc%2Fpasswd").status == .notFound)
            #expect(try await api.call(.get, "/v1/photos/" + String(repeating: "a", count: 64)).status == .notFound)
        }
    }
}
