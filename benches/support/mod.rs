//! Shared by the benches and the report tool (`tools/bench-report`): the size setting, generated
//! identifiers, the cached fixture databases, JSON Lines generators and the floor's raw
//! connection.
//!
//! Every bench runs against a database of `CONTACTSTORE_BENCH_CONTACTS` contacts
//! (default 10,000), generated once through the library's own import and cached under
//! `target/tmp/bench-fixtures/` (or `CONTACTSTORE_BENCH_FIXTURES`). Each contact has a
//! phone and an email; every third one (index divisible by 3) has a memory of 20
//! messages and 5 entities. A further `min(1000, N / 3)` contacts were merged into
//! memory-holding contacts, so merged-away ids exist. A second org holds
//! `min(N, 100,000)` contacts of the same shape for the export benches. Benches that
//! write work on a copy.

// Each bench binary uses part of this module.
#![allow(dead_code)]

use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contactstore::{ContactStore, IdentifierQuery, ImportOptions, Org};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

/// The org every fixture contact belongs to.
pub const ORG: &str = "bench";
/// A second org of the fixture, of N contacts with a name, a phone and an email each
/// (the import benches' lines), for the export bench's plain figure.
pub const PLAIN_ORG: &str = "bench-plain";
/// The persona of the fixture's memories.
pub const PERSONA: &str = "persona-bench";
/// Bump when the generated data changes, so cached fixtures are rebuilt.
const FIXTURE_VERSION: u32 = 3;
/// 2024-01-01T00:00:00.000Z: fixture contacts are created one second apart from here.
pub const BASE_MS: i64 = 1_704_067_200_000;

/// The contact count: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000.
pub fn contacts() -> usize {
    std::env::var("CONTACTSTORE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(10_000)
}

/// Valid US area codes (libphonenumber accepts every exchange 200-999 in each).
const AREAS: [u32; 16] = [
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218,
];
/// Distinct numbers per area code: exchanges 200-999, lines 0000-9999.
pub const PER_AREA: u64 = 8_000_000;

/// Disjoint identifier ranges, one per use, so that benches never collide.
pub mod range {
    use super::PER_AREA;
    /// The fixture's contacts, `0..N`.
    pub const FIXTURE: u64 = 0;
    /// The fixture's merged-away duplicates.
    pub const MERGED: u64 = PER_AREA;
    /// Contacts created by the resolve-create bench, library side.
    pub const CREATE_LIBRARY: u64 = 2 * PER_AREA;
    /// Contacts created by the resolve-create bench, floor side.
    pub const CREATE_FLOOR: u64 = 3 * PER_AREA;
    /// Merge pairs, library side.
    pub const MERGE_LIBRARY: u64 = 4 * PER_AREA;
    /// Merge pairs, floor side.
    pub const MERGE_FLOOR: u64 = 5 * PER_AREA;
    /// Imported contacts (each import goes into an empty file).
    pub const IMPORT: u64 = 6 * PER_AREA;
}

/// The E.164 phone number of contact `i`.
pub fn phone(i: u64) -> String {
    let area = AREAS[usize::try_from(i / PER_AREA).expect("index in range")];
    let exchange = 200 + (i % PER_AREA) / 10_000;
    format!("+1{area}{exchange}{:04}", i % 10_000)
}

/// The same number as people write it: `(201) 200-0001`.
pub fn formatted(i: u64) -> String {
    let e = phone(i);
    format!("({}) {}-{}", &e[2..5], &e[5..8], &e[8..])
}

/// The email of contact `i` (already normalized).
pub fn email(i: u64) -> String {
    format!("user{i}@example.com")
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new id as the library makes them: a lowercase hyphenated UUID v7.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// `count` indices spread over `0..n` (distinct when `count <= n`), in a scattered
/// order so that consecutive lookups touch different pages.
pub fn spread(n: u64, count: usize) -> Vec<u64> {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let mut stride = 1_000_003u64;
    while gcd(stride, n) != 1 {
        stride += 2;
    }
    (0..count.min(n as usize).max(1) as u64)
        .map(|k| (k * stride) % n)
        .collect()
}

// ---------------------------------------------------------------------------------
// Timestamps and JSON text

/// Appends `ms` as a quoted `2025-07-22T10:30:00.000Z`.
pub fn push_ts(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000,
    );
    let digits = |value: i64, width: usize, out: &mut Vec<u8>| {
        let mut buf = [b'0'; 4];
        let mut v = value;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    };
    out.push(b'"');
    digits(year, 4, out);
    out.push(b'-');
    digits(month, 2, out);
    out.push(b'-');
    digits(day, 2, out);
    out.push(b'T');
    digits(h, 2, out);
    out.push(b':');
    digits(m, 2, out);
    out.push(b':');
    digits(s, 2, out);
    out.push(b'.');
    digits(milli, 3, out);
    out.extend_from_slice(b"Z\"");
}

fn push(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

/// A JSON Lines reader that generates its lines on demand, so that a million
/// documents never sit in memory.
pub struct Lines<F> {
    next: u64,
    end: u64,
    buf: Vec<u8>,
    pos: usize,
    generate: F,
}

impl<F: FnMut(u64, &mut Vec<u8>)> Lines<F> {
    /// Lines `generate(i)` for `i` in `range`; each call appends one line with its `\n`.
    pub fn new(range: std::ops::Range<u64>, generate: F) -> Self {
        Lines {
            next: range.start,
            end: range.end,
            buf: Vec::with_capacity(1 << 17),
            pos: 0,
            generate,
        }
    }
}

impl<F: FnMut(u64, &mut Vec<u8>)> Read for Lines<F> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<F: FnMut(u64, &mut Vec<u8>)> BufRead for Lines<F> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < (1 << 16) && self.next < self.end {
                (self.generate)(self.next, &mut self.buf);
                self.next += 1;
            }
        }
        Ok(&self.buf[self.pos..])
    }
    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.buf.len());
    }
}

fn push_identifiers(out: &mut Vec<u8>, phone: &str, email: &str, external_id: Option<&str>) {
    push(
        out,
        r#""identifiers":[{"identifier_type":"phone_number","identifier_value":""#,
    );
    push(out, phone);
    push(out, r#""},{"identifier_type":"email","identifier_value":""#);
    push(out, email);
    push(out, "\"}");
    if let Some(x) = external_id {
        push(
            out,
            r#",{"identifier_type":"external_id","identifier_value":""#,
        );
        push(out, x);
        push(out, "\"}");
    }
    push(out, "]");
}

/// Appends `count` messages numbered `first..first + count`, one minute apart from
/// `start`. Equal numbers give identical messages.
fn push_messages(out: &mut Vec<u8>, start: i64, first: u64, count: u64, about: &str) {
    push(out, r#""recent_messages":["#);
    for m in first..first + count {
        if m > first {
            out.push(b',');
        }
        let (role, channel) = if m.is_multiple_of(2) {
            ("user", "voice")
        } else {
            ("assistant", "sms")
        };
        push(
            out,
            &format!(
                r#"{{"role":"{role}","content":"Message {m}: when will order {about}-{} arrive? It was due last week.","channel":"{channel}","timestamp":"#,
                m % 5
            ),
        );
        push_ts(out, start + m as i64 * 60_000);
        out.push(b'}');
    }
    push(out, "]");
}

/// Appends entities `first..first + count` (`order-<about>-<e>`), last discussed
/// `start + e minutes + skew`.
fn push_entities(out: &mut Vec<u8>, start: i64, first: u64, count: u64, about: &str, skew: i64) {
    push(out, r#""entities":["#);
    for e in first..first + count {
        if e > first {
            out.push(b',');
        }
        push(
            out,
            &format!(
                r#"{{"entity_type":"order","entity_id":"order-{about}-{e}","facts":{{"carrier":"UPS","items":{},"total":"129.90"}},"status":"in_transit","last_discussed_at":"#,
                e % 4 + 1
            ),
        );
        push_ts(out, start + e as i64 * 60_000 + skew);
        push(out, r#","notes":"Asked when it ships."}"#);
    }
    push(out, "]");
}

/// Fixture contact `i`: a phone and an email; when `i % 3 == 0` a memory of 20
/// messages and 5 entities.
pub fn fixture_line(i: u64, out: &mut Vec<u8>) {
    let created = BASE_MS + i as i64 * 1_000;
    push(out, &format!(r#"{{"name":"Contact {i}","created_at":"#));
    push_ts(out, created);
    push(out, ",");
    push_identifiers(out, &phone(range::FIXTURE + i), &email(i), None);
    if i.is_multiple_of(3) {
        push(
            out,
            &format!(
                r#","memories":[{{"persona_id":"{PERSONA}","summary":"Contact {i} asked about their orders and delivery times.","facts":{{"language":"en","preferred_channel":"sms","tier":"gold"}},"#
            ),
        );
        push_messages(out, created, 0, 20, &i.to_string());
        out.push(b',');
        push_entities(out, created, 0, 5, &i.to_string(), 0);
        push(out, r#","created_at":"#);
        push_ts(out, created);
        push(out, "}]");
    }
    push(out, "}\n");
}

/// A contact with just a name, a phone and an email (the import benches' rows).
pub fn plain_line(i: u64, out: &mut Vec<u8>) {
    push(out, &format!(r#"{{"name":"Contact {i}","#));
    push_identifiers(out, &phone(i), &email(i), None);
    push(out, "}\n");
}

/// The rows [`plain_line`] describes, already normalized: what the floor inserts.
pub struct PlainRow {
    pub name: String,
    pub phone: String,
    pub email: String,
}

pub fn plain_row(i: u64) -> PlainRow {
    PlainRow {
        name: format!("Contact {i}"),
        phone: phone(i),
        email: email(i),
    }
}

/// The ids of a merge pair.
#[derive(Debug, Clone)]
pub struct Pair {
    pub primary: String,
    pub duplicate: String,
}

/// Merge pair `k` of the range starting at `base` (issue 4's shape): two contacts, each
/// with 3 identifiers and 2 memories of 50 messages and 10 entities. Their scopes
/// overlap in one persona (10 identical messages, 5 shared entities), so a merge both
/// moves a memory and combines one.
pub fn pair_lines(base: u64, k: u64, ids: &Pair, out: &mut Vec<u8>) {
    let start = BASE_MS + 400_000_000_000 + k as i64 * 1_000;
    for (side, id) in [(0u64, &ids.primary), (1, &ids.duplicate)] {
        let i = base + 2 * k + side;
        let metadata = if side == 0 {
            r#"{"source":"crm","tier":"gold"}"#
        } else {
            r#"{"campaign":"spring","source":"web"}"#
        };
        push(
            out,
            &format!(r#"{{"id":"{id}","name":"Pair {i}","metadata":{metadata},"created_at":"#),
        );
        push_ts(out, start + side as i64);
        push(out, ",");
        push_identifiers(
            out,
            &phone(i),
            &format!("pair{i}@example.com"),
            Some(&format!("crm-{i}")),
        );
        push(out, r#","memories":["#);
        let scopes: [(&str, u64, u64); 2] = if side == 0 {
            [("persona-a", 0, 0), ("persona-b", 0, 0)]
        } else {
            [("persona-a", 40, 5), ("persona-c", 0, 0)]
        };
        for (n, (persona, first_message, first_entity)) in scopes.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let about = format!("{persona}-{k}");
            push(
                out,
                &format!(
                    r#"{{"persona_id":"{persona}","summary":"Summary {side} of {persona}.","facts":{{"language":"{}","vip":{}}},"#,
                    if side == 0 { "en" } else { "fr" },
                    side == 1
                ),
            );
            push_messages(out, start, first_message, 50, &about);
            out.push(b',');
            push_entities(out, start, first_entity, 10, &about, side as i64 * 30_000);
            push(out, r#","created_at":"#);
            push_ts(out, start + side as i64);
            push(out, "}");
        }
        push(out, "]}\n");
    }
}

// ---------------------------------------------------------------------------------
// Fixtures

/// Where fixtures live: `CONTACTSTORE_BENCH_FIXTURES`, else `target/tmp/bench-fixtures`.
pub fn fixture_dir() -> PathBuf {
    let dir = match std::env::var_os("CONTACTSTORE_BENCH_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => match option_env!("CARGO_TARGET_TMPDIR") {
            Some(tmp) => PathBuf::from(tmp).join("bench-fixtures"),
            None => PathBuf::from("target/tmp/bench-fixtures"),
        },
    };
    std::fs::create_dir_all(&dir).expect("create the fixture directory");
    dir
}

/// The cached fixture of `n` contacts.
pub struct Fixture {
    pub path: PathBuf,
    pub contacts: u64,
    /// How many merged-away ids redirect to a fixture contact.
    pub merged: u64,
}

/// How many fixture contacts have a merged-away duplicate.
pub fn merged_count(n: u64) -> u64 {
    (n / 3).min(1_000)
}

/// The fixture contact duplicate `k` was merged into: a memory holder.
pub fn merge_target(k: u64, n: u64) -> u64 {
    3 * (k * (n / 3) / merged_count(n).max(1))
}

/// The schema the fixture was written with: a changed `schema.sql` (even without a new
/// version number) or generator gives a new fixture.
fn fixture_key() -> String {
    let mut hash = 0xcbf2_9ce4_8422_2325u64; // FNV-1a
    for byte in include_str!("../../schema.sql").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "v{FIXTURE_VERSION}-schema{}-{:08x}",
        contactstore::SCHEMA_VERSION,
        hash as u32
    )
}

/// The path of the fixture of `n` contacts (which may not exist yet).
pub fn fixture_path(n: u64) -> PathBuf {
    fixture_dir().join(format!("contacts-{}-{n}.db", fixture_key()))
}

/// Removes fixtures of `n` contacts made for another schema or generator.
fn remove_stale_fixtures(n: u64) {
    let current = fixture_path(n);
    let suffix = format!("-{n}.db");
    let Ok(entries) = std::fs::read_dir(fixture_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("contacts-") && name.ends_with(&suffix) && entry.path() != current {
            remove_db(&entry.path());
        }
    }
}

/// The fixture of `n` contacts, generated on first use (through the library's import)
/// and cached.
pub fn fixture(n: u64) -> Fixture {
    assert!(
        (30..PER_AREA).contains(&n),
        "CONTACTSTORE_BENCH_CONTACTS must be between 30 and {PER_AREA}"
    );
    let path = fixture_path(n);
    let merged = merged_count(n);
    if !path.exists() {
        remove_stale_fixtures(n);
        let took = generate_fixture(&path, n, merged);
        eprintln!(
            "fixture of {n} contacts generated in {:.1} s: {}",
            took.as_secs_f64(),
            path.display()
        );
    }
    Fixture {
        path,
        contacts: n,
        merged,
    }
}

/// Removes a database file with its `-wal`, `-shm` and `-journal` files.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Writes the fixture to a temporary file and renames it into place; returns the time
/// it took.
fn generate_fixture(path: &Path, n: u64, merged: u64) -> Duration {
    let started = Instant::now();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".partial-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    remove_db(&tmp);
    eprintln!("generating a fixture of {n} contacts (cached for later runs)...");
    {
        let store = ContactStore::open(&tmp).expect("create the fixture");
        let org = store.org(ORG).unwrap();
        let mut lines = Lines::new(0..n + merged, move |i, out| {
            if i < n {
                fixture_line(i, out)
            } else {
                let k = i - n;
                push(out, &format!(r#"{{"name":"Duplicate {k}","#));
                push_identifiers(
                    out,
                    &phone(range::MERGED + k),
                    &format!("dup{k}@example.com"),
                    None,
                );
                push(out, "}\n");
            }
        });
        let summary = org
            .import(&mut lines, &ImportOptions::default(), &mut |_| {})
            .expect("import the fixture");
        assert_eq!(
            summary.imported,
            n + merged,
            "fixture lines rejected: {:?}",
            summary.errors.first()
        );
        for k in 0..merged {
            let id_of = |p: String| {
                org.find(&IdentifierQuery::phone(p))
                    .unwrap()
                    .expect("fixture contact")
                    .contact
                    .id
            };
            let target = id_of(phone(merge_target(k, n)));
            let duplicate = id_of(phone(range::MERGED + k));
            org.merge(&target, &duplicate)
                .expect("merge a fixture pair");
        }
        let summary = store
            .org(PLAIN_ORG)
            .unwrap()
            .import(
                &mut Lines::new(0..n, plain_line),
                &ImportOptions::default(),
                &mut |_| {},
            )
            .expect("import the plain org");
        assert_eq!(summary.imported, n);
    }
    let conn = Connection::open(&tmp).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    std::fs::rename(&tmp, path).expect("move the fixture into place");
    remove_db(&tmp);
    started.elapsed()
}

/// A private copy of a database for a bench that writes, removed when dropped.
pub struct WorkCopy {
    pub path: PathBuf,
}

impl WorkCopy {
    pub fn of(source: &Path, label: &str) -> WorkCopy {
        let name = source.file_name().unwrap().to_string_lossy();
        let path = fixture_dir().join(format!("work-{label}-{}-{name}", std::process::id()));
        remove_db(&path);
        std::fs::copy(source, &path).expect("copy the fixture");
        WorkCopy { path }
    }

    /// A new empty database (created by the library, so with its schema).
    pub fn empty(label: &str) -> WorkCopy {
        let path = fixture_dir().join(format!("empty-{label}-{}.db", std::process::id()));
        remove_db(&path);
        drop(ContactStore::open(&path).expect("create an empty database"));
        WorkCopy { path }
    }

    /// Bytes of the database and its WAL.
    pub fn bytes(&self) -> u64 {
        db_bytes(&self.path)
    }
}

impl Drop for WorkCopy {
    fn drop(&mut self) {
        remove_db(&self.path);
    }
}

/// Bytes of a database file and its WAL, if any.
pub fn db_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

// ---------------------------------------------------------------------------------
// The floor

/// A raw connection set up like the library's (WAL, `synchronous=NORMAL`, foreign
/// keys on, a statement cache, the same busy timeout), and with the query planner
/// stability guarantee on (see below).
pub fn floor_connection(path: &Path) -> Connection {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open the database raw");
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    // Without this, SQLite marks statements whose plan could depend on a bound value
    // (a `col = ?` term the index does not consume is enough), and rusqlite's statement
    // cache clears the bindings of each statement it takes back, which then expires
    // it: every `prepare_cached` statement would be parsed and planned again on every
    // use. A hand-written floor avoids that; the report says whether the library does.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .unwrap();
    conn
}

const FLOOR_INSERT_CONTACT: &str =
    "INSERT INTO contact (org_id, id, name, metadata, created_at, updated_at) \
     VALUES (?1, ?2, ?3, '{}', ?4, ?4)";
const FLOOR_INSERT_IDENTIFIER: &str = "INSERT INTO identifier \
     (org_id, identifier_type, identifier_value, contact_id, id, is_primary) \
     VALUES (?1, ?2, ?3, ?4, ?5, 1)";

/// Inserts a contact with its phone and email (each primary), with fresh ids.
pub fn floor_insert_contact(conn: &Connection, name: Option<&str>, phone: &str, email: &str) {
    let id = new_id();
    let now = now_ms();
    conn.prepare_cached(FLOOR_INSERT_CONTACT)
        .unwrap()
        .execute((ORG, &id, name, now))
        .unwrap();
    let mut ident = conn.prepare_cached(FLOOR_INSERT_IDENTIFIER).unwrap();
    ident
        .execute((ORG, 1, phone, &id, format!("ident-{}", new_id())))
        .unwrap();
    ident
        .execute((ORG, 2, email, &id, format!("ident-{}", new_id())))
        .unwrap();
}

/// The floor of import: the same rows inserted by a raw loop in one transaction.
pub fn floor_bulk_insert(conn: &Connection, rows: &[PlainRow]) {
    conn.prepare_cached("BEGIN IMMEDIATE")
        .unwrap()
        .execute([])
        .unwrap();
    for r in rows {
        floor_insert_contact(conn, Some(&r.name), &r.phone, &r.email);
    }
    conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
}

// Statements the floors of several benches share: the hand-written reads of a contact's
// identifiers, memories and entities.
pub const FLOOR_IDENTIFIERS: &str =
    "SELECT id, identifier_type, identifier_value, is_primary FROM identifier \
     WHERE org_id = ?1 AND contact_id = ?2 \
     ORDER BY identifier_type, is_primary DESC, identifier_value";
pub const FLOOR_MEMORIES: &str =
    "SELECT id, persona_id, agent_number, summary, facts, recent_messages, open_items, \
            created_at, updated_at \
     FROM memory WHERE org_id = ?1 AND contact_id = ?2 ORDER BY created_at, id";
pub const FLOOR_ENTITIES: &str = "SELECT e.memory_id, e.entity_type, e.entity_id, e.facts, \
            e.status, e.last_discussed_at, e.notes \
     FROM memory m JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     WHERE m.org_id = ?1 AND m.contact_id = ?2 \
     ORDER BY e.memory_id, e.last_discussed_at DESC NULLS LAST, e.entity_type, e.entity_id";

/// Imports `pairs` (numbered from `first`, identifiers from area `base`) into `org`,
/// untimed.
pub fn import_pairs(org: &Org<'_>, base: u64, first: u64, pairs: &[Pair]) {
    let mut lines = Lines::new(0..pairs.len() as u64, |j, out| {
        pair_lines(base, first + j, &pairs[j as usize], out)
    });
    let summary = org
        .import(&mut lines, &ImportOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(
        summary.imported,
        2 * pairs.len() as u64,
        "{:?}",
        summary.errors.first()
    );
}

pub fn new_pairs(count: u64) -> Vec<Pair> {
    (0..count)
        .map(|_| Pair {
            primary: new_id(),
            duplicate: new_id(),
        })
        .collect()
}
