//! Helpers of the reliability tests (contention, crashes, faults, WAL growth): a small
//! seeded random number generator, the store's invariants as SQL, latency percentiles
//! and the switch for the long runs.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

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

/// The store's own invariants, each a query counting the rows that break it.
pub const INVARIANTS: &[(&str, &str)] = &[
    (
        "every identifier's contact exists",
        "SELECT count(*) FROM identifier i LEFT JOIN contact c \
         ON c.org_id = i.org_id AND c.id = i.contact_id WHERE c.id IS NULL",
    ),
    (
        "every memory's contact exists",
        "SELECT count(*) FROM memory m LEFT JOIN contact c \
         ON c.org_id = m.org_id AND c.id = m.contact_id WHERE c.id IS NULL",
    ),
    (
        "every entity's memory exists",
        "SELECT count(*) FROM memory_entity e LEFT JOIN memory m \
         ON m.org_id = e.org_id AND m.id = e.memory_id WHERE m.id IS NULL",
    ),
    (
        "every call's and conversation's contact exists",
        "SELECT count(*) FROM activity a LEFT JOIN contact c \
         ON c.org_id = a.org_id AND c.id = a.contact_id WHERE c.id IS NULL",
    ),
    (
        "no contact of a merged id remains",
        "SELECT count(*) FROM merge_redirect r JOIN contact c \
         ON c.org_id = r.org_id AND c.id = r.merged_id",
    ),
    (
        "every redirect reaches a contact in one step",
        "SELECT count(*) FROM merge_redirect r LEFT JOIN contact c \
         ON c.org_id = r.org_id AND c.id = r.surviving_id WHERE c.id IS NULL",
    ),
    (
        "every journaled merge not undone has its redirect",
        "SELECT count(*) FROM merge_journal j LEFT JOIN merge_redirect r \
         ON r.org_id = j.org_id AND r.merged_id = j.duplicate_id \
         WHERE r.merged_id IS NULL AND j.unmerged_at IS NULL",
    ),
    (
        "every redirect has its journaled merge, not undone",
        "SELECT count(*) FROM merge_redirect r WHERE NOT EXISTS (SELECT 1 FROM merge_journal j \
         WHERE j.org_id = r.org_id AND j.duplicate_id = r.merged_id AND j.unmerged_at IS NULL)",
    ),
    (
        "an undone merge keeps no snapshot",
        "SELECT count(*) FROM merge_journal WHERE unmerged_at IS NOT NULL AND snapshot IS NOT NULL",
    ),
    (
        "at most one primary identifier per type per contact",
        "SELECT count(*) FROM (SELECT 1 FROM identifier WHERE is_primary = 1 \
         GROUP BY org_id, contact_id, identifier_type HAVING count(*) > 1)",
    ),
];

/// `PRAGMA integrity_check` and `foreign_key_check`: empty when the file is sound.
pub fn integrity_problems(conn: &Connection) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .expect("integrity_check");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("integrity_check rows");
    for row in rows {
        let row = row.expect("integrity_check row");
        if row != "ok" {
            problems.push(row);
        }
    }
    let fk: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .expect("foreign_key_check");
    if fk > 0 {
        problems.push(format!("{fk} foreign key violations"));
    }
    problems
}

/// The invariants that do not hold, with how many rows break each.
pub fn invariant_violations(conn: &Connection) -> Vec<String> {
    INVARIANTS
        .iter()
        .filter_map(|(name, sql)| {
            let n: i64 = conn.query_row(sql, [], |r| r.get(0)).expect(name);
            (n > 0).then(|| format!("{name}: {n} rows"))
        })
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
