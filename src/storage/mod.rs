//! The storage layer: every SQL statement of the crate, behind the interface the rules
//! use.
//!
//! The rules (resolve precedence, merge, memory caps, import) see a transaction as a
//! [`Tx`]: the reads and writes of each table, in terms of the model's types. The
//! SQLite engine ([`sqlite`]) implements it, owns the connection, and opens
//! transactions with [`Db::read`], [`Db::write`] and the import's [`BatchWriter`]. The
//! PostgreSQL engine ([`postgres`], cargo feature `postgres`) is a second
//! implementation of the same traits; [`Db`] dispatches to the engine a store was
//! opened on, and the rules do not know which it is.

pub(crate) mod entities;
pub(crate) mod invariants;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::{
    ActivityKind, ActivityRow, Change, Contact, ContactDocument, Entity, HistoryEntry, Identifier,
    IdentifierType, JsonObject, Memory, Message, MigrationFinding, MoveCounts, NewChange, OpenItem,
    Scope,
};
use crate::settings::Settings;
use crate::timestamp::Timestamp;

/// An open database on one of the engines. (One per store, moved rarely: the
/// variants' sizes do not matter.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Db {
    Sqlite(sqlite::Db),
    #[cfg(feature = "postgres")]
    Postgres(postgres::Db),
}

/// Whether a database location names a PostgreSQL server (`postgres://…` or
/// `postgresql://…`) rather than a file.
pub(crate) fn is_postgres_url(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Runs the same expression on whichever engine `$db` is.
macro_rules! on_engine {
    ($db:expr, $e:ident => $body:expr) => {
        match $db {
            Db::Sqlite($e) => $body,
            #[cfg(feature = "postgres")]
            Db::Postgres($e) => $body,
        }
    };
}

impl Db {
    /// Opens the database at `location`: a PostgreSQL URL (with the `postgres`
    /// feature), else a file path; `None` is a private SQLite database in memory.
    pub(crate) fn open(location: Option<&Path>, settings: Settings) -> Result<Db> {
        match location {
            Some(location) if is_postgres_url(location) => {
                Self::open_postgres(location, settings, false)
            }
            _ => sqlite::Db::open(location, settings).map(Db::Sqlite),
        }
    }

    /// Opens a PostgreSQL database; `read_only` only checks its schema (never creates or
    /// upgrades it).
    #[cfg(feature = "postgres")]
    fn open_postgres(location: &Path, settings: Settings, read_only: bool) -> Result<Db> {
        let url = location.to_str().unwrap_or_default();
        let db = if read_only {
            postgres::Db::open_existing(url, settings)
        } else {
            postgres::Db::open(url, settings)
        };
        db.map(Db::Postgres)
    }

    #[cfg(not(feature = "postgres"))]
    fn open_postgres(_: &Path, _: Settings, _: bool) -> Result<Db> {
        Err(Error::Refused(
            "PostgreSQL URLs need contactstore built with the `postgres` feature",
        ))
    }

    /// Opens a database for reading only (`check_file`): never created, migrated or
    /// otherwise written, on either engine.
    pub(crate) fn open_read_only(location: &Path, settings: Settings) -> Result<Db> {
        if is_postgres_url(location) {
            return Self::open_postgres(location, settings, true);
        }
        sqlite::Db::open_read_only(location, settings).map(Db::Sqlite)
    }

    /// The settings the database was opened with.
    pub(crate) fn settings(&self) -> &Settings {
        on_engine!(self, db => db.settings())
    }

    /// Runs `f` in one write transaction, committed only if `f` succeeds. On
    /// PostgreSQL `f` may run again, whole, when the server ends the transaction for a
    /// conflict with another (see the engine); on SQLite it runs once.
    pub(crate) fn write<T>(&self, f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        on_engine!(self, db => db.write(f))
    }

    /// Runs `f` in one read transaction: one snapshot.
    pub(crate) fn read<T>(&self, f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        on_engine!(self, db => db.read(f))
    }

    /// Runs `f` without a transaction around it (a read of one statement).
    pub(crate) fn read_one<T>(&self, f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        on_engine!(self, db => db.read_one(f))
    }

    /// Runs `f` in a write transaction that is always rolled back (a preview).
    pub(crate) fn rolled_back<T>(&self, f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        on_engine!(self, db => db.rolled_back(f))
    }

    /// Compacts the change log past its retention; returns how many events went.
    pub(crate) fn compact_changes(&self) -> Result<u64> {
        on_engine!(self, db => db.compact_changes())
    }

    /// After an erase: empties SQLite's WAL so that no copy of deleted rows stays in
    /// it. PostgreSQL has no such file for the library to empty (true).
    pub(crate) fn truncate_wal(&self) -> bool {
        match self {
            Db::Sqlite(db) => db.truncate_wal(),
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => true,
        }
    }

    /// A writer of many transactions in a row (import).
    pub(crate) fn batch_writer(&self) -> BatchWriter<'_> {
        match self {
            Db::Sqlite(db) => BatchWriter::Sqlite(db.batch_writer()),
            #[cfg(feature = "postgres")]
            Db::Postgres(db) => BatchWriter::Postgres(db.batch_writer()),
        }
    }

    /// The consistency check's findings: on SQLite the file's header, SQLite's own
    /// checks and the store's invariants; on PostgreSQL the schema's version row and
    /// the same invariants (the server checks its own pages).
    pub(crate) fn check(&self) -> Result<FileCheck> {
        on_engine!(self, db => db.check())
    }

    /// A copy of the store in a new file (`VACUUM INTO`). SQLite only: on PostgreSQL a
    /// typed refusal (use `pg_dump`, or `export`).
    pub(crate) fn backup_to(&self, dest: &Path) -> Result<u64> {
        match self {
            Db::Sqlite(db) => db.backup_to(dest),
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Err(Error::Refused(BACKUP_ON_POSTGRES)),
        }
    }

    /// As [`Db::backup_to`], replacing `dest`.
    pub(crate) fn backup_replacing(&self, dest: &Path) -> Result<u64> {
        match self {
            Db::Sqlite(db) => db.backup_replacing(dest),
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Err(Error::Refused(BACKUP_ON_POSTGRES)),
        }
    }
}

#[cfg(feature = "postgres")]
const BACKUP_ON_POSTGRES: &str =
    "backup copies an SQLite file; on PostgreSQL use pg_dump (or export)";

/// What the storage layer found checking a database.
pub(crate) struct FileCheck {
    pub schema_version: i64,
    /// The schema version this build writes on the engine.
    pub current_version: i64,
    pub outcomes: Vec<crate::model::CheckOutcome>,
    /// What upgrades left for an operator (read at the current schema only).
    pub findings: Vec<MigrationFinding>,
}

/// Transactions opened one after another (import), on either engine.
pub(crate) enum BatchWriter<'db> {
    Sqlite(sqlite::BatchWriter<'db>),
    #[cfg(feature = "postgres")]
    Postgres(postgres::BatchWriter<'db>),
}

impl BatchWriter<'_> {
    /// The open transaction, begun if there is none.
    pub(crate) fn tx(&mut self) -> Result<Box<dyn Tx + '_>> {
        Ok(match self {
            BatchWriter::Sqlite(w) => Box::new(w.tx()?),
            #[cfg(feature = "postgres")]
            BatchWriter::Postgres(w) => Box::new(w.tx()?),
        })
    }

    /// How long the open transaction has been open (zero when none is).
    pub(crate) fn held_for(&self) -> std::time::Duration {
        match self {
            BatchWriter::Sqlite(w) => w.held_for(),
            #[cfg(feature = "postgres")]
            BatchWriter::Postgres(w) => w.held_for(),
        }
    }

    /// Commits the open transaction, if any.
    pub(crate) fn commit(&mut self) -> Result<()> {
        match self {
            BatchWriter::Sqlite(w) => w.commit(),
            #[cfg(feature = "postgres")]
            BatchWriter::Postgres(w) => w.commit(),
        }
    }
}

/// Which orgs a statement covers: one, or all (the administration handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrgScope<'a> {
    One(&'a str),
    All,
}

/// The contact that owns an identifier, and whether it is that contact's primary of
/// its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub contact_id: String,
    pub is_primary: bool,
}

/// A position in an org's list order: (`created_at`, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListPosition {
    pub created_at: i64,
    pub id: String,
}

/// One page of an org's contacts, after a position, filtered.
#[derive(Debug, Clone)]
pub(crate) struct PageQuery<'a> {
    pub after: &'a ListPosition,
    pub updated_since: Option<Timestamp>,
    /// A LIKE pattern (wildcards escaped with `\`).
    pub name_like: Option<&'a str>,
    pub limit: usize,
}

/// A contact's name and creation time, for a streaming read of an org in id order
/// (merge suggestions): what tells people apart, without metadata or memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedContact {
    pub id: String,
    pub name: Option<String>,
    pub created_at: Timestamp,
}

/// An identifier of a contact, read with others of a range of contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContactIdentifier {
    pub contact_id: String,
    pub kind: IdentifierType,
    pub value: String,
}

/// The columns of a memory that its writes change.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemoryRow {
    pub id: String,
    pub summary: String,
    pub facts: JsonObject,
    pub recent_messages: Vec<Message>,
    pub open_items: Vec<OpenItem>,
    pub summary_updated_at: Option<Timestamp>,
    pub history: Vec<HistoryEntry>,
}

/// What erasing a contact's own rows deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Deleted {
    pub identifiers: u64,
    pub memories: u64,
    pub entities: u64,
    pub calls: u64,
    pub sms_conversations: u64,
}

/// A journaled merge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JournalEntry {
    pub seq: i64,
    pub primary_id: String,
    pub duplicate_id: String,
    pub merged_at: Timestamp,
    /// What undoing it needs (compact JSON); `None` for a merge made before snapshots
    /// were kept, or one already undone.
    pub snapshot: Option<String>,
    pub unmerged_at: Option<Timestamp>,
}

/// The `contact` table.
pub(crate) trait ContactRows {
    /// The contact with this id in this org.
    fn contact(&self, org: &str, id: &str) -> Result<Option<Contact>>;
    /// The contact with this id in any org (ids are unique across orgs).
    fn contact_in_any_org(&self, id: &str) -> Result<Option<Contact>>;
    /// The org of the contact with this id, if any.
    fn org_using_contact_id(&self, id: &str) -> Result<Option<String>>;
    fn insert_contact(&self, contact: &Contact) -> Result<()>;
    /// Saves name, metadata, `created_at` and `updated_at`.
    fn save_contact(&self, contact: &Contact) -> Result<()>;
    fn touch_contact(&self, org: &str, id: &str, now: Timestamp) -> Result<()>;
    fn delete_contact(&self, org: &str, id: &str) -> Result<()>;
    /// Contacts after a position in (`created_at`, id) order.
    fn contact_page(&self, org: &str, query: &PageQuery<'_>) -> Result<Vec<Contact>>;
    /// Contacts in (`created_at`, id) order, skipping `offset`.
    fn contacts_at_offset(&self, org: &str, offset: u64, limit: usize) -> Result<Vec<Contact>>;
    /// How many contacts the org has.
    fn count_contacts(&self, org: &str) -> Result<u64>;
    /// Up to `limit` contacts with an id after `after_id` (`""` for the first), in id
    /// order: names and creation times only.
    fn named_contacts_after(
        &self,
        org: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<NamedContact>>;
}

/// The `identifier` table.
pub(crate) trait IdentifierRows {
    fn identifier_owner(
        &self,
        org: &str,
        kind: IdentifierType,
        value: &str,
    ) -> Result<Option<Owner>>;
    /// The contact owning an identifier, read in one statement with the lookup.
    fn contact_owning(
        &self,
        org: &str,
        kind: IdentifierType,
        value: &str,
    ) -> Result<Option<Contact>>;
    /// The contact's identifiers: by type, primary first, then by value.
    fn identifiers_of(&self, org: &str, contact_id: &str) -> Result<Vec<Identifier>>;
    /// The identifiers of the contacts in (`after`, `last`], unsorted.
    fn identifiers_between(
        &self,
        org: &str,
        after: &ListPosition,
        last: &ListPosition,
    ) -> Result<Vec<Identifier>>;
    /// The identifiers of the contacts whose id is in (`after_id`, `last_id`], by
    /// contact id (read from the contact index alone).
    fn identifiers_of_id_range(
        &self,
        org: &str,
        after_id: &str,
        last_id: &str,
    ) -> Result<Vec<ContactIdentifier>>;
    fn has_primary(&self, org: &str, contact_id: &str, kind: IdentifierType) -> Result<bool>;
    fn count_identifiers(&self, org: &str, contact_id: &str) -> Result<u64>;
    fn insert_identifier(&self, org: &str, identifier: &Identifier) -> Result<()>;
    fn delete_identifier(&self, org: &str, kind: IdentifierType, value: &str) -> Result<()>;
    /// Gives an identifier to a contact, as its primary of the type or not.
    fn assign_identifier(
        &self,
        org: &str,
        kind: IdentifierType,
        value: &str,
        contact_id: &str,
        is_primary: bool,
    ) -> Result<()>;
    /// Makes the contact's first identifier of the type (by value) its primary.
    fn promote_first_identifier(
        &self,
        org: &str,
        contact_id: &str,
        kind: IdentifierType,
    ) -> Result<()>;
    /// Makes this identifier the contact's only primary of its type.
    fn make_primary(
        &self,
        org: &str,
        contact_id: &str,
        kind: IdentifierType,
        value: &str,
    ) -> Result<()>;
    /// Moves every identifier of `from` to `to`; those of a type `to` has a primary
    /// of stop being primary. Returns how many moved.
    fn move_identifiers(&self, org: &str, from: &str, to: &str) -> Result<u64>;
}

/// The `memory` and `memory_entity` tables.
pub(crate) trait MemoryRows {
    fn memory_exists(&self, org: &str, contact_id: &str, scope: &Scope) -> Result<bool>;
    fn memory_row(&self, org: &str, contact_id: &str, scope: &Scope) -> Result<Option<MemoryRow>>;
    /// A memory's written columns by its id, and the contact it belongs to.
    fn memory_row_by_id(&self, org: &str, memory_id: &str) -> Result<Option<(MemoryRow, String)>>;
    /// Creates an empty memory with its first history entries.
    fn insert_empty_memory(
        &self,
        org: &str,
        id: &str,
        contact_id: &str,
        scope: &Scope,
        now: Timestamp,
        history: &[HistoryEntry],
    ) -> Result<()>;
    /// Saves a memory's written columns and its `updated_at`.
    fn update_memory(&self, org: &str, row: &MemoryRow, now: Timestamp) -> Result<()>;
    /// Saves every column of a memory (after a merge combined two).
    fn save_memory(&self, org: &str, memory: &Memory) -> Result<()>;
    /// Inserts a whole memory with its entities.
    fn insert_memory(&self, org: &str, memory: &Memory) -> Result<()>;
    /// Deletes the entities of one memory; returns how many.
    fn delete_entities_of_memory(&self, org: &str, memory_id: &str) -> Result<u64>;
    /// The contact's memories with their entities: by creation, entities most recently
    /// discussed first.
    fn memories_of(&self, org: &str, contact_id: &str) -> Result<Vec<Memory>>;
    fn memory(&self, org: &str, memory_id: &str) -> Result<Option<Memory>>;
    /// (memory id, scope key) of each of the contact's memories.
    fn memory_scopes_of(&self, org: &str, contact_id: &str) -> Result<Vec<(String, String)>>;
    fn move_memory(&self, org: &str, memory_id: &str, to_contact: &str) -> Result<()>;
    fn delete_memory(&self, org: &str, memory_id: &str) -> Result<()>;
    fn memory_id_taken(&self, org: &str, memory_id: &str) -> Result<bool>;
    fn entity(
        &self,
        org: &str,
        memory_id: &str,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<Option<Entity>>;
    /// Inserts or replaces an entity.
    fn save_entity(&self, org: &str, memory_id: &str, entity: &Entity) -> Result<()>;
}

/// The `activity` table: calls and SMS conversations.
pub(crate) trait ActivityRows {
    fn insert_activity(&self, org: &str, row: &ActivityRow) -> Result<()>;
    /// The contact's records of one kind, newest first.
    fn activities_of(
        &self,
        org: &str,
        contact_id: &str,
        kind: ActivityKind,
    ) -> Result<Vec<ActivityRow>>;
    fn activity_id_taken(&self, org: &str, kind: ActivityKind, id: &str) -> Result<bool>;
    /// Reassigns the records of one kind; returns how many moved.
    fn move_activities(&self, org: &str, kind: ActivityKind, from: &str, to: &str) -> Result<u64>;
    /// Moves one record from a contact to another; false when `from` does not own it.
    fn move_activity(
        &self,
        org: &str,
        kind: ActivityKind,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool>;
}

/// The `merge_redirect` and `merge_journal` tables.
pub(crate) trait MergeRows {
    /// Locks two contacts against other writers until the transaction ends, in one
    /// fixed order (by id) whatever order they are given in, so that two merges of
    /// the same pair never wait for each other crosswise. A no-op on SQLite, whose
    /// write transactions exclude each other already.
    fn lock_contacts(&self, org: &str, first: &str, second: &str) -> Result<()>;
    /// The contact a merged-away id redirects to.
    fn redirect_of(&self, org: &str, merged_id: &str) -> Result<Option<String>>;
    /// (org, surviving id) of a merged-away id in any org.
    fn redirect_in_any_org(&self, merged_id: &str) -> Result<Option<(String, String)>>;
    /// Re-points every redirect to `from` at `to`; returns how many.
    fn repoint_redirects(&self, org: &str, from: &str, to: &str) -> Result<u64>;
    fn insert_redirect(
        &self,
        org: &str,
        merged_id: &str,
        surviving_id: &str,
        at: Timestamp,
    ) -> Result<()>;
    fn delete_redirect(&self, org: &str, merged_id: &str) -> Result<()>;
    /// Re-points one redirect from `from` to `to`; false when it does not point at
    /// `from`.
    fn move_redirect(&self, org: &str, merged_id: &str, from: &str, to: &str) -> Result<bool>;
    /// Ids redirecting to the contact, in order.
    fn ids_merged_into(&self, org: &str, surviving_id: &str) -> Result<Vec<String>>;
    /// Journals a merge with what undoing it needs (compact JSON).
    fn journal_merge(
        &self,
        org: &str,
        primary_id: &str,
        duplicate_id: &str,
        at: Timestamp,
        moved: &MoveCounts,
        snapshot: &str,
    ) -> Result<()>;
    /// The latest merge that took this id away and is not undone.
    fn merge_taking(&self, org: &str, duplicate_id: &str) -> Result<Option<JournalEntry>>;
    /// Replaces a journaled merge's snapshot.
    fn set_merge_snapshot(&self, org: &str, seq: i64, snapshot: &str) -> Result<()>;
    /// Marks a merge undone, dropping its snapshot.
    fn mark_unmerged(&self, org: &str, seq: i64, at: Timestamp) -> Result<()>;
    /// Renames the duplicate of journaled merges (and of their logged events).
    fn rename_journaled_duplicate(&self, org: &str, from: &str, to: &str) -> Result<()>;
}

/// Whole contacts: documents for export and import, and erasure.
pub(crate) trait DocumentRows {
    /// Every contact of the scope as a document, by org and id, handed to `each`.
    fn each_document(
        &self,
        orgs: OrgScope<'_>,
        each: &mut dyn FnMut(ContactDocument) -> Result<()>,
    ) -> Result<()>;
    /// The contact with this id in this org as a document, as export writes it.
    fn document(&self, org: &str, id: &str) -> Result<Option<ContactDocument>>;
    /// Inserts a whole document: the contact and every row it owns.
    fn insert_document(&self, document: &ContactDocument) -> Result<()>;
    /// Deletes the contact's own rows (not the contact, redirects or journal).
    fn delete_rows_of(&self, org: &str, contact_id: &str) -> Result<Deleted>;
    /// Deletes the redirects and journal rows naming an id; returns (journal rows,
    /// redirects).
    fn forget_merges_of(&self, org: &str, id: &str) -> Result<(u64, u64)>;
}

/// The `change_event` and `change_log` tables: the change log.
pub(crate) trait ChangeRows {
    /// Whether the store keeps a change log ([`crate::ChangeLog::enabled`]).
    fn logs_changes(&self) -> bool;
    /// Appends an event.
    fn append_change(&self, change: &NewChange<'_>) -> Result<()>;
    /// Events after `since`, oldest first.
    fn changes_after(&self, orgs: OrgScope<'_>, since: u64, limit: usize) -> Result<Vec<Change>>;
    /// The highest seq retention has deleted (0: none).
    fn compacted_through(&self) -> Result<u64>;
    /// The highest seq ever given (0: none).
    fn last_change_seq(&self) -> Result<u64>;
    /// Deletes, among the oldest `batch` events, those written before `written_before`
    /// and those beyond the newest `keep`; returns how many.
    fn compact_changes(
        &self,
        written_before: Option<Timestamp>,
        keep: Option<u64>,
        batch: u64,
    ) -> Result<u64>;
    /// The oldest event kept: its seq and time.
    fn oldest_change(&self) -> Result<Option<(u64, Timestamp)>>;
    /// (seq, detail) of the org's events that name two contacts (merges, unmerges).
    fn changes_with_related(&self, org: &str) -> Result<Vec<(u64, String)>>;
    /// Rewrites an event's detail.
    fn set_change_detail(&self, org: &str, seq: u64, detail: &str) -> Result<()>;
    /// Whether a retained erase tombstone lists this id among the erased contact's
    /// merged ids.
    fn erased_with(&self, org: &str, merged_id: &str) -> Result<bool>;
    /// Deletes every event of these contacts but their erase tombstones.
    fn erase_changes_of(&self, org: &str, contact_ids: &[&str]) -> Result<u64>;
}

/// The `migration_finding` table.
pub(crate) trait FindingRows {
    /// Every finding, of every org.
    fn findings(&self) -> Result<Vec<MigrationFinding>>;
    /// Moves the findings of `from` (or naming it as the other contact) to `to`.
    fn repoint_findings(&self, org: &str, from: &str, to: &str) -> Result<()>;
}

/// One transaction's reads and writes.
pub(crate) trait Tx:
    ContactRows
    + IdentifierRows
    + MemoryRows
    + ActivityRows
    + MergeRows
    + DocumentRows
    + FindingRows
    + ChangeRows
{
    /// Runs `f` in a savepoint: a `BAD_REQUEST` from it undoes what it wrote and is
    /// returned; any other error is returned as is (a storage failure may have ended
    /// the whole transaction already).
    fn savepoint(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()>;
}
