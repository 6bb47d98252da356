import Foundation

/// Runs Schemathesis (PyPI) from docs/openapi.yaml against a live node: it generates valid requests and requests that
/// break the schema, and fails on a 5xx, a status the spec does not list, or a body or content type that breaks it.
public enum Schemathesis {
    public static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Writes `config` (schemathesis.toml) into `directory` and runs `st run` with the extra `arguments`; returns its exit status and the report:
    /// the failures section (each with a curl line that reproduces it) or the report's end.
    public static func run(config: String, in directory: String, seed: Int = 2020, arguments: [String] = []) throws -> (status: Int32, report: String) {
        let configPath = directory + "/schemathesis.toml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let (status, text) = try Command.run("/usr/bin/env", [
            "python3", "-m", "schemathesis.cli", "--config-file", configPath, "run",
            repository.appendingPathComponent("docs/openapi.yaml").path,
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing", "--seed", "\(seed)", "--workers", "2", "--max-failures", "20",
            "--request-timeout", "20", "--no-color",
        ] + arguments, in: directory)
        let start = text.range(of: "FAILURES")?.lowerBound ?? text.index(text.endIndex, offsetBy: -min(text.count, 3_000))
        return (status, String(text[start...].prefix(12_000)))
    }

    /// How many operations the run tested ("Tested: N" in its summary).
    public static func tested(_ report: String) -> Int? {
        guard let range = report.range(of: "Tested: ") else { return nil }
        return Int(report[range.upperBound...].prefix { $0.isNumber })
    }

    /// An `[[operations]]` table that fixes the `id` path parameter for the paths matching `pathRegex`.
    public static func operation(_ pathRegex: String, id: String) -> String {
        """
        [[operations]]
        include-path-regex = "\(pathRegex)"
        parameters = { id = "\(id)" }
        """
    }
}
