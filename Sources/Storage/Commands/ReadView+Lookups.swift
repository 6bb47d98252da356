import Governance
import Replication

/// The lookups every command and read starts from, refusing with `GovernanceError` (HTTP 404 or 403).
extension ReadView {
    /// The committee, or not found.
    public func requireCommittee(_ id: String) throws -> Committee {
        guard let committee = try committee(id) else { throw GovernanceError.notFound("committee \(id)") }
        return committee
    }

    /// An entity of `kind` and the committee it belongs to, or not found (also when it is of another kind).
    public func requireOwned(_ id: String, kind: EntityKind) throws -> (EntityRecord, Committee) {
        guard let record = try record(id), record.kind == kind, let cid = record.scope.committee else {
            throw GovernanceError.notFound("\(kind.rawValue) \(id)")
        }
        return (record, try requireCommittee(cid))
    }

    /// A post the actor may see, and the committee it is seen through: its own committee's, or for a district-wide
    /// post the actor's committee in that district (officers read it through the district itself). Not found otherwise.
    public func visiblePost(_ id: String, to actor: Actor) throws -> (Post, Committee) {
        guard let post = try post(id), !post.deleted else { throw GovernanceError.notFound("post \(id)") }
        let via: Committee
        switch post.scope {
        case .committee(let cid):
            via = try requireCommittee(cid)
        case .district(let district):
            if let cid = actor.committee, let own = try committee(cid), own.district == district {
                via = own
            } else {
                via = Committee(id: "", name: "", street: actor.role == .streetOfficer ? (actor.unit ?? "") : "", district: district)
            }
        default:
            throw GovernanceError.notFound("post \(id)")
        }
        guard post.isVisible(to: actor, via: via) else { throw GovernanceError.notFound("post \(id)") }
        return (post, via)
    }
}
