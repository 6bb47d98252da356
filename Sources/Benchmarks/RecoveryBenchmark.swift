import Demo
import Foundation
import Gossip
import Replication
import Storage
import Wire

/// `shequ bench recovery`: the demo topology as real processes; one district and its streets are cut from the rest
/// (through every node's fault switch) while every street writes, then the network heals. Measured: the time from
/// healing until every committee's digest is equal at its street, its district and the city, and the bytes sent across
/// the cut meanwhile, divided by the LZ4-compressed size of the changes each node lacked at the heal.
public enum RecoveryBenchmark {
    public struct Result: Sendable {
        public var cutSeconds = 0.0
        public var posted = 0
        public var refused = 0
        public var district: NodeID = ""
        /// Changes each end lacked at the heal (those that arrived after it).
        public var missingChanges = 0
        public var missingPayloadBytes = 0
        public var missingCompressedBytes = 0
        public var convergedSeconds: Double?
        public var bytesMoved = 0
    }

    public static func run(changes: Int, cutSeconds: Double, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let federation = try await ProcessFederation.start(nodes: 7, directory: directory, executable: executable, faults: true, basePort: 12_000,
                                                         progress: progress)
        var result = Result()
        let district = federation.districts[0]
        result.district = district
        var healedAt: Int64 = 0
        // The district's subtree on one side, everything else on the other: a street pushes to the city directly too.
        let cutSide = Set([district] + federation.streets.filter { federation.topology.nodes[$0]?.parent == district })
        let others = Set(federation.topology.nodes.keys).subtracting(cutSide)
        func cut(_ on: Bool) async throws {
            for node in cutSide { try await federation.block(node, on ? others.sorted() : []) }
            for node in others { try await federation.block(node, on ? cutSide.sorted() : []) }
        }
        do {
            try await Task.sleep(for: .seconds(3))
            try await cut(true)
            let cutAt = Date()
            progress("cut \(district) and its streets from the rest; writing \(changes) notices in \(Int(cutSeconds)) s on both sides ...")
            let load = try await ReplicationBenchmark.load(federation, rate: Double(changes) / cutSeconds, seconds: cutSeconds)
            result.posted = load.posted
            result.refused = load.refused
            let before = try await sentAcross(federation, cutSide, others)
            healedAt = Int64(Date().timeIntervalSince1970 * 1_000)
            result.cutSeconds = Date().timeIntervalSince(cutAt)
            try await cut(false)
            let healed = ContinuousClock.now
            let deadline = healed + .seconds(60)
            while ContinuousClock.now < deadline {
                if await federation.converged() { result.convergedSeconds = (ContinuousClock.now - healed).seconds; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            result.bytesMoved = try await sentAcross(federation, cutSide, others) - before
            progress("healed; \(result.convergedSeconds.map { String(format: "equal digests after %.2f s", $0) } ?? "NOT converged in 60 s")")
        } catch {
            await federation.stop()
            throw error
        }
        await federation.stop()
        // What each node lacked at the heal: the other side's changes that arrived after it.
        for node in federation.topology.nodes.keys {
            let origins = cutSide.contains(node) ? others : cutSide
            let missing = try federation.store(node).readNow { try $0.changes(origins: origins, arrivedSince: healedAt) }
            result.missingChanges += missing.count
            for batch in Dictionary(grouping: missing, by: \.id.origin).values {
                for payload in GossipMessage.batches(batch, claimed: true).map(\.payload) {
                    result.missingPayloadBytes += payload.count
                    result.missingCompressedBytes += try LZ4Frame.compress(payload).count
                }
            }
        }
        return result
    }

    /// Wire bytes every node has sent to peers on the other side of the cut (`/v1/cluster/replication`).
    static func sentAcross(_ federation: ProcessFederation, _ one: Set<NodeID>, _ other: Set<NodeID>) async throws -> Int {
        var total = 0
        for node in one.union(other) {
            let (status, body) = try await federation.request("GET", try federation.endpoint(node).http + "/v1/cluster/replication", token: federation.officers[node])
            guard status == 200, let peers = (try? Value(jsonBytes: body))?["peers"].list else { throw BenchmarkFailure("replication at \(node): HTTP \(status)") }
            let across = one.contains(node) ? other : one
            for peer in peers where across.contains(peer["node"].string ?? "") { total += Int(peer["bytesSent"].int ?? 0) }
        }
        return total
    }

    public static func report(_ r: Result) -> String {
        let ratio = Double(r.bytesMoved) / Double(max(r.missingCompressedBytes, 1))
        return """
        partition recovery (the demo topology, 7 processes; \(r.district) and its streets cut from the rest for \(String(format: "%.1f", r.cutSeconds)) s while every street wrote \(r.posted) notices, \(r.refused) refused):
          lacking at the heal: \(r.missingChanges) changes, \(r.missingPayloadBytes) bytes encoded, \(r.missingCompressedBytes) bytes LZ4-compressed
          equal digests on every node: \(r.convergedSeconds.map { String(format: "%.2f s after healing", $0) } ?? "NOT within 60 s") — target ≤ 5 s: \((r.convergedSeconds ?? 99) <= 5 ? "met" : "MISSED")
          bytes sent across the cut meanwhile: \(r.bytesMoved) = \(String(format: "%.2f", ratio))× the compressed size of what was lacking — target ≤ 1.5×: \(ratio <= 1.5 ? "met" : "MISSED")

        """
    }
}
