import Foundation
import Governance
import HTTPTypes
import Hummingbird
import NIOCore
import Photos
import Replication
import Storage

/// 随手拍's photos: uploaded as multipart (a maintained parser, MultipartKit), checked and stripped of their metadata
/// (`PreparedPhoto`), kept content-addressed (`PhotoStore`), then named by id in a post's or a ticket's `photos`.
extension APIServer {
    /// Photos per post or ticket, and per upload.
    static let maxPhotos = 9
    /// An upload of nine photos of 5 MB and the form around them.
    static let maxUploadBytes = maxPhotos * PreparedPhoto.maxBytes + 64 * 1024

    func addPhotoRoutes(to router: Router<ShequRequestContext>) {
        let photos = self.photos
        router.post("/v1/photos") { request, context in
            let actor = try context.requireActor()
            guard actor.status == .approved else { throw APIError.forbidden("your membership is waiting for a cadre's approval") }
            var request = request
            let body = try await MultipartBody.read(&request, limit: Self.maxUploadBytes)
            let saved = try await Self.savePhotos(body.files.filter { $0.field == "photos" || $0.field == "photo" }, in: photos)
            guard !saved.isEmpty else { throw APIError.invalid("photos", "send one to \(Self.maxPhotos) files in the field photos") }
            return JSONResponse.make(.object(["items": .list(saved.map(Representation.photo))]), status: .created)
        }
        for thumbnail in [false, true] {
            router.get(thumbnail ? "/v1/photos/:id/thumbnail" : "/v1/photos/:id") { _, context in
                let id = try context.parameters.require("id")
                guard let stored = photos.find(id) else { throw APIError.notFound("photo \(id)") }
                let data = try photos.bytes(stored, thumbnail: thumbnail)
                var headers = HTTPFields()
                headers[.contentType] = thumbnail ? PhotoFormat.jpeg.contentType : stored.format.contentType
                // A photo never changes under its name, and is never a page: no script, no framing, no sniffing.
                headers[.cacheControl] = "public, max-age=31536000, immutable"
                headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
                headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; sandbox"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
    }

    /// Prepares and keeps each file (on the photo thread, at a lower priority: decoding a 40-megapixel photo takes a
    /// while); 422 naming the file that is not a photo, or past the limits.
    static func savePhotos(_ files: [MultipartBody.File], in photos: PhotoStore) async throws -> [PreparedPhoto] {
        guard files.count <= maxPhotos else { throw APIError.invalid("photos", "at most \(maxPhotos) photos") }
        var saved: [PreparedPhoto] = []
        for file in files {
            let upload = Array(buffer: file.bytes)
            let name = file.filename.isEmpty ? "a file" : file.filename
            let prepared: PreparedPhoto
            do {
                prepared = try await PhotoWorker.shared.run {
                    let photo = try PreparedPhoto(upload: upload)
                    try photos.save(photo)
                    return photo
                }
            } catch let error as PhotoError {
                throw APIError.invalid("photos", "\(name): \(error)")
            }
            saved.append(prepared)
        }
        return saved
    }

    /// Photo ids named by a post or a ticket must be photos this node holds.
    static func requireKnownPhotos(_ ids: [String], in photos: PhotoStore) throws {
        guard ids.count <= maxPhotos else { throw APIError.invalid("photos", "at most \(maxPhotos) photos") }
        for id in ids where photos.find(id) == nil { throw APIError.invalid("photos", "\(id.prefix(80)) is not a photo uploaded here (POST /v1/photos)") }
    }
}

extension Representation {
    static func photo(_ photo: PreparedPhoto) -> Value {
        .object(["id": .string(photo.id), "url": .string("/v1/photos/\(photo.id)"), "thumbnailUrl": .string("/v1/photos/\(photo.id)/thumbnail"),
                 "width": .int(Int64(photo.width)), "height": .int(Int64(photo.height)), "contentType": .string(photo.format.contentType)])
    }
}
