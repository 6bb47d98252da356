import CQRencode

/// Join-code QR posters, drawn as SVG from libqrencode's module matrix.
enum QRCode {
    /// An SVG image of `text` as a QR code (error correction M, 4-module quiet zone), or nil if it does not fit.
    static func svg(for text: String, moduleSize: Int = 8) -> String? {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let margin = 4
        let size = (width + 2 * margin) * moduleSize
        var path = ""
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                path += "M\((x + margin) * moduleSize),\((y + margin) * moduleSize)h\(moduleSize)v\(moduleSize)h-\(moduleSize)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(size)" height="\(size)" viewBox="0 0 \(size) \(size)">\
            <rect width="100%" height="100%" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }
}
