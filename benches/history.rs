//! The price of history (issue 13), each figure a ratio within one run:
//!
//! * `history_log/{op}/{n}`: resolve-create, a memory write and a merge, each with
//!   the change log on (`log_on`, the default) and off (`log_off`:
//!   `ChangeLog::disabled()`, the same code without the log's writes). Both run on
//!   their own copy of the fixture.
//! * `history_unmerge/{n}`: `merge` and the `unmerge` that undoes it, on the same
//!   pairs (a merge's two contacts as in the merge bench: 3 identifiers, a shared and
//!   an own memory of 50 messages and 10 entities each).
//! * `history_changes/{n}`: reading pages of 1,000 events through the library
//!   (`library`) and the same rows with a hand-written query (`floor`); throughput is
//!   in events.
//!
//! Before the groups run, the growth of the file per event is printed
//! (`history: … bytes per event`), measured as the size difference of two copies that
//! did the same 20,000 creates with the log on and off.
//!
//! `cargo bench --bench history` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000).

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use contactstore::{
    ChangeLog, ContactStore, IdentifierQuery, MemoryScope, Org, ResolveRequest, Settings,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use support::{email, floor_connection, import_pairs, new_pairs, phone, range, WorkCopy, ORG};

fn settings(log: bool) -> Settings {
    Settings::default().change_log(if log {
        ChangeLog::default()
    } else {
        ChangeLog::disabled()
    })
}

fn create(org: &Org<'_>, i: u64) {
    let r = ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some(phone(i)),
            email: Some(email(i)),
            ..Default::default()
        },
        ..Default::default()
    };
    black_box(org.resolve(&r).unwrap());
}

/// Bytes the log adds per event: two copies, the same creates, log on and off.
fn growth_per_event(fixture: &std::path::Path) {
    const CREATES: u64 = 20_000;
    let mut sizes = Vec::new();
    for log in [true, false] {
        let copy = WorkCopy::of(fixture, if log { "growth-on" } else { "growth-off" });
        let store = ContactStore::open_with(&copy.path, settings(log)).unwrap();
        let org = store.org(ORG).unwrap();
        for i in range::CREATE_LIBRARY..range::CREATE_LIBRARY + CREATES {
            create(&org, i);
        }
        drop(store);
        // Checkpointed into the file by the close: the file's size is what it holds.
        sizes.push(std::fs::metadata(&copy.path).unwrap().len());
    }
    println!(
        "history: {} bytes per event (the file after {CREATES} resolve-creates: {:.1} MiB \
         with the log, {:.1} MiB without)",
        (sizes[0].saturating_sub(sizes[1])) / CREATES,
        sizes[0] as f64 / 1_048_576.0,
        sizes[1] as f64 / 1_048_576.0
    );
}

fn log_on_and_off(c: &mut Criterion, n: u64, fixture: &std::path::Path) {
    let copies = [
        WorkCopy::of(fixture, "history-on"),
        WorkCopy::of(fixture, "history-off"),
    ];
    let stores: Vec<ContactStore> = copies
        .iter()
        .zip([true, false])
        .map(|(copy, log)| ContactStore::open_with(&copy.path, settings(log)).unwrap())
        .collect();
    let labels = ["log_on", "log_off"];

    let mut group = c.benchmark_group(format!("history_log/resolve_create/{n}"));
    for (store, label) in stores.iter().zip(labels) {
        let org = store.org(ORG).unwrap();
        let mut next = range::CREATE_LIBRARY;
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for i in next..next + iters {
                    create(&org, i);
                }
                next += iters;
                started.elapsed()
            })
        });
    }
    group.finish();

    // A memory write that changes something every time: the summary of a fixture
    // contact (every third has a memory), set to a new text.
    let mut group = c.benchmark_group(format!("history_log/memory_write/{n}"));
    for (store, label) in stores.iter().zip(labels) {
        let org = store.org(ORG).unwrap();
        let ids: Vec<String> = (0..n.min(3_000))
            .step_by(3)
            .map(|i| {
                org.find(&IdentifierQuery::phone(phone(i)))
                    .unwrap()
                    .unwrap()
                    .contact
                    .id
            })
            .collect();
        let scope = MemoryScope::persona(support::PERSONA);
        let mut round = 0u64;
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for k in 0..iters {
                    round += 1;
                    let id = &ids[(k as usize) % ids.len()];
                    black_box(
                        org.set_summary(id, &scope, &format!("Summary {round}"))
                            .unwrap(),
                    );
                }
                started.elapsed()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("history_log/merge/{n}"));
    for (store, label) in stores.iter().zip(labels) {
        let org = store.org(ORG).unwrap();
        let mut next = 0;
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let pairs = new_pairs(iters);
                import_pairs(&org, range::MERGE_LIBRARY, next, &pairs);
                next += iters;
                let started = Instant::now();
                for p in &pairs {
                    black_box(org.merge(&p.primary, &p.duplicate).unwrap());
                }
                started.elapsed()
            })
        });
    }
    group.finish();
}

fn unmerge_against_merge(c: &mut Criterion, n: u64, fixture: &std::path::Path) {
    let copy = WorkCopy::of(fixture, "history-unmerge");
    let store = ContactStore::open(&copy.path).unwrap();
    let org = store.org(ORG).unwrap();
    let mut next = 0;
    let mut group = c.benchmark_group(format!("history_unmerge/{n}"));
    group.bench_function("merge", |b| {
        b.iter_custom(|iters| {
            let pairs = new_pairs(iters);
            import_pairs(&org, range::MERGE_LIBRARY, next, &pairs);
            next += iters;
            let started = Instant::now();
            for p in &pairs {
                black_box(org.merge(&p.primary, &p.duplicate).unwrap());
            }
            let took = started.elapsed();
            // Untimed: undone again, so both functions work on the same kind of pair.
            for p in &pairs {
                org.unmerge(&p.duplicate).unwrap();
            }
            took
        })
    });
    group.bench_function("unmerge", |b| {
        b.iter_custom(|iters| {
            let pairs = new_pairs(iters);
            import_pairs(&org, range::MERGE_LIBRARY, next, &pairs);
            next += iters;
            for p in &pairs {
                org.merge(&p.primary, &p.duplicate).unwrap();
            }
            let started = Instant::now();
            for p in &pairs {
                black_box(org.unmerge(&p.duplicate).unwrap());
            }
            started.elapsed()
        })
    });
    group.finish();
}

const PAGE: usize = 1_000;
const FLOOR_PAGE: &str = "SELECT seq, at, org_id, kind, contact_id, related_id, detail \
     FROM change_event WHERE org_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";

fn change_pages(c: &mut Criterion, n: u64, fixture: &std::path::Path) {
    let copy = WorkCopy::of(fixture, "history-changes");
    let store = ContactStore::open(&copy.path).unwrap();
    let org = store.org(ORG).unwrap();
    // The fixture's import logged one event a contact; more to page through.
    for i in range::CREATE_LIBRARY..range::CREATE_LIBRARY + 100_000 {
        create(&org, i);
    }
    let first = org.changes(0, Some(1)).unwrap().changes[0].seq - 1;
    let total = {
        let mut since = 0;
        let mut count = 0;
        loop {
            let page = org.changes(since, Some(10_000)).unwrap();
            if page.changes.is_empty() {
                break count;
            }
            count += page.changes.len() as u64;
            since = page.next;
        }
    };
    let raw = floor_connection(&copy.path);
    let pages = (total / PAGE as u64).max(1);
    let mut group = c.benchmark_group(format!("history_changes/{n}"));
    group.throughput(Throughput::Elements(PAGE as u64));
    let mut k = 0u64;
    group.bench_function("library", |b| {
        b.iter(|| {
            k = (k + 7) % pages;
            let page = org.changes(first + k * PAGE as u64, Some(PAGE)).unwrap();
            black_box(page.changes.len())
        })
    });
    let mut k = 0u64;
    group.bench_function("floor", |b| {
        b.iter(|| {
            k = (k + 7) % pages;
            let mut stmt = raw.prepare_cached(FLOOR_PAGE).unwrap();
            let rows = stmt
                .query_map(
                    rusqlite::params![ORG, (first + k * PAGE as u64) as i64, PAGE as i64],
                    |r| {
                        let detail: String = r.get(6)?;
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Option<String>>(5)?,
                            serde_json::from_str::<serde_json::Value>(&detail).unwrap(),
                        ))
                    },
                )
                .unwrap();
            black_box(rows.count())
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let fixture = support::fixture(n);
    growth_per_event(&fixture.path);
    log_on_and_off(c, n, &fixture.path);
    unmerge_against_merge(c, n, &fixture.path);
    change_pages(c, n, &fixture.path);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
