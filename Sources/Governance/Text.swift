import Foundation

/// Input rules for text: Unicode NFC normalization, trimming, length limits counted in characters,
/// no control characters other than line breaks and tabs, and no bidirectional overrides.
public enum Text {
    /// How many columns the text takes in a terminal or a chart label: East Asian wide and full-width
    /// characters take two, combining marks and zero-width characters none.
    public static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { sum, scalar in
            switch scalar.value {
            case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
                 0x1F300...0x1FAFF, 0x20000...0x3FFFD: sum + 2
            case 0x0300...0x036F, 0x200B...0x200F: sum
            default: sum + 1
            }
        }
    }

    /// Normalizes and checks a required field.
    public static func required(_ raw: String, field: String, max: Int) throws(GovernanceError) -> String {
        let text = try optional(raw, field: field, max: max)
        guard !text.isEmpty else { throw .invalid(field, "must not be empty") }
        return text
    }

    /// Normalizes and checks an optional field (empty is allowed).
    public static func optional(_ raw: String, field: String, max: Int) throws(GovernanceError) -> String {
        let text = raw.precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= max else { throw .invalid(field, "at most \(max) characters (got \(text.count))") }
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control, scalar != "\n" && scalar != "\t" && scalar != "\r" {
                throw .invalid(field, "contains a control character")
            }
            // Right-to-left text (Uyghur, Arabic) is welcome; the explicit direction overrides and isolates that make
            // "gpj.exe" show as "exe.jpg" (Trojan Source, CVE-2021-42574) are not.
            if (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                throw .invalid(field, "contains a bidirectional override (U+\(String(scalar.value, radix: 16, uppercase: true)))")
            }
        }
        return text
    }

    /// Checks a list of short references (photo ids, mention ids): count and each length.
    public static func references(_ items: [String], field: String, maxCount: Int, maxLength: Int = 200) throws(GovernanceError) -> [String] {
        guard items.count <= maxCount else { throw .invalid(field, "at most \(maxCount) items") }
        var out: [String] = []
        for item in items {
            out.append(try required(item, field: field, max: maxLength))
        }
        return out
    }
}
