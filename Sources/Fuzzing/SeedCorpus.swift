import Gossip
import NIOCore
import Replication
import Wire

/// Inputs a fuzzing run starts from: real messages of each kind, framed as a connection carries them (small ones as
/// they are, large ones LZ4-compressed), and JSON bodies like residents send. Each is prefixed with the byte that picks
/// its decoder (`DecoderChecks.Target`).
public enum SeedCorpus {
    /// Named inputs, in a stable order.
    public static func inputs() -> [(name: String, bytes: [UInt8])] {
        let messages = sampleMessages()
        var inputs: [(String, [UInt8])] = []
        for (name, message) in messages {
            inputs.append(("message-\(name)", [DecoderChecks.Target.gossipMessage.rawValue] + message.payload))
        }
        // A stream of every message back to back, then one frame cut short, as a dropped connection leaves it.
        var stream = ByteBuffer()
        for (_, message) in messages { try? Frame.write(message.payload, into: &stream) }
        let whole = Array(stream.readableBytesView)
        inputs.append(("stream-all", [DecoderChecks.Target.frameStream.rawValue] + whole))
        inputs.append(("stream-truncated", [DecoderChecks.Target.frameStream.rawValue] + whole.dropLast(7)))
        if let big = messages.last, let compressed = try? LZ4Frame.compress(big.1.payload) {
            inputs.append(("lz4-changes", [DecoderChecks.Target.lz4Frame.rawValue] + compressed))
        }
        for (name, json) in [
            ("post", #"{"title":"楼道灯坏了","body":"三楼 🌙 مرحبا e\u0301","category":"facilities","tags":[1,2.5,-3e2,true,null]}"#),
            ("ballot", #"{"choices":["同意"]}"#),
            ("nested", #"[[[{"a":{"b":[{}]}}]],"\ud83d\ude00",0.1,1e-7,9007199254740993]"#),
        ] {
            inputs.append(("json-\(name)", [DecoderChecks.Target.json.rawValue] + Array(json.utf8)))
        }
        return inputs
    }

    static func sampleMessages() -> [(String, GossipMessage)] {
        var vector = VersionVector()
        for seq in [1, 2, 3, 7, 9] as [UInt64] { _ = vector.insert(ChangeID(origin: "street.yuepu", seq: seq)) }
        _ = vector.insert(ChangeID(origin: "district.baoshan", seq: 1))
        let changes = (1...12).map(sampleChange)
        let update = SWIM.Update(node: "street.gucun", status: .suspect, incarnation: 3)
        return [
            ("hello", .hello(node: "street.yuepu", nonce: Array(0..<32))),
            ("welcome", .welcome(node: "district.baoshan", nonce: Array(32..<64), proof: Array(repeating: 7, count: 64))),
            ("proof", .proof(Array(repeating: 9, count: 64))),
            ("sync", .sync(vector)),
            ("ping", .swim(.ping(seq: 41, updates: [update]))),
            ("ack", .swim(.ack(seq: 41, target: "city", updates: []))),
            ("ping-req", .swim(.pingRequest(seq: 42, target: "street.gucun", updates: [update]))),
            ("nack", .swim(.nack(seq: 43))),
            ("changes", .changes(changes, claims: ["street.yuepu": .init(from: 1, through: 12)])),
        ]
    }

    static func sampleChange(_ i: Int) -> Change {
        let fields: [String: Value] = ["title": .string("第\(i)条：加装电梯意见征询"), "likes": .int(Int64(i)), "open": .bool(i % 2 == 0)]
        let draft = ChangeDraft(scope: .committee("yuepu-07"), kind: "post", entity: "p_01m5pdfgzn\(i)", op: i % 5 == 0 ? .remove : .assign,
                                fields: fields, author: "m_01m5pdfgznf3q5fwad")
        let stamp = HLCTimestamp(millis: 1_780_000_000_000 + UInt64(i) * 1_000, counter: UInt16(i % 3))
        return Change(id: ChangeID(origin: "street.yuepu", seq: UInt64(i)), hlc: stamp, draft: draft, signature: Array(repeating: UInt8(i), count: 64))
    }
}
