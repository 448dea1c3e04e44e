-- contactstore schema for PostgreSQL, version 1.
--
-- The same tables, columns and rules as schema.sql (the SQLite schema), in
-- PostgreSQL's types. This file is the current schema and creates a new database in one
-- transaction; upgrades of older databases are the steps listed in
-- src/storage/postgres/schema.rs. The version lives in contactstore_schema (last
-- statement of this file).
--
-- Conventions
-- * org_id leads every primary key, unique constraint and foreign key, so that the
--   database can be distributed by org_id (Citus and the like): no constraint spans
--   orgs. (SQLite's contact_by_id is unique across orgs; here it is a plain index —
--   contact ids are random UUIDs, and import replaces an id another org uses.)
-- * Text is COLLATE "C": comparisons and ORDER BY are byte order, as in SQLite, so
--   lists, pages and exports come out in the same order on both engines.
-- * Timestamps are timestamptz(3): millisecond precision, as the library's.
-- * JSON values are `json`, not `jsonb`: json keeps the exact text the library wrote
--   (jsonb reorders object keys and rewrites numbers), and export must be
--   byte-identical across engines. SQL never looks inside them but for the change log's
--   erase tombstones.

CREATE TABLE contact (
    org_id      text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    name        text COLLATE "C",
    metadata    json NOT NULL DEFAULT '{}',
    created_at  timestamptz(3) NOT NULL,
    updated_at  timestamptz(3) NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Lookup by id alone, for the all-orgs handle.
CREATE INDEX contact_by_id ON contact (id);
-- Keyset pagination of an org's contacts.
CREATE INDEX contact_by_org_created ON contact (org_id, created_at, id);

-- identifier_type: 1 = phone_number, 2 = email, 3 = external_id.
CREATE TABLE identifier (
    org_id            text COLLATE "C" NOT NULL,
    identifier_type   smallint NOT NULL CHECK (identifier_type IN (1, 2, 3)),
    identifier_value  text COLLATE "C" NOT NULL,
    contact_id        text COLLATE "C" NOT NULL,
    id                text COLLATE "C" NOT NULL,
    is_primary        boolean NOT NULL,
    PRIMARY KEY (org_id, identifier_type, identifier_value),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);

CREATE INDEX identifier_by_contact ON identifier (org_id, contact_id);
CREATE UNIQUE INDEX identifier_one_primary
    ON identifier (org_id, contact_id, identifier_type) WHERE is_primary;

CREATE TABLE memory (
    org_id           text COLLATE "C" NOT NULL,
    id               text COLLATE "C" NOT NULL,
    contact_id       text COLLATE "C" NOT NULL,
    scope            text COLLATE "C" NOT NULL,
    persona_id       text COLLATE "C",
    agent_number     text COLLATE "C",
    summary          text COLLATE "C" NOT NULL DEFAULT '',
    facts            json NOT NULL DEFAULT '{}',
    recent_messages  json NOT NULL DEFAULT '[]',
    open_items       json NOT NULL DEFAULT '[]',
    created_at       timestamptz(3) NOT NULL,
    updated_at       timestamptz(3) NOT NULL,
    summary_updated_at timestamptz(3),
    history          json NOT NULL DEFAULT '[]',
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, contact_id, scope),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);

CREATE TABLE memory_entity (
    org_id             text COLLATE "C" NOT NULL,
    memory_id          text COLLATE "C" NOT NULL,
    entity_type        text COLLATE "C" NOT NULL,
    entity_id          text COLLATE "C" NOT NULL,
    facts              json NOT NULL DEFAULT '{}',
    status             text COLLATE "C",
    last_discussed_at  timestamptz(3),
    notes              text COLLATE "C",
    PRIMARY KEY (org_id, memory_id, entity_type, entity_id),
    FOREIGN KEY (org_id, memory_id) REFERENCES memory (org_id, id) ON DELETE CASCADE
);

-- kind: 1 = call, 2 = SMS conversation.
CREATE TABLE activity (
    org_id          text COLLATE "C" NOT NULL,
    kind            smallint NOT NULL CHECK (kind IN (1, 2)),
    id              text COLLATE "C" NOT NULL,
    contact_id      text COLLATE "C" NOT NULL,
    direction       text COLLATE "C" NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    agent_number    text COLLATE "C",
    contact_number  text COLLATE "C",
    started_at      timestamptz(3) NOT NULL,
    amount          bigint CHECK (amount >= 0 AND (kind = 1 OR amount IS NOT NULL)),
    status          text COLLATE "C",
    summary         text COLLATE "C",
    metadata        json NOT NULL DEFAULT '{}',
    PRIMARY KEY (org_id, kind, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);

CREATE INDEX activity_by_contact ON activity (org_id, contact_id, kind, started_at);

CREATE TABLE merge_redirect (
    org_id        text COLLATE "C" NOT NULL,
    merged_id     text COLLATE "C" NOT NULL,
    surviving_id  text COLLATE "C" NOT NULL,
    merged_at     timestamptz(3) NOT NULL,
    PRIMARY KEY (org_id, merged_id),
    FOREIGN KEY (org_id, surviving_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);

CREATE INDEX merge_redirect_by_surviving ON merge_redirect (org_id, surviving_id);
-- The all-orgs handle follows a merged id in any org.
CREATE INDEX merge_redirect_by_merged ON merge_redirect (merged_id);

-- seq orders an org's merges only (the latest merge taking an id): an identity.
CREATE TABLE merge_journal (
    org_id        text COLLATE "C" NOT NULL,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    primary_id    text COLLATE "C" NOT NULL,
    duplicate_id  text COLLATE "C" NOT NULL,
    merged_at     timestamptz(3) NOT NULL,
    moved         json NOT NULL,
    snapshot      json,
    unmerged_at   timestamptz(3),
    PRIMARY KEY (org_id, seq)
);

CREATE INDEX merge_journal_by_primary ON merge_journal (org_id, primary_id);
CREATE INDEX merge_journal_by_duplicate ON merge_journal (org_id, duplicate_id);

-- The change log. seq is in commit order and never reused, as on SQLite: the appending
-- transaction takes a transaction-scoped advisory lock before it draws its seq from
-- change_event_seq and holds it until it commits, so seqs are drawn in commit order
-- and a consumer resuming after the last seq it saw misses nothing. (A sequence alone
-- hands out seqs in start order: a transaction committing later with a lower seq would
-- be skipped. A counter row would make every pair of concurrent logging writers a
-- serialization failure.) The price: transactions that log changes serialize from
-- their first event to their commit. A transaction rolled back after drawing a seq
-- leaves a gap; seqs only ever grow.
CREATE SEQUENCE change_event_seq AS bigint;

CREATE TABLE change_event (
    org_id      text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    at          timestamptz(3) NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    contact_id  text COLLATE "C" NOT NULL,
    related_id  text COLLATE "C",
    detail      json NOT NULL DEFAULT '{}',
    PRIMARY KEY (org_id, seq)
);

CREATE INDEX change_event_by_seq ON change_event (seq);
CREATE INDEX change_event_by_related ON change_event (org_id, related_id)
    WHERE related_id IS NOT NULL;

-- How far retention has compacted the change log (one row).
CREATE TABLE change_log (
    id                 integer PRIMARY KEY CHECK (id = 1),
    compacted_through  bigint NOT NULL
);

INSERT INTO change_log (id, compacted_through) VALUES (1, 0);

CREATE TABLE migration_finding (
    org_id            text COLLATE "C" NOT NULL,
    contact_id        text COLLATE "C" NOT NULL,
    record_id         text COLLATE "C" NOT NULL,
    field             text COLLATE "C" NOT NULL,
    version           bigint NOT NULL,
    finding           text COLLATE "C" NOT NULL CHECK (finding IN ('collision', 'invalid')),
    other_contact_id  text COLLATE "C",
    PRIMARY KEY (org_id, contact_id, record_id, field),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);

CREATE INDEX migration_finding_by_other ON migration_finding (org_id, other_contact_id);

-- What identifies the schema as contactstore's, and its version (one row). Opening a
-- database whose version is newer than the build's is refused, untouched.
CREATE TABLE contactstore_schema (
    id           integer PRIMARY KEY CHECK (id = 1),
    application  text NOT NULL,
    version      bigint NOT NULL
);

INSERT INTO contactstore_schema (id, application, version) VALUES (1, 'contactstore', 1);
