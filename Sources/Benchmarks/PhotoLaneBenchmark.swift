import CImage
import Foundation
import FoundationNetworking
import Gossip
import HTTPAPI
import Replication

/// Do photos hold changes back? Street→city propagation of notices, alone and while photos of about 2 MB each are
/// uploaded at the streets and fetched by the districts and the city (their own HTTP connections, beside the gossip
/// links), on one 7-node federation of real processes; the ratio of the two p99s, target ≤ 1.5.
public enum PhotoLaneBenchmark {
    public struct Result: Sendable {
        public var alone: [Double] = []
        public var withPhotos: [Double] = []
        public var notArrived = 0
        public var photos = 0
        public var photoBytes = 0
        /// Seconds from the first upload until the city held every photo (nil: not within the wait).
        public var photosAtCity: Double?
    }

    public static func run(notices: Int, photos: Int, photoSide: Int, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        progress("making \(photos) photos ...")
        let images = (0..<photos).map { noise(width: photoSide, height: photoSide * 3 / 4, seed: UInt64($0) + 1) }
        var result = Result()
        result.photos = images.count
        result.photoBytes = images.reduce(0) { $0 + $1.count }
        let federation = try await ProcessFederation.start(nodes: 7, directory: (directory as NSString).appendingPathComponent("shequ"),
                                                         executable: executable, progress: progress)
        var alone: [(String, NodeID)] = [], loaded: [(String, NodeID)] = []
        var ids: [String] = []
        do {
            try await Task.sleep(for: .seconds(2))
            let streets = federation.streets
            for i in 0..<notices {
                let street = streets[i % streets.count]
                alone.append((try await federation.post(at: street, title: "独行 \(i)"), street))
                try await Task.sleep(for: .milliseconds(100))
            }
            progress("alone: \(alone.count) notices")
            // Photos: two a post, uploaded and posted by the streets' cadres from four writers, while the notices go on.
            let started = Date()
            let uploads = Task { () throws -> [String] in
                try await withThrowingTaskGroup(of: [String].self) { group in
                    for writer in 0..<4 {
                        group.addTask {
                            var mine: [String] = []
                            for pair in stride(from: writer * 2, to: images.count, by: 8) {
                                let street = streets[(pair / 2) % streets.count]
                                let batch = Array(images[pair..<min(pair + 2, images.count)])
                                let names = try await upload(batch, at: street, federation)
                                _ = try await federation.postWithPhotos(at: street, title: "照片 \(pair)", photos: names)
                                mine += names
                            }
                            return mine
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            for i in 0..<notices {
                let street = streets[i % streets.count]
                loaded.append((try await federation.post(at: street, title: "同行 \(i)"), street))
                try await Task.sleep(for: .milliseconds(100))
            }
            ids = try await uploads.value
            progress("with photos: \(loaded.count) notices, \(ids.count) photos uploaded")
            // Until the city holds every photo (at most 120 s).
            let city = try federation.endpoint("city").http
            var missing = Set(ids)
            for _ in 0..<240 where !missing.isEmpty {
                for id in missing.sorted().prefix(20) {
                    if let (status, _) = try? await federation.request("GET", city + "/v1/photos/\(id)/thumbnail", token: nil), status == 200 { missing.remove(id) }
                }
                if !missing.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
            }
            if missing.isEmpty { result.photosAtCity = Date().timeIntervalSince(started) }
        } catch {
            await federation.stop()
            throw error
        }
        await federation.stop()
        let arrivals = try federation.firstArrivals(entities: (alone + loaded).map(\.0))
        func latencies(_ posts: [(String, NodeID)]) -> [Double] {
            posts.compactMap { id, street in
                guard let made = arrivals[street]?[id], let city = arrivals["city"]?[id] else { result.notArrived += 1; return nil }
                return Double(city - made)
            }
        }
        result.alone = latencies(alone)
        result.withPhotos = latencies(loaded)
        return result
    }

    static func upload(_ images: [[UInt8]], at street: NodeID, _ federation: ProcessFederation) async throws -> [String] {
        guard let cadre = federation.cadres[street] else { throw BenchmarkFailure("\(street) is not a street") }
        let (type, body) = MultipartBody.encode(files: images.enumerated().map { ("photos", "IMG_\($0.offset).jpg", $0.element) })
        var request = URLRequest(url: URL(string: try federation.endpoint(street).http + "/v1/photos")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 60
        request.setValue(type, forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(cadre.token)", forHTTPHeaderField: "Authorization")
        request.httpBody = Data(body)
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 201, let items = (try? Value(jsonBytes: Array(data)))?["items"].list else {
            throw BenchmarkFailure("upload at \(street): \(String(decoding: data, as: UTF8.self).prefix(200))")
        }
        return items.compactMap { $0["id"].string }
    }

    /// A JPEG of noise (it compresses as badly as a phone's photo of gravel): about 2 MB at 1600×1200, quality 90.
    static func noise(width: Int, height: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 8) {
            let value = rng.next()
            for j in 0..<min(8, pixels.count - i) { pixels[i + j] = UInt8(truncatingIfNeeded: value >> (8 * j)) }
        }
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        _ = pixels.withUnsafeBufferPointer { p in
            stbi_write_jpg_to_func({ context, data, size in
                guard let context, let data else { return }
                Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue().bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(size)))
            }, Unmanaged.passUnretained(sink).toOpaque(), Int32(width), Int32(height), 3, p.baseAddress, 90)
        }
        return sink.bytes
    }

    public static func report(_ r: Result) -> String {
        let alone = Quantiles(r.alone), loaded = Quantiles(r.withPhotos)
        let ratio = alone.p99 > 0 ? loaded.p99 / alone.p99 : 0
        return """
        photo lane: \(r.photos) photos, \(String(format: "%.1f", Double(r.photoBytes) / 1_048_576)) MiB in all (\(r.photos > 0 ? r.photoBytes / r.photos / 1024 : 0) KiB each)
          street → city, notices alone:        \(alone.text)
          street → city, while photos replicate: \(loaded.text)
          with photos / alone: p99 \(String(format: "%.2f", ratio))× (target ≤ 1.5)\(r.notArrived > 0 ? "; \(r.notArrived) never arrived" : "")
          every photo at the city after \(r.photosAtCity.map { String(format: "%.1f s", $0) } ?? "NOT within 120 s")
        """
    }
}
