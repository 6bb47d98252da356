import Foundation

/// An SVG of how the federation's costs grow with its size, drawn by `shequ bench propagation --plot FILE`: one panel
/// per figure, shequ's line beside the baseline's where there is one, sizes on a log axis.
public enum BenchPlot {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    struct Panel {
        var title: String
        var unit: String
        var series: [Series]
    }

    public static func svg(_ results: [ReplicationBenchmark.Result]) -> String {
        let sizes = results.map { Double($0.nodes) }
        func line(_ name: String, _ color: String, _ value: (ReplicationBenchmark.Result) -> Double?) -> Series {
            Series(name: name, color: color, points: zip(sizes, results.map(value)).compactMap { x, y in y.map { (x, $0) } })
        }
        let panels = [
            Panel(title: "Propagation p99: street → city vs Serf one → all", unit: "ms", series: [
                line("shequ street → city p99", "#c0392b") { Quantiles($0.toCity).p99 },
                line("serf one → all p99", "#2c3e50") { $0.serf.map { Quantiles($0.reachAll).p99 } },
            ]),
            Panel(title: "Idle gossip per node", unit: "B/s", series: [line("wire bytes out per node", "#c0392b") { $0.idleBytesPerNodeSecond }]),
            Panel(title: "Replication messages per replica reached (load)", unit: "msgs", series: [
                line("changes + sync", "#c0392b") { r in
                    ((r.load.messages["changes"] ?? 0) + (r.load.messages["sync"] ?? 0)) / max(r.load.replicasReached, 1)
                },
            ]),
            Panel(title: "Memory per node (PSS)", unit: "MiB", series: [
                line("shequ idle", "#c0392b") { Double(ReplicationBenchmark.mean($0.idlePSS)) / 1_048_576 },
                line("shequ under load", "#e67e22") { Double(ReplicationBenchmark.mean($0.loadPSS)) / 1_048_576 },
                line("serf agent", "#2c3e50") { $0.serf.map { Double($0.pssPerAgent) / 1_048_576 } },
            ]),
        ]
        let width = 440.0, height = 260.0, columns = 2
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width) * columns)" height="\(Int(height) * ((panels.count + 1) / columns))" \
        font-family="Noto Sans CJK SC, sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>

        """
        for (index, panel) in panels.enumerated() {
            let ox = Double(index % columns) * width, oy = Double(index / columns) * height
            let left = ox + 60, right = ox + width - 45, top = oy + 30, bottom = oy + height - 60
            let all = panel.series.flatMap(\.points)
            let maxY = max(all.map(\.y).max() ?? 1, 0.001) * 1.15
            let minX = log10(sizes.min() ?? 1), maxX = max(log10(sizes.max() ?? 10), minX + 0.1)
            func px(_ x: Double) -> Double { left + (log10(x) - minX) / (maxX - minX) * (right - left) }
            func py(_ y: Double) -> Double { bottom - y / maxY * (bottom - top) }
            out += "<text x=\"\(ox + 10)\" y=\"\(oy + 18)\" font-size=\"13\" font-weight=\"bold\">\(escape(panel.title)) (\(panel.unit))</text>\n"
            out += "<line x1=\"\(left)\" y1=\"\(bottom)\" x2=\"\(right)\" y2=\"\(bottom)\" stroke=\"#888\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(bottom)\" stroke=\"#888\"/>\n"
            for size in sizes {
                out += "<text x=\"\(px(size))\" y=\"\(bottom + 14)\" text-anchor=\"middle\">\(Int(size))</text>\n"
            }
            out += "<text x=\"\((left + right) / 2)\" y=\"\(bottom + 28)\" text-anchor=\"middle\" fill=\"#555\">nodes</text>\n"
            for tick in 0...4 {
                let y = maxY * Double(tick) / 4
                out += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: y >= 10 ? "%.0f" : "%.2f", y))</text>\n"
                out += "<line x1=\"\(left)\" y1=\"\(py(y))\" x2=\"\(right)\" y2=\"\(py(y))\" stroke=\"#eee\"/>\n"
            }
            for (n, series) in panel.series.enumerated() where !series.points.isEmpty {
                let path = series.points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"/>\n"
                for point in series.points {
                    out += "<circle cx=\"\(px(point.x))\" cy=\"\(py(point.y))\" r=\"3\" fill=\"\(series.color)\"/>\n"
                    out += "<text x=\"\(px(point.x) + 5)\" y=\"\(py(point.y) - 5)\" fill=\"\(series.color)\">\(String(format: point.y >= 10 ? "%.0f" : "%.2f", point.y))</text>\n"
                }
                out += "<text x=\"\(left + 10)\" y=\"\(bottom + 44 + Double(n % 2) * 0)\" dx=\"\(n * 150)\" fill=\"\(series.color)\">■ \(escape(series.name))</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
