-- contactstore schema, version 7.
--
-- This file is the current schema and creates a new database in one step. Upgrades of
-- older files are the steps listed in src/storage/sqlite/schema.rs; a file upgraded from any older
-- version must end up with exactly this schema (tests/migrations.rs checks that).
--
-- Conventions
-- * Every table holding contact data starts with org_id, and every reference to a
--   contact is the pair (org_id, contact_id) with a foreign key on it: SQLite itself
--   refuses a row that points at another org's contact.
-- * Timestamps are INTEGER milliseconds since the Unix epoch (UTC).
-- * JSON values (metadata, facts, messages, open items) are TEXT holding compact JSON
--   written by the library; SQL never looks inside them.
-- * Ids are lowercase hyphenated UUID text; v7 for new rows, so inserts are local.

-- A person or business that calls, texts or writes.
CREATE TABLE contact (
    org_id      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    name        TEXT,
    metadata    TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
) WITHOUT ROWID;

-- Lookup by id alone, for the all-orgs handle (cross-org merge checks, import).
CREATE UNIQUE INDEX contact_by_id ON contact (id);
-- Keyset pagination of an org's contacts.
CREATE INDEX contact_by_org_created ON contact (org_id, created_at, id);

-- Phone numbers, emails and external ids, normalized. The primary key is the
-- UNIQUE(org_id, identifier_type, identifier_value) rule: one identity, one contact.
-- identifier_type: 1 = phone_number, 2 = email, 3 = external_id.
CREATE TABLE identifier (
    org_id            TEXT    NOT NULL,
    identifier_type   INTEGER NOT NULL CHECK (identifier_type IN (1, 2, 3)),
    identifier_value  TEXT    NOT NULL,
    contact_id        TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    is_primary        INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    PRIMARY KEY (org_id, identifier_type, identifier_value),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- A contact's identifiers, in the order a contact shows them, read from the index
-- alone (every column of the table is in it).
CREATE INDEX identifier_by_contact
    ON identifier (org_id, contact_id, identifier_type, is_primary DESC, identifier_value, id);
-- At most one primary per type per contact.
CREATE UNIQUE INDEX identifier_one_primary
    ON identifier (org_id, contact_id, identifier_type) WHERE is_primary = 1;

-- One memory per contact and scope. scope is 'persona:<persona_id>' when a persona id
-- was given, else 'agent:<agent_number in E.164>'.
-- recent_messages and open_items are JSON arrays, kept sorted by timestamp and
-- created_at; the library caps recent_messages at the store's setting. history is the
-- memory_history array (what changed, oldest first, capped); summary_updated_at is
-- when the summary last changed (NULL until then).
-- A rowid table, unlike the others: a memory row is kilobytes (twenty messages are
-- about 3 KB), and a WITHOUT ROWID table keeps only about 1 KB of a row in its leaf,
-- the rest in overflow pages; here a row sits whole in one page, reached from either
-- key by its rowid.
CREATE TABLE memory (
    org_id           TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    contact_id       TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    persona_id       TEXT,
    agent_number     TEXT,
    summary          TEXT    NOT NULL DEFAULT '',
    facts            TEXT    NOT NULL DEFAULT '{}',
    recent_messages  TEXT    NOT NULL DEFAULT '[]',
    open_items       TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    summary_updated_at INTEGER,
    history          TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, contact_id, scope),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);

-- Entity-scoped facts of a memory (an order, a booking), one per (type, id).
CREATE TABLE memory_entity (
    org_id             TEXT    NOT NULL,
    memory_id          TEXT    NOT NULL,
    entity_type        TEXT    NOT NULL,
    entity_id          TEXT    NOT NULL,
    facts              TEXT    NOT NULL DEFAULT '{}',
    status             TEXT,
    last_discussed_at  INTEGER,
    notes              TEXT,
    PRIMARY KEY (org_id, memory_id, entity_type, entity_id),
    FOREIGN KEY (org_id, memory_id) REFERENCES memory (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Calls and SMS conversations with a contact: one record type, by kind
-- (1 = call, 2 = SMS conversation). amount is a call's duration in seconds (or NULL)
-- and a conversation's message count. Ids are unique per kind.
CREATE TABLE activity (
    org_id          TEXT    NOT NULL,
    kind            INTEGER NOT NULL CHECK (kind IN (1, 2)),
    id              TEXT    NOT NULL,
    contact_id      TEXT    NOT NULL,
    direction       TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    agent_number    TEXT,
    contact_number  TEXT,
    started_at      INTEGER NOT NULL,
    amount          INTEGER CHECK (amount >= 0 AND (kind = 1 OR amount IS NOT NULL)),
    status          TEXT,
    summary         TEXT,
    metadata        TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (org_id, kind, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX activity_by_contact ON activity (org_id, contact_id, kind, started_at);

-- The id of a merged-away contact and the contact that survived. Chains are kept flat:
-- when a surviving contact is itself merged away, its redirects are re-pointed, so a
-- read follows at most one redirect.
CREATE TABLE merge_redirect (
    org_id        TEXT    NOT NULL,
    merged_id     TEXT    NOT NULL,
    surviving_id  TEXT    NOT NULL,
    merged_at     INTEGER NOT NULL,
    PRIMARY KEY (org_id, merged_id),
    FOREIGN KEY (org_id, surviving_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX merge_redirect_by_surviving ON merge_redirect (org_id, surviving_id);

-- One row per merge: when, which two, and what moved (a JSON object of counts).
-- snapshot is what undoing the merge needs (the duplicate's whole document, the
-- primary's parts the merge changed, before and after: compact JSON); NULL for a merge
-- made before version 5 and once the merge is undone. unmerged_at is when it was undone.
CREATE TABLE merge_journal (
    seq           INTEGER PRIMARY KEY,
    org_id        TEXT    NOT NULL,
    primary_id    TEXT    NOT NULL,
    duplicate_id  TEXT    NOT NULL,
    merged_at     INTEGER NOT NULL,
    moved         TEXT    NOT NULL,
    snapshot      TEXT,
    unmerged_at   INTEGER
);

CREATE INDEX merge_journal_by_primary ON merge_journal (org_id, primary_id);
CREATE INDEX merge_journal_by_duplicate ON merge_journal (org_id, duplicate_id);

-- The change log: one event per write, in commit order. seq is never reused — the
-- newest event is never deleted (compaction keeps it, and erase appends its tombstone
-- before deleting older events), so the next rowid is always above every seq a reader
-- has seen — and a consumer resuming after the last seq it saw misses nothing and sees
-- nothing twice. (AUTOINCREMENT would guarantee the same at the cost of a write to
-- sqlite_sequence on every event.) kind names the write ('contact.created', 'memory.updated', …);
-- detail is what changed, as compact JSON; related_id is the other contact of a merge
-- or unmerge, so that erasing either contact finds the event.
CREATE TABLE change_event (
    seq         INTEGER PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    contact_id  TEXT    NOT NULL,
    related_id  TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX change_event_by_org ON change_event (org_id, seq);
CREATE INDEX change_event_by_related ON change_event (org_id, related_id)
    WHERE related_id IS NOT NULL;

-- How far retention has compacted the change log (one row): a consumer whose last seq
-- is below compacted_through may have missed events, and is told so.
CREATE TABLE change_log (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    compacted_through  INTEGER NOT NULL
);

INSERT INTO change_log (id, compacted_through) VALUES (1, 0);

-- What an upgrade found and left for an operator to decide, without personal data:
-- a phone identifier whose stored value now normalizes to a value another contact
-- owns (kept under its old value, so both contacts stay reachable), or a stored number
-- that is no longer valid (kept as it was). record_id is the identifier, memory or
-- activity record; field names its column. Listed by `contactstore check`.
CREATE TABLE migration_finding (
    org_id            TEXT    NOT NULL,
    contact_id        TEXT    NOT NULL,
    record_id         TEXT    NOT NULL,
    field             TEXT    NOT NULL,
    version           INTEGER NOT NULL,
    finding           TEXT    NOT NULL CHECK (finding IN ('collision', 'invalid')),
    other_contact_id  TEXT,
    PRIMARY KEY (org_id, contact_id, record_id, field),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX migration_finding_by_other ON migration_finding (org_id, other_contact_id);

-- Planner statistics (see "Manual Control Of Query Plans Using SQLITE_STAT Tables" in
-- SQLite's documentation). Without them SQLite guesses that `org_id = ?` alone is
-- selective and walks a whole org by primary key to find one contact's rows — and the
-- foreign keys' cascades plan their child lookups the same way. These figures describe
-- the shape contactstore is built for: one large org, where an org id matches every
-- row and a contact id a handful. "N a b …": N rows in the index, then the average rows
-- matching each prefix of its columns. A later ANALYZE replaces them with measurements.
-- (For a WITHOUT ROWID table the primary key's row names the table itself.)
ANALYZE sqlite_schema;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('contact', 'contact', '1000000 1000000 1'),
    ('contact', 'contact_by_id', '1000000 1'),
    ('contact', 'contact_by_org_created', '1000000 1000000 2 1'),
    ('identifier', 'identifier', '2000000 2000000 700000 1'),
    ('identifier', 'identifier_by_contact', '2000000 2000000 2 1 1 1 1'),
    ('identifier', 'identifier_one_primary', '2000000 2000000 2 1'),
    ('memory', 'sqlite_autoindex_memory_1', '400000 400000 1'),
    ('memory', 'sqlite_autoindex_memory_2', '400000 400000 2 1'),
    ('memory_entity', 'memory_entity', '2000000 2000000 5 2 1'),
    ('activity', 'activity', '2000000 2000000 1000000 1'),
    ('activity', 'activity_by_contact', '2000000 2000000 3 2 1'),
    ('merge_redirect', 'merge_redirect', '100000 100000 1'),
    ('merge_redirect', 'merge_redirect_by_surviving', '100000 100000 2'),
    ('merge_journal', 'merge_journal_by_primary', '100000 100000 2'),
    ('merge_journal', 'merge_journal_by_duplicate', '100000 100000 2'),
    ('migration_finding', 'migration_finding', '100 100 1 1 1'),
    ('migration_finding', 'migration_finding_by_other', '100 100 1'),
    ('change_event', 'change_event_by_org', '10000000 10000000 1'),
    ('change_event', 'change_event_by_related', '100000 100000 2');
