//! WAL growth (issue 5, deliverable 7). SQLite checkpoints the WAL into the database
//! every 1,000 pages (about 4 MiB) and then starts writing it again from the
//! beginning — but only once no reader still uses the frames it would overwrite.
//!
//! * A reader that never pauses, running short read transactions back to back (what
//!   every read of the library is), is always one commit behind the checkpoint that
//!   follows each commit: on its own, SQLite then seldom resets the WAL (24 MiB seen
//!   for 23 MiB written). The store forces the reset past 3,500 frames (about 14 MiB,
//!   see `WalCheckpoints` in src/storage/sqlite/wal.rs). Figure: the largest WAL seen.
//! * A reader that keeps one snapshot open pins the WAL: it grows with every write
//!   until that reader ends, however the library is configured. The second test shows
//!   it, and that the WAL starts over once the reader lets go. Long-lived read
//!   transactions are the caller's to avoid.
//!
//! * A large import commits many batches in a row: it goes through the same
//!   checkpointing, so the WAL stays within the same bound under such a reader.
//!
//! `cargo test --test wal -- --nocapture` prints the figures; `CONTACTSTORE_LONG=1`
//! writes ten times as much.

mod common;
mod reliability;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::TempDb;
use contactstore::{ContactStore, ImportOptions, MemoryScope, ResolveRequest};
use reliability::{long_run, wal_size};
use rusqlite::Connection;

const MIB: f64 = 1024.0 * 1024.0;
/// What the WAL may reach: the store forces a reset (a restart checkpoint) once it
/// holds 3,500 frames of 4 KiB pages, about 14 MiB, plus the commit that crossed it.
const BOUND: u64 = 17 * 1024 * 1024;

fn writes() -> usize {
    if long_run() {
        20_000
    } else {
        2_000
    }
}

/// Contacts to write to, round robin.
fn contacts(store: &ContactStore) -> Vec<String> {
    let org = store.org("acme").unwrap();
    (0..20)
        .map(|k| {
            org.resolve(&ResolveRequest::external_id(format!("crm-{k}")))
                .unwrap()
                .contact
                .id
        })
        .collect()
}

/// Writes `n` memory summaries of 4 KiB; returns the largest WAL seen after a write.
fn write_summaries(store: &ContactStore, ids: &[String], n: usize, db: &std::path::Path) -> u64 {
    let org = store.org("acme").unwrap();
    let scope = MemoryScope::persona("persona-1");
    let mut largest = 0;
    for i in 0..n {
        let text = format!("{i:08}").repeat(512);
        org.set_summary(&ids[i % ids.len()], &scope, &text).unwrap();
        largest = largest.max(wal_size(db));
    }
    largest
}

/// A thread reading one contact without pause — each get one short read transaction
/// — and noting the largest WAL it sees.
struct Reader {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
    largest: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Reader {
    fn start(path: &std::path::Path, id: &str) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let largest = Arc::new(AtomicU64::new(0));
        let thread = {
            let (path, id) = (path.to_owned(), id.to_owned());
            let (stop, reads, largest) = (stop.clone(), reads.clone(), largest.clone());
            std::thread::spawn(move || {
                let store = ContactStore::open(&path).unwrap();
                let org = store.org("acme").unwrap();
                while !stop.load(Ordering::Relaxed) {
                    org.get(&id).unwrap();
                    reads.fetch_add(1, Ordering::Relaxed);
                    largest.fetch_max(wal_size(&path), Ordering::Relaxed);
                }
            })
        };
        Reader {
            stop,
            reads,
            largest,
            thread,
        }
    }

    /// Notes a WAL size seen elsewhere.
    fn saw(&self, size: u64) {
        self.largest.fetch_max(size, Ordering::Relaxed);
    }

    /// Stops the reader; returns (reads, largest WAL seen).
    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        (
            self.reads.load(Ordering::Relaxed),
            self.largest.load(Ordering::Relaxed),
        )
    }
}

#[test]
fn the_wal_stays_bounded_under_a_reader_that_never_pauses() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let ids = contacts(&store);
    let reader = Reader::start(&db.path, &ids[0]);
    let n = writes();
    let largest = write_summaries(&store, &ids, n, &db.path);
    let (reads, _) = reader.stop();
    println!(
        "wal: largest WAL {:.1} MiB over {n} writes of 4 KiB summaries ({:.0} MiB of pages \
         written) with {reads} reads running without pause",
        largest as f64 / MIB,
        (n * 3 * 4096) as f64 / MIB
    );
    assert!(reads > 100, "the reader must run alongside the writes");
    assert!(
        largest <= BOUND,
        "the WAL reached {:.1} MiB",
        largest as f64 / MIB
    );
}

#[test]
fn a_reader_holding_one_snapshot_lets_the_wal_grow_until_it_lets_go() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let ids = contacts(&store);
    let reader = Connection::open(&db.path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM contact", [], |r| r.get(0))
        .unwrap();

    let n = writes();
    let started = std::time::Instant::now();
    let pinned = write_summaries(&store, &ids, n, &db.path);
    let pinned_time = started.elapsed();
    assert!(
        pinned > BOUND,
        "a pinned snapshot keeps every frame: {:.1} MiB",
        pinned as f64 / MIB
    );
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);

    // Once it lets go, the next checkpoint completes and the WAL is reused from its
    // start: as much writing again does not grow the file.
    let after = write_summaries(&store, &ids, n, &db.path);
    println!(
        "wal: a reader holding one snapshot for {n} writes ({:.1} s) let the WAL reach \
         {:.1} MiB; after it ended, {n} more writes left it at {:.1} MiB",
        pinned_time.as_secs_f64(),
        pinned as f64 / MIB,
        after as f64 / MIB
    );
    // Frames in use (SQLite's count; the file keeps its size for reuse, up to the
    // 64 MiB journal_size_limit).
    let conn = Connection::open(&db.path).unwrap();
    let frames: i64 = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .unwrap();
    assert!(
        frames < 4_000,
        "the WAL started over: {frames} frames in use"
    );
    println!(
        "wal: {frames} frames in use after the reader ended; the file is {:.1} MiB \
         (journal_size_limit truncates it to 64 MiB at a reset)",
        wal_size(&db.path) as f64 / MIB
    );
    assert!(
        after <= pinned + 1024 * 1024,
        "the file is reused, not grown: {:.1} MiB",
        after as f64 / MIB
    );
}

#[test]
fn a_large_import_keeps_the_wal_bounded_under_a_reader_that_never_pauses() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let ids = contacts(&store);
    let reader = Reader::start(&db.path, &ids[0]);
    // Lines of about 2 KiB each: a contact with a memory summary.
    let lines = writes() * 10;
    let mut input = Vec::with_capacity(lines * 2200);
    for i in 0..lines {
        let summary = format!("{i:08}").repeat(256);
        input.extend_from_slice(
            format!(
                r#"{{"identifiers":[{{"identifier_type":"external_id","identifier_value":"imported-{i}"}}],"memories":[{{"persona_id":"p","summary":"{summary}"}}]}}"#
            )
            .as_bytes(),
        );
        input.push(b'\n');
    }
    let org = store.org("acme").unwrap();
    let summary = org
        .import(
            &mut input.as_slice(),
            &ImportOptions::default(),
            &mut |_| {
                reader.saw(wal_size(&db.path));
            },
        )
        .unwrap();
    let (reads, largest) = reader.stop();
    assert_eq!(summary.imported, lines as u64, "{summary:?}");
    println!(
        "wal: importing {lines} lines ({:.0} MiB of JSON) with {reads} reads running without \
         pause: largest WAL {:.1} MiB",
        input.len() as f64 / MIB,
        largest as f64 / MIB
    );
    assert!(reads > 100, "the reader must run alongside the import");
    assert!(
        input.len() as u64 > 2 * BOUND,
        "the import must write more than the bound"
    );
    assert!(
        largest <= BOUND,
        "the WAL reached {:.1} MiB",
        largest as f64 / MIB
    );
}
