//! [`ContactStore`], the handle owning the connection, and [`Org`], the view of one
//! tenant through which every contact operation runs.

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::db::{self, Settings};
use crate::error::{Error, Result};
use crate::lookup;
use crate::model::{ContactDetails, Resolved};
use crate::normalize;
use crate::resolve::{self, IdentifierQuery, ResolveRequest};

/// Longest org id accepted.
pub const MAX_ORG_ID_CHARS: usize = 128;

/// An open contactstore database.
///
/// One store owns one SQLite connection: it is `Send` but not `Sync`, so use one store
/// per thread (or process). Many processes may open the same file at once; writes wait
/// for each other (up to [`Settings::busy_timeout`]) instead of failing.
///
/// ```
/// use contactstore::{ContactStore, ResolveRequest};
///
/// let store = ContactStore::open_in_memory()?;
/// let acme = store.org("acme")?;
/// let first = acme.resolve(&ResolveRequest {
///     phone_number: Some("(415) 555-0192".into()),
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
    conn: Connection,
    settings: Settings,
}

impl std::fmt::Debug for ContactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No path: it may name a person.
        f.debug_struct("ContactStore")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ContactStore {
    /// Opens the database at `path` with default [`Settings`], creating it (readable by
    /// its owner only) if it does not exist, and upgrading its schema if it is older.
    ///
    /// # Errors
    /// [`Error::IncompatibleVersion`] for a file written by a newer contactstore (it is
    /// left untouched), [`Error::ForeignDatabase`] for another application's database,
    /// [`Error::Storage`] or [`Error::Io`] when the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Settings::default())
    }

    /// Opens the database at `path` with the given settings. See [`ContactStore::open`].
    ///
    /// # Errors
    /// As [`ContactStore::open`].
    pub fn open_with(path: impl AsRef<Path>, settings: Settings) -> Result<Self> {
        let conn = db::open(Some(path.as_ref()), &settings)?;
        Ok(ContactStore { conn, settings })
    }

    /// A private database in memory, for tests and short-lived tools.
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<Self> {
        Self::open_in_memory_with(Settings::default())
    }

    /// An in-memory database with the given settings.
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite cannot allocate it.
    pub fn open_in_memory_with(settings: Settings) -> Result<Self> {
        let conn = db::open(None, &settings)?;
        Ok(ContactStore { conn, settings })
    }

    /// The settings the store was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The view of one org. Every contact operation runs through it; contacts of other
    /// orgs are invisible to it.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `org_id` if it is empty, longer than 128
    /// characters or contains control characters.
    pub fn org(&self, org_id: &str) -> Result<Org<'_>> {
        let org_id = normalize::key(org_id, MAX_ORG_ID_CHARS, "org_id")?;
        Ok(Org {
            store: self,
            org_id,
        })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: it waits for other writers, and
    /// commits only if `f` succeeds (an error rolls everything back).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so that its statements see one snapshot.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
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
    /// [`Error::MissingIdentifier`] without any identifier; [`Error::InvalidField`] for
    /// an invalid identifier, name, persona id, agent number or non-object metadata
    /// (nothing is written); [`Error::Storage`] if the database fails.
    pub fn resolve(&self, request: &ResolveRequest) -> Result<Resolved> {
        resolve::resolve(self.store, &self.org_id, request)
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
    /// [`Error::MissingIdentifier`] without any identifier; [`Error::InvalidField`] for
    /// an invalid one; [`Error::Storage`] if the database fails.
    pub fn find(&self, query: &IdentifierQuery) -> Result<Option<ContactDetails>> {
        let wanted = query.normalized(self.store.settings.region)?;
        self.store.read(|conn| {
            let owners = lookup::owners(conn, &self.org_id, &wanted)?;
            match owners.first() {
                Some((_, contact_id)) => {
                    let contact =
                        lookup::contact(conn, &self.org_id, contact_id)?.ok_or(Error::NotFound)?;
                    lookup::details(conn, contact).map(Some)
                }
                None => Ok(None),
            }
        })
    }

    /// The contact with this id, with its identifiers and memories. The id of a contact
    /// that was merged away gives the contact it was merged into.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id or another org's contact;
    /// [`Error::Storage`] if the database fails.
    pub fn get(&self, contact_id: &str) -> Result<ContactDetails> {
        self.store.read(|conn| {
            let contact = lookup::contact_following_merges(conn, &self.org_id, contact_id)?
                .ok_or(Error::NotFound)?;
            lookup::details(conn, contact)
        })
    }
}
