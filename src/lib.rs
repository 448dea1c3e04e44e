//! # contactstore
//!
//! Contact identity resolution and per-agent memory for voice agents, embedded: one
//! SQLite file, no network hop. The same person calling as `(415) 555-0192`, texting
//! from `+14155550192` and writing from `Sarah@Example.com` is one contact.
//!
//! ```
//! use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
//!
//! let store = ContactStore::open_in_memory()?;          // or ContactStore::open("contacts.db")
//! let org = store.org("acme")?;                         // every operation runs in one org
//!
//! // A call comes in: find or create the caller.
//! let call = org.resolve(&ResolveRequest {
//!     identifiers: IdentifierQuery::phone("(415) 555-0192"),
//!     name: Some("Sarah Chen".into()),
//!     persona_id: Some("persona-12345678".into()),
//!     ..Default::default()
//! })?;
//! assert!(call.created);
//!
//! // Later a web form: same person, a new identifier is attached.
//! let form = org.resolve(&ResolveRequest {
//!     identifiers: IdentifierQuery {
//!         phone_number: Some("+1 415 555 0192".into()),
//!         email: Some("Sarah@Example.com".into()),
//!         ..Default::default()
//!     },
//!     ..Default::default()
//! })?;
//! assert_eq!(form.contact.id, call.contact.id);
//!
//! let sarah = org.find(&IdentifierQuery::email("sarah@example.com"))?.unwrap();
//! assert_eq!(sarah.identifiers.len(), 2);
//! assert_eq!(sarah.memories[0].persona_id.as_deref(), Some("persona-12345678"));
//! assert_eq!(org.get(&call.contact.id)?.contact.name.as_deref(), Some("Sarah Chen"));
//! # Ok::<(), contactstore::Error>(())
//! ```
//!
//! ## Layout
//!
//! Arrows point one way: the shells (the `contactstore` command, the HTTP shim in
//! [`server`]) call the public face ([`ContactStore`], [`Org`]), which calls the rules
//! (resolve precedence, merge, memory caps, import — private `ops` modules), which
//! call the storage layer (private `storage`: every SQL statement, one module a
//! table, behind the interface the rules use). Beneath them all: the data types (the
//! JSON shapes of contract §5, re-exported here), [`normalize`] (identifiers), the
//! [`limits`] and their checks, [`Settings`], [`Timestamp`] and the one [`Error`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod caller;
pub mod envelope;
mod error;
pub mod limits;
mod model;
pub mod normalize;
mod ops;
#[cfg(feature = "serve")]
pub mod server;
mod settings;
mod storage;
mod store;
mod timestamp;

pub use caller::{classify_caller, Caller};
pub use error::{Error, ErrorCode, Result, StorageError};
pub use model::{
    BackupSummary, Call, Change, ChangeKind, ChangePage, Channel, CheckOutcome, CheckReport,
    CheckWarning, Contact, ContactDetails, Direction, Entity, EntityRef, EntityUpdate,
    HistoryEntry, HistoryKind, Identifier, IdentifierType, JsonObject, Memory, MemoryContext,
    MemoryRecord, MemoryScope, Message, MigrationFinding, MoveCounts, NewCall, NewSmsConversation,
    OpenItem, OpenedMemory, Priority, Role, SmsConversation,
};
pub use ops::caller::{CallerRequest, CallerResolved};
pub use ops::erase::Erased;
pub use ops::identify::IdentifierQuery;
pub use ops::list::{ContactPage, ListOptions, ListedContact, OffsetPage, Pagination};
pub use ops::merge::Merged;
pub use ops::resolve::{Conflict, ResolveRequest, Resolved};
pub use ops::suggest::{MergeSuggestion, MergeSuggestions, SuggestOptions};
pub use ops::transfer::{
    ExportSummary, ImportError, ImportOptions, ImportProgress, ImportSummary, LineError, OnConflict,
};
pub use ops::unmerge::Unmerged;
pub use ops::update::{ContactPatch, ContactUpdate, IdentifierRef, NameChange};
pub use settings::{ChangeLog, Durability, PhoneRegion, Settings};
#[cfg(feature = "postgres")]
pub use storage::postgres::schema::POSTGRES_SCHEMA_VERSION;
pub use storage::sqlite::schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::{AllOrgs, ContactStore, Org};
pub use timestamp::Timestamp;
