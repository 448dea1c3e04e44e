//! The one error type of the crate.
//!
//! Messages are written for logs: they name the field that is wrong, never its value,
//! and never carry a phone number, an email or a file path. SQLite's own errors are
//! reduced to their result code for the same reason (rusqlite's errors can carry paths
//! and SQL text).

use std::fmt;

/// The error codes of the contract, as they appear in JSON envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed: a bad identifier, a missing field, a refused merge.
    BadRequest,
    /// The contact does not exist in this org.
    NotFound,
    /// Storage failed: busy past the timeout, I/O, corruption, a full disk.
    InternalError,
}

impl ErrorCode {
    /// The code as written in envelopes: `BAD_REQUEST`, `NOT_FOUND`, `INTERNAL_ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in contactstore.
///
/// Use [`Error::code`] for the contract's error code; `Display` gives the message.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum Error {
    /// An input field was rejected. `field` names it (`phone_number`, `metadata`, …);
    /// `reason` says what is wrong with it without repeating it.
    #[error("Invalid {field}: {reason}")]
    InvalidField {
        /// The name of the field, as in the JSON API.
        field: &'static str,
        /// Why it was rejected, in words that never contain the value.
        reason: &'static str,
    },

    /// An identifier to add already belongs to another contact of the org: it is never
    /// moved silently (merge the two contacts instead). Its code is `BAD_REQUEST`, as
    /// the contract has it; [`Error::is_conflict`] tells it apart (the shim answers it
    /// with 409 Conflict).
    #[error("Invalid {field}: already belongs to another contact")]
    IdentifierTaken {
        /// The identifier's type: `phone_number`, `email` or `external_id`.
        field: &'static str,
    },

    /// A memory call needs a persona id or an agent number to choose the memory (the
    /// hosted API's own message).
    #[error("persona_id or agent_number is required")]
    MissingScope,

    /// Resolve and find need at least one identifier.
    #[error("At least one identifier (phone_number, email, or external_id) is required")]
    MissingIdentifier,

    /// A request that is well-formed but refused, with the hosted API's exact wording
    /// (for example `Cannot merge a contact with itself`).
    #[error("{0}")]
    Refused(&'static str),

    /// A change-log cursor from before what retention kept: events after it were
    /// compacted away, so resuming from it would miss them silently.
    #[error(
        "Invalid since: the change log was compacted through seq {compacted_through}; \
         events after the cursor are gone (resynchronize, then resume from a later seq)"
    )]
    ChangesCompacted {
        /// The highest seq compaction removed.
        compacted_through: u64,
    },

    /// The contact does not exist in this org (or was erased).
    #[error("Contact not found")]
    NotFound,

    /// The memory does not exist in this org (a wrong id, another org's, or one
    /// combined into another by a merge).
    #[error("Memory not found")]
    MemoryNotFound,

    /// The database was written by a newer contactstore; it is left untouched.
    #[error(
        "database schema version {found} is newer than this contactstore supports ({supported})"
    )]
    IncompatibleVersion {
        /// The file's `user_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// The file is an SQLite database of some other application.
    #[error("the file is not a contactstore database (application_id {0:#x})")]
    ForeignDatabase(i32),

    /// SQLite failed. Only the result code is kept: see [`StorageError`].
    #[error(transparent)]
    Storage(#[from] StorageError),

    /// The file system failed while opening or creating the database.
    #[error("I/O error: {0}")]
    Io(std::io::ErrorKind),
}

impl Error {
    /// The contract's error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidField { .. }
            | Error::IdentifierTaken { .. }
            | Error::ChangesCompacted { .. }
            | Error::MissingIdentifier
            | Error::MissingScope
            | Error::Refused(_) => ErrorCode::BadRequest,
            Error::NotFound | Error::MemoryNotFound => ErrorCode::NotFound,
            Error::IncompatibleVersion { .. }
            | Error::ForeignDatabase(_)
            | Error::Storage(_)
            | Error::Io(_) => ErrorCode::InternalError,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: &'static str) -> Self {
        Error::InvalidField { field, reason }
    }

    /// True when the request is refused because of what is stored rather than how it
    /// is written: the same request may succeed against other data.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::IdentifierTaken { .. })
    }

    /// True when SQLite gave up waiting for a lock (`SQLITE_BUSY` / `SQLITE_LOCKED`),
    /// or PostgreSQL did (a lock timeout) or ended the transaction so that it may be
    /// retried (a serialization failure or a deadlock).
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Storage(s) if s.is_busy())
    }

    /// True when PostgreSQL ended the transaction because another one raced it: a
    /// serialization failure (`40001`), a deadlock (`40P01`), or a unique key another
    /// transaction inserted meanwhile (`23505`; the rules read before they insert, so
    /// a duplicate key means a concurrent writer). Running the whole transaction again
    /// sees the other's work.
    #[cfg(feature = "postgres")]
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Storage(s) if matches!(s.sqlstate(), Some("40001" | "40P01" | "23505"))
        )
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(StorageError::from(e))
    }
}

#[cfg(feature = "postgres")]
impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Storage(StorageError::from(e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.kind())
    }
}

/// An SQLite failure, reduced to its result code, or a PostgreSQL failure, reduced to
/// its SQLSTATE.
///
/// rusqlite's error values may carry the database path, SQL text or bound values, and
/// PostgreSQL's messages quote the key values a constraint refused; none of that is
/// kept, so this error is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageError {
    code: Option<rusqlite::ErrorCode>,
    extended: i32,
    /// PostgreSQL's five-character SQLSTATE, when the failure came from the server.
    sqlstate: Option<[u8; 5]>,
    /// Whether the failure came from the PostgreSQL engine.
    postgres: bool,
    /// Whether a PostgreSQL connection failed in its TLS handshake.
    tls_handshake: bool,
}

impl StorageError {
    /// SQLite's primary result code, if the failure came from SQLite itself.
    pub fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        self.code
    }

    /// SQLite's extended result code (0 when not an SQLite failure).
    pub fn extended_code(&self) -> i32 {
        self.extended
    }

    /// PostgreSQL's SQLSTATE (`40001`, `23505`, …), when the failure came from a
    /// PostgreSQL server.
    pub fn sqlstate(&self) -> Option<&str> {
        self.sqlstate
            .as_ref()
            .and_then(|code| std::str::from_utf8(code).ok())
    }

    /// True for `SQLITE_BUSY` and `SQLITE_LOCKED`; on PostgreSQL, for a lock timeout
    /// (`55P03`), a serialization failure (`40001`) and a deadlock (`40P01`).
    pub fn is_busy(&self) -> bool {
        matches!(
            self.code,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) || matches!(self.sqlstate(), Some("55P03" | "40001" | "40P01"))
    }
}

#[cfg(feature = "postgres")]
impl StorageError {
    /// A PostgreSQL response the engine did not expect (a value no constraint allows).
    pub(crate) fn unexpected_postgres() -> Self {
        StorageError {
            code: None,
            extended: 0,
            sqlstate: None,
            postgres: true,
            tls_handshake: false,
        }
    }

    /// A connection whose TLS handshake failed (an untrusted certificate, one that
    /// does not name the host, no protocol in common).
    #[cfg(feature = "postgres-tls")]
    pub(crate) fn postgres_tls_handshake() -> Self {
        StorageError {
            tls_handshake: true,
            ..Self::unexpected_postgres()
        }
    }
}

#[cfg(feature = "postgres")]
impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        // Only the code: the message and detail may quote a refused key's values.
        let sqlstate = e.code().and_then(|state| {
            let bytes = state.code().as_bytes();
            <[u8; 5]>::try_from(bytes).ok()
        });
        StorageError {
            code: None,
            extended: 0,
            sqlstate,
            postgres: true,
            tls_handshake: false,
        }
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(inner, _) => StorageError {
                code: Some(inner.code),
                extended: inner.extended_code,
                sqlstate: None,
                postgres: false,
                tls_handshake: false,
            },
            _ => StorageError {
                code: None,
                extended: 0,
                sqlstate: None,
                postgres: false,
                tls_handshake: false,
            },
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.postgres {
            return match self.sqlstate() {
                Some(state) => write!(
                    f,
                    "storage failure: {} (PostgreSQL SQLSTATE {state})",
                    describe_sqlstate(state)
                ),
                None if self.tls_handshake => f.write_str(
                    "storage failure: PostgreSQL TLS handshake failed (the server's \
                     certificate is not trusted or does not name the host)",
                ),
                None => f.write_str("storage failure: PostgreSQL connection or protocol error"),
            };
        }
        match self.code {
            Some(code) => write!(
                f,
                "storage failure: {} (SQLite code {})",
                describe(code),
                self.extended
            ),
            None => f.write_str("storage failure: unexpected database response"),
        }
    }
}

impl std::error::Error for StorageError {}

fn describe_sqlstate(state: &str) -> &'static str {
    match state {
        "40001" => "serialization failure",
        "40P01" => "deadlock detected",
        "55P03" => "lock not available",
        "53100" => "disk is full",
        "57014" => "statement canceled",
        "25006" => "database is read-only",
        _ if state.starts_with("23") => "constraint violation",
        _ if state.starts_with("08") => "connection failure",
        _ if state.starts_with("28") => "authorization failed",
        _ if state.starts_with("3D") => "database does not exist",
        _ => "PostgreSQL error",
    }
}

fn describe(code: rusqlite::ErrorCode) -> &'static str {
    use rusqlite::ErrorCode as C;
    match code {
        C::DatabaseBusy => "database is busy",
        C::DatabaseLocked => "database table is locked",
        C::DiskFull => "disk is full",
        C::ReadOnly => "database is read-only",
        C::DatabaseCorrupt => "database disk image is malformed",
        C::NotADatabase => "file is not a database",
        C::CannotOpen => "unable to open database file",
        C::SystemIoFailure => "disk I/O error",
        C::ConstraintViolation => "constraint violation",
        C::OutOfMemory => "out of memory",
        C::PermissionDenied => "access permission denied",
        C::TooBig => "string or blob too big",
        _ => "SQLite error",
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_contract() {
        assert_eq!(Error::invalid("email", "x").code().as_str(), "BAD_REQUEST");
        assert_eq!(Error::MissingIdentifier.code(), ErrorCode::BadRequest);
        assert_eq!(Error::NotFound.code().as_str(), "NOT_FOUND");
        assert_eq!(Error::NotFound.to_string(), "Contact not found");
        let sqlite = rusqlite::Error::InvalidPath("/home/sarah/+14155550192.db".into());
        let err = Error::from(sqlite);
        assert_eq!(err.code().as_str(), "INTERNAL_ERROR");
        assert!(!err.to_string().contains("sarah"));
        assert!(!format!("{err:?}").contains("sarah"));
    }

    #[test]
    fn busy_is_recognised() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        assert!(Error::from(busy).is_busy());
        assert!(!Error::NotFound.is_busy());
    }
}
