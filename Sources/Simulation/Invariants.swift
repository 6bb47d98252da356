import Foundation
import Gossip
import Governance
import Replication
import Storage

/// What the checks found, and the figures read along the way.
struct InvariantChecks {
    var results: [InvariantResult] = []
    var latencies: [Int64] = []
    var calmLatencies: [Int64] = []
    var stateDigest = ""
    /// Acknowledged changes that had not left a street when it lost its disk, and the entities they made.
    var lostWithDisk = 0
    var lostIDs: Set<ChangeID> = []
    var lostEntities: Set<String> = []
}

/// The invariants checked after healing and the quiet period, each against every replica that should hold the data.
struct Invariants {
    let sim: Simulator
    /// Entities created by changes lost with a disk (see `findLostWithDisk`): nowhere, rightly.
    var lost: Set<String> = []
    init(simulator: Simulator) { sim = simulator }

    var topology: Topology { sim.topology }

    func view<T>(_ node: NodeID, _ body: (ReadView) throws -> T) throws -> T { try sim.nodes[node]!.store.readNow(body) }

    /// The replicas of a committee: its street, its district, the city.
    func holders(ofCommittee committee: String) -> [NodeID] {
        guard let (street, district) = topology.location(ofCommittee: committee) else { return [] }
        return [street.id, district.id, topology.city.id]
    }

    func check() throws -> InvariantChecks {
        var out = InvariantChecks()
        let wiped = try wipedOriginsLogs()
        findLostWithDisk(&out, wiped)
        var checks = self
        checks.lost = out.lostEntities
        out.results.append(try checks.acknowledgedWrites(&out))
        out.results.append(checks.sequenceNumbersUsedOnce(wiped))
        out.results.append(try checks.committeeDigests(&out))
        out.results.append(try checks.districtPosts())
        out.results.append(try checks.ticketHistories())
        out.results.append(try checks.automaticEscalations())
        out.results.append(try checks.ballots())
        out.results.append(try checks.rollups())
        out.results.append(try checks.personalData())
        out.results.append(checks.relayedToTheCity())
        return out
    }

    /// Every acknowledged change is on every replica that holds its scope; and the propagation figures.
    func acknowledgedWrites(_ out: inout InvariantChecks) throws -> InvariantResult {
        var result = InvariantResult(name: "no acknowledged write lost", checked: 0, failures: [], terms: [])
        var arrivals: [NodeID: [ChangeID: Int64]] = [:]
        for id in sim.nodeIDs { arrivals[id] = try view(id) { try $0.changeArrivals() } }
        for (change, ack) in sim.workload.acknowledged.sorted(by: { ($0.key.origin, $0.key.seq) < ($1.key.origin, $1.key.seq) }) {
            if out.lostIDs.contains(change) { continue }
            for holder in sim.nodeIDs where topology.holds(holder, ack.scope) {
                result.checked += 1
                guard let arrived = arrivals[holder]![change] else {
                    result.failures.append("\(change.origin)#\(change.seq) (\(ack.scope)) is missing at \(holder)")
                    result.terms.append("\(change.origin)#\(change.seq) ")
                    continue
                }
                guard holder != change.origin else { continue }
                // A street restored empty receives again what was written before it lost its disk: not propagation.
                if let wipes = sim.wipes[holder], wipes.contains(where: { ack.millis < $0 }) { continue }
                let latency = arrived - sim.nodes[holder]!.skew - ack.millis
                out.latencies.append(latency)
                if ack.calm { out.calmLatencies.append(latency) }
            }
        }
        return result
    }

    /// Lost with a disk: changes a street acknowledged before it lost its disk that are on no node at all (they had
    /// not left the street) — the only loss allowed — and the entities they created, which the other checks skip.
    func findLostWithDisk(_ out: inout InvariantChecks, _ wiped: [(node: NodeID, changes: [Change])]) {
        let held = Set(wiped.flatMap { $0.changes.map(\.id) })
        let candidates = sim.workload.acknowledged.map { ($0.key, $0.value) } + sim.workload.superseded.map { ($0.id, $0.change) }
        for (id, ack) in candidates {
            guard let wipes = sim.wipes[id.origin], wipes.contains(where: { ack.millis < $0 }) else { continue }
            // Superseded changes are always gone (their id now names another); the rest when no node holds them.
            let current = sim.workload.acknowledged[id]?.signature == ack.signature
            guard !current || !held.contains(id) else { continue }
            out.lostWithDisk += 1
            if current { out.lostIDs.insert(id) }
            out.lostEntities.insert(ack.entity)
        }
    }

    /// After a street lost its disk and recovered, no sequence number of its origin names two changes: every node
    /// holds the same change (by signature) under each id, each acknowledged change is the one held under its id, and
    /// an id used again named, the first time, a change that no node holds (it was lost with the disk).
    func sequenceNumbersUsedOnce(_ wiped: [(node: NodeID, changes: [Change])]) -> InvariantResult {
        var result = InvariantResult(name: "no sequence number used twice after a restore", checked: 0, failures: [], terms: [])
        var superseded: [ChangeID: Set<[UInt8]>] = [:]
        for entry in sim.workload.superseded { superseded[entry.id, default: []].insert(entry.change.signature) }
        var held: [ChangeID: (NodeID, [UInt8])] = [:]
        for (node, changes) in wiped {
            for change in changes {
                let id = change.id
                result.checked += 1
                if let (other, signature) = held[id], signature != change.signature {
                    result.failures.append("\(id.origin)#\(id.seq) is one change at \(other) and another at \(node)")
                    result.terms.append("\(id.origin)#\(id.seq) ")
                }
                held[id] = (node, change.signature)
                if superseded[id]?.contains(change.signature) == true {
                    result.failures.append("\(id.origin)#\(id.seq) was used again while \(node) held its first change")
                    result.terms.append("\(id.origin)#\(id.seq) ")
                }
                if let ack = sim.workload.acknowledged[id], ack.signature != change.signature {
                    result.failures.append("\(id.origin)#\(id.seq) at \(node) is not the change acknowledged under that id")
                    result.terms.append("\(id.origin)#\(id.seq) ")
                }
            }
        }
        return result
    }

    /// Every node's log of the origins that lost their disk, read once for the two checks above.
    func wipedOriginsLogs() throws -> [(node: NodeID, changes: [Change])] {
        try sim.nodeIDs.map { node in
            (node, try view(node) { view in try sim.wipes.keys.sorted().flatMap { try view.changes(origin: $0, afterSeq: 0, limit: .max) } })
        }
    }

    /// A street cut from the city only is not lost to the city: the district relays it (checked as each such cut ends).
    func relayedToTheCity() -> InvariantResult {
        var result = InvariantResult(name: "the city's lag for a street cut only from the city stays within the district's", checked: 0, failures: [], terms: [])
        for check in sim.relayChecks {
            result.checked += 1
            if let failure = check.failure { result.failures.append(failure); result.terms.append("partition \(check.partition)") }
        }
        return result
    }

    /// Every replica of a committee has the same digest of its state.
    func committeeDigests(_ out: inout InvariantChecks) throws -> InvariantResult {
        var result = InvariantResult(name: "identical committee digests on street, district and city", checked: 0, failures: [], terms: [])
        var all = ""
        for committee in topology.committeeOwner.keys.sorted() {
            let digests = try holders(ofCommittee: committee).map { node in (node, try view(node) { try $0.digest(committee: committee) }) }
            result.checked += 1
            all += digests[0].1
            if Set(digests.map(\.1)).count > 1 {
                result.failures.append("\(committee): " + digests.map { "\($0.0) \($0.1.prefix(8))" }.joined(separator: ", "))
                result.terms.append(committee)
                result.terms.append(contentsOf: try divergentEntities(committee, digests.map(\.0)))
            }
        }
        out.stateDigest = Digest.hex(of: all)
        return result
    }

    /// The entities of a committee whose merged cells differ between replicas (for the failure trace).
    func divergentEntities(_ committee: String, _ replicas: [NodeID]) throws -> [String] {
        var seen: [String: Set<String>] = [:]
        for node in replicas {
            let records = try view(node) { try $0.records(where: "scope = ?", [Scope.committee(committee).description], limit: 100_000) }
            for record in records {
                let text = record.cells.keys.sorted().map { "\($0)=\(record.cells[$0]!.value.canonicalJSON)@\(record.cells[$0]!.stamp.hlc.rawValue)" }.joined(separator: ";")
                seen[record.id, default: []].insert(text)
            }
        }
        return seen.filter { $0.value.count > 1 }.keys.sorted()
    }

    /// District-wide posts (edited concurrently at the district and the city) read the same everywhere they are held.
    func districtPosts() throws -> InvariantResult {
        var result = InvariantResult(name: "district-wide posts and their threads identical on the district, its streets and the city", checked: 0, failures: [], terms: [])
        for (district, posts) in sim.workload.districtPosts.sorted(by: { $0.key < $1.key }) {
            let replicas = sim.nodeIDs.filter { $0 == district || $0 == topology.city.id || topology.nodes[$0]!.parent == district }
            for post in posts where !lost.contains(post) {
                // The post and its whole thread: residents of every street of the district comment and like it.
                let versions = try replicas.map { node in
                    try view(node) { view in
                        try view.post(post).map { p in
                            "\(p.title)|\(p.body)|\(p.deleted)|comments \(try view.comments(post: post).map(\.id).sorted().joined(separator: ","))|likes \(try view.likeCount(post: post))"
                        } ?? "missing"
                    }
                }
                result.checked += 1
                if Set(versions).count > 1 {
                    result.failures.append("\(post): " + zip(replicas, versions).map { "\($0) “\($1)”" }.joined(separator: ", "))
                    result.terms.append(post)
                }
            }
        }
        return result
    }

    /// Every ticket has the same history (and so the same stage, level and assignee) on every replica.
    func ticketHistories() throws -> InvariantResult {
        var result = InvariantResult(name: "ticket histories identical on every replica", checked: 0, failures: [], terms: [])
        for state in sim.workload.committees where !state.tickets.isEmpty {
            for ticket in state.tickets where !lost.contains(ticket) {
                let histories = try holders(ofCommittee: state.committee.id).map { node in
                    try view(node) { view in
                        try view.ticket(ticket).map { t in "\(t.stage.rawValue)/\(t.level.name)/\(t.assignee ?? "-"): " + t.history.map(\.id).joined(separator: ",") } ?? "missing"
                    }
                }
                result.checked += 1
                if Set(histories).count > 1 {
                    result.failures.append("\(ticket): " + histories.joined(separator: " | "))
                    result.terms.append(ticket)
                }
            }
        }
        return result
    }

    /// Automatic escalation: on every replica each ticket holds at most one automatic event per rule, under the rule's
    /// id — however many nodes saw the deadline pass and wrote it (counted: two writers merged into one event) — and
    /// every ticket still open well past a rule's deadline stands at the rule's level or above.
    func automaticEscalations() throws -> InvariantResult {
        var result = InvariantResult(name: "one automatic escalation per rule per ticket, every overdue open ticket escalated", checked: 0, failures: [], terms: [])
        // A deadline is seen on a node's own clock against the ticket's hybrid stamp, which may run ahead of its street's
        // clock by as much as the fastest clock in the federation: allow that, a watch interval and ten seconds.
        let fastest = sim.nodes.values.map(\.skew).max() ?? 0
        let rules = sim.options.escalationRules
        var mergedTwice = 0, overdueChecked = 0
        for state in sim.workload.committees where !state.tickets.isEmpty {
            for id in state.tickets where !lost.contains(id) {
                for node in holders(ofCommittee: state.committee.id) {
                    guard let ticket = try view(node, { try $0.ticket(id) }) else { continue }
                    result.checked += 1
                    let automatic = ticket.history.filter { $0.actor == Ticket.systemActor }
                    let expected = Set(rules.map { Ticket.automaticEscalationID(ticket: id, level: $0.level) })
                    if automatic.count != Set(automatic.map(\.id)).count || !Set(automatic.map(\.id)).isSubset(of: expected) {
                        result.failures.append("\(id) at \(node): automatic events \(automatic.map(\.id))")
                        result.terms.append(id)
                    }
                    let (street, district) = (state.street, state.district)
                    let slowest = min(sim.nodes[street]!.skew, sim.nodes[district]!.skew)
                    let margin = Simulator.watchInterval + 10_000 + max(0, fastest - slowest)
                    for rule in rules where ticket.stage.isOpen && ticket.createdMillis + rule.afterMillis + margin < sim.end {
                        overdueChecked += 1
                        guard ticket.level < rule.level else { continue }
                        result.failures.append("\(id) at \(node): open at \(ticket.level.name), past the \(rule.level.name) rule's deadline")
                        result.terms.append(id)
                    }
                    if node == topology.city.id {
                        for event in automatic where try view(node, { try $0.writers(of: event.id) }).count > 1 { mergedTwice += 1 }
                    }
                }
            }
        }
        result.name += " (\(sim.stats.automaticEscalations) written, \(mergedTwice) by two nodes merged into one; \(overdueChecked) overdue checks)"
        return result
    }

    /// Each poll's count, on every replica, equals a count from the raw ballots by the rule, written out again here:
    /// each voter's latest ballot among those stamped after the opening, before the close and before a hand close.
    /// So no voter counts twice and no ballot counts after the close.
    func ballots() throws -> InvariantResult {
        var result = InvariantResult(name: "no ballot counted twice or after the close (poll rollups = brute force)", checked: 0, failures: [], terms: [])
        for state in sim.workload.committees where !state.polls.isEmpty {
            for pollID in state.polls where !lost.contains(pollID) {
                for node in holders(ofCommittee: state.committee.id) {
                    let (poll, raw, row) = try view(node) { view in (try view.poll(pollID), try view.ballots(poll: pollID), try view.pollResult(pollID, nowMillis: sim.end)) }
                    guard let poll, let row else {
                        result.failures.append("\(pollID) missing at \(node)")
                        result.terms.append(pollID)
                        continue
                    }
                    var latest: [String: Ballot] = [:]
                    for ballot in raw {
                        let millis = Int64(ballot.stamp.hlc.millis)
                        guard millis >= poll.opensAtMillis, millis < poll.closesAtMillis else { continue }
                        if let closed = poll.closedStamp, !(ballot.stamp < closed) { continue }
                        if let current = latest[ballot.voter], !(current.stamp < ballot.stamp) { continue }
                        latest[ballot.voter] = ballot
                    }
                    var counts: [String: Int] = [:]
                    for ballot in latest.values { for choice in ballot.choices { counts[choice, default: 0] += 1 } }
                    let expected = poll.options.map { "\($0)=\(counts[$0] ?? 0)" }.joined(separator: " ") + " voters=\(latest.count)"
                    let rolled = row.results.map { "\($0.option)=\($0.votes)" }.joined(separator: " ") + " voters=\(row.ballots)"
                    let tally = poll.tally(raw)
                    let domain = poll.options.map { "\($0)=\(tally.counts[$0] ?? 0)" }.joined(separator: " ") + " voters=\(tally.ballots)"
                    result.checked += 1
                    if expected != rolled || expected != domain {
                        result.failures.append("\(pollID) at \(node): brute force \(expected); rollup \(rolled); Poll.tally \(domain)")
                        result.terms.append(pollID)
                    }
                }
            }
        }
        return result
    }

    /// The ticket and participation rollups on every node equal a recount from the entities it holds.
    func rollups() throws -> InvariantResult {
        var result = InvariantResult(name: "rollups equal to brute force on every node", checked: 0, failures: [], terms: [])
        for node in sim.nodeIDs {
            let info = topology.nodes[node]!
            let scope: RollupScope = switch info.role {
            case .city: .city
            case .district: .district(info.unit!)
            case .street: .street(info.unit!)
            }
            // Committees the workload never touched hold nothing to count: they must have no rollup rows at all.
            let held = sim.workload.committees.filter { $0.ready && topology.holds(node, .committee($0.committee.id)) }
            let touched = Set(held.map(\.committee.id))
            try view(node) { view in
                let tickets = Dictionary(uniqueKeysWithValues: try view.ticketRollup(groupBy: .committee, scope: scope).map { ($0.key, $0.byStage.filter { $0.value != 0 }) })
                let members = Dictionary(uniqueKeysWithValues: try view.participationRollup(groupBy: .committee, scope: scope).map { ($0.key, $0.members) })
                for stray in Set(tickets.keys).union(members.keys).subtracting(touched).sorted() {
                    result.failures.append("\(node) has rollup rows for \(stray), where nothing happened")
                }
                for state in held {
                    let cid = state.committee.id
                    var stages: [String: Int] = [:]
                    for ticket in try view.tickets(committee: cid, limit: 100_000) { stages[ticket.stage.rawValue, default: 0] += 1 }
                    let approved = try view.members(committee: cid, status: .approved).filter { !$0.role.isOfficer }.count
                    result.checked += 1
                    if (tickets[cid] ?? [:]) != stages {
                        result.failures.append("\(node) tickets of \(cid): rollup \(tickets[cid] ?? [:]) ≠ recount \(stages)")
                        result.terms.append(cid)
                    }
                    if (members[cid] ?? 0) != approved {
                        result.failures.append("\(node) members of \(cid): rollup \(members[cid] ?? 0) ≠ recount \(approved)")
                        result.terms.append(cid)
                    }
                }
            }
        }
        return result
    }

    /// Residents' personal data is only on the street that owns their committee.
    func personalData() throws -> InvariantResult {
        var result = InvariantResult(name: "personal data only on the owning street", checked: 0, failures: [], terms: [])
        for node in sim.nodeIDs {
            let committees = try view(node) { try $0.residentCommittees() }
            result.checked += 1
            for (committee, count) in committees.sorted(by: { $0.key < $1.key }) where topology.committeeOwner[committee] != node {
                result.failures.append("\(node) holds \(count) residents' personal records of \(committee)")
            }
        }
        return result
    }
}
