//! Resolve and find against the floor: the same lookups written by hand with raw
//! rusqlite and cached statements. Figures are ratios measured in the same run.
//!
//! `cargo bench --bench resolve` (set `CONTACTSTORE_BENCH_CONTACTS` for the size,
//! default 10,000; the database is generated once and cached under `target/`).

use std::path::PathBuf;

use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rusqlite::{Connection, OptionalExtension};

fn contacts() -> usize {
    std::env::var("CONTACTSTORE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn phone(i: usize) -> String {
    // Valid US numbers: area codes 201.., exchanges 200..
    format!(
        "+1{}{}{:04}",
        201 + (i / 10_000_000) % 700,
        200 + (i / 10_000) % 700,
        i % 10_000
    )
}

fn formatted(i: usize) -> String {
    let e = phone(i);
    format!("({}) {}-{}", &e[2..5], &e[5..8], &e[8..])
}

/// A cached database of `n` contacts, each with a phone and an email.
fn fixture(n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("resolve-{n}.db"));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("resolve-{n}.db.partial"));
    let _ = std::fs::remove_file(&tmp);
    {
        let store = ContactStore::open(&tmp).unwrap();
        let org = store.org("bench").unwrap();
        for i in 0..n {
            org.resolve(&ResolveRequest {
                phone_number: Some(phone(i)),
                email: Some(format!("user{i}@example.com")),
                ..Default::default()
            })
            .unwrap();
        }
    }
    std::fs::rename(&tmp, &path).unwrap();
    path
}

const FLOOR_LOOKUP: &str = "SELECT c.id, c.org_id, c.name, c.metadata, c.created_at, c.updated_at \
     FROM identifier i JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id \
     WHERE i.org_id = ?1 AND i.identifier_type = ?2 AND i.identifier_value = ?3";

fn bench(c: &mut Criterion) {
    let n = contacts();
    let path = fixture(n);
    let store = ContactStore::open(&path).unwrap();
    let org = store.org("bench").unwrap();
    let raw = Connection::open(&path).unwrap();
    let mut group = c.benchmark_group(format!("resolve_hit/{n}"));
    let mut i = 0usize;
    group.bench_function("floor_indexed_lookup", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            raw.prepare_cached(FLOOR_LOOKUP)
                .unwrap()
                .query_row(("bench", 1, phone(i)), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .optional()
                .unwrap()
        })
    });
    group.bench_function("resolve_e164", |b| {
        b.iter_batched(
            || {
                i = (i + 7919) % n;
                ResolveRequest::phone(phone(i))
            },
            |req| org.resolve(&req).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("resolve_formatted", |b| {
        b.iter_batched(
            || {
                i = (i + 7919) % n;
                ResolveRequest::phone(formatted(i))
            },
            |req| org.resolve(&req).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("find_e164", |b| {
        b.iter_batched(
            || {
                i = (i + 7919) % n;
                IdentifierQuery::phone(phone(i))
            },
            |q| org.find(&q).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
