import Governance
import Replication

/// 随手拍 tickets: raised by a resident, then moved through their stages by cadres and officers (and rated by the
/// resident); each step is an event in the ticket's history.
extension WriteTransaction {
    /// A new ticket; `id` is minted unless given (a replayed history names its entities ahead).
    public mutating func raiseTicket(_ input: TicketInput, committee committeeID: String, by actor: Actor, id: String? = nil) throws -> Ticket {
        let committee = try view.requireCommittee(committeeID)
        let id = id ?? mintID(.ticket)
        try append(try Ticket.create(input, in: committee, by: actor, id: id))
        return try view.ticket(id)!
    }

    /// One step of a ticket's history, by its reporter or the committee's staff (anyone else: not found).
    public mutating func ticketEvent(_ type: TicketEventType, ticket id: String, note: String = "", assignee: String? = nil, rating: Int? = nil,
                                     by actor: Actor) throws -> Ticket {
        let (_, committee) = try view.requireOwned(id, kind: .ticket)
        let ticket = try view.ticket(id)!
        guard actor.isStaff(of: committee) || ticket.reporter == actor.memberID else { throw GovernanceError.notFound("ticket \(id)") }
        // The district platform dispatches to its departments, named as configured, so their work can be listed.
        let departments = store.departments
        if type == .assign, actor.role == .districtOfficer, !departments.isEmpty, !departments.contains(assignee ?? "") {
            throw GovernanceError.invalid("assignee", "one of the district's departments: \(departments.joined(separator: "、"))")
        }
        try append(try ticket.event(type, note: note, assignee: assignee, rating: rating, in: committee, by: actor, id: mintID(.ticketEvent)))
        return try view.ticket(id)!
    }
}
