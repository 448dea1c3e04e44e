//! A page of 100 contacts from an org of N, at an early and a late cursor (issue 8: the
//! time must not grow with the page's position), against the floor: the same keyset
//! query written by hand, with the metadata decoded.
//!
//! `cargo bench --bench list` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000).

mod support;

use std::time::Duration;

use contactstore::{ContactStore, ListOptions};
use criterion::{criterion_group, criterion_main, Criterion};
use rusqlite::Connection;
use serde_json::Value;

use support::{floor_connection, ORG};

const PAGE: usize = 100;

const F_PAGE: &str = "SELECT id, org_id, name, metadata, created_at, updated_at FROM contact \
     WHERE org_id = ?1 AND (created_at, id) > (?2, ?3) ORDER BY created_at, id LIMIT ?4";
const F_POSITION: &str =
    "SELECT created_at, id FROM contact WHERE org_id = ?1 ORDER BY created_at, id LIMIT 1 OFFSET ?2";

type FloorRow = (String, String, Option<String>, Value, i64, i64);

/// The page after `(created_at, id)` and the key to continue from (none at the end).
fn floor_page(conn: &Connection, after: &(i64, String)) -> (Vec<FloorRow>, Option<(i64, String)>) {
    let mut stmt = conn.prepare_cached(F_PAGE).unwrap();
    let mut rows: Vec<FloorRow> = stmt
        .query_map((ORG, after.0, &after.1, PAGE as i64 + 1), |r| {
            let metadata = serde_json::from_str(r.get_ref(3)?.as_str()?).unwrap();
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                metadata,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let next = more
        .then(|| rows.last().map(|r| (r.4, r.0.clone())))
        .flatten();
    (rows, next)
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let fixture = support::fixture(n);
    let store = ContactStore::open(&fixture.path).unwrap();
    let org = store.org(ORG).unwrap();
    let raw = floor_connection(&fixture.path);

    // Positions: after the first page, and at 99% of the org (in whole pages of 1,000,
    // reached through the public API: the cursor stays opaque).
    let early = org
        .list(&ListOptions::default().limit(PAGE))
        .unwrap()
        .next_cursor
        .unwrap();
    let late_position = (n * 99 / 100) / 1_000 * 1_000;
    let mut late = None;
    for _ in 0..late_position / 1_000 {
        let mut options = ListOptions::default().limit(1_000);
        options.cursor = late.clone();
        late = org.list(&options).unwrap().next_cursor;
    }
    let late_position = if late.is_some() {
        late_position
    } else {
        PAGE as u64
    };
    let late = late.unwrap_or_else(|| early.clone());
    let key_at = |position: u64| -> (i64, String) {
        raw.query_row(F_POSITION, (ORG, position as i64 - 1), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
    };
    let (floor_early, floor_late) = (key_at(PAGE as u64), key_at(late_position));
    for (cursor, key) in [(&early, &floor_early), (&late, &floor_late)] {
        let page = org
            .list(&ListOptions::default().limit(PAGE).cursor(cursor.clone()))
            .unwrap();
        let (rows, _) = floor_page(&raw, key);
        assert_eq!(page.contacts.len(), PAGE);
        assert_eq!(rows.len(), PAGE);
        assert_eq!(page.contacts[0].contact.id, rows[0].0, "same page");
    }

    let early_options = ListOptions::default().limit(PAGE).cursor(early);
    let late_options = ListOptions::default().limit(PAGE).cursor(late);
    let mut group = c.benchmark_group(format!("list_page/{n}"));
    group.bench_function("floor_early", |b| b.iter(|| floor_page(&raw, &floor_early)));
    group.bench_function("library_early", |b| {
        b.iter(|| org.list(&early_options).unwrap())
    });
    group.bench_function("floor_late", |b| b.iter(|| floor_page(&raw, &floor_late)));
    group.bench_function("library_late", |b| {
        b.iter(|| org.list(&late_options).unwrap())
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
