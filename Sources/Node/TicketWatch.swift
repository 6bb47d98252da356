import Foundation
import Governance
import Logging
import Metrics
import ServiceLifecycle
import Storage

/// Runs the ticket watch every `interval` on street and district nodes (`WriteTransaction.watchTickets`): automatic
/// escalation by the configured rules, and overdue alerts to the street's officers; once an hour it also drops
/// notifications past their retention. A street and its district may both escalate one ticket during a partition:
/// they write the same event (`Ticket.automaticEscalationID`), so the federation ends with one.
public struct TicketWatch: Service {
    let store: Store
    let rules: [EscalationRule]
    let interval: Duration
    let logger: Logger

    static let escalated = Counter(label: "shequ_tickets_auto_escalated_total")
    static let alerted = Counter(label: "shequ_tickets_overdue_alerts_total")

    public init(store: Store, rules: [EscalationRule], interval: Duration = .seconds(60), logger: Logger) {
        self.store = store
        self.rules = rules
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // A graceful shutdown ends the wait between passes at once (the node stops within its drain time, not a minute).
        try? await cancelWhenGracefulShutdown { try await self.watch() }
    }

    private func watch() async throws {
        var passes = 0
        while !Task.isCancelled {
            if store.isRecovering {
                // A restored node writes nothing until it has its own changes back.
                try await Task.sleep(for: interval)
                continue
            }
            do {
                // Until a pass finds less than a batch, go on at once: a node back from a long outage catches up quickly.
                var result = TicketWatchResult()
                repeat {
                    let rules = self.rules
                    result = try await store.write { tx in try tx.watchTickets(rules: rules, nowMillis: tx.nowMillis) }
                    Self.escalated.increment(by: Int64(result.escalated))
                    Self.alerted.increment(by: Int64(result.alerted))
                    if result.escalated + result.alerted > 0 {
                        logger.info("ticket watch", metadata: ["escalated": "\(result.escalated)", "alerted": "\(result.alerted)"])
                    }
                } while result.more
                if passes % 60 == 0, store.keepsInboxes { try await store.pruneNotifications() }
            } catch {
                logger.error("ticket watch failed", metadata: ["error": "\(error)"])
            }
            passes += 1
            try await Task.sleep(for: interval)
        }
    }
}
