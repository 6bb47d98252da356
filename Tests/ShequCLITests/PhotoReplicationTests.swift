import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPAPI
import Replication
import ShequTestSupport
import Testing

extension MultiProcess {
    /// A ticket's photo follows it to the district and the city (fetched from the street over HTTP, a lane of its own),
    /// arrives without its GPS position, and stays there when the street is gone; the street searches its tickets.
    @Suite(.serialized) struct PhotoReplicationTests {
        @Test(.timeLimit(.minutes(3)))
        func aTicketsPhotoReachesTheDistrictAndTheCityAndStaysWhenTheStreetIsGone() async throws {
            let federation = try await TestFederation.start()
            defer { federation.stop() }
            let (street, district, city, x) = (federation.street, federation.district, federation.city, federation.committee)
            let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)["joinCode"] as! String
            let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                "joinCode": code, "realName": "王小明", "phone": "13812345678", "building": "1号楼", "room": "101",
            ])
            let resident = joined["token"] as! String
            _ = try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(joined["memberId"] as! String)/approve", token: federation.cadre)

            // Upload a photo with a GPS position at the street; a ticket names it.
            let (type, body) = MultipartBody.encode(files: [("photos", "IMG_0001.jpg", SamplePhotos.withLocation(SamplePhotos.encoded(1024, 768, "jpeg"), "jpeg"))])
            var upload = URLRequest(url: URL(string: street.http + "/v1/photos")!)
            upload.httpMethod = "POST"
            upload.setValue(type, forHTTPHeaderField: "Content-Type")
            upload.setValue("Bearer \(resident)", forHTTPHeaderField: "Authorization")
            upload.httpBody = Data(body)
            let (answer, response) = try await URLSession.shared.data(for: upload)
            #expect((response as? HTTPURLResponse)?.statusCode == 201, "\(String(decoding: answer, as: UTF8.self))")
            let uploaded = try #require((try JSONSerialization.jsonObject(with: answer) as? [String: Any])?["items"] as? [[String: Any]])
            let photo = try #require(uploaded.first?["id"] as? String)
            _ = try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: resident, json: [
                "category": "facilities", "title": "井盖松动", "description": "东门口", "photos": [photo],
            ])

            func photoBytes(_ node: TestFederation.Node) async -> Data? {
                var request = URLRequest(url: URL(string: node.http + "/v1/photos/\(photo)")!)
                request.timeoutInterval = 5
                guard let (data, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
                return data
            }
            try await federation.eventually("the photo at the district and the city") {
                let atDistrict = await photoBytes(district), atCity = await photoBytes(city)
                return atDistrict != nil && atCity != nil
            }
            for node in [district, city] {
                let bytes = try #require(await photoBytes(node))
                #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == photo, "\(node.id) holds the same bytes")
                #expect(bytes.range(of: Data("GPSLatitude".utf8)) == nil)
            }
            let metrics = try await federation.text(city, "/metrics")
            #expect(metrics.contains("shequ_photos_replicated_total"))

            // The street searches its tickets; the district serves no search.
            let found = try await federation.call(street, "GET", "/v1/committees/\(x)/search?q=%E4%BA%95%E7%9B%96", token: federation.cadre)
            #expect((found["items"] as? [[String: Any]])?.count == 1, "\(found)")
            #expect(try await federation.status(district, "/v1/committees/\(x)/search?q=%E4%BA%95%E7%9B%96", token: federation.districtOfficer) == 409)

            // The street is gone: the district still shows the photo.
            federation.kill(street)
            #expect(await photoBytes(district) != nil)
        }
    }
}
