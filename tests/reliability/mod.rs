//! Helpers of the reliability tests (contention, crashes, faults, WAL growth): a small
//! seeded random number generator, the library's check of a file, latency percentiles
//! and the switch for the long runs.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

/// True when the long variants were asked for (`CONTACTSTORE_LONG=1`).
pub fn long_run() -> bool {
    std::env::var("CONTACTSTORE_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// SplitMix64: small, seedable, good enough to pick operations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A seed from the environment (`CONTACTSTORE_SEED`) or the clock, printed by the
    /// caller so a failing run can be replayed.
    pub fn seed() -> u64 {
        std::env::var("CONTACTSTORE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7)
            })
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What `ContactStore::check_file` finds wrong with the file — SQLite's
/// `integrity_check` and `foreign_key_check`, the header and the store's invariants
/// (every identifier, memory, entity, call and conversation has its contact; no
/// contact of a merged id remains; every redirect reaches a contact in one step and
/// agrees with the journal; one primary per type) — one line per failed check, empty
/// when the file is sound. The library's check is the one home of these invariants.
pub fn check_problems(db: &Path) -> Vec<String> {
    let report = contactstore::ContactStore::check_file(db).expect("the check runs");
    report
        .failures()
        .map(|c| format!("{}: {} problems {:?}", c.check, c.problems, c.details))
        .collect()
}

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Milliseconds with two decimals, for reports.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The size of the database's `-wal` file (0 when there is none).
pub fn wal_size(db: &Path) -> u64 {
    std::fs::metadata(format!("{}-wal", db.display()))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Which of the database, `-wal` and `-shm` files contain `needle` (as bytes).
pub fn files_containing(db: &Path, needle: &[u8]) -> Vec<String> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let path = format!("{}{suffix}", db.display());
            let bytes = std::fs::read(&path).ok()?;
            bytes
                .windows(needle.len())
                .any(|w| w == needle)
                .then(|| format!("contacts.db{suffix}"))
        })
        .collect()
}
