//! The PostgreSQL engine against its floor: resolve of a known caller, resolve of a
//! new one, find with full hydration, and merge — each next to the same statements
//! written by hand with the raw `postgres` client (prepared once, JSON decoded to
//! `Value`), on the same server, database and schema; the report divides the two.
//! And the throughput of 16 connections at once resolving known callers (9 in 10)
//! and creating new ones.
//!
//! ```text
//! CONTACTSTORE_BENCH_POSTGRES=postgres://user@host:port/db \
//! CONTACTSTORE_BENCH_CONTACTS=100000 cargo bench --features postgres --bench postgres
//! ```
//!
//! The fixture (the SQLite benches' contacts: a phone and an email each, every third
//! with a memory of 20 messages and 5 entities) is imported once through the library
//! into the schema `bench_<N>` and reused while it has N contacts. Without
//! `CONTACTSTORE_BENCH_POSTGRES` the bench says it was skipped and does nothing.

mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contactstore::{ContactStore, IdentifierQuery, ImportOptions, ResolveRequest};
use criterion::Criterion;
use postgres::types::{FromSql, Type};
use postgres::{Client, NoTls, Statement};
use serde_json::Value;

use support::{email, fixture_line, new_id, phone, range, spread, Lines, ORG, PERSONA};

/// The server, from `CONTACTSTORE_BENCH_POSTGRES`.
fn server() -> Option<String> {
    std::env::var("CONTACTSTORE_BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// The store's URL: the fixture's schema, and in the clear as the floor's raw client
/// is (`NoTls`), also in a build with `postgres-tls` against a server offering TLS.
fn with_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    let plain = if base.contains("sslmode=") {
        ""
    } else {
        "&sslmode=disable"
    };
    format!("{base}{sep}options=-csearch_path%3D{schema}{plain}")
}

/// The URL of the fixture's schema, importing it first if needed.
fn fixture(base: &str, n: u64) -> String {
    let schema = format!("bench_{n}");
    let url = with_schema(base, &schema);
    let mut admin = Client::connect(base, NoTls).expect("connect");
    let count: Option<i64> = admin
        .query_opt(
            &format!(
                "SELECT count(*) FROM {schema}.contact WHERE org_id = $1 \
                 AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{schema}')"
            ),
            &[&ORG],
        )
        .ok()
        .flatten()
        .map(|r| r.get(0));
    if count == Some(n as i64) {
        return url;
    }
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let started = Instant::now();
    let store = ContactStore::open(&url).expect("open the fixture");
    let mut lines = Lines::new(range::FIXTURE..range::FIXTURE + n, fixture_line);
    let summary = store
        .org(ORG)
        .unwrap()
        .import(&mut lines, &ImportOptions::default(), &mut |_| {})
        .expect("import the fixture");
    admin
        .batch_execute(&format!("ANALYZE {schema}.contact, {schema}.identifier, {schema}.memory, {schema}.memory_entity"))
        .unwrap();
    eprintln!(
        "postgres fixture: {} contacts imported in {:.1?}",
        summary.imported,
        started.elapsed()
    );
    url
}

/// A `json` column as a parsed value (the floor decodes JSON as the library does).
struct JsonValue(Value);

impl<'a> FromSql<'a> for JsonValue {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonValue(serde_json::from_slice(raw)?))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// Milliseconds as timestamptz, for the floor's inserts.
#[derive(Debug)]
struct Millis(i64);

impl postgres::types::ToSql for Millis {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&(self.0 * 1000 - 946_684_800_000_000).to_be_bytes());
        Ok(postgres::types::IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
    postgres::types::to_sql_checked!();
}

/// JSON text bound to a `json` parameter.
#[derive(Debug)]
struct JsonText<'a>(&'a str);

impl postgres::types::ToSql for JsonText<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(postgres::types::IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
    postgres::types::to_sql_checked!();
}

fn millis(row: &postgres::Row, i: usize) -> i64 {
    // Read as the library reads it: the binary timestamp.
    let raw: Option<Timestamptz> = row.get(i);
    raw.map(|t| t.0).unwrap_or(0)
}

struct Timestamptz(i64);

impl<'a> FromSql<'a> for Timestamptz {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let micros = i64::from_be_bytes(raw.try_into()?);
        Ok(Timestamptz((micros + 946_684_800_000_000).div_euclid(1000)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}

// ---------------------------------------------------------------------------------
// The floor: the statements the engine runs, by hand.

const LOOKUP: &str = "SELECT c.* FROM identifier i JOIN contact c \
     ON c.org_id = i.org_id AND c.id = i.contact_id \
     WHERE i.org_id = $1 AND i.identifier_type = $2 AND i.identifier_value = $3";
const IDENTIFIERS: &str = "SELECT * FROM identifier WHERE org_id = $1 AND contact_id = $2 \
     ORDER BY identifier_type, is_primary DESC, identifier_value";
const MEMORIES: &str =
    "SELECT * FROM memory WHERE org_id = $1 AND contact_id = $2 ORDER BY created_at, id";
const ENTITIES: &str = "SELECT e.* FROM memory m JOIN memory_entity e \
     ON e.org_id = m.org_id AND e.memory_id = m.id WHERE m.org_id = $1 AND m.contact_id = $2 \
     ORDER BY e.memory_id, e.last_discussed_at DESC NULLS LAST, e.entity_type, e.entity_id";
const INSERT_CONTACT: &str = "INSERT INTO contact (org_id, id, name, metadata, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_IDENTIFIER: &str = "INSERT INTO identifier (org_id, identifier_type, \
     identifier_value, contact_id, id, is_primary) VALUES ($1, $2, $3, $4, $5, $6)";
const APPEND: &str =
    "INSERT INTO change_event (org_id, seq, at, kind, contact_id, related_id, detail) \
     SELECT $1, nextval('change_event_seq'), $2, $3, $4, $5, $6 \
     FROM (SELECT pg_advisory_xact_lock(7306232590271)) AS appending";
const CONTACT: &str = "SELECT * FROM contact WHERE org_id = $1 AND id = $2";
const REDIRECT: &str =
    "SELECT surviving_id FROM merge_redirect WHERE org_id = $1 AND merged_id = $2";
const LOCK: &str = "SELECT id FROM contact WHERE org_id = $1 AND id IN ($2, $3) \
     ORDER BY id FOR UPDATE";
const ACTIVITIES: &str = "SELECT * FROM activity WHERE org_id = $1 AND contact_id = $2 \
     AND kind = $3 ORDER BY started_at DESC, id DESC";
const MOVE_IDENTIFIERS: &str = "UPDATE identifier SET contact_id = $2, \
     is_primary = is_primary AND identifier_type NOT IN (SELECT identifier_type \
     FROM identifier WHERE org_id = $1 AND contact_id = $2 AND is_primary) \
     WHERE org_id = $1 AND contact_id = $3";
const MOVE_ACTIVITIES: &str = "UPDATE activity SET contact_id = $2 \
     WHERE org_id = $1 AND contact_id = $3 AND kind = $4";
const SCOPES: &str = "SELECT id, scope FROM memory WHERE org_id = $1 AND contact_id = $2";
const REPOINT_FINDINGS: &str =
    "UPDATE migration_finding SET contact_id = $2 WHERE org_id = $1 AND contact_id = $3";
const REPOINT_OTHER: &str = "UPDATE migration_finding SET other_contact_id = $2 \
     WHERE org_id = $1 AND other_contact_id = $3";
const SAVE_CONTACT: &str = "UPDATE contact SET name = $3, metadata = $4, created_at = $5, \
     updated_at = $6 WHERE org_id = $1 AND id = $2";
const REPOINT_REDIRECTS: &str = "UPDATE merge_redirect SET surviving_id = $2 \
     WHERE org_id = $1 AND surviving_id = $3";
const DELETE_CONTACT: &str = "DELETE FROM contact WHERE org_id = $1 AND id = $2";
const INSERT_REDIRECT: &str = "INSERT INTO merge_redirect (org_id, merged_id, surviving_id, \
     merged_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, merged_id) DO NOTHING";
const JOURNAL: &str = "INSERT INTO merge_journal (org_id, primary_id, duplicate_id, \
     merged_at, moved, snapshot) VALUES ($1, $2, $3, $4, $5, $6)";

struct Floor {
    client: Client,
    statements: std::collections::HashMap<&'static str, Statement>,
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug only: the rows must be built, not used
struct FloorContact {
    id: String,
    name: Option<String>,
    metadata: Value,
    created_at: i64,
    identifiers: Vec<(i16, String, bool)>,
    memories: Vec<(String, String, Value, Value, Value, i64)>,
    entities: Vec<(String, String, Value, i64)>,
}

impl Floor {
    fn connect(url: &str) -> Floor {
        let mut client = Client::connect(url, NoTls).unwrap();
        client
            .batch_execute("SET lock_timeout = 5000; SET TIME ZONE 'UTC'")
            .unwrap();
        Floor {
            client,
            statements: Default::default(),
        }
    }

    fn stmt(&mut self, sql: &'static str) -> Statement {
        if let Some(s) = self.statements.get(sql) {
            return s.clone();
        }
        let s = self.client.prepare(sql).unwrap();
        self.statements.insert(sql, s.clone());
        s
    }

    fn lookup(&mut self, value: &str) -> Option<(String, Option<String>, Value, i64)> {
        let s = self.stmt(LOOKUP);
        self.client
            .query_opt(&s, &[&ORG, &1i16, &value])
            .unwrap()
            .map(|r| {
                let JsonValue(metadata) = r.get(3);
                (r.get(1), r.get(2), metadata, millis(&r, 4))
            })
    }

    fn hydrate(&mut self, value: &str) -> Option<FloorContact> {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .unwrap();
        let found = self.lookup(value).map(|(id, name, metadata, created_at)| {
            let (si, sm, se) = (
                self.stmt(IDENTIFIERS),
                self.stmt(MEMORIES),
                self.stmt(ENTITIES),
            );
            let identifiers = self
                .client
                .query(&si, &[&ORG, &id])
                .unwrap()
                .iter()
                .map(|r| (r.get(1), r.get(2), r.get(5)))
                .collect();
            let memories = self
                .client
                .query(&sm, &[&ORG, &id])
                .unwrap()
                .iter()
                .map(|r| {
                    let (JsonValue(f), JsonValue(m), JsonValue(o)) = (r.get(7), r.get(8), r.get(9));
                    (r.get(1), r.get(6), f, m, o, millis(r, 10))
                })
                .collect();
            let entities = self
                .client
                .query(&se, &[&ORG, &id])
                .unwrap()
                .iter()
                .map(|r| {
                    let JsonValue(f) = r.get(4);
                    (r.get(2), r.get(3), f, millis(r, 6))
                })
                .collect();
            FloorContact {
                id,
                name,
                metadata,
                created_at,
                identifiers,
                memories,
                entities,
            }
        });
        self.client.batch_execute("COMMIT").unwrap();
        found
    }

    /// Creates a contact with one phone, as resolve does: a lookup, then in a
    /// serializable transaction the lookup again, the inserts and the change event.
    fn create(&mut self, value: &str) -> String {
        assert!(self.lookup(value).is_none());
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .unwrap();
        assert!(self.lookup(value).is_none());
        let id = new_id();
        let now = Millis(support::now_ms());
        let (sc, si, sa) = (
            self.stmt(INSERT_CONTACT),
            self.stmt(INSERT_IDENTIFIER),
            self.stmt(APPEND),
        );
        self.client
            .execute(
                &sc,
                &[&ORG, &id, &None::<String>, &JsonText("{}"), &now, &now],
            )
            .unwrap();
        self.client
            .execute(
                &si,
                &[
                    &ORG,
                    &1i16,
                    &value,
                    &id,
                    &format!("ident-{}", new_id()),
                    &true,
                ],
            )
            .unwrap();
        let detail = format!(
            r#"{{"identifiers_added":[{{"identifier_type":"phone_number","identifier_value":"{value}"}}],"memory_id":null,"metadata":{{}},"name":null}}"#
        );
        self.client
            .execute(
                &sa,
                &[
                    &ORG,
                    &now,
                    &"contact.created",
                    &id,
                    &None::<String>,
                    &JsonText(&detail),
                ],
            )
            .unwrap();
        self.client.batch_execute("COMMIT").unwrap();
        id
    }

    /// Merges `duplicate` into `primary` with the statements the engine runs for two
    /// contacts with identifiers only.
    fn merge(&mut self, primary: &str, duplicate: &str) {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .unwrap();
        let q = |f: &mut Floor, sql: &'static str, p: &[&(dyn postgres::types::ToSql + Sync)]| {
            let s = f.stmt(sql);
            f.client.query(&s, p).unwrap()
        };
        let e = |f: &mut Floor, sql: &'static str, p: &[&(dyn postgres::types::ToSql + Sync)]| {
            let s = f.stmt(sql);
            f.client.execute(&s, p).unwrap()
        };
        let p = q(self, CONTACT, &[&ORG, &primary]);
        assert_eq!(p.len(), 1);
        q(self, REDIRECT, &[&ORG, &duplicate]);
        let d = q(self, CONTACT, &[&ORG, &duplicate]);
        assert_eq!(d.len(), 1);
        let (a, b) = if primary < duplicate {
            (primary, duplicate)
        } else {
            (duplicate, primary)
        };
        q(self, LOCK, &[&ORG, &a, &b]);
        // The snapshot: both contacts' identifiers, memories, calls and SMS.
        for id in [duplicate, primary] {
            q(self, IDENTIFIERS, &[&ORG, &id]);
            q(self, MEMORIES, &[&ORG, &id]);
            q(self, ENTITIES, &[&ORG, &id]);
            q(self, ACTIVITIES, &[&ORG, &id, &1i16]);
            q(self, ACTIVITIES, &[&ORG, &id, &2i16]);
        }
        let moved = e(self, MOVE_IDENTIFIERS, &[&ORG, &primary, &duplicate]);
        e(self, MOVE_ACTIVITIES, &[&ORG, &primary, &duplicate, &1i16]);
        e(self, MOVE_ACTIVITIES, &[&ORG, &primary, &duplicate, &2i16]);
        q(self, SCOPES, &[&ORG, &primary]);
        q(self, SCOPES, &[&ORG, &duplicate]);
        e(self, REPOINT_FINDINGS, &[&ORG, &primary, &duplicate]);
        e(self, REPOINT_OTHER, &[&ORG, &primary, &duplicate]);
        let now = Millis(support::now_ms());
        e(
            self,
            SAVE_CONTACT,
            &[
                &ORG,
                &primary,
                &None::<String>,
                &JsonText("{}"),
                &Millis(support::now_ms() - 10),
                &now,
            ],
        );
        e(self, REPOINT_REDIRECTS, &[&ORG, &primary, &duplicate]);
        e(self, DELETE_CONTACT, &[&ORG, &duplicate]);
        e(self, INSERT_REDIRECT, &[&ORG, &duplicate, &primary, &now]);
        let moved = format!(r#"{{"identifiers":{moved},"memories_moved":0}}"#);
        e(
            self,
            JOURNAL,
            &[
                &ORG,
                &primary,
                &duplicate,
                &now,
                &JsonText(&moved),
                &JsonText("{}"),
            ],
        );
        e(
            self,
            APPEND,
            &[
                &ORG,
                &now,
                &"contact.merged",
                &primary,
                &Some(duplicate),
                &JsonText(&moved),
            ],
        );
        q(self, IDENTIFIERS, &[&ORG, &primary]);
        q(self, MEMORIES, &[&ORG, &primary]);
        q(self, ENTITIES, &[&ORG, &primary]);
        self.client.batch_execute("COMMIT").unwrap();
    }
}

// ---------------------------------------------------------------------------------

fn main() {
    let Some(base) = server() else {
        println!(
            "postgres bench skipped: set CONTACTSTORE_BENCH_POSTGRES=postgres://user@host:port/db"
        );
        return;
    };
    let n = support::contacts() as u64;
    let url = fixture(&base, n);
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let store = ContactStore::open(&url).unwrap();
    let org = store.org(ORG).unwrap();
    let mut floor = Floor::connect(&url);
    let keys = spread(n, 10_000);

    let mut group = c.benchmark_group(format!("postgres/resolve_hit/{n}"));
    let mut k = 0;
    group.bench_function("library", |b| {
        b.iter(|| {
            k = (k + 1) % keys.len();
            black_box(org.resolve(&ResolveRequest::phone(phone(keys[k]))).unwrap())
        })
    });
    group.bench_function("floor", |b| {
        b.iter(|| {
            k = (k + 1) % keys.len();
            black_box(floor.lookup(&phone(keys[k])).unwrap())
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("postgres/find_hydrated/{n}"));
    // Contacts with a memory (index divisible by 3).
    let memory_keys: Vec<u64> = keys.iter().map(|k| k - k % 3).collect();
    group.bench_function("library", |b| {
        b.iter(|| {
            k = (k + 1) % memory_keys.len();
            let found = org
                .find(&IdentifierQuery::phone(phone(memory_keys[k])))
                .unwrap();
            black_box(found.unwrap())
        })
    });
    group.bench_function("floor", |b| {
        b.iter(|| {
            k = (k + 1) % memory_keys.len();
            black_box(floor.hydrate(&phone(memory_keys[k])).unwrap())
        })
    });
    group.finish();

    // New callers: a range of its own per side and run.
    let run = support::now_ms() as u64 % 1000;
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group(format!("postgres/resolve_create/{n}"));
    group.bench_function("library", |b| {
        b.iter(|| {
            let i = range::CREATE_LIBRARY + run * 5_000 + next.fetch_add(1, Ordering::Relaxed);
            let r = org.resolve(&ResolveRequest::phone(phone(i))).unwrap();
            assert!(r.created);
            black_box(r)
        })
    });
    group.bench_function("floor", |b| {
        b.iter(|| {
            let i = range::CREATE_FLOOR + run * 5_000 + next.fetch_add(1, Ordering::Relaxed);
            black_box(floor.create(&phone(i)))
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("postgres/merge/{n}"));
    let pair_next = AtomicU64::new(0);
    let pairs = |base: u64, count: u64| -> Vec<(String, String)> {
        (0..count)
            .map(|_| {
                let j = base + run * 5_000 + pair_next.fetch_add(1, Ordering::Relaxed);
                let a = org.resolve(&ResolveRequest::phone(phone(2 * j))).unwrap();
                let b = org
                    .resolve(&ResolveRequest {
                        identifiers: IdentifierQuery::email(email(2 * j + 1)),
                        ..Default::default()
                    })
                    .unwrap();
                (a.contact.id, b.contact.id)
            })
            .collect()
    };
    group.bench_function("library", |b| {
        b.iter_custom(|iters| {
            let todo = pairs(range::MERGE_LIBRARY / 2, iters);
            let started = Instant::now();
            for (a, d) in &todo {
                black_box(org.merge(a, d).unwrap());
            }
            started.elapsed()
        })
    });
    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let todo = pairs(range::MERGE_FLOOR / 2, iters);
            let started = Instant::now();
            for (a, d) in &todo {
                floor.merge(a, d);
            }
            started.elapsed()
        })
    });
    group.finish();

    // 16 connections at once: 9 in 10 resolves of known callers, 1 in 10 new.
    let mut group = c.benchmark_group(format!("postgres/throughput_16/{n}"));
    group.sample_size(10);
    let created = Arc::new(AtomicU64::new(0));
    group.bench_function("library", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(16);
            let barrier = Arc::new(std::sync::Barrier::new(16));
            let threads: Vec<_> = (0..16u64)
                .map(|t| {
                    let (url, barrier, created) =
                        (url.clone(), Arc::clone(&barrier), Arc::clone(&created));
                    std::thread::spawn(move || {
                        let store = ContactStore::open(&url).unwrap();
                        let org = store.org(ORG).unwrap();
                        barrier.wait();
                        let started = Instant::now();
                        for i in 0..per {
                            let caller = if i % 10 == 9 {
                                range::CREATE_LIBRARY
                                    + 4_000_000
                                    + run * 5_000
                                    + created.fetch_add(1, Ordering::Relaxed)
                            } else {
                                (t * 7919 + i * 104_729) % n
                            };
                            black_box(org.resolve(&ResolveRequest::phone(phone(caller))).unwrap());
                        }
                        started.elapsed()
                    })
                })
                .collect();
            let slowest = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .max()
                .unwrap_or_default();
            // Time per resolve of the whole group: the inverse of the throughput.
            slowest.mul_f64(iters as f64 / (per * 16) as f64)
        })
    });
    group.finish();
    let _ = PERSONA;
    c.final_summary();
}
