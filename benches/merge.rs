//! Merge against the floor (issue 4's shape): two contacts, each holding 3 identifiers
//! and 2 memories of 50 messages and 10 entities; one scope is shared (its memories are
//! combined: summary, facts, messages, entities), the other moves. The floor is a
//! hand-written transaction moving the same rows: identifiers, calls and SMS, the
//! memories (the combined one's JSON rewritten), entities, the contact row, the
//! duplicate's deletion, its redirect and a journal row.
//!
//! Every iteration merges a fresh pair: pairs are imported (untimed) into a copy of the
//! fixture before each batch, and only the merges are timed.
//!
//! `cargo bench --bench merge` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000).

mod support;

use std::time::{Duration, Instant};

use contactstore::{ContactStore, Org};
use criterion::{criterion_group, criterion_main, Criterion};
use rusqlite::Connection;
use serde_json::{Map, Value};

use support::{floor_connection, import_pairs, new_pairs, now_ms, range, WorkCopy, ORG};

/// The store's default `recent_messages_cap`.
const CAP: usize = 50;

// ---------------------------------------------------------------------------------
// The floor

const F_MERGE_CONTACT: &str = "UPDATE contact SET \
     name = CASE WHEN contact.name IS NULL OR trim(contact.name) = '' \
                 THEN d.name ELSE contact.name END, \
     metadata = json_patch(d.metadata, contact.metadata), \
     created_at = min(contact.created_at, d.created_at), updated_at = ?4 \
     FROM (SELECT name, metadata, created_at FROM contact WHERE org_id = ?1 AND id = ?3) AS d \
     WHERE contact.org_id = ?1 AND contact.id = ?2";
const F_MOVE_IDENTIFIERS: &str = "UPDATE identifier SET contact_id = ?2, \
     is_primary = is_primary AND identifier_type NOT IN \
         (SELECT identifier_type FROM identifier \
          WHERE org_id = ?1 AND contact_id = ?2 AND is_primary = 1) \
     WHERE org_id = ?1 AND contact_id = ?3";
const F_MOVE_CALLS: &str =
    "UPDATE activity SET contact_id = ?2 WHERE org_id = ?1 AND contact_id = ?3 AND kind = 1";
const F_MOVE_SMS: &str =
    "UPDATE activity SET contact_id = ?2 WHERE org_id = ?1 AND contact_id = ?3 AND kind = 2";
const F_MEMORIES: &str = "SELECT id, contact_id = ?2, scope, summary, facts, recent_messages, \
     open_items, created_at FROM memory WHERE org_id = ?1 AND contact_id IN (?2, ?3)";
const F_MOVE_MEMORY: &str = "UPDATE memory SET contact_id = ?2 WHERE org_id = ?1 AND id = ?3";
const F_SAVE_MEMORY: &str = "UPDATE memory SET summary = ?3, facts = ?4, recent_messages = ?5, \
     open_items = ?6, created_at = ?7, updated_at = ?8 WHERE org_id = ?1 AND id = ?2";
/// The duplicate memory's entities into the primary's: new ones inserted; where both
/// have one, the later discussion wins status and conflicting facts, notes are joined.
const F_MERGE_ENTITIES: &str = "INSERT INTO memory_entity \
     (org_id, memory_id, entity_type, entity_id, facts, status, last_discussed_at, notes) \
     SELECT org_id, ?2, entity_type, entity_id, facts, status, last_discussed_at, notes \
     FROM memory_entity WHERE org_id = ?1 AND memory_id = ?3 \
     ON CONFLICT (org_id, memory_id, entity_type, entity_id) DO UPDATE SET \
     facts = CASE WHEN coalesce(excluded.last_discussed_at > memory_entity.last_discussed_at, \
                                excluded.last_discussed_at IS NOT NULL) \
                  THEN json_patch(memory_entity.facts, excluded.facts) \
                  ELSE json_patch(excluded.facts, memory_entity.facts) END, \
     status = CASE WHEN coalesce(excluded.last_discussed_at > memory_entity.last_discussed_at, \
                                 excluded.last_discussed_at IS NOT NULL) \
                   THEN excluded.status ELSE memory_entity.status END, \
     last_discussed_at = max(coalesce(excluded.last_discussed_at, memory_entity.last_discussed_at), \
                             coalesce(memory_entity.last_discussed_at, excluded.last_discussed_at)), \
     notes = CASE WHEN coalesce(trim(excluded.notes), '') = '' \
                       OR excluded.notes = memory_entity.notes THEN memory_entity.notes \
                  WHEN coalesce(trim(memory_entity.notes), '') = '' THEN excluded.notes \
                  ELSE memory_entity.notes || char(10, 10) || excluded.notes END";
const F_DELETE_MEMORY: &str = "DELETE FROM memory WHERE org_id = ?1 AND id = ?2";
const F_REPOINT: &str = "UPDATE merge_redirect SET surviving_id = ?2 \
     WHERE org_id = ?1 AND surviving_id = ?3";
const F_DELETE_CONTACT: &str = "DELETE FROM contact WHERE org_id = ?1 AND id = ?2";
const F_REDIRECT: &str = "INSERT INTO merge_redirect (org_id, merged_id, surviving_id, merged_at) \
     VALUES (?1, ?2, ?3, ?4)";
const F_JOURNAL: &str =
    "INSERT INTO merge_journal (org_id, primary_id, duplicate_id, merged_at, moved) \
     VALUES (?1, ?2, ?3, ?4, ?5)";

struct FloorMemory {
    id: String,
    of_primary: bool,
    scope: String,
    summary: String,
    facts: Map<String, Value>,
    messages: Vec<Value>,
    open_items: Vec<Value>,
    created_at: i64,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap()
}

/// Items of both lists, ordered by `key` (stable: the primary's first on ties), each
/// exact value once.
fn union_by(primary: Vec<Value>, duplicate: Vec<Value>, key: &str) -> Vec<Value> {
    let mut all = primary;
    all.extend(duplicate);
    let text = |v: &Value| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    all.sort_by_cached_key(text);
    let mut out: Vec<Value> = Vec::with_capacity(all.len());
    for item in all {
        let k = text(&item);
        let seen = out
            .iter()
            .rev()
            .take_while(|o| text(o) == k)
            .any(|o| *o == item);
        if !seen {
            out.push(item);
        }
    }
    out
}

fn combine_text(primary: &str, duplicate: &str) -> String {
    if duplicate.trim().is_empty() || primary == duplicate {
        primary.to_owned()
    } else if primary.trim().is_empty() {
        duplicate.to_owned()
    } else {
        format!("{primary}\n\n{duplicate}")
    }
}

fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> usize {
    conn.prepare_cached(sql).unwrap().execute(params).unwrap()
}

/// The floor's merge: one `BEGIN IMMEDIATE` transaction.
fn floor_merge(conn: &Connection, primary: &str, duplicate: &str) {
    let now = now_ms();
    exec(conn, "BEGIN IMMEDIATE", []);
    let found = exec(conn, F_MERGE_CONTACT, (ORG, primary, duplicate, now));
    assert_eq!(found, 1, "both contacts exist");
    let identifiers = exec(conn, F_MOVE_IDENTIFIERS, (ORG, primary, duplicate));
    let calls = exec(conn, F_MOVE_CALLS, (ORG, primary, duplicate));
    let sms = exec(conn, F_MOVE_SMS, (ORG, primary, duplicate));

    let mut memories: Vec<FloorMemory> = conn
        .prepare_cached(F_MEMORIES)
        .unwrap()
        .query_map((ORG, primary, duplicate), |r| {
            Ok(FloorMemory {
                id: r.get(0)?,
                of_primary: r.get(1)?,
                scope: r.get(2)?,
                summary: r.get(3)?,
                facts: parse(r.get_ref(4)?.as_str()?),
                messages: parse(r.get_ref(5)?.as_str()?),
                open_items: parse(r.get_ref(6)?.as_str()?),
                created_at: r.get(7)?,
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let (mut moved, mut combined, mut entities) = (0, 0, 0);
    let (mine, theirs): (Vec<_>, Vec<_>) = memories.drain(..).partition(|m| m.of_primary);
    let mut mine = mine;
    for d in theirs {
        match mine.iter_mut().find(|p| p.scope == d.scope) {
            None => {
                exec(conn, F_MOVE_MEMORY, (ORG, primary, &d.id));
                moved += 1;
            }
            Some(p) => {
                let summary = combine_text(&p.summary, &d.summary);
                let mut facts = std::mem::take(&mut p.facts);
                for (k, v) in d.facts {
                    facts.entry(k).or_insert(v);
                }
                let mut messages =
                    union_by(std::mem::take(&mut p.messages), d.messages, "timestamp");
                if messages.len() > CAP {
                    messages.drain(..messages.len() - CAP);
                }
                let open_items = union_by(
                    std::mem::take(&mut p.open_items),
                    d.open_items,
                    "created_at",
                );
                exec(
                    conn,
                    F_SAVE_MEMORY,
                    rusqlite::params![
                        ORG,
                        p.id,
                        summary,
                        serde_json::to_string(&facts).unwrap(),
                        serde_json::to_string(&messages).unwrap(),
                        serde_json::to_string(&open_items).unwrap(),
                        p.created_at.min(d.created_at),
                        now,
                    ],
                );
                entities += exec(conn, F_MERGE_ENTITIES, (ORG, &p.id, &d.id));
                exec(conn, F_DELETE_MEMORY, (ORG, &d.id));
                combined += 1;
            }
        }
    }
    let redirects = exec(conn, F_REPOINT, (ORG, primary, duplicate));
    assert_eq!(exec(conn, F_DELETE_CONTACT, (ORG, duplicate)), 1);
    exec(conn, F_REDIRECT, (ORG, duplicate, primary, now));
    let journal = format!(
        r#"{{"identifiers":{identifiers},"memories_moved":{moved},"memories_combined":{combined},"entities":{entities},"calls":{calls},"sms_conversations":{sms},"redirects":{redirects}}}"#
    );
    exec(conn, F_JOURNAL, (ORG, primary, duplicate, now, journal));
    exec(conn, "COMMIT", []);
}

// ---------------------------------------------------------------------------------

/// The merged contact's memories without ids, update times and history, for comparing
/// the library's result with the floor's. (The floor keeps no `memory_history`, no
/// `summary_updated_at` and no change log: the library's merge writes one history entry
/// per combined memory and one event more than the floor does.)
fn memories_shape(org: &Org<'_>, primary: &str, duplicate: &str) -> Value {
    let merged = org.get(duplicate).unwrap();
    assert_eq!(merged.contact.id, primary, "the duplicate redirects");
    assert_eq!(merged.identifiers.len(), 6);
    let mut memories: Vec<Value> = merged
        .memories
        .iter()
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap();
            let o = v.as_object_mut().unwrap();
            for key in [
                "id",
                "contact_id",
                "updated_at",
                "summary_updated_at",
                "memory_history",
            ] {
                o.remove(key);
            }
            v
        })
        .collect();
    memories.sort_by_key(|m| m["persona_id"].to_string());
    Value::Array(memories)
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let fixture = support::fixture(n);
    let library_copy = WorkCopy::of(&fixture.path, "merge-library");
    let floor_copy = WorkCopy::of(&fixture.path, "merge-floor");
    let store = ContactStore::open(&library_copy.path).unwrap();
    let org = store.org(ORG).unwrap();
    // The floor's pairs are imported through the library too (untimed).
    let floor_setup = ContactStore::open(&floor_copy.path).unwrap();
    let floor_setup_org = floor_setup.org(ORG).unwrap();
    let raw = floor_connection(&floor_copy.path);

    // Both merge pair 0 the same way.
    let (lib_pair, floor_pair) = (new_pairs(1), new_pairs(1));
    import_pairs(&org, range::MERGE_LIBRARY, 0, &lib_pair);
    import_pairs(&floor_setup_org, range::MERGE_FLOOR, 0, &floor_pair);
    org.merge(&lib_pair[0].primary, &lib_pair[0].duplicate)
        .unwrap();
    floor_merge(&raw, &floor_pair[0].primary, &floor_pair[0].duplicate);
    let lib_shape = memories_shape(&org, &lib_pair[0].primary, &lib_pair[0].duplicate);
    let floor_shape = memories_shape(
        &floor_setup_org,
        &floor_pair[0].primary,
        &floor_pair[0].duplicate,
    );
    assert_eq!(lib_shape, floor_shape, "the floor merges like the library");
    let memories = lib_shape.as_array().unwrap();
    assert_eq!(memories.len(), 3);
    assert_eq!(
        memories[0]["recent_messages"].as_array().unwrap().len(),
        CAP
    );
    assert_eq!(memories[0]["entities"].as_array().unwrap().len(), 15);

    let mut next_library = 1;
    let mut next_floor = 1;
    let mut group = c.benchmark_group(format!("merge/{n}"));
    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let pairs = new_pairs(iters);
            import_pairs(&floor_setup_org, range::MERGE_FLOOR, next_floor, &pairs);
            next_floor += iters;
            let started = Instant::now();
            for p in &pairs {
                floor_merge(&raw, &p.primary, &p.duplicate);
            }
            started.elapsed()
        })
    });
    group.bench_function("library", |b| {
        b.iter_custom(|iters| {
            let pairs = new_pairs(iters);
            import_pairs(&org, range::MERGE_LIBRARY, next_library, &pairs);
            next_library += iters;
            let started = Instant::now();
            for p in &pairs {
                org.merge(&p.primary, &p.duplicate).unwrap();
            }
            started.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);
    targets = bench
}
criterion_main!(benches);
