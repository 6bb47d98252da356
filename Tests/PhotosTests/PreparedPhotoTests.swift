import Foundation
@testable import Photos
import ShequTestSupport
import Testing

/// A resident's photo keeps its picture and loses where it was taken; what is not a photo, or is a bomb, is refused.
@Suite struct PreparedPhotoTests {
    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        Data(haystack).range(of: Data(needle.utf8)) != nil
    }

    @Test(arguments: PhotoFormat.allCases)
    func theLocationIsStrippedAndThePictureKept(format: PhotoFormat) throws {
        let (width, height) = format == .webp ? (8, 8) : (640, 480)
        let upload = SamplePhotos.withLocation(SamplePhotos.encoded(width, height, format.rawValue), format.rawValue)
        #expect(Self.contains(upload, "GPSLatitude"), "the test photo carries a location")
        let photo = try PreparedPhoto(upload: upload)
        #expect(photo.format == format && photo.width == width && photo.height == height)
        #expect(!Self.contains(photo.bytes, "GPSLatitude") && !Self.contains(photo.bytes, "Exif") && !Self.contains(photo.bytes, "Location"))
        #expect(photo.bytes.count < upload.count)
        // Still a picture of the same size (decoded again from the kept bytes), and a thumbnail within 320 pixels.
        #expect(try PreparedPhoto.dimensions(photo.bytes, format: format) == (width, height))
        let thumbnail = try PreparedPhoto(upload: photo.thumbnail)
        #expect(thumbnail.format == .jpeg && max(thumbnail.width, thumbnail.height) == min(320, max(width, height)))
        #expect(photo.id.count == 64 && photo.id.allSatisfy(\.isHexDigit))
        if format == .webp { #expect(photo.bytes[20] & 0b0000_1000 == 0, "VP8X no longer says EXIF follows") }
    }

    @Test func whatIsNotAPhotoOrIsABombIsRefused() throws {
        #expect(throws: PhotoError.notAnImage) { try PreparedPhoto(upload: Array("<html><script>alert(1)</script>".utf8)) }
        #expect(throws: PhotoError.notAnImage) { try PreparedPhoto(upload: Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 100)) }
        #expect(throws: PhotoError.tooLarge(bytes: PreparedPhoto.maxBytes + 1, limit: PreparedPhoto.maxBytes)) {
            try PreparedPhoto(upload: [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0, count: PreparedPhoto.maxBytes - 2))
        }
        // A PNG that says it is 10,000 × 5,000 (50 megapixels) in a few dozen bytes: refused from its header.
        var bomb = SamplePhotos.encoded(4, 4, "png")
        bomb[16..<24] = [0, 0, 0x27, 0x10, 0, 0, 0x13, 0x88]
        #expect(throws: PhotoError.tooManyPixels(width: 10_000, height: 5_000, limit: PreparedPhoto.maxPixels)) { try PreparedPhoto(upload: bomb) }
        // Cut short: refused, not a crash.
        let jpeg = SamplePhotos.encoded(64, 64, "jpeg")
        for cut in [3, 20, jpeg.count / 2] {
            #expect(throws: PhotoError.self) { try PreparedPhoto(upload: Array(jpeg[..<cut])) }
        }
    }
}
