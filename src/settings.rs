//! [`Settings`] of a store, fixed when it is opened, and the phone [`PhoneRegion`]
//! they name.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use phonenumber::country;

use crate::error::{Error, Result};

/// How hard SQLite works to keep committed transactions across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives a crash of the process,
    /// and the database is never corrupted; a power loss may undo the last commits.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before it returns.
    Full,
}

/// Settings of a store, fixed when it is opened.
///
/// ```
/// use contactstore::{Durability, Settings};
/// let settings = Settings::default()
///     .region("GB".parse().unwrap())
///     .recent_messages_cap(20)
///     .durability(Durability::Full);
/// assert_eq!(settings.recent_messages_cap, 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Region for phone numbers written without a country code. Default `US`.
    pub region: PhoneRegion,
    /// How many recent messages a memory keeps (the newest). Default 50.
    pub recent_messages_cap: usize,
    /// Commit durability. Default [`Durability::Normal`].
    pub durability: Durability,
    /// How long a write waits for another process's lock before failing. Default 10 s.
    pub busy_timeout: Duration,
    /// The largest the database may grow, in bytes (whole pages: `PRAGMA
    /// max_page_count`). A write that needs more fails with `INTERNAL_ERROR` (disk is
    /// full) and changes nothing, as on a full disk. A limit below the file's current
    /// size keeps it at that size. Default: none.
    pub size_limit: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: PhoneRegion::default(),
            recent_messages_cap: 50,
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(10),
            size_limit: None,
        }
    }
}

impl Settings {
    /// Sets the default phone region.
    pub fn region(mut self, region: PhoneRegion) -> Self {
        self.region = region;
        self
    }
    /// Sets how many recent messages each memory keeps (at least 1).
    pub fn recent_messages_cap(mut self, cap: usize) -> Self {
        self.recent_messages_cap = cap.max(1);
        self
    }
    /// Sets commit durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
    /// Sets the lock wait.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
    /// Caps the database's size, in bytes (see [`Settings::size_limit`]).
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = Some(bytes);
        self
    }
}

/// The region used for phone numbers written without a country code (default `US`).
///
/// ```
/// use contactstore::PhoneRegion;
/// let uk: PhoneRegion = "GB".parse().unwrap();
/// assert_eq!(uk.to_string(), "GB");
/// assert!("XX".parse::<PhoneRegion>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(pub(crate) country::Id);

impl Default for PhoneRegion {
    fn default() -> Self {
        PhoneRegion(country::Id::US)
    }
}

impl FromStr for PhoneRegion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        country::Id::from_str(&s.to_ascii_uppercase())
            .map(PhoneRegion)
            .map_err(|_| Error::invalid("region", "is not a known ISO 3166 region code"))
    }
}

impl fmt::Display for PhoneRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}
