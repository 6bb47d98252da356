import CImage
import Foundation
@testable import Photos
import Testing

/// A resident's photo keeps its picture and loses where it was taken; what is not a photo, or is a bomb, is refused.
@Suite struct PreparedPhotoTests {
    /// A picture of `width`×`height` with a gradient, as RGB.
    static func pixels(_ width: Int, _ height: Int) -> [UInt8] {
        (0..<height).flatMap { y in (0..<width).flatMap { x in [UInt8(x * 255 / width), UInt8(y * 255 / height), 128] } }
    }

    static func encoded(_ width: Int, _ height: Int, _ format: PhotoFormat) -> [UInt8] {
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink(), rgb = pixels(width, height)
        switch format {
        case .jpeg:
            _ = rgb.withUnsafeBufferPointer { p in
                stbi_write_jpg_to_func({ context, data, size in
                    Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue().bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(size)))
                }, Unmanaged.passUnretained(sink).toOpaque(), Int32(width), Int32(height), 3, p.baseAddress, 90)
            }
            return sink.bytes
        case .png:
            var length: Int32 = 0
            let data = rgb.withUnsafeBufferPointer { p in
                stbi_write_png_to_mem(p.baseAddress, Int32(width * 3), Int32(width), Int32(height), 3, &length)
            }!
            defer { free(data) }
            return Array(UnsafeBufferPointer(start: data, count: Int(length)))
        case .webp:
            var output: UnsafeMutablePointer<UInt8>?
            let size = rgb.withUnsafeBufferPointer { p in WebPEncodeRGB(p.baseAddress, Int32(width), Int32(height), Int32(width * 3), 80, &output) }
            defer { WebPFree(output) }
            return Array(UnsafeBufferPointer(start: output, count: size))
        }
    }

    static let gps = Array("Exif\0\0GPSLatitude 31.3912N GPSLongitude 121.4501E".utf8)

    /// The photo with EXIF (a GPS position) in the place each format keeps it.
    static func withLocation(_ bytes: [UInt8], _ format: PhotoFormat) -> [UInt8] {
        switch format {
        case .jpeg:
            let length = gps.count + 2
            return Array(bytes[0..<2]) + [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + gps + Array(bytes[2...])
        case .png:
            let iend = bytes.count - 12
            let chunk: [UInt8] = [0, 0, 0, UInt8(gps.count)] + Array("eXIf".utf8) + gps + [0, 0, 0, 0]
            let text: [UInt8] = [0, 0, 0, 10] + Array("tEXt".utf8) + Array("Location\0x".utf8) + [0, 0, 0, 0]
            return Array(bytes[..<iend]) + chunk + text + Array(bytes[iend...])
        case .webp:
            // A simple (VP8) file becomes an extended one: VP8X with the EXIF flag, the image, then the EXIF chunk.
            let (width, height) = (UInt32(8 - 1), UInt32(8 - 1))
            let vp8x: [UInt8] = Array("VP8X".utf8) + [10, 0, 0, 0, 0b0000_1000, 0, 0, 0,
                                                       UInt8(width & 0xFF), UInt8(width >> 8 & 0xFF), 0, UInt8(height & 0xFF), UInt8(height >> 8 & 0xFF), 0]
            var exif: [UInt8] = Array("EXIF".utf8) + [UInt8(gps.count), 0, 0, 0] + gps
            if gps.count % 2 == 1 { exif.append(0) }
            let chunks = vp8x + Array(bytes[12...]) + exif
            let total = UInt32(4 + chunks.count)
            return Array("RIFF".utf8) + [UInt8(total & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total >> 16 & 0xFF), UInt8(total >> 24)] + Array("WEBP".utf8) + chunks
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        Data(haystack).range(of: Data(needle.utf8)) != nil
    }

    @Test(arguments: PhotoFormat.allCases)
    func theLocationIsStrippedAndThePictureKept(format: PhotoFormat) throws {
        let (width, height) = format == .webp ? (8, 8) : (640, 480)
        let upload = Self.withLocation(Self.encoded(width, height, format), format)
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
        var bomb = Self.encoded(4, 4, .png)
        bomb[16..<24] = [0, 0, 0x27, 0x10, 0, 0, 0x13, 0x88]
        #expect(throws: PhotoError.tooManyPixels(width: 10_000, height: 5_000, limit: PreparedPhoto.maxPixels)) { try PreparedPhoto(upload: bomb) }
        // Cut short: refused, not a crash.
        let jpeg = Self.encoded(64, 64, .jpeg)
        for cut in [3, 20, jpeg.count / 2] {
            #expect(throws: PhotoError.self) { try PreparedPhoto(upload: Array(jpeg[..<cut])) }
        }
    }
}
