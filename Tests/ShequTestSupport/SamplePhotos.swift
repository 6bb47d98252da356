import CImage
import Foundation

/// Sample photos made on the spot (stb_image_write, libwebp): a gradient of any size as JPEG, PNG or WebP, and the same
/// with an EXIF block carrying a GPS position where each format keeps it — for the photo tests and the app's journey.
public enum SamplePhotos {
    /// A picture of `width`×`height` with a gradient, as RGB.
    public static func pixels(_ width: Int, _ height: Int) -> [UInt8] {
        (0..<height).flatMap { y in (0..<width).flatMap { x in [UInt8(x * 255 / width), UInt8(y * 255 / height), 128] } }
    }

    public static func encoded(_ width: Int, _ height: Int, _ format: String) -> [UInt8] {
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink(), rgb = pixels(width, height)
        switch format {
        case "jpeg":
            _ = rgb.withUnsafeBufferPointer { p in
                stbi_write_jpg_to_func({ context, data, size in
                    Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue().bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(size)))
                }, Unmanaged.passUnretained(sink).toOpaque(), Int32(width), Int32(height), 3, p.baseAddress, 90)
            }
            return sink.bytes
        case "png":
            var length: Int32 = 0
            let data = rgb.withUnsafeBufferPointer { p in
                stbi_write_png_to_mem(p.baseAddress, Int32(width * 3), Int32(width), Int32(height), 3, &length)
            }!
            defer { free(data) }
            return Array(UnsafeBufferPointer(start: data, count: Int(length)))
        case "webp":
            var output: UnsafeMutablePointer<UInt8>?
            let size = rgb.withUnsafeBufferPointer { p in WebPEncodeRGB(p.baseAddress, Int32(width), Int32(height), Int32(width * 3), 80, &output) }
            defer { WebPFree(output) }
            return Array(UnsafeBufferPointer(start: output, count: size))
        default:
            return []
        }
    }

    public static let gps = Array("Exif\0\0GPSLatitude 31.3912N GPSLongitude 121.4501E".utf8)

    /// The photo with EXIF (a GPS position) in the place each format keeps it.
    public static func withLocation(_ bytes: [UInt8], _ format: String) -> [UInt8] {
        switch format {
        case "jpeg":
            let length = gps.count + 2
            return Array(bytes[0..<2]) + [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + gps + Array(bytes[2...])
        case "png":
            let iend = bytes.count - 12
            let chunk: [UInt8] = [0, 0, 0, UInt8(gps.count)] + Array("eXIf".utf8) + gps + [0, 0, 0, 0]
            let text: [UInt8] = [0, 0, 0, 10] + Array("tEXt".utf8) + Array("Location\0x".utf8) + [0, 0, 0, 0]
            return Array(bytes[..<iend]) + chunk + text + Array(bytes[iend...])
        case "webp":
            // A simple (VP8) file becomes an extended one: VP8X with the EXIF flag, the image, then the EXIF chunk.
            let (width, height) = (UInt32(8 - 1), UInt32(8 - 1))
            let vp8x: [UInt8] = Array("VP8X".utf8) + [10, 0, 0, 0, 0b0000_1000, 0, 0, 0,
                                                       UInt8(width & 0xFF), UInt8(width >> 8 & 0xFF), 0, UInt8(height & 0xFF), UInt8(height >> 8 & 0xFF), 0]
            var exif: [UInt8] = Array("EXIF".utf8) + [UInt8(gps.count), 0, 0, 0] + gps
            if gps.count % 2 == 1 { exif.append(0) }
            let chunks = vp8x + Array(bytes[12...]) + exif
            let total = UInt32(4 + chunks.count)
            return Array("RIFF".utf8) + [UInt8(total & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total >> 16 & 0xFF), UInt8(total >> 24)] + Array("WEBP".utf8) + chunks
        default:
            return bytes
        }
    }

}
