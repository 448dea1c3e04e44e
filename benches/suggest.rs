//! suggest-merges against its floor: the library's whole run (read the org, block,
//! compare, keep the best) beside the same rows read by hand with raw rusqlite — the
//! two statements a page the library runs, every row stepped through. The ratio is
//! what blocking and comparing cost over reading.
//!
//! The org is a generated population (tests/common/population.rs: common and rare
//! names, free-mail and work addresses, direct lines, planted duplicates and
//! look-alikes) of about `CONTACTSTORE_BENCH_CONTACTS` contacts (default 10,000),
//! imported once through the library and cached under `target/tmp/bench-fixtures/`.
//!
//! `cargo bench --bench suggest`; at a million contacts
//! `CONTACTSTORE_BENCH_CONTACTS=1000000 cargo bench --bench suggest` (each run takes
//! seconds: ten samples). Peak memory is measured on the command line instead:
//! `/usr/bin/time -v target/release/contactstore --db <fixture> --org bench-suggest suggest-merges`.

#[path = "../tests/common/population.rs"]
mod population;
mod support;

use std::hint::black_box;
use std::io::{self, BufRead, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use contactstore::{ContactStore, ImportOptions, SuggestOptions};
use criterion::{criterion_group, criterion_main, Criterion};
use rusqlite::Connection;

use population::Population;
use support::floor_connection;

/// The org of the fixture.
const ORG: &str = "bench-suggest";
/// Bump when the generated population changes.
const VERSION: u32 = 1;
/// The population's seed.
const SEED: u64 = 2026;

/// The generated contacts as JSON Lines, made as they are read.
struct Feed {
    population: population::Population,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Feed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            let mut any = false;
            for _ in 0..256 {
                let Some(contacts) = self.population.next() else {
                    break;
                };
                any = true;
                for c in contacts {
                    self.buf.extend_from_slice(c.line.as_bytes());
                    self.buf.push(b'\n');
                }
            }
            if !any {
                break;
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// The cached fixture of about `n` contacts (built on first use).
fn fixture(n: u64) -> (PathBuf, u64) {
    let dir = support::fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("suggest-{n}-v{VERSION}.db"));
    if !path.exists() {
        let tmp = path.with_extension("building");
        let _ = std::fs::remove_file(&tmp);
        let started = Instant::now();
        // About 1.09 contacts a person (planted duplicates and look-alikes).
        let persons = n * 914 / 1000;
        let store = ContactStore::open(&tmp).unwrap();
        let summary = store
            .org(ORG)
            .unwrap()
            .import(
                &mut Feed {
                    population: Population::new(SEED, persons),
                    buf: Vec::new(),
                    pos: 0,
                },
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(summary.rejected, 0, "{:?}", summary.errors.first());
        drop(store);
        let conn = Connection::open(&tmp).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        drop(conn);
        std::fs::rename(&tmp, &path).unwrap();
        eprintln!(
            "built {} ({} contacts) in {:.1?}",
            path.display(),
            summary.imported,
            started.elapsed()
        );
    }
    let conn = Connection::open(&path).unwrap();
    let count: i64 = conn
        .query_row(
            "SELECT count(*) FROM contact WHERE org_id = ?1",
            [ORG],
            |r| r.get(0),
        )
        .unwrap();
    (path, count as u64)
}

const FLOOR_NAMES: &str = "SELECT id, name, created_at FROM contact \
     WHERE org_id = ?1 AND id > ?2 ORDER BY id LIMIT 10000";
const FLOOR_IDENTIFIERS: &str = "SELECT contact_id, identifier_type, identifier_value \
     FROM identifier WHERE org_id = ?1 AND contact_id > ?2 AND contact_id <= ?3 \
     ORDER BY contact_id";

/// The floor: the rows the library reads, stepped through by hand (names and
/// identifiers of every contact, a page at a time, in one read transaction).
fn floor(conn: &Connection) -> (u64, u64) {
    conn.prepare_cached("BEGIN").unwrap().execute([]).unwrap();
    let (mut contacts, mut identifiers) = (0u64, 0u64);
    let mut after = String::new();
    loop {
        let mut names = conn.prepare_cached(FLOOR_NAMES).unwrap();
        let page: Vec<(String, Option<String>, i64)> = names
            .query_map((ORG, &after), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let Some(last) = page.last() else { break };
        let mut ids = conn.prepare_cached(FLOOR_IDENTIFIERS).unwrap();
        let mut rows = ids.query((ORG, &after, &last.0)).unwrap();
        while let Some(r) = rows.next().unwrap() {
            black_box((
                r.get_ref(0).unwrap(),
                r.get_ref(1).unwrap(),
                r.get_ref(2).unwrap(),
            ));
            identifiers += 1;
        }
        contacts += page.len() as u64;
        after = last.0.clone();
        black_box(&page);
    }
    conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
    (contacts, identifiers)
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let (path, count) = fixture(n);
    let store = ContactStore::open(&path).unwrap();
    let org = store.org(ORG).unwrap();
    let raw = floor_connection(&path);
    let (read, _) = floor(&raw);
    assert_eq!(read, count);
    let started = Instant::now();
    let found = org.suggest_merges(&SuggestOptions::default()).unwrap();
    eprintln!(
        "suggest_merges over {count} contacts: {} suggestions in {:.2?} (one run)",
        found.suggestions.len(),
        started.elapsed()
    );
    let mut group = c.benchmark_group(format!("suggest_merges/{n}"));
    if count > 100_000 {
        group.sample_size(10);
    }
    group.bench_function("floor", |b| b.iter(|| floor(&raw)));
    group.bench_function("library", |b| {
        b.iter(|| org.suggest_merges(&SuggestOptions::default()).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
