//! The hot path against the floor: resolve (a known caller — in E.164, formatted, as a
//! SIP URI, through resolve-caller; a new one), find with full hydration, get by id and
//! by a merged-away id. Each library bench has its floor next
//! to it: the same rows read or written by hand with raw rusqlite and cached
//! statements, on the same file, schema and pragmas. The report divides the two.
//!
//! `cargo bench --bench resolve` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000;
//! the fixture is generated once and cached under `target/`; see benches/support).

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use contactstore::{CallerRequest, ContactStore, IdentifierQuery, Org, ResolveRequest};
use criterion::{criterion_group, criterion_main, Criterion};
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::Value;

use support::{
    email, floor_connection, formatted, phone, range, spread, WorkCopy, FLOOR_ENTITIES,
    FLOOR_IDENTIFIERS, FLOOR_MEMORIES, ORG,
};

/// Distinct contacts a read bench cycles through.
const KEYS: usize = 10_000;

// ---------------------------------------------------------------------------------
// The floor: hand-written queries returning the same rows, JSON decoded to Value.

/// The single indexed identifier → contact lookup.
const FLOOR_LOOKUP: &str = "SELECT c.id, c.org_id, c.name, c.metadata, c.created_at, c.updated_at \
     FROM identifier i JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id \
     WHERE i.org_id = ?1 AND i.identifier_type = ?2 AND i.identifier_value = ?3";
const FLOOR_CONTACT: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact WHERE org_id = ?1 AND id = ?2";
/// A contact by its id or by the id it was merged away from, in one statement.
const FLOOR_CONTACT_OR_REDIRECT: &str =
    "SELECT id, org_id, name, metadata, created_at, updated_at FROM contact \
     WHERE org_id = ?1 AND id = coalesce( \
         (SELECT surviving_id FROM merge_redirect WHERE org_id = ?1 AND merged_id = ?2), ?2)";

#[derive(Debug)]
#[allow(dead_code)] // read through Debug only: the rows must be built, not used
struct FloorContact {
    id: String,
    org_id: String,
    name: Option<String>,
    metadata: Value,
    created_at: i64,
    updated_at: i64,
    identifiers: Vec<(String, i64, String, bool)>,
    memories: Vec<FloorMemory>,
}

#[derive(Debug)]
#[allow(dead_code)]
struct FloorMemory {
    id: String,
    persona_id: Option<String>,
    agent_number: Option<String>,
    summary: String,
    facts: Value,
    recent_messages: Value,
    open_items: Value,
    created_at: i64,
    updated_at: i64,
    entities: Vec<FloorEntity>,
}

#[derive(Debug)]
#[allow(dead_code)]
struct FloorEntity {
    entity_type: String,
    entity_id: String,
    facts: Value,
    status: Option<String>,
    last_discussed_at: Option<i64>,
    notes: Option<String>,
}

fn json(row: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
    let text = row.get_ref(idx)?.as_str()?;
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn floor_contact_row(row: &Row<'_>) -> rusqlite::Result<FloorContact> {
    Ok(FloorContact {
        id: row.get(0)?,
        org_id: row.get(1)?,
        name: row.get(2)?,
        metadata: json(row, 3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        identifiers: Vec::new(),
        memories: Vec::new(),
    })
}

/// resolve-hit's floor: one indexed lookup returning the contact row.
fn floor_lookup(conn: &Connection, kind: i64, value: &str) -> Option<FloorContact> {
    conn.prepare_cached(FLOOR_LOOKUP)
        .unwrap()
        .query_row((ORG, kind, value), floor_contact_row)
        .optional()
        .unwrap()
}

/// Identifiers, memories and entities of a contact: three statements.
fn floor_hydrate(conn: &Connection, mut c: FloorContact) -> FloorContact {
    let mut stmt = conn.prepare_cached(FLOOR_IDENTIFIERS).unwrap();
    c.identifiers = stmt
        .query_map((ORG, &c.id), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut stmt = conn.prepare_cached(FLOOR_MEMORIES).unwrap();
    c.memories = stmt
        .query_map((ORG, &c.id), |r| {
            Ok(FloorMemory {
                id: r.get(0)?,
                persona_id: r.get(1)?,
                agent_number: r.get(2)?,
                summary: r.get(3)?,
                facts: json(r, 4)?,
                recent_messages: json(r, 5)?,
                open_items: json(r, 6)?,
                created_at: r.get(7)?,
                updated_at: r.get(8)?,
                entities: Vec::new(),
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    if !c.memories.is_empty() {
        let mut stmt = conn.prepare_cached(FLOOR_ENTITIES).unwrap();
        let mut rows = stmt.query((ORG, &c.id)).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let memory_id = r.get_ref(0).unwrap().as_str().unwrap();
            if let Some(m) = c.memories.iter_mut().find(|m| m.id == memory_id) {
                m.entities.push(FloorEntity {
                    entity_type: r.get(1).unwrap(),
                    entity_id: r.get(2).unwrap(),
                    facts: json(r, 3).unwrap(),
                    status: r.get(4).unwrap(),
                    last_discussed_at: r.get(5).unwrap(),
                    notes: r.get(6).unwrap(),
                });
            }
        }
    }
    c
}

/// Runs `f` in a read transaction (one snapshot for its statements, as the library).
fn floor_read<T>(conn: &Connection, f: impl FnOnce() -> T) -> T {
    conn.prepare_cached("BEGIN").unwrap().execute([]).unwrap();
    let value = f();
    conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
    value
}

fn floor_find(conn: &Connection, phone: &str) -> Option<FloorContact> {
    floor_read(conn, || {
        floor_lookup(conn, 1, phone).map(|c| floor_hydrate(conn, c))
    })
}

fn floor_get(conn: &Connection, id: &str, follow_merges: bool) -> Option<FloorContact> {
    let sql = if follow_merges {
        FLOOR_CONTACT_OR_REDIRECT
    } else {
        FLOOR_CONTACT
    };
    floor_read(conn, || {
        conn.prepare_cached(sql)
            .unwrap()
            .query_row((ORG, id), floor_contact_row)
            .optional()
            .unwrap()
            .map(|c| floor_hydrate(conn, c))
    })
}

/// resolve-create's floor: one transaction inserting a contact and its identifiers.
fn floor_create(conn: &Connection, phone: &str, email: &str) {
    conn.prepare_cached("BEGIN IMMEDIATE")
        .unwrap()
        .execute([])
        .unwrap();
    support::floor_insert_contact(conn, None, phone, email);
    conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
}

// ---------------------------------------------------------------------------------

/// A SIP `From` header as a trunk delivers it for a caller's E.164 number.
fn sip_from(e164: &str) -> String {
    format!("\"Caller\" <sip:{e164}@example.sip.twilio.com;user=phone>;tag=9fxced76sl")
}

/// Calls `f` on the items in turn, wrapping around.
fn cycle<'a, T, R>(items: &'a [T], mut f: impl FnMut(&T) -> R + 'a) -> impl FnMut() -> R + 'a {
    let mut k = 0;
    move || {
        k = (k + 1) % items.len();
        f(&items[k])
    }
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let fixture = support::fixture(n);
    {
        let store = ContactStore::open(&fixture.path).unwrap();
        let org = store.org(ORG).unwrap();
        let raw = floor_connection(&fixture.path);
        resolve_hits(c, n, &org, &raw);
        finds_and_gets(c, n, &fixture, &org, &raw);
    }
    resolve_creates(c, n, &fixture);
}

/// resolve of known callers, in several spellings; phone normalization alone.
fn resolve_hits(c: &mut Criterion, n: u64, org: &Org<'_>, raw: &Connection) {
    // resolve hit: a known caller, nothing to write.
    let hits = spread(n, KEYS);
    let e164: Vec<ResolveRequest> = hits
        .iter()
        .map(|&i| ResolveRequest::phone(phone(i)))
        .collect();
    let human: Vec<ResolveRequest> = hits
        .iter()
        .map(|&i| ResolveRequest::phone(formatted(i)))
        .collect();
    let phones: Vec<String> = hits.iter().map(|&i| phone(i)).collect();
    for k in [0, hits.len() - 1] {
        let floor = floor_lookup(raw, 1, &phones[k]).expect("floor finds the contact");
        let lib = org.resolve(&human[k]).unwrap();
        assert!(!lib.created);
        assert_eq!(lib.contact.id, floor.id);
    }
    let mut group = c.benchmark_group(format!("resolve_hit/{n}"));
    group.bench_function("floor", |b| {
        b.iter(cycle(&phones, |p| floor_lookup(raw, 1, p)))
    });
    group.bench_function("library_e164", |b| {
        b.iter(cycle(&e164, |r| org.resolve(r).unwrap()))
    });
    group.bench_function("library_formatted", |b| {
        b.iter(cycle(&human, |r| org.resolve(r).unwrap()))
    });
    // A spelling the lookup-first guess does not cover (the US international prefix):
    // every call parses it in full. Against library_formatted, what the guess saves.
    let unguessed: Vec<ResolveRequest> = hits
        .iter()
        .map(|&i| ResolveRequest::phone(format!("011 {}", &phone(i)[1..])))
        .collect();
    group.bench_function("library_unguessed", |b| {
        b.iter(cycle(&unguessed, |r| org.resolve(r).unwrap()))
    });
    // A known caller as telephony delivers it: a SIP URI (unwrapped before the guess),
    // and the same through resolve-caller (classification first). Against
    // library_e164, what the URI and the caller kinds cost.
    let sip: Vec<String> = hits.iter().map(|&i| sip_from(&phone(i))).collect();
    let sip_requests: Vec<ResolveRequest> = sip.iter().map(ResolveRequest::phone).collect();
    let callers: Vec<CallerRequest> = sip.iter().map(CallerRequest::new).collect();
    {
        let by_sip = org.resolve_caller(&callers[0]).unwrap();
        assert_eq!(
            by_sip.contact.unwrap().id,
            floor_lookup(raw, 1, &phones[0]).unwrap().id
        );
        assert!(!org.resolve(&sip_requests[0]).unwrap().created);
    }
    group.bench_function("library_sip_uri", |b| {
        b.iter(cycle(&sip_requests, |r| org.resolve(r).unwrap()))
    });
    group.bench_function("library_resolve_caller_sip", |b| {
        b.iter(cycle(&callers, |r| org.resolve_caller(r).unwrap()))
    });
    // Classification alone (pure: a number is parsed in full, no lookup).
    let region = contactstore::PhoneRegion::default();
    group.bench_function("classify_caller_sip", |b| {
        b.iter(cycle(&sip, |s| contactstore::classify_caller(s, region)))
    });
    group.finish();

    // Phone normalization alone (libphonenumber: parse, validate, format in E.164).
    let region = contactstore::PhoneRegion::default();
    let spellings: Vec<String> = hits.iter().map(|&i| formatted(i)).collect();
    let mut group = c.benchmark_group(format!("normalize/{n}"));
    group.bench_function("phone_formatted", |b| {
        b.iter(cycle(&spellings, |p| {
            contactstore::normalize::phone(p, region, "phone_number").unwrap()
        }))
    });
    group.bench_function("phone_e164", |b| {
        b.iter(cycle(&phones, |p| {
            contactstore::normalize::phone(p, region, "phone_number").unwrap()
        }))
    });
    group.finish();
}

/// find with full hydration; get by id and by a merged-away id.
fn finds_and_gets(
    c: &mut Criterion,
    n: u64,
    fixture: &support::Fixture,
    org: &Org<'_>,
    raw: &Connection,
) {
    // find with full hydration, of contacts that have a memory (i % 3 == 0).
    let holders: Vec<u64> = spread(n / 3, KEYS).into_iter().map(|k| 3 * k).collect();
    let queries: Vec<IdentifierQuery> = holders
        .iter()
        .map(|&i| IdentifierQuery::phone(phone(i)))
        .collect();
    let holder_phones: Vec<String> = holders.iter().map(|&i| phone(i)).collect();
    {
        let lib = org.find(&queries[0]).unwrap().unwrap();
        let floor = floor_find(raw, &holder_phones[0]).unwrap();
        assert_eq!(lib.contact.id, floor.id);
        assert_eq!(lib.memories.len(), floor.memories.len());
        assert_eq!(
            lib.memories[0].entities.len(),
            floor.memories[0].entities.len()
        );
        assert_eq!(lib.memories[0].recent_messages.len(), 20);
        assert_eq!(lib.memories[0].entities.len(), 5);
    }
    let mut group = c.benchmark_group(format!("find/{n}"));
    group.bench_function("floor", |b| {
        b.iter(cycle(&holder_phones, |p| floor_find(raw, p)))
    });
    group.bench_function("library", |b| {
        b.iter(cycle(&queries, |q| org.find(q).unwrap()))
    });
    group.finish();

    // get by id (memory holders) and by a merged-away id.
    let ids: Vec<String> = holder_phones
        .iter()
        .map(|p| floor_lookup(raw, 1, p).unwrap().id)
        .collect();
    let merged: Vec<String> = raw
        .prepare("SELECT merged_id FROM merge_redirect WHERE org_id = ?1 ORDER BY merged_id")
        .unwrap()
        .query_map([ORG], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        merged.len() as u64,
        fixture.merged,
        "merged-away ids in the fixture"
    );
    {
        let lib = org.get(&merged[0]).unwrap();
        let floor = floor_get(raw, &merged[0], true).unwrap();
        assert_eq!(lib.contact.id, floor.id);
        assert_ne!(lib.contact.id, merged[0]);
        assert_eq!(org.get(&ids[0]).unwrap().contact.id, ids[0]);
    }
    let mut group = c.benchmark_group(format!("get/{n}"));
    group.bench_function("floor_by_id", |b| {
        b.iter(cycle(&ids, |id| floor_get(raw, id, false)))
    });
    group.bench_function("library_by_id", |b| {
        b.iter(cycle(&ids, |id| org.get(id).unwrap()))
    });
    group.bench_function("floor_merged_id", |b| {
        b.iter(cycle(&merged, |id| floor_get(raw, id, true)))
    });
    group.bench_function("library_merged_id", |b| {
        b.iter(cycle(&merged, |id| org.get(id).unwrap()))
    });
    group.finish();
}

/// resolve that creates a contact (phone and email), each side on its own copy.
fn resolve_creates(c: &mut Criterion, n: u64, fixture: &support::Fixture) {
    let library_copy = WorkCopy::of(&fixture.path, "create-library");
    let floor_copy = WorkCopy::of(&fixture.path, "create-floor");
    let store = ContactStore::open(&library_copy.path).unwrap();
    let org = store.org(ORG).unwrap();
    let raw = floor_connection(&floor_copy.path);
    let mut next_library = range::CREATE_LIBRARY;
    let mut next_floor = range::CREATE_FLOOR;
    let mut group = c.benchmark_group(format!("resolve_create/{n}"));
    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let rows: Vec<(String, String)> = (next_floor..next_floor + iters)
                .map(|i| (phone(i), email(i)))
                .collect();
            next_floor += iters;
            let started = Instant::now();
            for (p, e) in &rows {
                floor_create(&raw, p, e);
            }
            started.elapsed()
        })
    });
    group.bench_function("library", |b| {
        b.iter_custom(|iters| {
            let requests: Vec<ResolveRequest> = (next_library..next_library + iters)
                .map(|i| ResolveRequest {
                    identifiers: IdentifierQuery {
                        phone_number: Some(phone(i)),
                        email: Some(email(i)),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            next_library += iters;
            let started = Instant::now();
            for r in &requests {
                black_box(org.resolve(r).unwrap());
            }
            let took = started.elapsed();
            // Untimed: the contacts exist now, so the same request finds one.
            assert!(!org.resolve(&requests[0]).unwrap().created);
            took
        })
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
