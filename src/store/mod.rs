//! The public face: [`ContactStore`], the handle owning the database, [`Org`], the view
//! of one tenant through which every contact operation runs (its memory calls in
//! `memory.rs`), and [`AllOrgs`], the administration view (`admin.rs`). Each method is
//! one call into the rules.

mod admin;
mod history;
mod memory;

pub use admin::AllOrgs;

use std::io::{BufRead, Write};
use std::path::Path;

use crate::error::Result;
use crate::limits;
use crate::model::{
    ActivityKind, BackupSummary, Call, CheckReport, Contact, ContactDetails, NewCall,
    NewSmsConversation, SmsConversation,
};
use crate::ops::caller::{self, CallerRequest, CallerResolved};
use crate::ops::erase::{self, Erased};
use crate::ops::identify::IdentifierQuery;
use crate::ops::list::{self, ContactPage, ListOptions, OffsetPage};
use crate::ops::merge::{self, Merged};
use crate::ops::resolve::{self, ResolveRequest, Resolved};
use crate::ops::suggest::{self, MergeSuggestions, SuggestOptions};
use crate::ops::transfer::{
    self, ExportSummary, ImportError, ImportOptions, ImportProgress, ImportSummary,
};
use crate::ops::update::{self, ContactPatch, ContactUpdate};
use crate::ops::{activity, check, lookup};
use crate::settings::Settings;
use crate::storage::{Db, OrgScope};

/// An open contactstore database.
///
/// One store owns one SQLite connection (or one PostgreSQL connection): it is `Send`
/// but not `Sync`, so use one store per thread (or process). Many processes may open the same file at once; writes wait
/// for each other (up to [`Settings::busy_timeout`]) instead of failing.
///
/// ```
/// use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
///
/// let store = ContactStore::open_in_memory()?;
/// let acme = store.org("acme")?;
/// let first = acme.resolve(&ResolveRequest {
///     identifiers: IdentifierQuery::phone("(415) 555-0192"),
///     name: Some("Sarah Chen".into()),
///     ..Default::default()
/// })?;
/// assert!(first.created);
///
/// let again = acme.resolve(&ResolveRequest::phone("+1 415 555 0192"))?;
/// assert!(!again.created);
/// assert_eq!(again.contact.id, first.contact.id);
/// # Ok::<(), contactstore::Error>(())
/// ```
pub struct ContactStore {
    db: Db,
}

impl std::fmt::Debug for ContactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No path: it may name a person.
        f.debug_struct("ContactStore")
            .field("settings", self.db.settings())
            .finish_non_exhaustive()
    }
}

impl ContactStore {
    /// Opens the database at `path` with default [`Settings`], creating it (readable by
    /// its owner only) if it does not exist, and upgrading its schema if it is older.
    ///
    /// `path` may also be a PostgreSQL URL, `postgres://user@host:port/database`
    /// (with the cargo feature `postgres`): the store then lives in that database,
    /// shared by every host that opens it, with the same operations, outputs and
    /// errors (README, "Beyond one machine"). Its tables are created in an empty
    /// database; a newer schema is refused. Without the feature such a URL is refused
    /// ([`Error::Refused`](crate::Error::Refused)) rather than taken for a file name.
    ///
    /// # Errors
    /// [`Error::IncompatibleVersion`](crate::Error::IncompatibleVersion) for a file written by a newer contactstore (it is
    /// left untouched), [`Error::ForeignDatabase`](crate::Error::ForeignDatabase) for another application's database,
    /// [`Error::Storage`](crate::Error::Storage) or [`Error::Io`](crate::Error::Io) when the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Settings::default())
    }

    /// Opens the database at `path` with the given settings. See [`ContactStore::open`].
    ///
    /// # Errors
    /// As [`ContactStore::open`].
    pub fn open_with(path: impl AsRef<Path>, settings: Settings) -> Result<Self> {
        Ok(ContactStore {
            db: Db::open(Some(path.as_ref()), settings)?,
        })
    }

    /// A private database in memory, for tests and short-lived tools.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage) if SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<Self> {
        Self::open_in_memory_with(Settings::default())
    }

    /// An in-memory database with the given settings.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage) if SQLite cannot allocate it.
    pub fn open_in_memory_with(settings: Settings) -> Result<Self> {
        Ok(ContactStore {
            db: Db::open(None, settings)?,
        })
    }

    /// Checks the file at `path` without writing to it: it is opened read-only —
    /// never created, migrated or switched to WAL — and checked as
    /// [`ContactStore::check`] does. For an operator after a crash or a disk problem,
    /// while other processes may keep using the file.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("contacts.db");
    /// use contactstore::{ContactStore, ResolveRequest};
    /// ContactStore::open(&path)?.org("acme")?.resolve(&ResolveRequest::phone("+14155550192"))?;
    /// let report = ContactStore::check_file(&path)?;
    /// assert!(report.healthy, "{report:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A PostgreSQL URL is connected to as [`ContactStore::open`] does, but its schema
    /// is never created or upgraded: a database without contactstore's tables is
    /// refused (`BAD_REQUEST`), one of a newer version is
    /// [`Error::IncompatibleVersion`](crate::Error::IncompatibleVersion).
    ///
    /// # Errors
    /// [`Error::IncompatibleVersion`](crate::Error::IncompatibleVersion) for a file of a newer contactstore,
    /// [`Error::ForeignDatabase`](crate::Error::ForeignDatabase) for another application's,
    /// [`Error::Storage`](crate::Error::Storage) when the file cannot be opened (a
    /// missing file included) or read. Damage the checks can name is a failed check in
    /// the report, not an error.
    pub fn check_file(path: impl AsRef<Path>) -> Result<CheckReport> {
        check::check(&Db::open_read_only(path.as_ref(), Settings::default())?)
    }

    /// Checks the store: the file's header (`application_id`, schema version),
    /// SQLite's `integrity_check` and `foreign_key_check` (on PostgreSQL: the schema's
    /// version row; the server keeps its own pages and foreign keys), and the store's own
    /// invariants — every identifier, memory, entity, call and conversation has its
    /// contact; no contact of a merged-away id remains; every redirect reaches a live
    /// contact in one step and agrees with the merge journal; at most one primary
    /// identifier per type — each with what it found. What schema upgrades left for an
    /// operator ([`AllOrgs::migration_findings`]) is listed as warnings. One read
    /// transaction; never writes. It reads the whole file: seconds for a large store.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage) when the file cannot be read (busy
    /// past the timeout, I/O). Damage is a failed check in the report.
    pub fn check(&self) -> Result<CheckReport> {
        check::check(&self.db)
    }

    /// Writes a consistent copy of the store to `destination` while other processes
    /// keep writing: SQLite's `VACUUM INTO`, one read snapshot (writers do not wait for
    /// it), compacted (no free pages, so nothing deleted reaches the copy). The file is
    /// created readable by its owner only and synced; an existing file is never
    /// overwritten. The copy is a store like any other: open it with
    /// [`ContactStore::open`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
    /// let store = ContactStore::open(dir.path().join("contacts.db"))?;
    /// store.org("acme")?.resolve(&ResolveRequest::phone("+14155550192"))?;
    /// store.backup_to(dir.path().join("copy.db"))?;
    /// let copy = ContactStore::open(dir.path().join("copy.db"))?;
    /// assert!(copy.org("acme")?.find(&IdentifierQuery::phone("+14155550192"))?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// SQLite only: on PostgreSQL it is refused with
    /// [`Error::Refused`](crate::Error::Refused) (use `pg_dump`, or export).
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) naming `destination` when it
    /// exists already (or is not a UTF-8 path); [`Error::Io`](crate::Error::Io) when it
    /// cannot be created; [`Error::Storage`](crate::Error::Storage) when the copy fails
    /// (a full disk: the partial file is removed).
    pub fn backup_to(&self, destination: impl AsRef<Path>) -> Result<BackupSummary> {
        Ok(BackupSummary {
            bytes: self.db.backup_to(destination.as_ref())?,
        })
    }

    /// As [`ContactStore::backup_to`], replacing `destination` if it exists — only
    /// when asked, so an operator's existing file is never lost by accident. The copy
    /// is written beside it and renamed over it when complete, so `destination` is
    /// always either the old file or the whole new copy, never a partial one.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use contactstore::ContactStore;
    /// let store = ContactStore::open(dir.path().join("contacts.db"))?;
    /// store.backup_to(dir.path().join("nightly.db"))?;
    /// assert!(store.backup_to(dir.path().join("nightly.db")).is_err());
    /// store.backup_replacing(dir.path().join("nightly.db"))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`ContactStore::backup_to`], but an existing file is no error.
    pub fn backup_replacing(&self, destination: impl AsRef<Path>) -> Result<BackupSummary> {
        Ok(BackupSummary {
            bytes: self.db.backup_replacing(destination.as_ref())?,
        })
    }

    /// The settings the store was opened with.
    pub fn settings(&self) -> &Settings {
        self.db.settings()
    }

    /// The view of one org. Every contact operation runs through it; contacts of other
    /// orgs are invisible to it.
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) naming `org_id` if it is empty, longer than 128
    /// characters or contains control characters.
    pub fn org(&self, org_id: &str) -> Result<Org<'_>> {
        let org_id = limits::org_id(org_id)?;
        Ok(Org {
            store: self,
            org_id,
        })
    }

    /// The handle for administration across orgs: export and import of everything.
    /// Ordinary operations go through [`ContactStore::org`].
    pub fn all_orgs(&self) -> AllOrgs<'_> {
        AllOrgs { store: self }
    }
}

/// One org's view of the store: resolve, find and get see and touch only this org's
/// contacts. Obtain it with [`ContactStore::org`].
#[derive(Debug, Clone)]
pub struct Org<'s> {
    store: &'s ContactStore,
    org_id: String,
}

impl<'s> Org<'s> {
    /// The org's id.
    pub fn id(&self) -> &str {
        &self.org_id
    }

    /// The store this view belongs to.
    pub fn store(&self) -> &'s ContactStore {
        self.store
    }

    /// Finds the contact that owns the request's identifiers, or creates one
    /// (contract §3, resolve). Never merges and never overwrites: supplied identifiers
    /// owned by nobody are attached, an empty name is filled, missing metadata keys are
    /// added. A resolve that changes nothing writes nothing.
    ///
    /// # Errors
    /// [`Error::MissingIdentifier`](crate::Error::MissingIdentifier) without any identifier; [`Error::InvalidField`](crate::Error::InvalidField) for
    /// an invalid identifier, name, persona id, agent number or non-object metadata
    /// (nothing is written); [`Error::Storage`](crate::Error::Storage) if the database fails.
    pub fn resolve(&self, request: &ResolveRequest) -> Result<Resolved> {
        resolve::resolve(&self.store.db, &self.org_id, request)
    }

    /// What [`Org::resolve`] would answer if it would write nothing — the request's
    /// contact exists and the request adds nothing to it (the usual call of a known
    /// caller) — or `None` when resolve would create or change a contact. Never takes
    /// the write lock, so it never waits for a writer: for a caller that answers reads
    /// where waiting is not allowed (the HTTP shim answers known callers on its
    /// network threads, and hands the rest to [`Org::resolve`] on its blocking pool).
    ///
    /// ```
    /// # use contactstore::{ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let caller = ResolveRequest::phone("+14155550192");
    /// assert!(org.resolve_known(&caller)?.is_none()); // resolve would create it
    /// let created = org.resolve(&caller)?;
    /// let known = org.resolve_known(&caller)?.expect("a known caller");
    /// assert_eq!(known.contact.id, created.contact.id);
    /// assert!(!known.created);
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Org::resolve`], for the same requests.
    pub fn resolve_known(&self, request: &ResolveRequest) -> Result<Option<Resolved>> {
        resolve::resolve_known(&self.store.db, &self.org_id, request)
    }

    /// Resolves a caller id as telephony delivers it (contract §9): the id is
    /// classified ([`classify_caller`](crate::classify_caller)); a number — in any
    /// spelling or URI form — is resolved as [`Org::resolve`] does, with the memory
    /// scoped by `persona_id`, else by `to` as the agent number; a withheld id, a short
    /// code or a sender id is answered with its kind, no contact, and nothing written.
    ///
    /// ```
    /// use contactstore::{Caller, CallerRequest, ContactStore};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let first = org.resolve_caller(&CallerRequest::new("(415) 555-0192").to("+14155550100"))?;
    /// assert!(first.created);
    /// let again = org.resolve_caller(&CallerRequest::new(
    ///     "\"Sarah\" <sip:+14155550192@sip.twilio.com;user=phone>;tag=8d1f"))?;
    /// assert_eq!(again.contact.unwrap().id, first.contact.unwrap().id);
    /// assert_eq!(again.caller, Caller::Number { phone_number: "+14155550192".into() });
    ///
    /// let withheld = org.resolve_caller(&CallerRequest::new("anonymous"))?;
    /// assert_eq!((withheld.caller, withheld.contact), (Caller::Withheld, None));
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) naming `from` for a caller id
    /// that is none of the kinds (garbage, an invalid number, an extension, a URI without
    /// a number), `to` for an invalid agent number, or the field of an invalid name,
    /// persona id or metadata; [`Error::Storage`](crate::Error::Storage) if the
    /// database fails. Nothing is written on error.
    pub fn resolve_caller(&self, request: &CallerRequest) -> Result<CallerResolved> {
        caller::resolve_caller(&self.store.db, &self.org_id, request)
    }

    /// The contact reached by the identifiers (external_id > phone_number > email),
    /// with its identifiers and memories, or `None`. Never writes.
    ///
    /// ```
    /// use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// org.resolve(&ResolveRequest::email("Sarah@Example.com"))?;
    /// let found = org.find(&IdentifierQuery::email("sarah@example.com"))?.unwrap();
    /// assert_eq!(found.identifiers[0].identifier_value, "sarah@example.com");
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingIdentifier`](crate::Error::MissingIdentifier) without any identifier; [`Error::InvalidField`](crate::Error::InvalidField) for
    /// an invalid one; [`Error::Storage`](crate::Error::Storage) if the database fails.
    pub fn find(&self, query: &IdentifierQuery) -> Result<Option<ContactDetails>> {
        let mut ids = query.normalized(self.store.settings().region)?;
        self.store
            .db
            .read(|tx| match ids.owners(tx, &self.org_id)?.contact {
                Some(contact) => lookup::details(tx, contact).map(Some),
                None => Ok(None),
            })
    }

    /// The contact with this id, with its identifiers and memories. The id of a contact
    /// that was merged away gives the contact it was merged into.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown id or another org's contact;
    /// [`Error::Storage`](crate::Error::Storage) if the database fails.
    pub fn get(&self, contact_id: &str) -> Result<ContactDetails> {
        self.store.db.read(|tx| {
            let contact = lookup::reached_contact(tx, &self.org_id, contact_id)?;
            lookup::details(tx, contact)
        })
    }

    /// Corrects a contact: set or clear the name, patch metadata (null removes a key),
    /// add identifiers (normalized; one owned by another contact is refused — never
    /// stolen), remove identifiers (a contact keeps at least one), make identifiers
    /// primary. One transaction; `updated_at` moves only if something changed. A
    /// merged-away id is followed like [`Org::get`]. Returns the contact as get does.
    ///
    /// ```
    /// use contactstore::{ContactStore, ContactUpdate, IdentifierType, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let id = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let got = org.update(&id, &ContactUpdate::default()
    ///     .name("Sarah Chen")
    ///     .add(IdentifierType::Email, "Sarah@Example.com"))?;
    /// assert_eq!(got.contact.name.as_deref(), Some("Sarah Chen"));
    /// assert_eq!(got.identifiers.len(), 2);
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) for an invalid value, an identifier of another contact,
    /// removing one the contact does not have or its last one; [`Error::NotFound`](crate::Error::NotFound) for
    /// an unknown id or another org's contact; [`Error::Storage`](crate::Error::Storage). Nothing is written
    /// on error.
    pub fn update(&self, contact_id: &str, changes: &ContactUpdate) -> Result<ContactDetails> {
        update::update(&self.store.db, &self.org_id, contact_id, changes)
    }

    /// One page of the org's contacts, by `created_at` then id, without memories. Pass
    /// the page's `next_cursor` to get the next one (`None` after the last).
    ///
    /// ```
    /// use contactstore::{ContactStore, ListOptions, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// for i in 0..3 {
    ///     org.resolve(&ResolveRequest::email(format!("user{i}@example.com")))?;
    /// }
    /// let first = org.list(&ListOptions::default().limit(2))?;
    /// let rest = org.list(&ListOptions::default().limit(2).cursor(first.next_cursor.unwrap()))?;
    /// assert_eq!((first.contacts.len(), rest.contacts.len()), (2, 1));
    /// assert!(rest.next_cursor.is_none());
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) for a limit outside 1..=1000 or a cursor list did not
    /// return; [`Error::Storage`](crate::Error::Storage).
    pub fn list(&self, options: &ListOptions) -> Result<ContactPage> {
        list::list(&self.store.db, &self.org_id, options)
    }

    /// One page of the org's contacts by offset, with their identifiers and memories,
    /// and the hosted API's `pagination` (`GET /v1/contacts`): by `created_at` then
    /// id; `limit` 1–200, default 50. [`Org::list`]'s cursor is cheaper deep into an
    /// org.
    ///
    /// ```
    /// use contactstore::{ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// for i in 0..3 {
    ///     org.resolve(&ResolveRequest::email(format!("user{i}@example.com")))?;
    /// }
    /// let page = org.contacts_at_offset(2, Some(2))?;
    /// assert_eq!(page.contacts.len(), 1);
    /// assert_eq!((page.pagination.total, page.pagination.has_more), (3, false));
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) for a limit outside 1..=200;
    /// [`Error::Storage`](crate::Error::Storage).
    pub fn contacts_at_offset(&self, offset: u64, limit: Option<usize>) -> Result<OffsetPage> {
        list::offset_page(&self.store.db, &self.org_id, offset, limit)
    }

    /// The hosted API's contact update (`PATCH /v1/contacts/{contact_id}`): see
    /// [`ContactPatch`]. Returns the contact without identifiers and memories.
    ///
    /// # Errors
    /// As [`Org::update`].
    pub fn patch_contact(&self, contact_id: &str, patch: &ContactPatch) -> Result<Contact> {
        update::patch(&self.store.db, &self.org_id, contact_id, patch)
    }

    /// Merges `duplicate_id` into `primary_id` in one transaction, following the merge
    /// rules (contract §3): identifiers, metadata, name, calls, SMS and memory move to
    /// the primary, the duplicate is deleted and its id redirects to the primary.
    ///
    /// ```
    /// use contactstore::{ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let by_phone = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let by_email = org.resolve(&ResolveRequest::email("sarah@example.com"))?.contact.id;
    /// let merged = org.merge(&by_phone, &by_email)?;
    /// assert_eq!(merged.moved.identifiers, 1);
    /// assert_eq!(org.get(&by_email)?.contact.id, by_phone); // the old id redirects
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Refused`](crate::Error::Refused) `Cannot merge a contact with itself`; [`Error::NotFound`](crate::Error::NotFound) when
    /// either id is unknown in this org; [`Error::Storage`](crate::Error::Storage). On any error nothing changes.
    pub fn merge(&self, primary_id: &str, duplicate_id: &str) -> Result<Merged> {
        merge::merge(
            &self.store.db,
            OrgScope::One(&self.org_id),
            primary_id,
            duplicate_id,
        )
    }

    /// Pairs of contacts that are probably one person, highest score first, each with
    /// a score in 0..1 and the evidence in words. Never writes: merge the pairs you
    /// agree with ([`Org::merge`]). The primary of a pair is the older contact.
    ///
    /// Evidence for: emails a provider delivers to one mailbox (Gmail's dots and
    /// `+tags`, …), a number stored under another country code, the same name (worth
    /// more the rarer it is), diminutives and typos of it, an organization in common,
    /// a phone on one contact and an email on the other. Against: different first
    /// names (family members, a shared office line), different numbers, suffixes or
    /// external ids.
    ///
    /// ```
    /// use contactstore::{ContactStore, IdentifierQuery, ResolveRequest, SuggestOptions};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let call = org.resolve(&ResolveRequest {
    ///     identifiers: IdentifierQuery::email("sarah.chen@gmail.com"),
    ///     name: Some("Sarah Chen".into()), ..Default::default() })?;
    /// let form = org.resolve(&ResolveRequest::email("SarahChen+orders@gmail.com"))?;
    /// let found = org.suggest_merges(&SuggestOptions::default())?;
    /// assert_eq!(found.suggestions.len(), 1);
    /// assert_eq!(found.suggestions[0].primary_id, call.contact.id);
    /// assert_eq!(found.suggestions[0].duplicate_id, form.contact.id);
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) for a limit outside 1..=1000
    /// or a `min_score` outside 0..=1; [`Error::Storage`](crate::Error::Storage).
    pub fn suggest_merges(&self, options: &SuggestOptions) -> Result<MergeSuggestions> {
        suggest::suggest(&self.store.db, &self.org_id, options)
    }

    /// Erases a contact and everything that names it — identifiers, memories and their
    /// entities, calls, SMS conversations, merge redirects and journal rows — in one
    /// transaction, with deleted content zeroed in the file and the WAL truncated
    /// afterwards. The id of a merged-away contact erases the
    /// contact it was merged into, which holds that person's data now.
    ///
    /// ```
    /// use contactstore::{ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let id = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let erased = org.erase(&id)?;
    /// assert_eq!(erased.identifiers, 1);
    /// assert_eq!(org.get(&id).unwrap_err().code().as_str(), "NOT_FOUND");
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown id or another org's contact (nothing is
    /// written); [`Error::Storage`](crate::Error::Storage) if the database fails (nothing is erased).
    pub fn erase(&self, contact_id: &str) -> Result<Erased> {
        erase::erase(&self.store.db, &self.org_id, contact_id)
    }

    /// Writes the org's contacts as JSON Lines, one contact document a line, in a
    /// stable order (by id). See the crate's README for the format.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) if writing fails; [`Error::Storage`](crate::Error::Storage).
    pub fn export(&self, out: &mut dyn Write) -> Result<ExportSummary> {
        transfer::export(&self.store.db, OrgScope::One(&self.org_id), out)
    }

    /// Imports JSON Lines contact documents into this org (their `org_id` is ignored).
    /// Each line is atomic: a rejected line leaves nothing behind and is reported in
    /// the summary with its number; the good lines around it land. `progress` is
    /// called after each batch of lines.
    ///
    /// ```
    /// use contactstore::{ContactStore, IdentifierQuery, ImportOptions};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let input = r#"{"name":"Sarah","identifiers":[{"identifier_type":"phone_number","identifier_value":"(415) 555-0192"}]}
    /// not json
    /// "#;
    /// let summary = org.import(&mut input.as_bytes(), &ImportOptions::default(), &mut |_| {})?;
    /// assert_eq!((summary.imported, summary.rejected), (1, 1));
    /// assert_eq!(summary.errors[0].line, 2);
    /// assert!(org.find(&IdentifierQuery::phone("+14155550192"))?.is_some());
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// A line whose content the store already holds — the contact it names (by id, or
    /// else the one owning all its identifiers) already is that document — counts as
    /// `unchanged` and writes nothing, so importing a file again after a crash lands
    /// exactly the lines the first run did not.
    ///
    /// # Errors
    /// Only failures that stop the whole import, as an [`ImportError`] carrying the
    /// summary of the committed lines and the cause: [`Error::Io`](crate::Error::Io)
    /// reading the input, [`Error::Storage`](crate::Error::Storage) writing. Bad lines
    /// are reported in the summary instead.
    pub fn import(
        &self,
        input: &mut (dyn BufRead + Send),
        options: &ImportOptions,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportSummary, ImportError> {
        transfer::import(
            &self.store.db,
            OrgScope::One(&self.org_id),
            input,
            options,
            progress,
        )
    }

    /// Records a call with the contact (numbers normalized; `started_at` now when absent).
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) for an invalid number, negative duration or non-object
    /// metadata; [`Error::NotFound`](crate::Error::NotFound) for an unknown contact; [`Error::Storage`](crate::Error::Storage).
    pub fn record_call(&self, contact_id: &str, call: &NewCall) -> Result<Call> {
        activity::record_call(&self.store.db, &self.org_id, contact_id, call)
    }

    /// Records an SMS conversation with the contact.
    ///
    /// # Errors
    /// As [`Org::record_call`].
    pub fn record_sms(
        &self,
        contact_id: &str,
        sms: &NewSmsConversation,
    ) -> Result<SmsConversation> {
        activity::record_sms(&self.store.db, &self.org_id, contact_id, sms)
    }

    /// The contact's calls, newest first.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown contact; [`Error::Storage`](crate::Error::Storage).
    pub fn calls(&self, contact_id: &str) -> Result<Vec<Call>> {
        let rows = activity::list(&self.store.db, &self.org_id, contact_id, ActivityKind::Call)?;
        Ok(rows.into_iter().map(Call::from).collect())
    }

    /// The contact's SMS conversations, newest first.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown contact; [`Error::Storage`](crate::Error::Storage).
    pub fn sms_conversations(&self, contact_id: &str) -> Result<Vec<SmsConversation>> {
        let rows = activity::list(&self.store.db, &self.org_id, contact_id, ActivityKind::Sms)?;
        Ok(rows.into_iter().map(SmsConversation::from).collect())
    }
}
