import Gossip
import NIOCore
import Replication
import Wire

/// What the fuzzer (`make fuzz`, Sources/shequ-fuzz) and the corpus replay test feed untrusted bytes to: everything that
/// decodes what a peer or a client sends. The first byte picks the decoder; the rest is the input. Each decoder may refuse
/// the bytes, but must not crash, and whatever it accepts must survive a round trip through its encoder unchanged.
public enum DecoderChecks {
    /// The decoders, by the first byte of an input modulo their count.
    public enum Target: UInt8, CaseIterable, Sendable {
        /// A TCP byte stream cut into frames, each payload decoded as a gossip message.
        case frameStream
        /// One gossip message payload (canonical JSON).
        case gossipMessage
        /// One LZ4 frame, decompressed with a bound.
        case lz4Frame
        /// JSON as an HTTP body carries it.
        case json
    }

    /// A decoder accepted bytes whose round trip does not give back what it accepted.
    public struct Violation: Error, CustomStringConvertible {
        public let description: String
    }

    /// The decoder an input goes to.
    public static func target(of input: [UInt8]) -> Target? {
        input.first.map { Target(rawValue: $0 % UInt8(Target.allCases.count))! }
    }

    /// Feeds one input to its decoder; throws a violation when a round trip breaks (crashes are the fuzzer's to catch).
    public static func check(_ input: [UInt8]) throws(Violation) {
        guard let target = target(of: input) else { return }
        let bytes = Array(input.dropFirst())
        switch target {
        case .frameStream:
            var buffer = ByteBuffer(bytes: bytes)
            var connection = ByteBuffer(bytes: bytes)
            let decompressor = try? LZ4Frame.Decompressor(maxOutput: Frame.maxPayloadBytes)
            // At most one frame per 9 header bytes: the loop ends on the input's own length.
            for _ in 0...(bytes.count / 9) {
                let payload = try? Frame.read(from: &buffer)
                // A connection's reader (reused decompressor, the content checksum left to the frame's CRC; content
                // size required) may refuse what this one takes and the reverse, but never reads a frame differently.
                let read = try? Frame.read(from: &connection, decompressor: decompressor)
                if let payload, let read, read != payload { throw Violation(description: "the reused decompressor read a frame differently") }
                guard let payload, read != nil else { break }
                var written = ByteBuffer()
                do { try Frame.write(payload, into: &written) } catch { throw Violation(description: "frame accepted but not writable: \(error)") }
                guard (try? Frame.read(from: &written)) == payload else { throw Violation(description: "frame payload changed in a round trip") }
                try checkMessage(payload)
            }
        case .gossipMessage:
            try checkMessage(bytes)
        case .lz4Frame:
            let reused = try? LZ4Frame.Decompressor(maxOutput: 1 << 20).decompress(bytes)
            guard let content = try? LZ4Frame.decompress(bytes, maxOutput: 1 << 20) else {
                guard reused == nil else { throw Violation(description: "the reused decompressor accepted a frame the one-shot refused") }
                return
            }
            // Frames without a declared content size are the one-shot path's alone.
            guard reused == nil || reused == content else { throw Violation(description: "the reused decompressor read a frame differently") }
            guard content.count <= 1 << 20 else { throw Violation(description: "lz4 produced \(content.count) bytes over its bound") }
            let again: [UInt8]
            do { again = try LZ4Frame.decompress(try LZ4Frame.compress(content), maxOutput: 1 << 20) } catch {
                throw Violation(description: "lz4 content accepted but not recompressible: \(error)")
            }
            guard again == content else { throw Violation(description: "lz4 content changed in a round trip") }
        case .json:
            guard let value = try? Value(jsonBytes: bytes) else { return }
            guard let reparsed = try? Value(json: value.canonicalJSON), reparsed == value else {
                throw Violation(description: "JSON value changed in a round trip: \(value.canonicalJSON)")
            }
        }
    }

    static func checkMessage(_ payload: [UInt8]) throws(Violation) {
        guard let message = try? GossipMessage(payload: payload) else { return }
        guard let again = try? GossipMessage(payload: message.payload), again == message else {
            throw Violation(description: "gossip message changed in a round trip: \(String(decoding: message.payload, as: UTF8.self))")
        }
    }
}
