import Foundation
import Governance

/// Escapes text for HTML and SVG.
func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

/// Charts drawn as inline SVG on the server: nothing is fetched at run time, nothing needs JavaScript.
enum SVGChart {
    static let palette = ["#38bdf8", "#22c55e", "#f59e0b", "#a78bfa", "#f43f5e", "#14b8a6", "#eab308", "#fb7185"]

    /// One horizontal bar.
    struct Bar {
        var label: String
        var value: Double
        var text: String
        var color: String
        var link: String?
    }

    /// Horizontal bars, one per row, scaled to `maximum`.
    static func bars(_ bars: [Bar], maximum: Double, width: Int = 420, rowHeight: Int = 22, labelWidth: Int = 110, valueWidth: Int = 80) -> String {
        let height = max(1, bars.count) * rowHeight + 4
        let span = Double(width - labelWidth - valueWidth)
        var svg = #"<svg viewBox="0 0 \#(width) \#(height)" width="100%" height="\#(height)" role="img" xmlns="http://www.w3.org/2000/svg">"#
        for (i, bar) in bars.enumerated() {
            let y = i * rowHeight + 2
            let length = maximum > 0 ? max(2, span * min(bar.value, maximum) / maximum) : 2
            var label = #"<text x="\#(labelWidth - 6)" y="\#(y + rowHeight - 8)" text-anchor="end" class="label">\#(escapeHTML(bar.label))</text>"#
            if let link = bar.link { label = #"<a href="\#(escapeHTML(link))">\#(label)</a>"# }
            svg += label
            svg += #"<rect x="\#(labelWidth)" y="\#(y + 3)" width="\#(String(format: "%.1f", length))" height="\#(rowHeight - 8)" rx="3" fill="\#(bar.color)"/>"#
            svg += #"<text x="\#(labelWidth + Int(length) + 6)" y="\#(y + rowHeight - 8)" class="value">\#(escapeHTML(bar.text))</text>"#
        }
        return svg + "</svg>"
    }

    /// Stacked columns: one column per x label, one segment per series, with a legend.
    static func stackedColumns(labels: [String], series: [(name: String, color: String, values: [Int])], width: Int = 620, height: Int = 170) -> String {
        let totals = labels.indices.map { i in series.reduce(0) { $0 + ($1.values.indices.contains(i) ? $1.values[i] : 0) } }
        let top = max(1, totals.max() ?? 1)
        let plotTop = 20, plotBottom = height - 20, left = 30
        let step = Double(width - left - 4) / Double(max(1, labels.count))
        var svg = #"<svg viewBox="0 0 \#(width) \#(height)" width="100%" height="\#(height)" role="img" xmlns="http://www.w3.org/2000/svg">"#
        // Gridlines at quarters of the top value.
        for quarter in 0...4 {
            let y = Double(plotBottom) - Double(plotBottom - plotTop) * Double(quarter) / 4
            svg += #"<line x1="\#(left)" x2="\#(width - 4)" y1="\#(String(format: "%.1f", y))" y2="\#(String(format: "%.1f", y))" class="grid"/>"#
            svg += #"<text x="\#(left - 4)" y="\#(String(format: "%.1f", y + 3))" text-anchor="end" class="axis">\#(Int((Double(top) * Double(quarter) / 4).rounded()))</text>"#
        }
        for (i, label) in labels.enumerated() {
            var y = Double(plotBottom)
            let x = Double(left) + Double(i) * step
            for entry in series {
                let value = entry.values.indices.contains(i) ? entry.values[i] : 0
                guard value > 0 else { continue }
                let h = Double(plotBottom - plotTop) * Double(value) / Double(top)
                y -= h
                svg += #"<rect x="\#(String(format: "%.1f", x + 1))" y="\#(String(format: "%.1f", y))" width="\#(String(format: "%.1f", max(1, step - 2)))" height="\#(String(format: "%.1f", h))" fill="\#(entry.color)"><title>\#(escapeHTML(label)) \#(escapeHTML(entry.name)) \#(value)</title></rect>"#
            }
            if i % 7 == labels.count % 7 || i == labels.count - 1 {
                svg += #"<text x="\#(String(format: "%.1f", x + step / 2))" y="\#(height - 6)" text-anchor="middle" class="axis">\#(escapeHTML(label))</text>"#
            }
        }
        var legendX = left
        for entry in series {
            svg += #"<rect x="\#(legendX)" y="4" width="10" height="10" fill="\#(entry.color)"/><text x="\#(legendX + 14)" y="13" class="axis">\#(escapeHTML(entry.name))</text>"#
            legendX += 20 + Text.displayWidth(entry.name) * 7
        }
        return svg + "</svg>"
    }

    /// A ring showing a share (0…1), with the figure in the middle.
    static func ring(share: Double?, color: String, size: Int = 84) -> String {
        let r = Double(size) / 2 - 8, c = 2 * Double.pi * r
        let filled = c * min(1, max(0, share ?? 0))
        let text = share.map { String(format: "%.0f%%", $0 * 100) } ?? "—"
        return #"<svg viewBox="0 0 \#(size) \#(size)" width="\#(size)" height="\#(size)" xmlns="http://www.w3.org/2000/svg">"#
            + ##"<circle cx="\##(size / 2)" cy="\##(size / 2)" r="\##(r)" fill="none" stroke="#1e3a5f" stroke-width="9"/>"##
            + #"<circle cx="\#(size / 2)" cy="\#(size / 2)" r="\#(r)" fill="none" stroke="\#(color)" stroke-width="9" stroke-dasharray="\#(String(format: "%.1f", filled)) \#(String(format: "%.1f", c))" transform="rotate(-90 \#(size / 2) \#(size / 2))" stroke-linecap="round"/>"#
            + #"<text x="50%" y="55%" text-anchor="middle" class="ring">\#(text)</text></svg>"#
    }
}

