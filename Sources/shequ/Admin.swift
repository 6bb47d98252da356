import ArgumentParser
import Foundation
import Governance
import Node
import Replication
import Storage

/// `shequ admin ...`: administer a node's data directory (committees, join codes, staff accounts).
struct Admin: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create committees, join codes and staff accounts on a node's data directory.",
        subcommands: [CreateCommittee.self, CreateStaff.self, JoinCode.self, Revoke.self, Check.self, Keygen.self, RotateKey.self, Backup.self, Restore.self]
    )

    struct NodeOptions: ParsableArguments {
        @Option(help: "The node's data directory (holding node.sqlite).")
        var data: String
        @Option(help: "The node's id, as in its configuration.")
        var node: String
        @Option(help: "The node's private key: what this command writes is signed with it, as the node signs its own writes.")
        var key: String?
        @Flag(help: "The node has no topology (it replicates nowhere), so its writes need no signature.")
        var standalone = false

        /// The node's database, for commands that only read or touch local tables.
        func open() throws -> Store {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            return try Store(path: (data as NSString).appendingPathComponent("node.sqlite"), nodeID: node,
                             signer: try key.map { try NodeKey.signer(path: $0) },
                             ballotSecret: try key.flatMap { try NodeKey.ballotSecret(keyPath: $0) })
        }

        /// The node's database, for commands that write changes: every peer refuses an unsigned change, so a key is
        /// required unless the node is standalone.
        func openSigning() throws -> Store {
            guard key != nil || standalone else {
                throw ValidationError("--key is required: peers refuse a change without the node's signature (--standalone for a node without a topology)")
            }
            return try open()
        }
    }

    struct CreateCommittee: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "committee", abstract: "Create (or rename) a committee and print its join code.")
        @OptionGroup var options: NodeOptions
        @Option(help: "The committee id (letters, digits, - _ .).") var id: String
        @Option(help: "The committee's name, e.g. 月浦七村居委会.") var name: String
        @Option(help: "The street id.") var street: String
        @Option(help: "The district id.") var district: String

        func validate() throws {
            guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw ValidationError("--id: letters, digits, - _ . (at most 64)")
            }
            guard !name.isEmpty, name.count <= 100 else { throw ValidationError("--name: 1 to 100 characters") }
        }

        func run() throws {
            let store = try options.openSigning()
            let committee = Committee(id: id, name: name, street: street, district: district)
            let code = try store.writeNow { tx in
                try tx.append(Committee.define(committee, author: store.nodeID))
                return try tx.view.joinCode(committee: id) ?? tx.setJoinCode(committee: id)
            }
            print("committee \(id) \(name): join code \(code)")
        }
    }

    struct CreateStaff: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "staff", abstract: "Create a staff account (cadre, secretary, partner or officer) and print its token.")
        @OptionGroup var options: NodeOptions
        @Option(help: "One of: \(Role.allCases.filter { $0 != .resident }.map(\.rawValue).joined(separator: ", ")).") var role: String
        @Option(help: "The name shown to residents.") var name: String
        @Option(help: "The committee (committee roles).") var committee: String?
        @Option(help: "The street or district id (officers).") var unit: String?

        func run() throws {
            guard let role = Role(rawValue: role), role != .resident else { throw ValidationError("--role: not a staff role") }
            if role.isCommitteeRole, committee == nil { throw ValidationError("--committee is required for \(role.rawValue)") }
            if role == .streetOfficer || role == .districtOfficer, unit == nil { throw ValidationError("--unit is required for \(role.rawValue)") }
            let store = try options.openSigning()
            let id = store.mintID(.member)
            let scope: Scope = switch role {
            case .streetOfficer: .street(unit!)
            case .districtOfficer: .district(unit!)
            case .cityOfficer: .city
            default: .committee(committee!)
            }
            let token = try store.writeNow { tx in
                if let committee, try tx.view.committee(committee) == nil { throw ValidationError("no committee \(committee) on this node") }
                try tx.append(Member.staff(id: id, role: role, displayName: name, committee: role.isCommitteeRole ? committee : nil,
                                           unit: role.isOfficer ? unit : nil, scope: scope, author: store.nodeID))
                return try tx.issueToken(member: id)
            }
            print("member \(id) (\(role.rawValue))")
            print("token \(token)")
        }
    }

    struct JoinCode: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "join-code", abstract: "Print a committee's join code, or issue a new one.")
        @OptionGroup var options: NodeOptions
        @Option(help: "The committee id.") var committee: String
        @Flag(help: "Replace the code with a new one (old QR posters stop working).") var rotate = false

        func run() throws {
            let store = try options.open()
            let code = try store.writeNow { tx -> String in
                guard try tx.view.committee(committee) != nil else { throw ValidationError("no committee \(committee) on this node") }
                if !rotate, let code = try tx.view.joinCode(committee: committee) { return code }
                return try tx.setJoinCode(committee: committee)
            }
            print(code)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every bearer token of a member (a lost phone, staff who left); a new one is issued with `staff`.")
        @OptionGroup var options: NodeOptions
        @Option(help: "The member id (m_...).") var member: String

        func run() throws {
            let revoked = try options.open().writeNow { tx in try tx.revokeTokens(member: member) }
            guard revoked > 0 else { throw ValidationError("member \(member) has no token on this node") }
            print("revoked \(revoked) token\(revoked == 1 ? "" : "s") of \(member)")
        }
    }

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a node's database while it serves (SQLite's online backup API) into a new file, and check the copy.")
        @OptionGroup var options: NodeOptions
        @Option(help: "The backup file to create (it must not exist).") var out: String

        func run() throws {
            let started = Date()
            var lastPercent = -1
            try options.open().backup(to: out) { done, total in
                let percent = total == 0 ? 100 : done * 100 / total
                if percent / 10 != lastPercent / 10 { print("backup: \(done)/\(total) pages (\(percent)%)") }
                lastPercent = percent
            }
            let copy = try Store(path: out, nodeID: options.node)
            let (integrity, changes, residents) = try copy.readNow { (try $0.integrityCheck(), try $0.changeCount(), try $0.residentCount()) }
            guard integrity == "ok" else { throw ValidationError("the copy failed SQLite's integrity check: \(integrity)") }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print(String(format: "backup of %@ in %@: %d changes, %d residents, %.1f MB, integrity ok, %.1f s",
                         options.node, out, changes, residents, Double(size) / 1_048_576, Date().timeIntervalSince(started)))
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a street node back after its disk was lost: from its backup, or empty with --empty; it then fetches its changes back from its district and the city before taking writes.",
            discussion: """
            Run with the node stopped. The node starts in recovery: it serves reads, answers writes with 503 `recovering`, \
            and fetches everything its district and the city hold of its committees — including its own writes made after \
            the backup — by ordinary anti-entropy. It takes writes again once both have shown they hold nothing of its own \
            beyond its log. Residents' personal data and join codes never leave the street: they come back only from the \
            backup (--empty loses them, and residents must join again). With --key, the ballot secret kept beside the key \
            (keys/<id>.ballot) is the new database's, so secret ballots cast before the loss stay each voter's own.
            """)
        @OptionGroup var options: NodeOptions
        @Option(help: "The backup file made by `shequ admin backup`.") var from: String?
        @Flag(help: "Start from an empty database (no backup): everything but residents' personal data comes back.") var empty = false

        func validate() throws {
            guard (from != nil) != empty else { throw ValidationError("give either --from BACKUP or --empty") }
        }

        func run() throws {
            let path = (options.data as NSString).appendingPathComponent("node.sqlite")
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                throw ValidationError("\(path + suffix) exists: stop the node and move its files aside first")
            }
            try FileManager.default.createDirectory(atPath: options.data, withIntermediateDirectories: true)
            if let from {
                let backup = try Store(path: from, nodeID: options.node)
                try backup.backup(to: path)
            }
            let secret = try options.key.flatMap { try NodeKey.ballotSecret(keyPath: $0) }
            if empty, secret == nil {
                print("warning: no ballot secret backup (--key keys/<id>.key with keys/<id>.ballot beside it): a new one is made, and a resident who votes again in an open secret poll counts twice")
            }
            let store = try Store(path: path, nodeID: options.node, ballotSecret: secret)
            try store.beginRecovery()
            let (changes, residents) = try store.readNow { (try $0.changeCount(), try $0.residentCount()) }
            print("restored \(options.node) into \(path): \(changes) changes, \(residents) residents; start it to recover the rest from its district and the city")
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a node's Ed25519 key; prints the public key for the topology.")
        @Option(help: "Where to write the private key (created with mode 0600).") var out: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; refusing to overwrite a node key") }
            print(try NodeKey.generate(path: out))
        }
    }

    struct RotateKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Replace a stopped node's key (a compromised laptop): writes a new key over --key and prints it with the last sequence number the old one signed.",
            discussion: """
            Run with the node stopped, then `shequ cluster rotate-key` with what this prints, then reload the topology on \
            the node's peers (SIGHUP) and start the node. The ballot secret beside the key stays as it is.
            """)
        @OptionGroup var options: NodeOptions

        func run() throws {
            guard let keyPath = options.key else { throw ValidationError("--key is required: the key file to replace") }
            let path = (options.data as NSString).appendingPathComponent("node.sqlite")
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no database at \(path)") }
            let store = try Store(path: path, nodeID: options.node)
            let through = try store.readNow { try $0.highestSequence(of: options.node) }
            let old = try NodeKey.load(path: keyPath).publicKey.rawRepresentation.base64EncodedString()
            let new = try NodeKey.replace(path: keyPath)
            print("old-public-key \(old)")
            print("public-key \(new)")
            print("through \(through)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: "Run SQLite's integrity check and print each committee's digest.")
        @OptionGroup var options: NodeOptions

        func run() throws {
            let store = try options.open()
            try store.readNow { view in
                print("integrity_check: \(try view.integrityCheck())")
                print("changes: \(try view.changeCount())")
                for committee in try view.committees() { print("\(committee.id) \(try view.digest(committee: committee.id))") }
            }
        }
    }
}
