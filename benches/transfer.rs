//! Import and export throughput against the floor (contacts per second).
//!
//! - import: `min(N, 100,000)` contacts with a name, a phone and an email, from JSON
//!   Lines in memory into an empty file, against the floor: a raw loop inserting the
//!   same rows (contact + 2 identifiers) in one transaction.
//! - export: the fixture's export org (`min(N, 100,000)` contacts, a third with a memory,
//!   in the file of N) as JSON Lines to a sink, against the floor: the same rows read
//!   with cached statements and written by hand (JSON columns copied verbatim), checked
//!   to produce the same bytes.
//!
//! `cargo bench --bench transfer` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000).

mod support;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use contactstore::{ContactStore, ImportOptions};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

use support::{
    floor_bulk_insert, floor_connection, plain_line, plain_row, range, WorkCopy, EXPORT_ORG,
    FLOOR_ENTITIES, FLOOR_IDENTIFIERS, FLOOR_MEMORIES, ORG,
};

/// Contacts per import iteration, at most.
const IMPORT_CHUNK: u64 = 100_000;

// ---------------------------------------------------------------------------------
// The export floor

const F_CONTACTS: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact WHERE org_id = ?1 ORDER BY org_id, id";
const F_CALLS: &str = "SELECT id, contact_id, direction, agent_number, contact_number, \
     started_at, amount, status, summary, metadata FROM activity \
     WHERE org_id = ?1 AND contact_id = ?2 AND kind = 1 ORDER BY started_at DESC, id DESC";
const F_SMS: &str = "SELECT id, contact_id, direction, agent_number, contact_number, \
     started_at, amount, status, summary, metadata FROM activity \
     WHERE org_id = ?1 AND contact_id = ?2 AND kind = 2 ORDER BY started_at DESC, id DESC";

/// `"key":` (with a leading comma unless first).
fn key(out: &mut Vec<u8>, name: &str, first: bool) {
    if !first {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A column as JSON: text escaped, integers as numbers, null.
fn string(out: &mut Vec<u8>, row: &Row<'_>, idx: usize) {
    match row.get_ref(idx).unwrap() {
        ValueRef::Null => out.extend_from_slice(b"null"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Text(t) => {
            serde_json::to_writer(&mut *out, std::str::from_utf8(t).unwrap()).unwrap()
        }
        other => panic!("unexpected column {other:?}"),
    }
}

/// A JSON text column, copied as it is stored.
fn raw(out: &mut Vec<u8>, row: &Row<'_>, idx: usize) {
    out.extend_from_slice(row.get_ref(idx).unwrap().as_bytes().unwrap());
}

/// A millisecond column as a timestamp string, or null.
fn ts(out: &mut Vec<u8>, row: &Row<'_>, idx: usize) {
    match row.get_ref(idx).unwrap() {
        ValueRef::Null => out.extend_from_slice(b"null"),
        v => support::push_ts(out, v.as_i64().unwrap()),
    }
}

/// Calls or SMS conversations: the same ten columns, the seventh named `count`.
fn activity(conn: &Connection, org: &str, sql: &str, count: &str, id: &str, out: &mut Vec<u8>) {
    let mut stmt = conn.prepare_cached(sql).unwrap();
    let mut rows = stmt.query((org, id)).unwrap();
    out.push(b'[');
    let mut first = true;
    while let Some(r) = rows.next().unwrap() {
        out.push(if first { b'{' } else { b',' });
        if !first {
            out.push(b'{');
        }
        first = false;
        for (i, name) in [
            "id",
            "contact_id",
            "direction",
            "agent_number",
            "contact_number",
        ]
        .iter()
        .enumerate()
        {
            key(out, name, i == 0);
            string(out, r, i);
        }
        key(out, "started_at", false);
        ts(out, r, 5);
        key(out, count, false);
        string(out, r, 6);
        key(out, "status", false);
        string(out, r, 7);
        key(out, "summary", false);
        string(out, r, 8);
        key(out, "metadata", false);
        raw(out, r, 9);
        out.push(b'}');
    }
    out.push(b']');
}

/// The floor's export: returns the number of contacts written.
fn floor_export(conn: &Connection, org: &str, sink: &mut dyn Write) -> u64 {
    conn.prepare_cached("BEGIN").unwrap().execute([]).unwrap();
    let mut contacts = conn.prepare_cached(F_CONTACTS).unwrap();
    let mut rows = contacts.query([org]).unwrap();
    let mut out = Vec::with_capacity(16 * 1024);
    let mut written = 0;
    let mut memory_ids: Vec<String> = Vec::new();
    let mut entities: Vec<Vec<u8>> = Vec::new();
    while let Some(c) = rows.next().unwrap() {
        out.clear();
        let id = c.get_ref(0).unwrap().as_str().unwrap().to_owned();
        out.push(b'{');
        key(&mut out, "id", true);
        string(&mut out, c, 0);
        key(&mut out, "org_id", false);
        string(&mut out, c, 1);
        key(&mut out, "name", false);
        string(&mut out, c, 2);
        key(&mut out, "metadata", false);
        raw(&mut out, c, 3);
        key(&mut out, "created_at", false);
        ts(&mut out, c, 4);
        key(&mut out, "updated_at", false);
        ts(&mut out, c, 5);

        key(&mut out, "identifiers", false);
        out.push(b'[');
        let mut stmt = conn.prepare_cached(FLOOR_IDENTIFIERS).unwrap();
        let mut idents = stmt.query((org, &id)).unwrap();
        let mut first = true;
        while let Some(r) = idents.next().unwrap() {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'{');
            key(&mut out, "id", true);
            string(&mut out, r, 0);
            key(&mut out, "contact_id", false);
            serde_json::to_writer(&mut out, &id).unwrap();
            key(&mut out, "identifier_type", false);
            out.extend_from_slice(match r.get_ref(1).unwrap().as_i64().unwrap() {
                1 => b"\"phone_number\"".as_slice(),
                2 => b"\"email\"",
                _ => b"\"external_id\"",
            });
            key(&mut out, "identifier_value", false);
            string(&mut out, r, 2);
            key(&mut out, "is_primary", false);
            let primary = r.get_ref(3).unwrap().as_i64().unwrap() != 0;
            out.extend_from_slice(if primary { b"true" } else { b"false" });
            out.push(b'}');
        }
        out.push(b']');

        // Memories, with the entities of all of them from one statement.
        key(&mut out, "memories", false);
        out.push(b'[');
        memory_ids.clear();
        let mut memory_rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut stmt = conn.prepare_cached(FLOOR_MEMORIES).unwrap();
        let mut mems = stmt.query((org, &id)).unwrap();
        while let Some(r) = mems.next().unwrap() {
            memory_ids.push(r.get_ref(0).unwrap().as_str().unwrap().to_owned());
            let mut head = Vec::with_capacity(4096);
            head.push(b'{');
            key(&mut head, "id", true);
            string(&mut head, r, 0);
            key(&mut head, "contact_id", false);
            serde_json::to_writer(&mut head, &id).unwrap();
            for (name, idx) in [("persona_id", 1), ("agent_number", 2), ("summary", 3)] {
                key(&mut head, name, false);
                string(&mut head, r, idx);
            }
            for (name, idx) in [("facts", 4), ("recent_messages", 5), ("open_items", 6)] {
                key(&mut head, name, false);
                raw(&mut head, r, idx);
            }
            let mut tail = Vec::with_capacity(64);
            key(&mut tail, "created_at", false);
            ts(&mut tail, r, 7);
            key(&mut tail, "updated_at", false);
            ts(&mut tail, r, 8);
            tail.push(b'}');
            memory_rows.push((head, tail));
        }
        if !memory_ids.is_empty() {
            entities.clear();
            entities.resize(memory_ids.len(), Vec::new());
            let mut stmt = conn.prepare_cached(FLOOR_ENTITIES).unwrap();
            let mut ents = stmt.query((org, &id)).unwrap();
            while let Some(r) = ents.next().unwrap() {
                let memory_id = r.get_ref(0).unwrap().as_str().unwrap();
                let Some(m) = memory_ids.iter().position(|x| x == memory_id) else {
                    continue;
                };
                let e = &mut entities[m];
                e.push(if e.is_empty() { b'{' } else { b',' });
                if e.len() > 1 {
                    e.push(b'{');
                }
                key(e, "entity_type", true);
                string(e, r, 1);
                key(e, "entity_id", false);
                string(e, r, 2);
                key(e, "facts", false);
                raw(e, r, 3);
                key(e, "status", false);
                string(e, r, 4);
                key(e, "last_discussed_at", false);
                ts(e, r, 5);
                key(e, "notes", false);
                string(e, r, 6);
                e.push(b'}');
            }
        }
        for (m, (head, tail)) in memory_rows.iter().enumerate() {
            if m > 0 {
                out.push(b',');
            }
            out.extend_from_slice(head);
            key(&mut out, "entities", false);
            out.push(b'[');
            out.extend_from_slice(&entities[m]);
            out.push(b']');
            out.extend_from_slice(tail);
        }
        out.push(b']');

        key(&mut out, "calls", false);
        activity(conn, org, F_CALLS, "duration_seconds", &id, &mut out);
        key(&mut out, "sms_conversations", false);
        activity(conn, org, F_SMS, "message_count", &id, &mut out);
        out.extend_from_slice(b"}\n");
        sink.write_all(&out).unwrap();
        written += 1;
    }
    drop(rows);
    drop(contacts);
    conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
    written
}

/// Keeps the first `limit` bytes written, discards the rest.
struct Head {
    bytes: Vec<u8>,
    limit: usize,
}

impl Write for Head {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.bytes.len()).min(buf.len());
        self.bytes.extend_from_slice(&buf[..room]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let fixture = support::fixture(n);

    // import: a chunk of contacts into an empty file per iteration.
    let chunk = n.min(IMPORT_CHUNK);
    let mut jsonl = Vec::new();
    for i in 0..chunk {
        plain_line(range::IMPORT + i, &mut jsonl);
    }
    let rows: Vec<_> = (0..chunk).map(|i| plain_row(range::IMPORT + i)).collect();
    let mut group = c.benchmark_group(format!("import/{n}"));
    group.throughput(Throughput::Elements(chunk));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let file = WorkCopy::empty("import-floor");
                let conn = floor_connection(&file.path);
                let started = Instant::now();
                floor_bulk_insert(&conn, &rows);
                took += started.elapsed();
            }
            took
        })
    });
    group.bench_function("library", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let file = WorkCopy::empty("import-library");
                let store = ContactStore::open(&file.path).unwrap();
                let org = store.org(ORG).unwrap();
                let started = Instant::now();
                let summary = org
                    .import(
                        &mut jsonl.as_slice(),
                        &ImportOptions::default(),
                        &mut |_| {},
                    )
                    .unwrap();
                took += started.elapsed();
                assert_eq!(summary.imported, chunk, "{:?}", summary.errors.first());
            }
            took
        })
    });
    group.finish();

    // export: the export org.
    let exported = support::export_count(n);
    let store = ContactStore::open(&fixture.path).unwrap();
    let org = store.org(EXPORT_ORG).unwrap();
    let raw = floor_connection(&fixture.path);
    {
        let mut lib = Head {
            bytes: Vec::new(),
            limit: 4 << 20,
        };
        let mut floor = Head {
            bytes: Vec::new(),
            limit: 4 << 20,
        };
        assert_eq!(org.export(&mut lib).unwrap().exported, exported);
        assert_eq!(floor_export(&raw, EXPORT_ORG, &mut floor), exported);
        assert!(
            lib.bytes == floor.bytes,
            "the floor's export differs from the library's"
        );
    }
    let mut group = c.benchmark_group(format!("export/{n}"));
    group.throughput(Throughput::Elements(exported));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.bench_function("floor", |b| {
        b.iter(|| floor_export(&raw, EXPORT_ORG, &mut io::sink()))
    });
    group.bench_function("library", |b| {
        b.iter(|| org.export(&mut io::sink()).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
