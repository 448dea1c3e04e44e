//! Import and export throughput against the floor (contacts per second).
//!
//! - import: `min(N, 100,000)` contacts with a name, a phone and an email, from JSON
//!   Lines in memory into an empty file, against the floor: a raw loop inserting the
//!   same rows (contact + 2 identifiers) in one transaction.
//! - export, two figures: the fixture's plain org (N contacts with a name, a phone and
//!   an email) and its main org (N contacts, a third with a memory of 20 messages and 5
//!   entities), as JSON Lines to a sink, against the floor: the same merge join written
//!   by hand (one walk of each table in contact order, JSON columns copied verbatim),
//!   checked to produce the same bytes.
//!
//! `cargo bench --bench transfer` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000).

mod support;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use contactstore::{ContactStore, ImportOptions};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, Rows};

use support::{
    floor_bulk_insert, floor_connection, plain_line, plain_row, range, WorkCopy, ORG, PLAIN_ORG,
};

/// Contacts per import iteration, at most.
const IMPORT_CHUNK: u64 = 100_000;

// ---------------------------------------------------------------------------------
// The export floor

const F_CONTACTS: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact WHERE org_id = ?1 ORDER BY org_id, id";
// The floor's walks: each table's rows of the org in contact order (contact id first).
const F_IDENTIFIERS: &str = "SELECT contact_id, id, identifier_type, identifier_value, \
     is_primary FROM identifier WHERE org_id = ?1 ORDER BY org_id, contact_id";
const F_MEMORIES: &str = "SELECT contact_id, id, persona_id, agent_number, summary, facts, \
     recent_messages, open_items, created_at, updated_at, summary_updated_at, history \
     FROM memory WHERE org_id = ?1 ORDER BY org_id, contact_id";
const F_ENTITIES: &str = "SELECT m.contact_id, e.memory_id, e.entity_type, e.entity_id, \
     e.facts, e.status, e.last_discussed_at, e.notes \
     FROM memory m CROSS JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     WHERE m.org_id = ?1 ORDER BY m.org_id, m.contact_id";
const F_ACTIVITIES: &str = "SELECT contact_id, kind, id, contact_id, direction, agent_number, \
     contact_number, started_at, amount, status, summary, metadata \
     FROM activity WHERE org_id = ?1 ORDER BY org_id, contact_id";

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

fn text(row: &Row<'_>, idx: usize) -> String {
    row.get_ref(idx).unwrap().as_str().unwrap().to_owned()
}

/// One walk's rows, handed out per contact as the contacts go by (column 0: the
/// contact id).
struct FloorWalk<'s> {
    rows: Rows<'s>,
}

impl<'s> FloorWalk<'s> {
    fn new(mut rows: Rows<'s>) -> Self {
        rows.advance().unwrap();
        FloorWalk { rows }
    }

    fn each(&mut self, id: &str, mut f: impl FnMut(&Row<'_>)) {
        while let Some(r) = self.rows.get() {
            match r.get_ref(0).unwrap().as_str().unwrap().cmp(id) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => f(r),
                std::cmp::Ordering::Greater => return,
            }
            self.rows.advance().unwrap();
        }
    }
}

/// A call or SMS conversation from [`F_ACTIVITIES`] (its columns from 2), the amount
/// named `count`.
fn activity(out: &mut Vec<u8>, r: &Row<'_>, count: &str) {
    out.push(b'{');
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
        string(out, r, 2 + i);
    }
    key(out, "started_at", false);
    ts(out, r, 7);
    key(out, count, false);
    string(out, r, 8);
    key(out, "status", false);
    string(out, r, 9);
    key(out, "summary", false);
    string(out, r, 10);
    key(out, "metadata", false);
    raw(out, r, 11);
    out.push(b'}');
}

/// Appends `items` (already JSON) as an array.
fn array<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
}

/// A memory's JSON before and after its entities, with its sort key.
struct FloorMemory {
    created_at: i64,
    id: String,
    head: Vec<u8>,
    tail: Vec<u8>,
}

/// An entity's JSON with its memory and sort key.
struct FloorEntity {
    memory_id: String,
    last_discussed_at: Option<i64>,
    entity_type: String,
    entity_id: String,
    json: Vec<u8>,
}

/// The floor's export, a merge join written by hand: returns the number of contacts
/// written.
fn floor_export(conn: &Connection, org: &str, sink: &mut dyn Write) -> u64 {
    conn.prepare_cached("BEGIN").unwrap().execute([]).unwrap();
    let mut written = 0;
    {
        let mut contacts = conn.prepare_cached(F_CONTACTS).unwrap();
        let mut identifiers = conn.prepare_cached(F_IDENTIFIERS).unwrap();
        let mut memories = conn.prepare_cached(F_MEMORIES).unwrap();
        let mut entities = conn.prepare_cached(F_ENTITIES).unwrap();
        let mut activities = conn.prepare_cached(F_ACTIVITIES).unwrap();
        let mut rows = contacts.query([org]).unwrap();
        let mut identifiers = FloorWalk::new(identifiers.query([org]).unwrap());
        let mut memories = FloorWalk::new(memories.query([org]).unwrap());
        let mut entities = FloorWalk::new(entities.query([org]).unwrap());
        let mut activities = FloorWalk::new(activities.query([org]).unwrap());
        let mut out = Vec::with_capacity(16 * 1024);
        while let Some(c) = rows.next().unwrap() {
            out.clear();
            let id = text(c, 0);
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

            // Identifiers: by type, primary first, then by value.
            let mut idents: Vec<(i64, bool, String, Vec<u8>)> = Vec::new();
            identifiers.each(&id, |r| {
                let mut j = Vec::with_capacity(160);
                j.push(b'{');
                key(&mut j, "id", true);
                string(&mut j, r, 1);
                key(&mut j, "contact_id", false);
                string(&mut j, r, 0);
                key(&mut j, "identifier_type", false);
                let kind = r.get_ref(2).unwrap().as_i64().unwrap();
                j.extend_from_slice(match kind {
                    1 => b"\"phone_number\"".as_slice(),
                    2 => b"\"email\"",
                    _ => b"\"external_id\"",
                });
                key(&mut j, "identifier_value", false);
                string(&mut j, r, 3);
                key(&mut j, "is_primary", false);
                let primary = r.get_ref(4).unwrap().as_i64().unwrap() != 0;
                j.extend_from_slice(if primary { b"true" } else { b"false" });
                j.push(b'}');
                idents.push((kind, primary, text(r, 3), j));
            });
            idents.sort_by(|a, b| (a.0, !a.1, &a.2).cmp(&(b.0, !b.1, &b.2)));
            key(&mut out, "identifiers", false);
            array(&mut out, idents.iter().map(|i| i.3.as_slice()));

            // Memories by creation, each with its entities, most recently discussed
            // first.
            let mut mems: Vec<FloorMemory> = Vec::new();
            memories.each(&id, |r| {
                let mut head = Vec::with_capacity(4096);
                head.push(b'{');
                key(&mut head, "id", true);
                string(&mut head, r, 1);
                key(&mut head, "contact_id", false);
                string(&mut head, r, 0);
                for (name, idx) in [("persona_id", 2), ("agent_number", 3), ("summary", 4)] {
                    key(&mut head, name, false);
                    string(&mut head, r, idx);
                }
                for (name, idx) in [("facts", 5), ("recent_messages", 6), ("open_items", 7)] {
                    key(&mut head, name, false);
                    raw(&mut head, r, idx);
                }
                let mut tail = Vec::with_capacity(64);
                key(&mut tail, "created_at", false);
                ts(&mut tail, r, 8);
                key(&mut tail, "updated_at", false);
                ts(&mut tail, r, 9);
                key(&mut tail, "summary_updated_at", false);
                ts(&mut tail, r, 10);
                key(&mut tail, "memory_history", false);
                raw(&mut tail, r, 11);
                tail.push(b'}');
                mems.push(FloorMemory {
                    created_at: r.get_ref(8).unwrap().as_i64().unwrap(),
                    id: text(r, 1),
                    head,
                    tail,
                });
            });
            key(&mut out, "memories", false);
            out.push(b'[');
            if !mems.is_empty() {
                mems.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
                let mut ents: Vec<FloorEntity> = Vec::new();
                entities.each(&id, |r| {
                    let mut j = Vec::with_capacity(256);
                    j.push(b'{');
                    key(&mut j, "entity_type", true);
                    string(&mut j, r, 2);
                    key(&mut j, "entity_id", false);
                    string(&mut j, r, 3);
                    key(&mut j, "facts", false);
                    raw(&mut j, r, 4);
                    key(&mut j, "status", false);
                    string(&mut j, r, 5);
                    key(&mut j, "last_discussed_at", false);
                    ts(&mut j, r, 6);
                    key(&mut j, "notes", false);
                    string(&mut j, r, 7);
                    j.push(b'}');
                    ents.push(FloorEntity {
                        memory_id: text(r, 1),
                        last_discussed_at: r.get_ref(6).unwrap().as_i64().ok(),
                        entity_type: text(r, 2),
                        entity_id: text(r, 3),
                        json: j,
                    });
                });
                ents.sort_by(|a, b| {
                    b.last_discussed_at.cmp(&a.last_discussed_at).then_with(|| {
                        (&a.entity_type, &a.entity_id).cmp(&(&b.entity_type, &b.entity_id))
                    })
                });
                for (k, m) in mems.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&m.head);
                    key(&mut out, "entities", false);
                    array(
                        &mut out,
                        ents.iter()
                            .filter(|e| e.memory_id == m.id)
                            .map(|e| e.json.as_slice()),
                    );
                    out.extend_from_slice(&m.tail);
                }
            }
            out.push(b']');

            // Calls, then SMS conversations, each newest first.
            let mut acts: Vec<(i64, i64, String, Vec<u8>)> = Vec::new();
            activities.each(&id, |r| {
                let kind = r.get_ref(1).unwrap().as_i64().unwrap();
                let mut j = Vec::with_capacity(256);
                activity(
                    &mut j,
                    r,
                    if kind == 1 {
                        "duration_seconds"
                    } else {
                        "message_count"
                    },
                );
                acts.push((kind, r.get_ref(7).unwrap().as_i64().unwrap(), text(r, 2), j));
            });
            acts.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| (b.1, &b.2).cmp(&(a.1, &a.2))));
            key(&mut out, "calls", false);
            array(
                &mut out,
                acts.iter().filter(|a| a.0 == 1).map(|a| a.3.as_slice()),
            );
            key(&mut out, "sms_conversations", false);
            array(
                &mut out,
                acts.iter().filter(|a| a.0 == 2).map(|a| a.3.as_slice()),
            );
            out.extend_from_slice(b"}\n");
            sink.write_all(&out).unwrap();
            written += 1;
        }
    }
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

    // export: the plain org, then the fixture's own (a third with a memory).
    let store = ContactStore::open(&fixture.path).unwrap();
    let raw = floor_connection(&fixture.path);
    for (label, org_id) in [("plain", PLAIN_ORG), ("memories", ORG)] {
        let org = store.org(org_id).unwrap();
        let mut lib = Head {
            bytes: Vec::new(),
            limit: 4 << 20,
        };
        let mut floor = Head {
            bytes: Vec::new(),
            limit: 4 << 20,
        };
        let exported = org.export(&mut lib).unwrap().exported;
        assert_eq!(floor_export(&raw, org_id, &mut floor), exported);
        assert!(
            lib.bytes == floor.bytes,
            "the floor's export of {org_id} differs from the library's"
        );
        let mut group = c.benchmark_group(format!("export/{label}/{n}"));
        group.throughput(Throughput::Elements(exported));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.bench_function("floor", |b| {
            b.iter(|| floor_export(&raw, org_id, &mut io::sink()))
        });
        group.bench_function("library", |b| {
            b.iter(|| org.export(&mut io::sink()).unwrap())
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
