import GRDB

/// The schema. Migrations are frozen once shipped: a change of schema is a new migration,
/// and none of them uses app types (GRDB's Migrations guide).
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-change-log") { db in
            // Every change this node made or received, keyed by (origin, seq). Replicated as is.
            try db.execute(sql: """
                CREATE TABLE changes (
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    scope TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    entity TEXT NOT NULL,
                    op INTEGER NOT NULL,
                    fields TEXT NOT NULL,
                    author TEXT NOT NULL,
                    signature BLOB NOT NULL,
                    received_at INTEGER NOT NULL,
                    PRIMARY KEY (origin, seq)
                ) WITHOUT ROWID;
                CREATE INDEX changes_by_scope ON changes(scope, hlc);

                -- The merged state: one row per (entity, field), with the stamp that won.
                CREATE TABLE cells (
                    entity TEXT NOT NULL,
                    field TEXT NOT NULL,
                    value TEXT NOT NULL,
                    hlc INTEGER NOT NULL,
                    origin TEXT NOT NULL,
                    op INTEGER NOT NULL,
                    PRIMARY KEY (entity, field)
                ) WITHOUT ROWID;

                -- The entity index: what each entity is, where it hangs, and what lists filter on.
                CREATE TABLE entities (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    parent TEXT,
                    created INTEGER NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    status TEXT
                ) WITHOUT ROWID;
                CREATE INDEX entities_by_scope ON entities(kind, scope, created);
                CREATE INDEX entities_by_parent ON entities(parent, kind, created);
                CREATE INDEX entities_by_status ON entities(kind, scope, status);

                -- Local only, never turned into changes: residents' personal data (mission.md).
                CREATE TABLE residents (
                    member TEXT PRIMARY KEY NOT NULL,
                    committee TEXT NOT NULL,
                    real_name TEXT NOT NULL,
                    phone TEXT NOT NULL,
                    building TEXT NOT NULL,
                    room TEXT NOT NULL,
                    birth_year INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Local only: bearer tokens, stored as SHA-256 hashes.
                CREATE TABLE tokens (
                    hash TEXT PRIMARY KEY NOT NULL,
                    member TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX tokens_by_member ON tokens(member);

                -- Local only: each committee's join code (printed on its QR poster).
                CREATE TABLE join_codes (
                    committee TEXT PRIMARY KEY NOT NULL,
                    code TEXT NOT NULL UNIQUE
                ) WITHOUT ROWID;

                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2-coverage") { db in
            // Per origin: what this node holds, or knows it need not hold (see Gossip's SyncPlanner).
            try db.execute(sql: """
                CREATE TABLE coverage (
                    origin TEXT PRIMARY KEY NOT NULL,
                    contiguous INTEGER NOT NULL,
                    beyond TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-ticket-rollups") { db in
            // Maintained in the transaction that applies changes (ChangeApplier), never recomputed on a request.
            try db.execute(sql: """
                -- Where each committee sits, for grouping by street and district.
                CREATE TABLE committee_units (
                    committee TEXT PRIMARY KEY NOT NULL,
                    street TEXT NOT NULL,
                    district TEXT NOT NULL
                ) WITHOUT ROWID;

                -- One row per ticket: what it contributes to the rollups now.
                CREATE TABLE ticket_facts (
                    ticket TEXT PRIMARY KEY NOT NULL,
                    committee TEXT NOT NULL,
                    category TEXT NOT NULL,
                    day TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    level INTEGER NOT NULL,
                    created_ms INTEGER NOT NULL,
                    first_response_ms INTEGER,
                    resolved INTEGER NOT NULL,
                    waiting INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX ticket_facts_waiting ON ticket_facts(waiting, created_ms);

                -- Tickets by committee, category, day of creation (Shanghai time) and stage.
                CREATE TABLE rollup_tickets (
                    committee TEXT NOT NULL,
                    category TEXT NOT NULL,
                    day TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (committee, category, day, stage)
                ) WITHOUT ROWID;

                -- Per committee: first responses within the 15-hour SLA, resolutions, and where they were solved.
                CREATE TABLE rollup_sla (
                    committee TEXT PRIMARY KEY NOT NULL,
                    tickets INTEGER NOT NULL,
                    responded INTEGER NOT NULL,
                    responded_in_time INTEGER NOT NULL,
                    resolved INTEGER NOT NULL,
                    resolved_in_committee INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Per committee: first-response times in minutes, in power-of-two buckets, for p50 and p90.
                CREATE TABLE rollup_first_response (
                    committee TEXT NOT NULL,
                    bucket INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (committee, bucket)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-community-rollups") { db in
            try db.execute(sql: """
                -- When a ticket was resolved, and resolution times in minutes, in power-of-two buckets, for p50 and p90.
                ALTER TABLE ticket_facts ADD COLUMN resolved_ms INTEGER;
                CREATE TABLE rollup_resolution (
                    committee TEXT NOT NULL,
                    bucket INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (committee, bucket)
                ) WITHOUT ROWID;

                -- Hot topics. One row per post, comment or like that counts now (live, on a live post), with the
                -- unit it was written in (a committee, or `d:<id>` for district-wide boards), the post's category and its day.
                CREATE TABLE activity_facts (
                    entity TEXT PRIMARY KEY NOT NULL,
                    post TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    category TEXT NOT NULL,
                    day TEXT NOT NULL,
                    kind TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX activity_facts_by_post ON activity_facts(post);
                -- Posts, comments and likes per day, unit and category: windows are ranges of days.
                CREATE TABLE rollup_activity (
                    day TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    category TEXT NOT NULL,
                    posts INTEGER NOT NULL,
                    comments INTEGER NOT NULL,
                    likes INTEGER NOT NULL,
                    PRIMARY KEY (day, unit, category)
                ) WITHOUT ROWID;
                -- Per live post: its comments and likes, for the ranking of posts.
                CREATE TABLE post_activity (
                    post TEXT PRIMARY KEY NOT NULL,
                    unit TEXT NOT NULL,
                    category TEXT NOT NULL,
                    day TEXT NOT NULL,
                    comments INTEGER NOT NULL,
                    likes INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX post_activity_by_day ON post_activity(day);

                -- Participation. One row per approved member of a committee.
                CREATE TABLE member_facts (
                    member TEXT PRIMARY KEY NOT NULL,
                    committee TEXT NOT NULL,
                    household TEXT,
                    under50 INTEGER NOT NULL,
                    party INTEGER NOT NULL,
                    volunteer INTEGER NOT NULL
                ) WITHOUT ROWID;
                -- Approved members per household (a pseudonym), so households are counted without a scan.
                CREATE TABLE household_members (
                    committee TEXT NOT NULL,
                    household TEXT NOT NULL,
                    members INTEGER NOT NULL,
                    PRIMARY KEY (committee, household)
                ) WITHOUT ROWID;
                CREATE TABLE rollup_participation (
                    committee TEXT PRIMARY KEY NOT NULL,
                    members INTEGER NOT NULL,
                    households INTEGER NOT NULL,
                    under50 INTEGER NOT NULL,
                    party INTEGER NOT NULL,
                    volunteers INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Polls: the current count of each poll (counting ballots only), refreshed when a ballot arrives;
                -- `ends_ms` is when counting stops: the closing time, or the manual close if earlier.
                CREATE TABLE poll_facts (
                    poll TEXT PRIMARY KEY NOT NULL,
                    committee TEXT NOT NULL,
                    title TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    secret INTEGER NOT NULL,
                    ends_ms INTEGER NOT NULL,
                    quorum INTEGER NOT NULL,
                    ballots INTEGER NOT NULL,
                    results TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX poll_facts_by_end ON poll_facts(ends_ms);
                """)
        }
        migrator.registerMigration("v5-ticket-search-and-totals") { db in
            // Open311's request search: by creation time, newest first.
            try db.execute(sql: "CREATE INDEX ticket_facts_by_created ON ticket_facts(created_ms)")
            // Tickets per committee, category and stage over all time: a year of days is as many rows as tickets at city
            // scale, so questions without a window read this instead of rollup_tickets.
            try db.execute(sql: """
                CREATE TABLE rollup_tickets_all (
                    committee TEXT NOT NULL,
                    category TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (committee, category, stage)
                ) WITHOUT ROWID;
                INSERT INTO rollup_tickets_all(committee, category, stage, count)
                    SELECT committee, category, stage, SUM(count) FROM rollup_tickets GROUP BY committee, category, stage;

                -- Windows of days read a range of this index rather than the whole table.
                CREATE INDEX rollup_tickets_by_day ON rollup_tickets(day);

                -- Open tickets with no first response, per committee: overdue at a time T is these less the ones
                -- created within 15 hours before T (a short index range of ticket_facts), not a scan of every waiting ticket.
                ALTER TABLE rollup_sla ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;

                -- Polls, kept per voter so that a ballot costs one voter's ballots, not the whole poll's.
                CREATE TABLE ballot_facts (
                    ballot TEXT PRIMARY KEY NOT NULL,
                    poll TEXT NOT NULL,
                    voter TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX ballot_facts_by_voter ON ballot_facts(poll, voter);
                -- Each voter's counted choices (the latest counting ballot), and the votes per option they add up to.
                CREATE TABLE poll_voters (
                    poll TEXT NOT NULL,
                    voter TEXT NOT NULL,
                    choices TEXT NOT NULL,
                    PRIMARY KEY (poll, voter)
                ) WITHOUT ROWID;
                CREATE TABLE poll_votes (
                    poll TEXT NOT NULL,
                    option TEXT NOT NULL,
                    votes INTEGER NOT NULL,
                    PRIMARY KEY (poll, option)
                ) WITHOUT ROWID;
                UPDATE rollup_sla SET waiting = (SELECT COUNT(*) FROM ticket_facts f WHERE f.committee = rollup_sla.committee AND f.waiting = 1);
                """)
        }
        migrator.registerMigration("v6-sessions-and-idempotency") { db in
            // Local only, never turned into changes: what a browser or a client holds to act as a member.
            try db.execute(sql: """
                -- Bearer tokens expire (sliding is for sessions; a token is rotated by its holder before it ends).
                ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
                UPDATE tokens SET expires_at = created_at + 90 * 86400000;

                -- Browser sessions of the residents' app: the cookie's SHA-256, a public id to list and end it by.
                CREATE TABLE sessions (
                    hash TEXT PRIMARY KEY NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    member TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    agent TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX sessions_by_member ON sessions(member);

                -- One-time sign-in codes a cadre issues to a member who lost their phone.
                CREATE TABLE sign_in_codes (
                    hash TEXT PRIMARY KEY NOT NULL,
                    member TEXT NOT NULL,
                    issued_by TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Idempotency-Key: the answer to the first request with a key, replayed to its repeats for a day.
                CREATE TABLE idempotency (
                    principal TEXT NOT NULL,
                    key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    headers TEXT NOT NULL,
                    body BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (principal, key)
                ) WITHOUT ROWID;
                CREATE INDEX idempotency_by_age ON idempotency(created_at);
                """)
        }
        migrator.registerMigration("v7-app-settings") { db in
            // Local only: a member's app language, and when they last opened each board (for unread counts).
            try db.execute(sql: """
                CREATE TABLE member_settings (
                    member TEXT PRIMARY KEY NOT NULL,
                    language TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE board_visits (
                    member TEXT NOT NULL,
                    board TEXT NOT NULL,
                    seen_at INTEGER NOT NULL,
                    PRIMARY KEY (member, board)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v8-search") { db in
            // Full-text search of each committee's posts, topics and tickets: FTS5 with the trigram tokenizer, which finds a
            // word inside Chinese text (no spaces between words) as well as English. `search_docs` says what each row is
            // and who may see it; `search_text` shares its rowid. Filled from what the node already holds.
            try db.execute(sql: """
                CREATE TABLE search_docs (
                    rowid INTEGER PRIMARY KEY,
                    entity TEXT NOT NULL UNIQUE,
                    committee TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    created INTEGER NOT NULL
                );
                CREATE INDEX search_docs_by_committee ON search_docs(committee, created);
                CREATE VIRTUAL TABLE search_text USING fts5(title, body, tokenize = 'trigram');
                INSERT INTO search_docs(entity, committee, kind, owner, created)
                    SELECT e.id, substr(e.scope, 3), e.kind,
                           coalesce((SELECT json_extract(c.value, '$') FROM cells c WHERE c.entity = e.id AND c.field = (CASE e.kind WHEN 'ticket' THEN 'reporter' ELSE 'author' END)), ''),
                           e.created
                    FROM entities e WHERE e.kind IN ('post', 'topic', 'ticket') AND e.deleted = 0 AND e.scope LIKE 'c:%';
                INSERT INTO search_text(rowid, title, body)
                    SELECT d.rowid,
                           coalesce((SELECT json_extract(c.value, '$') FROM cells c WHERE c.entity = d.entity AND c.field = 'title'), ''),
                           coalesce((SELECT json_extract(c.value, '$') FROM cells c WHERE c.entity = d.entity AND c.field = (CASE d.kind WHEN 'post' THEN 'body' ELSE 'description' END)), '')
                    FROM search_docs d;
                """)
        }
        migrator.registerMigration("v9-escalation-queues") { db in
            // The street grid centre's and the district platform's queues: tickets at a level, oldest (most overdue) first.
            try db.execute(sql: "CREATE INDEX ticket_facts_by_level ON ticket_facts(level, created_ms)")
        }
        migrator.registerMigration("v10-inbox") { db in
            // Local only: each member's notifications, derived from the changes this node applies (Inbox.swift), and the
            // webhook's queue of deliveries (WebhookOutbox). `audience` is a member id, or `c:<committee>` for everyone in
            // it (a new poll); a committee-wide row is read by each member through `notification_reads`.
            try db.execute(sql: """
                CREATE TABLE notifications (
                    number INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    audience TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    entity TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    committee TEXT,
                    detail TEXT,
                    created_at INTEGER NOT NULL,
                    read INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX notifications_by_audience ON notifications(audience, number);
                CREATE INDEX notifications_by_age ON notifications(created_at);
                CREATE TABLE notification_reads (
                    member TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    PRIMARY KEY (member, number)
                ) WITHOUT ROWID;
                CREATE TABLE webhook_outbox (
                    number INTEGER PRIMARY KEY,
                    delivery TEXT NOT NULL UNIQUE,
                    body TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_error TEXT
                );
                CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at);
                """)
        }
        migrator.registerMigration("v11-moderation") { db in
            // Derived from replicated changes on every node (ModerationLog): each moderation act — hide, show, lock, unlock,
            // suspend, lift — as the audit list, and the members' standing flags (the merged `flag:<member>` cells), so a
            // committee's flagged posts are one indexed query.
            try db.execute(sql: """
                CREATE TABLE moderation_log (
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    action TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    committee TEXT,
                    kind TEXT NOT NULL,
                    entity TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    detail TEXT,
                    PRIMARY KEY (origin, seq, action)
                ) WITHOUT ROWID;
                CREATE INDEX moderation_log_by_committee ON moderation_log(committee, at);
                CREATE INDEX moderation_log_by_time ON moderation_log(at);
                CREATE TABLE moderation_flags (
                    entity TEXT NOT NULL,
                    member TEXT NOT NULL,
                    committee TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (entity, member)
                ) WITHOUT ROWID;
                CREATE INDEX moderation_flags_by_committee ON moderation_flags(committee, at);
                """)
        }
        migrator.registerMigration("v12-ratings-and-answers") { db in
            // Residents' ratings of resolved tickets in the SLA rollup (satisfaction per committee, street, district), and
            // how fast cadres answer @-mentions and private messages (the seeds' "24-hour secretary"): one row per
            // question (`answer_facts`) and its sums per committee (`rollup_answers`). Both filled from what the node holds.
            try db.execute(sql: """
                ALTER TABLE ticket_facts ADD COLUMN rating INTEGER;
                ALTER TABLE rollup_sla ADD COLUMN rated INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE rollup_sla ADD COLUMN rating_sum INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE answer_facts (
                    question TEXT PRIMARY KEY NOT NULL,
                    committee TEXT NOT NULL,
                    asker TEXT NOT NULL,
                    answerer TEXT NOT NULL,
                    post TEXT,
                    asked_ms INTEGER NOT NULL,
                    answered_ms INTEGER
                ) WITHOUT ROWID;
                CREATE INDEX answer_facts_by_asker ON answer_facts(answerer, asker);
                CREATE INDEX answer_facts_by_post ON answer_facts(answerer, post);
                CREATE INDEX answer_facts_waiting ON answer_facts(committee, asked_ms) WHERE answered_ms IS NULL;
                CREATE TABLE rollup_answers (
                    committee TEXT PRIMARY KEY NOT NULL,
                    asked INTEGER NOT NULL DEFAULT 0,
                    answered INTEGER NOT NULL DEFAULT 0,
                    answered_in_day INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                """)
            // The tables are filled by `fillRatingsAndAnswers` once v16 has run: the fill reads records as `ReadView` reads
            // them today, from the entities' rows.
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('v12-fill', 'pending')")
        }
        migrator.registerMigration("v13-tickets-by-street") { db in
            // A window of days by street or district read one row per committee, day, category and stage (80 ms at
            // 300 committees): this keeps the same counts per street with a column per stage, so 30 days cost
            // streets × days × categories rows. Tickets whose committee is not defined here yet count under
            // district '' and street '' until it is.
            // The stages as they are at this version (a later stage would come with a migration of its own).
            let stages = ["submitted", "acknowledged", "in_progress", "resolved", "closed"]
            let columns = stages.map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")
            func pivot(_ table: String) -> String { stages.map { "SUM(CASE \(table).stage WHEN '\($0)' THEN \(table).count ELSE 0 END)" }.joined(separator: ", ") }
            try db.execute(sql: """
                CREATE TABLE rollup_tickets_street (
                    day TEXT NOT NULL, district TEXT NOT NULL, street TEXT NOT NULL, category TEXT NOT NULL, \(columns),
                    PRIMARY KEY (day, district, street, category)
                ) WITHOUT ROWID;
                INSERT INTO rollup_tickets_street(day, district, street, category, \(stages.joined(separator: ", ")))
                    SELECT r.day, COALESCE(u.district, ''), COALESCE(u.street, ''), r.category, \(pivot("r"))
                    FROM rollup_tickets r LEFT JOIN committee_units u ON u.committee = r.committee
                    GROUP BY r.day, COALESCE(u.district, ''), COALESCE(u.street, ''), r.category;

                -- The year's counts per committee and category, likewise a column per stage (a fifth of the rows).
                CREATE TABLE rollup_tickets_all_by_stage (
                    committee TEXT NOT NULL, category TEXT NOT NULL, \(columns),
                    PRIMARY KEY (committee, category)
                ) WITHOUT ROWID;
                INSERT INTO rollup_tickets_all_by_stage(committee, category, \(stages.joined(separator: ", ")))
                    SELECT a.committee, a.category, \(pivot("a")) FROM rollup_tickets_all a GROUP BY a.committee, a.category;
                DROP TABLE rollup_tickets_all;
                ALTER TABLE rollup_tickets_all_by_stage RENAME TO rollup_tickets_all;
                """)
        }
        migrator.registerMigration("v14-ballot-facts-carry-the-ballot") { db in
            // A ballot is written once: its fact keeps its stamp (the first write's, as `EntityRecord.created` takes it)
            // and its choices, so that re-counting a voter reads their facts rather than each ballot's record.
            try db.execute(sql: """
                ALTER TABLE ballot_facts ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE ballot_facts ADD COLUMN origin TEXT NOT NULL DEFAULT '';
                ALTER TABLE ballot_facts ADD COLUMN choices TEXT NOT NULL DEFAULT '[]';
                UPDATE ballot_facts SET
                    hlc = coalesce((SELECT c.hlc FROM cells c WHERE c.entity = ballot_facts.ballot ORDER BY c.hlc, c.origin LIMIT 1), 0),
                    origin = coalesce((SELECT c.origin FROM cells c WHERE c.entity = ballot_facts.ballot ORDER BY c.hlc, c.origin LIMIT 1), ''),
                    choices = coalesce((SELECT c.value FROM cells c WHERE c.entity = ballot_facts.ballot AND c.field = 'choices'), '[]');
                """)
        }
        migrator.registerMigration("v15-partial-entity-indexes") { db in
            // Most entities have no status (likes, comments, ballots, events) and many no parent (posts, tickets,
            // members): their rows need no entry in these indexes, whose only readers ask `status = ?` or `parent = ?`.
            // A like's entry sat at a random page of the status index and dirtied it at every commit.
            try db.execute(sql: """
                DROP INDEX entities_by_parent;
                DROP INDEX entities_by_status;
                CREATE INDEX entities_by_parent ON entities(parent, kind, created) WHERE parent IS NOT NULL;
                CREATE INDEX entities_by_status ON entities(kind, scope, status) WHERE status IS NOT NULL;
                """)
        }
        migrator.registerMigration("v16-cells-in-entity-rows") { db in
            // An entity's merged cells move into its row, as one JSON text (`CellsText`): a change writes one row where it
            // wrote one per field (3 to 7 upserts on text keys, 37 % of the apply path's SQL time), and a record is one
            // row read, not a join. Each value is kept as the text it was stored as; a field's order does not matter.
            try db.execute(sql: """
                ALTER TABLE entities ADD COLUMN cells TEXT NOT NULL DEFAULT '{}';
                UPDATE entities SET cells = coalesce((
                    SELECT '{' || group_concat(json_quote(c.field) || ':[' || c.value || ',' || c.hlc || ',' || json_quote(c.origin) || ',' || c.op || ']', ',') || '}'
                    FROM cells c WHERE c.entity = entities.id), '{}');
                DROP TABLE cells;
                """)
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'v12-fill')") == true {
                try fillRatingsAndAnswers(db)
                try db.execute(sql: "DELETE FROM meta WHERE key = 'v12-fill'")
            }
        }
        migrator.registerMigration("v17-latest-stamp-in-meta") { db in
            // The index on (scope, hlc) served one query, the latest stamp at start-up; every change paid an entry in it, at
            // a random page once a node holds many scopes. The latest stamp is kept in `meta` now, moved once per batch.
            try db.execute(sql: """
                INSERT OR REPLACE INTO meta(key, value) SELECT 'latest_hlc', max(hlc) FROM changes HAVING count(*) > 0;
                DROP INDEX changes_by_scope;
                """)
        }
        migrator.registerMigration("v18-no-activity-post-index") { db in
            // A post's comments and likes are counted as their facts are refreshed (`ActivityRollups.refresh`), no longer
            // by an index range over the facts; the index cost every comment and like an entry at a random page.
            try db.execute(sql: "DROP INDEX activity_facts_by_post")
        }
        migrator.registerMigration("v19-likes-out-of-the-parent-index") { db in
            // A post's likes are found by their ids, which name the post (`Like.ids(post:)`), no longer by the parent index:
            // a like, the most frequent change, cost an entry there at a random page. Their rows keep no parent, so the
            // partial index drops their entries.
            try db.execute(sql: "UPDATE entities SET parent = NULL WHERE kind = 'like' AND parent IS NOT NULL")
        }
        return migrator
    }

    /// v12's fill of the ratings and of how fast cadres answer, from what the node holds (run after v16).
    private static func fillRatingsAndAnswers(_ db: Database) throws {
        let view = ReadView(db: db, store: nil)
        for id in try String.fetchAll(db, sql: "SELECT ticket FROM ticket_facts WHERE stage = 'closed'") {
            guard let ticket = try view.ticket(id), let rating = ticket.rating else { continue }
            try db.execute(sql: "UPDATE ticket_facts SET rating = ? WHERE ticket = ?", arguments: [rating, id])
            try db.execute(sql: "UPDATE rollup_sla SET rated = rated + 1, rating_sum = rating_sum + ? WHERE committee = ?", arguments: [rating, ticket.committee])
        }
        let rollups = RollupDelta(db: db)
        for kind in ["message", "post", "comment"] {
            for record in try view.records(where: "kind = ?", [kind], limit: 10_000_000, newestFirst: false) {
                try AnswerRollups.record(record, rollups: rollups)
            }
        }
        try rollups.flush()
    }
}
