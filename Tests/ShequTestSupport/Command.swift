import Foundation

/// A program run to its end, its standard output and error read together.
public enum Command {
    /// Runs `executable` with `arguments` (and `environment` added to this process's), waits for it, and returns its
    /// exit status and what it printed (`mergeErrors: false`: standard output only). Bound long runs with
    /// `/usr/bin/timeout` as the executable. It blocks: call it through `offPool` from a test.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           in directory: String? = nil, mergeErrors: Bool = true) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = mergeErrors ? pipe : FileHandle.nullDevice
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
