import Foundation
import GRDB
import Governance
import Replication

extension ReadView {
    /// Changes of one origin with sequence numbers after `afterSeq`, oldest first, at most `limit`.
    public func changes(origin: NodeID, afterSeq: UInt64, limit: Int) throws -> [Change] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM changes WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?"),
                         arguments: [origin, Int64(afterSeq), limit]).map(Self.change(from:))
    }

    /// Changes of one origin with sequence numbers in `seqs`, oldest first, at most `limit`.
    public func changes(origin: NodeID, seqs: ClosedRange<UInt64>, limit: Int, scopes: [Scope]? = nil) throws -> [Change] {
        guard let scopes else {
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM changes WHERE origin = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?"),
                                    arguments: [origin, Int64(seqs.lowerBound), Int64(seqs.upperBound), limit]).map(Self.change(from:))
        }
        let marks = Array(repeating: "?", count: max(scopes.count, 1)).joined(separator: ",")
        var arguments: StatementArguments = [origin, Int64(seqs.lowerBound), Int64(seqs.upperBound)]
        _ = arguments.append(contentsOf: StatementArguments(scopes.map(\.description)))
        _ = arguments.append(contentsOf: [limit])
        return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM changes WHERE origin = ? AND seq BETWEEN ? AND ? AND scope IN (\(marks)) ORDER BY seq LIMIT ?"),
                                arguments: arguments).map(Self.change(from:))
    }

    /// Changes of these origins that arrived here at or after `millis` (Unix ms), per origin oldest first.
    public func changes(origins: Set<NodeID>, arrivedSince millis: Int64) throws -> [Change] {
        try Row.fetchAll(db, sql: "SELECT * FROM changes WHERE received_at >= ? ORDER BY origin, seq", arguments: [millis])
            .filter { origins.contains($0["origin"]) }.map(Self.change(from:))
    }

    /// What this node holds or knows it need not hold, per origin; its own origin from its log.
    public func coverage() throws -> VersionVector {
        var vector = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT origin, contiguous, beyond FROM coverage") {
            let beyondText: String = row["beyond"]
            let beyond = Set(((try? Value(json: beyondText))?.list ?? []).compactMap { $0.int.map(UInt64.init) })
            vector.replace(row["origin"], with: OriginProgress(contiguous: UInt64(row["contiguous"] as Int64), beyond: beyond))
        }
        if let store { vector.replace(store.nodeID, with: OriginProgress(contiguous: try highestSequence(of: store.nodeID))) }
        return vector
    }

    /// The highest sequence number of `origin` in the log (0 for none). For this node's own origin the log
    /// has no gaps, so this is its contiguous mark.
    public func highestSequence(of origin: NodeID) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM changes WHERE origin = ?"), arguments: [origin]) ?? 0)
    }

    /// How many changes the log holds.
    /// The origins whose changes to `entity` are in the log (two for an automatic escalation both a street and its
    /// district wrote).
    public func writers(of entity: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT DISTINCT origin FROM changes WHERE entity = ? ORDER BY origin", arguments: [entity])
    }

    public func changeCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM changes") ?? 0
    }

    /// A digest of everything replicated for one committee: the merged cells of every entity in its scope,
    /// in a canonical order. Two replicas with equal digests hold identical state for the committee.
    public func digest(committee: String) throws -> String {
        // `kind IN (every kind)` lets SQLite probe the (kind, scope) index instead of scanning every entity: at the
        // city, a digest per committee for 6,077 committees.
        let kinds = EntityKind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ",")
        let rows = try Row.fetchCursor(db, sql: "SELECT id, cells FROM entities WHERE kind IN (\(kinds)) AND scope = ? ORDER BY id",
                                       arguments: [Scope.committee(committee).description])
        var text = ""
        while let row = try rows.next() {
            let entity: String = row[0]
            let cells = try Self.cells(row[1], of: entity)
            for field in cells.keysInCanonicalOrder {
                let cell = cells[field]!
                text += "\(entity)\u{1F}\(field)\u{1F}\(cell.value.canonicalJSON)\u{1F}\(Int64(cell.stamp.hlc.rawValue))\u{1F}\(cell.stamp.origin)\u{1E}"
            }
        }
        return Digest.hex(of: text)
    }

    /// Every change this node holds, by id, with when it arrived here (this node's clock, ms): what the simulator
    /// checks acknowledged writes and propagation against. Only those that arrived at `since` (ms) or later, if given.
    public func changeArrivals(since: Int64 = .min) throws -> [ChangeID: Int64] {
        var out: [ChangeID: Int64] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT origin, seq, received_at FROM changes WHERE received_at >= ?", arguments: [since])
        while let row = try rows.next() {
            let seq: Int64 = row[1]
            out[ChangeID(origin: row[0], seq: UInt64(seq))] = row[2]
        }
        return out
    }

    /// When each of these entities' first change arrived here (Unix ms), for the entities this node holds.
    public func firstArrivals(entities: [String]) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for chunk in stride(from: 0, to: entities.count, by: 500).map({ Array(entities[$0..<min($0 + 500, entities.count)]) }) {
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: "SELECT entity, min(received_at) FROM changes WHERE entity IN (\(marks)) GROUP BY entity",
                                        arguments: StatementArguments(chunk))
            for row in rows { out[row[0]] = row[1] }
        }
        return out
    }

    /// The committees of the residents whose personal records this node holds, with how many each.
    public func residentCommittees() throws -> [String: Int] {
        let rows = try Row.fetchAll(db, sql: "SELECT committee, count(*) FROM residents GROUP BY committee")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as String, $0[1] as Int) })
    }

    /// How many residents' personal records this node holds (only a street node holds any).
    public func residentCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM residents") ?? 0
    }

    /// Runs SQLite's integrity check; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
    }

    static func change(from row: Row) throws -> Change {
        let scopeText: String = row["scope"]
        guard let scope = Scope(scopeText), let op = FieldOp(rawValue: UInt8(clamping: row["op"] as Int64)) else {
            throw StorageError.corruptRow("change \(row["origin"] as String)#\(row["seq"] as Int64)")
        }
        let fieldsText: String = row["fields"]
        guard case .object(let fields)? = try? Value(json: fieldsText) else { throw StorageError.corruptRow("change fields") }
        let draft = ChangeDraft(scope: scope, kind: row["kind"], entity: row["entity"], op: op, fields: fields, author: row["author"])
        let signature: Data = row["signature"]
        return Change(id: ChangeID(origin: row["origin"], seq: UInt64(row["seq"] as Int64)), hlc: HLCTimestamp(rawValue: UInt64(row["hlc"] as Int64)),
                      draft: draft, signature: Array(signature))
    }
}

extension Store {
    /// Applies changes received from other nodes in one transaction (see `WriteTransaction.applyRemote`).
    public func applyRemote(_ changes: [Change]) throws -> RemoteApplyResult {
        try writeNow { tx in try tx.applyRemote(changes) }
    }
}
