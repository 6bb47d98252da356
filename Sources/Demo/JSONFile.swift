import Foundation
import Replication

/// The JSON files the launchers write for people and tools (`endpoints.json`, `demo-accounts.json`): a list of
/// objects, through `Value` like every other JSON of the project, indented.
public enum JSONFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func write(_ items: [Value], to path: String) throws {
        try Data(Value.list(items).prettyJSON.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Reads a list and makes each item with `make`; a file that is not such a list, or an item `make` refuses, is an error.
    public static func read<T>(_ path: String, as make: (Value) -> T?) throws -> [T] {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(path)") }
        let value: Value
        do { value = try Value(jsonBytes: bytes) } catch { throw Failure(description: "\(path): \(error)") }
        guard let items = value.list else { throw Failure(description: "\(path): not a list") }
        return try items.enumerated().map { index, item in
            guard let made = make(item) else { throw Failure(description: "\(path): item \(index) is incomplete") }
            return made
        }
    }
}
