//! [`Settings`] of a store, fixed when it is opened, and the phone [`PhoneRegion`]
//! they name.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rlibphonenumber::enums::Region;

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
    /// The change log: whether writes append events, and how long they are kept.
    /// Default: on, keeping 30 days.
    pub change_log: ChangeLog,
    /// How much of the database file reads may map into memory (`PRAGMA mmap_size`),
    /// in bytes; 0 reads every page with a system call into the connection's own page
    /// cache. Mapped pages are the operating system's cache, shared by every
    /// connection and process, and read without a copy: a find with full hydration
    /// took 29 µs instead of 60 µs on a 2 MiB page cache that the memory rows did not
    /// fit. Writes never go through the mapping. The cost: an I/O error while reading
    /// a mapped page ends the process with SIGBUS instead of returning an error.
    /// Default 256 MiB (address space, not memory).
    pub mmap_size: u64,
}

/// The change log's settings (see [`crate::Org::changes`]).
///
/// ```
/// use std::time::Duration;
/// use contactstore::{ChangeLog, Settings};
/// let settings = Settings::default().change_log(ChangeLog::default().max_events(1_000_000));
/// assert_eq!(settings.change_log.max_age, Some(Duration::from_secs(30 * 86_400)));
/// assert_eq!(settings.change_log.max_events, Some(1_000_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeLog {
    /// Whether writes append events. Default true. Off, nothing is logged (merges
    /// still keep what undoing them needs).
    pub enabled: bool,
    /// Events older than this are compacted away. Default 30 days; `None` keeps them
    /// by age forever.
    pub max_age: Option<Duration>,
    /// At most this many events are kept (the oldest go first). Default: no bound.
    pub max_events: Option<u64>,
}

impl Default for ChangeLog {
    fn default() -> Self {
        ChangeLog {
            enabled: true,
            max_age: Some(Duration::from_secs(30 * 86_400)),
            max_events: None,
        }
    }
}

impl ChangeLog {
    /// No change log at all.
    pub fn disabled() -> Self {
        ChangeLog {
            enabled: false,
            ..ChangeLog::default()
        }
    }
    /// Keeps events for `age` (`None`: no bound by age).
    pub fn max_age(mut self, age: Option<Duration>) -> Self {
        self.max_age = age;
        self
    }
    /// Keeps at most `count` events.
    pub fn max_events(mut self, count: u64) -> Self {
        self.max_events = Some(count);
        self
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: PhoneRegion::default(),
            recent_messages_cap: 50,
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(10),
            size_limit: None,
            change_log: ChangeLog::default(),
            mmap_size: 256 * 1024 * 1024,
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
    /// Sets how much of the file reads may map into memory (0: none). See
    /// [`Settings::mmap_size`](Settings#structfield.mmap_size).
    pub fn mmap_size(mut self, bytes: u64) -> Self {
        self.mmap_size = bytes;
        self
    }
    /// Sets the change log's settings.
    pub fn change_log(mut self, change_log: ChangeLog) -> Self {
        self.change_log = change_log;
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
pub struct PhoneRegion(pub(crate) Region);

impl PhoneRegion {
    /// Every region libphonenumber's metadata describes, by ISO 3166 code. Kept here so
    /// that naming a region costs nothing at start-up (the metadata loads on the first
    /// phone number parsed); a test holds it equal to the library's own list.
    pub const SUPPORTED: &'static [&'static str] = &[
        "AC", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AR", "AS", "AT", "AU", "AW", "AX",
        "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ",
        "BR", "BS", "BT", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL",
        "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO",
        "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
        "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GT", "GU",
        "GW", "GY", "HK", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
        "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW",
        "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC",
        "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT",
        "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
        "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PR", "PS", "PT",
        "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH",
        "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TA",
        "TC", "TD", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ",
        "UA", "UG", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK",
        "YE", "YT", "ZA", "ZM", "ZW",
    ];
}

impl Default for PhoneRegion {
    fn default() -> Self {
        PhoneRegion(Region::US)
    }
}

impl FromStr for PhoneRegion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let code = s.trim().to_ascii_uppercase();
        if PhoneRegion::SUPPORTED
            .binary_search(&code.as_str())
            .is_err()
        {
            return Err(Error::invalid(
                "region",
                "is not a known ISO 3166 region code",
            ));
        }
        Region::from_code(&code)
            .map(PhoneRegion)
            .map_err(|_| Error::invalid("region", "is not a known ISO 3166 region code"))
    }
}

impl fmt::Display for PhoneRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_list_is_the_metadatas() {
        let mut regions: Vec<String> = rlibphonenumber::PHONE_NUMBER_UTIL
            .get_supported_regions()
            .map(|r| r.to_string())
            .collect();
        regions.sort();
        assert_eq!(regions, PhoneRegion::SUPPORTED);
    }

    #[test]
    fn regions_parse_case_insensitively_and_print_upper_case() {
        for code in PhoneRegion::SUPPORTED {
            let region: PhoneRegion = code.to_ascii_lowercase().parse().unwrap();
            assert_eq!(region.to_string(), *code);
        }
        for bad in ["", "X", "XX", "USA", "001", "1A"] {
            assert!(bad.parse::<PhoneRegion>().is_err(), "{bad}");
        }
    }
}
