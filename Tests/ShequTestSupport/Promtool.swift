import Foundation

/// Runs Debian's `promtool check metrics` on exposition text.
public enum Promtool {
    public static let path = "/usr/bin/promtool"

    /// Nil when promtool is not installed; else whether it passed, and what it said.
    public static func check(_ metrics: String) throws -> (passed: Bool, report: String)? {
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(metrics.utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, report)
    }
}
