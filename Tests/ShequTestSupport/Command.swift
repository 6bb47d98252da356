import Foundation

/// A program run to its end, its standard output and error read together or apart.
public enum Command {
    /// Runs `executable` with `arguments` (and `environment` added to this process's), waits for it, and returns its
    /// exit status and what it printed, standard output and error together. Bound long runs with `/usr/bin/timeout` as
    /// the executable. It blocks: call it through `offPool` from a test.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           in directory: String? = nil) throws -> (status: Int32, output: String) {
        let result = try run(executable, arguments, environment: environment, in: directory, mergeErrors: true)
        return (result.status, result.output)
    }

    /// The same, with standard error kept apart from standard output (a bench's figures on one, its progress and the
    /// reason it failed on the other).
    public static func runKeepingErrors(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                                        in directory: String? = nil) throws -> (status: Int32, output: String, errors: String) {
        try run(executable, arguments, environment: environment, in: directory, mergeErrors: false)
    }

    private static func run(_ executable: String, _ arguments: [String], environment: [String: String], in directory: String?,
                            mergeErrors: Bool) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        // Standard error apart goes to a file, read at the end: a second pipe could fill while the first is read.
        let errorsPath = mergeErrors ? nil : NSTemporaryDirectory() + "shequ-command-\(UUID().uuidString).err"
        defer { if let errorsPath { try? FileManager.default.removeItem(atPath: errorsPath) } }
        if let errorsPath {
            guard FileManager.default.createFile(atPath: errorsPath, contents: nil),
                  let file = FileHandle(forWritingAtPath: errorsPath) else { throw CocoaError(.fileWriteUnknown) }
            process.standardError = file
        } else {
            process.standardError = pipe
        }
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let errors = errorsPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        return (process.terminationStatus, text, errors)
    }
}
