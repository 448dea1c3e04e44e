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
//!     phone_number: Some("(415) 555-0192".into()),
//!     name: Some("Sarah Chen".into()),
//!     persona_id: Some("persona-12345678".into()),
//!     ..Default::default()
//! })?;
//! assert!(call.created);
//!
//! // Later a web form: same person, a new identifier is attached.
//! let form = org.resolve(&ResolveRequest {
//!     phone_number: Some("+1 415 555 0192".into()),
//!     email: Some("Sarah@Example.com".into()),
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
//! The crate's layout follows its concerns: [`normalize`] (identifiers), `db`/`schema`
//! (opening and migrations), `resolve` and `lookup` (the operations), [`model`] (the
//! JSON shapes), [`envelope`] (the API's success and error wrappers).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activity;
mod db;
pub mod envelope;
pub mod erase;
mod error;
mod export;
pub mod list;
mod lookup;
pub mod memory;
pub mod merge;
pub mod model;
pub mod normalize;
mod resolve;
mod schema;
#[cfg(feature = "serve")]
pub mod server;
mod store;
mod timestamp;
pub mod transfer;
pub mod update;

pub use activity::{Call, Direction, NewCall, NewSmsConversation, SmsConversation};
pub use db::{Durability, Settings};
pub use erase::Erased;
pub use error::{Error, ErrorCode, Result, StorageError};
pub use list::{ContactPage, ListOptions, ListedContact};
pub use memory::{EntityUpdate, MemoryScope};
pub use merge::{Merged, MoveCounts};
pub use model::{
    Channel, Conflict, Contact, ContactDetails, Entity, EntityRef, Identifier, JsonObject, Memory,
    Message, OpenItem, Priority, Resolved, Role, Scope,
};
pub use normalize::{IdentifierType, PhoneRegion};
pub use resolve::{IdentifierQuery, ResolveRequest, MAX_METADATA_BYTES, MAX_NAME_CHARS};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::{AllOrgs, ContactStore, Org, MAX_ORG_ID_CHARS};
pub use timestamp::Timestamp;
pub use transfer::{
    ContactDocument, ExportSummary, ImportOptions, ImportProgress, ImportSummary, LineError,
    OnConflict,
};
pub use update::{ContactUpdate, IdentifierRef, NameChange};
