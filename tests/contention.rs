//! Contention (issue 5, deliverable 1): N = 2, 8 and 16 processes run a mixed
//! workload — resolves of overlapping new and known identifiers, memory writes, calls,
//! merges — against one file.
//!
//! Figures, printed per N: operations done, `SQLITE_BUSY` errors surfaced to callers
//! (must be 0), contacts per distinct identity (must be 1), p50/p99/p99.9 latency. Run
//! `cargo test --release --test contention -- --nocapture` to see them;
//! `CONTACTSTORE_LONG=1` runs ten times the operations, and
//! `CONTACTSTORE_CONTENTION_SECONDS=10` runs each N for that long instead of a fixed
//! count (the figures of BENCHMARKS.md).
//!
//! `CONTACTSTORE_CONTENTION_FLOOR=1` also runs each N with no sharing — every process
//! on a private copy of the same starting file, the same workload — and prints the
//! shared run's percentiles as ratios to that floor's. The floor is what N busy
//! processes cost on this machine's cores without any lock: with more processes than
//! cores, an operation preempted midway waits for the others' time slices, whatever
//! the locking does.

mod common;
mod reliability;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{join_children, spawn_children, tagged, wait_for_start, TempDb};
use contactstore::{
    Channel, ContactStore, Direction, EntityUpdate, ErrorCode, IdentifierQuery, MemoryScope,
    Message, NewCall, Org, ResolveRequest, Role, Timestamp,
};
use reliability::{long_run, ms, percentile, Rng};
use rusqlite::Connection;
use serde_json::json;

/// Distinct identities (people) the processes share; the first half exists before the
/// run starts ("known"), the second half is created during it ("new").
const IDENTITIES: u64 = 64;
/// Operations per N, shared among the processes.
const OPS_PER_RUN: u64 = 4_800;

/// Person `k`'s main identifier. An external id rather than a phone number: the phone
/// metadata takes most of a second to load in a debug build, in each of the 26
/// processes; parsing is not what this test measures.
fn person(k: u64) -> String {
    format!("crm-{k}")
}

fn email(k: u64) -> String {
    format!("person{k}@example.com")
}

fn resolve_request(k: u64, rng: &mut Rng, child: u64) -> ResolveRequest {
    ResolveRequest {
        identifiers: IdentifierQuery {
            external_id: Some(person(k)),
            email: rng.chance(50).then(|| email(k)),
            ..Default::default()
        },
        name: rng.chance(30).then(|| format!("Person {k}")),
        persona_id: rng.chance(30).then(|| format!("persona-{}", k % 4)),
        metadata: rng
            .chance(20)
            .then(|| json!({ format!("seen_by_{child}"): true })),
        ..Default::default()
    }
}

/// What one operation ended as.
enum Outcome {
    Done,
    /// A merge another process made moot (already merged, `Cannot merge a contact
    /// with itself`): an expected answer, not a failure.
    Refused,
}

/// The id of identity `k`'s contact, resolving it if nobody has yet.
fn contact_of(org: &Org<'_>, k: u64) -> contactstore::Result<String> {
    match org.find(&IdentifierQuery::external_id(person(k)))? {
        Some(found) => Ok(found.contact.id),
        None => Ok(org
            .resolve(&ResolveRequest::external_id(person(k)))?
            .contact
            .id),
    }
}

/// Child entry: runs `CHILD_OPS` operations and prints what it did. Run only by the
/// test below, in child processes.
#[test]
#[ignore = "child process entry"]
fn child_mixed_workload() {
    let mut path = std::env::var("CHILD_DB").expect("CHILD_DB");
    let ops: u64 = std::env::var("CHILD_OPS").unwrap().parse().unwrap();
    // A timed run: as many operations as fit, instead of `ops`.
    let seconds: Option<f64> = std::env::var("CHILD_SECONDS")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap());
    let child: u64 = std::env::var("CHILD_INDEX").unwrap().parse().unwrap();
    if std::env::var("CHILD_PRIVATE").as_deref() == Ok("1") {
        path = private_copy(&path, child);
    }
    let seed: u64 = std::env::var("CHILD_SEED").unwrap().parse().unwrap();
    let mut rng = Rng::new(seed ^ (child + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let store = ContactStore::open(&path).expect("open");
    let org = store.org("acme").unwrap();
    // Warm up the statement cache before the clock runs.
    org.find(&IdentifierQuery::external_id(person(0))).unwrap();
    wait_for_start();
    let run_started = Instant::now();
    let (mut busy, mut errors, mut refused) = (0u64, 0u64, 0u64);
    let mut latencies = Vec::with_capacity(ops as usize);
    let mut done = 0u64;
    for n in 0.. {
        let more = match seconds {
            Some(s) => run_started.elapsed().as_secs_f64() < s,
            None => n < ops,
        };
        if !more {
            break;
        }
        done += 1;
        // Every process starts by creating the same new identities, in the same order.
        let k = if n < 8 {
            IDENTITIES / 2 + n
        } else {
            rng.below(IDENTITIES)
        };
        let roll = rng.below(100);
        let started = Instant::now();
        let outcome: contactstore::Result<Outcome> = (|| {
            match roll {
                0..=44 => {
                    let r = org.resolve(&resolve_request(k, &mut rng, child))?;
                    println!("ID {k} {}", r.contact.id);
                }
                45..=59 => {
                    org.find(&IdentifierQuery::external_id(person(k)))?;
                }
                60..=84 => {
                    let id = contact_of(&org, k)?;
                    let scope = MemoryScope::persona(format!("persona-{}", k % 4));
                    match rng.below(3) {
                        0 => org.set_summary(&id, &scope, &format!("Summary by {child}"))?,
                        1 => org.add_messages(
                            &id,
                            &scope,
                            &[Message {
                                role: Role::User,
                                content: format!("message {n} from {child}"),
                                channel: Channel::Voice,
                                timestamp: Timestamp::now(),
                            }],
                        )?,
                        _ => org.upsert_entity(
                            &id,
                            &scope,
                            &EntityUpdate {
                                entity_type: "order".into(),
                                entity_id: format!("order-{}", rng.below(4)),
                                status: Some(format!("status-{child}")),
                                ..Default::default()
                            },
                        )?,
                    };
                }
                85..=94 => {
                    let id = contact_of(&org, k)?;
                    org.record_call(
                        &id,
                        &NewCall {
                            direction: Direction::Inbound,
                            agent_number: None,
                            contact_number: None,
                            started_at: None,
                            duration_seconds: Some(30),
                            status: Some("completed".into()),
                            summary: None,
                            metadata: Default::default(),
                        },
                    )?;
                }
                _ => {
                    // Identities 2j and 2j + 1 are the same person: merge them.
                    let j = k / 2;
                    let primary = contact_of(&org, 2 * j)?;
                    let duplicate = contact_of(&org, 2 * j + 1)?;
                    return match org.merge(&primary, &duplicate) {
                        Ok(_) => Ok(Outcome::Done),
                        Err(e) if e.code() != ErrorCode::InternalError => Ok(Outcome::Refused),
                        Err(e) => Err(e),
                    };
                }
            }
            Ok(Outcome::Done)
        })();
        latencies.push(started.elapsed().as_micros());
        match outcome {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Refused) => refused += 1,
            Err(e) if e.is_busy() => busy += 1,
            Err(e) => {
                errors += 1;
                println!("ERROR {} {e}", e.code());
            }
        }
    }
    let text: Vec<String> = latencies.iter().map(u128::to_string).collect();
    println!("LATENCIES {}", text.join(","));
    println!(
        "COUNTS {done} {busy} {errors} {refused} {}",
        run_started.elapsed().as_micros()
    );
}

/// The figures of one run.
struct Figures {
    processes: usize,
    ops: u64,
    busy: u64,
    errors: u64,
    refused: u64,
    contacts_per_identity: usize,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    /// From the common start to the last process's last operation.
    wall: Duration,
}

/// Child `child`'s own copy of the starting file, in the floor's run.
fn private_copy(path: &str, child: u64) -> String {
    format!("{path}.private-{child}")
}

/// Whether the processes share one file (the test) or each has its own copy (the
/// floor: the same work with nothing to wait for but the CPU).
#[derive(Clone, Copy, PartialEq)]
enum Sharing {
    OneFile,
    PrivateCopies,
}

fn run(
    processes: usize,
    ops_per_run: u64,
    seconds: Option<f64>,
    seed: u64,
    sharing: Sharing,
) -> Figures {
    let db = TempDb::new();
    {
        // The known half of the identities exists before the run.
        let store = ContactStore::open(&db.path).unwrap();
        let org = store.org("acme").unwrap();
        for k in 0..IDENTITIES / 2 {
            org.resolve(&ResolveRequest::external_id(person(k)))
                .unwrap();
        }
    }
    if sharing == Sharing::PrivateCopies {
        // Closing the store checkpointed the WAL into the file: the file is all of it.
        for child in 0..processes as u64 {
            let copy = private_copy(&db.path.display().to_string(), child);
            std::fs::copy(&db.path, copy).unwrap();
        }
    }
    let children = spawn_children(
        "child_mixed_workload",
        processes,
        &[
            ("CHILD_DB", db.path.display().to_string()),
            ("CHILD_OPS", (ops_per_run / processes as u64).to_string()),
            ("CHILD_SEED", seed.to_string()),
            (
                "CHILD_SECONDS",
                seconds.map(|s| s.to_string()).unwrap_or_default(),
            ),
            (
                "CHILD_PRIVATE",
                if sharing == Sharing::PrivateCopies {
                    "1"
                } else {
                    "0"
                }
                .to_owned(),
            ),
        ],
    );
    let outputs = join_children(children);

    let mut figures = Figures {
        processes,
        ops: 0,
        busy: 0,
        errors: 0,
        refused: 0,
        contacts_per_identity: 0,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        p999: Duration::ZERO,
        wall: Duration::ZERO,
    };
    let mut latencies = Vec::new();
    let mut returned: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for out in &outputs {
        let counts = tagged(out, "COUNTS ");
        assert_eq!(counts.len(), 1, "a child did not finish: {out}");
        let c: Vec<u64> = counts[0].split(' ').map(|n| n.parse().unwrap()).collect();
        figures.ops += c[0];
        figures.busy += c[1];
        figures.errors += c[2];
        figures.refused += c[3];
        figures.wall = figures.wall.max(Duration::from_micros(c[4]));
        for line in tagged(out, "ERROR ") {
            eprintln!("unexpected error: {line}");
        }
        for list in tagged(out, "LATENCIES ") {
            latencies.extend(
                list.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|us| Duration::from_micros(us.parse().unwrap())),
            );
        }
        for line in tagged(out, "ID ") {
            let (k, id) = line.split_once(' ').unwrap();
            returned
                .entry(k.parse().unwrap())
                .or_default()
                .insert(id.to_owned());
        }
    }
    latencies.sort();
    figures.p50 = percentile(&latencies, 50.0);
    figures.p99 = percentile(&latencies, 99.0);
    figures.p999 = percentile(&latencies, 99.9);
    if sharing == Sharing::PrivateCopies {
        for child in 0..processes as u64 {
            let copy = private_copy(&db.path.display().to_string(), child);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{copy}{suffix}"));
            }
        }
        return figures;
    }

    // Every id any process was given for an identity reaches the one contact that
    // owns it now (merges only ever join identities 2j and 2j + 1).
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    for (k, ids) in &returned {
        let owner = org
            .find(&IdentifierQuery::external_id(person(*k)))
            .unwrap()
            .expect("a resolved identity is found")
            .contact
            .id;
        let reached: BTreeSet<String> = ids
            .iter()
            .map(|id| org.get(id).unwrap().contact.id)
            .collect();
        assert!(reached.contains(&owner), "identity {k}");
        figures.contacts_per_identity = figures.contacts_per_identity.max(reached.len());
    }
    assert_eq!(reliability::check_problems(&db.path), Vec::<String>::new());
    let owners_per_identifier = common::sql_rows(
        &db.path,
        "SELECT max(n) FROM (SELECT count(DISTINCT contact_id) AS n FROM identifier \
         GROUP BY identifier_type, identifier_value) AS per_identifier",
    );
    assert_eq!(owners_per_identifier[0][0].as_deref(), Some("1"));
    figures
}

#[test]
fn two_eight_and_sixteen_processes_share_one_file_without_busy_errors_or_duplicates() {
    let seed = Rng::seed();
    let ops = if long_run() {
        OPS_PER_RUN * 10
    } else {
        OPS_PER_RUN
    };
    let seconds: Option<f64> = std::env::var("CONTACTSTORE_CONTENTION_SECONDS")
        .ok()
        .map(|s| {
            s.parse()
                .expect("CONTACTSTORE_CONTENTION_SECONDS: a number")
        });
    // Private copies of a file: the floor is SQLite's.
    let floor = std::env::var("CONTACTSTORE_CONTENTION_FLOOR").as_deref() == Ok("1")
        && !common::on_postgres();
    println!("contention: seed {seed} (CONTACTSTORE_SEED replays it)");
    for processes in [2, 8, 16] {
        let f = run(processes, ops, seconds, seed, Sharing::OneFile);
        println!(
            "contention N={:>2}: ops {}, SQLITE_BUSY surfaced {}, other errors {}, \
             merges refused as already done {}, contacts per identity {}, \
             p50 {}, p99 {}, p99.9 {}, wall {:.1} s",
            f.processes,
            f.ops,
            f.busy,
            f.errors,
            f.refused,
            f.contacts_per_identity,
            ms(f.p50),
            ms(f.p99),
            ms(f.p999),
            f.wall.as_secs_f64()
        );
        if seconds.is_none() {
            assert_eq!(f.ops, ops / processes as u64 * processes as u64);
        }
        assert_eq!(f.busy, 0, "SQLITE_BUSY reached a caller with N={processes}");
        assert_eq!(f.errors, 0, "unexpected errors with N={processes}");
        assert_eq!(f.contacts_per_identity, 1, "N={processes}");
        if floor {
            let alone = run(processes, ops, seconds, seed, Sharing::PrivateCopies);
            let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
            println!(
                "contention floor N={:>2} (a private copy each): ops {}, p50 {}, p99 {}, \
                 p99.9 {}; shared / floor: p50 {:.2}x, p99 {:.2}x, p99.9 {:.2}x",
                processes,
                alone.ops,
                ms(alone.p50),
                ms(alone.p99),
                ms(alone.p999),
                ratio(f.p50, alone.p50),
                ratio(f.p99, alone.p99),
                ratio(f.p999, alone.p999),
            );
            assert_eq!(alone.busy + alone.errors, 0, "floor N={processes}");
        }
    }
}

#[test]
fn a_write_waits_for_a_lock_held_less_than_its_busy_timeout() {
    let db = TempDb::sqlite();
    let settings = contactstore::Settings::default().busy_timeout(Duration::from_secs(2));
    let store = ContactStore::open_with(&db.path, settings).unwrap();
    let org = store.org("acme").unwrap();
    let holder = Connection::open(&db.path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        holder.execute_batch("COMMIT").unwrap();
    });
    let started = Instant::now();
    let created = org.resolve(&ResolveRequest::external_id("crm-1")).unwrap();
    assert!(created.created);
    assert!(started.elapsed() >= Duration::from_millis(150));
    release.join().unwrap();
}

#[test]
fn a_write_locked_out_past_its_busy_timeout_fails_as_busy_within_the_deadline() {
    let db = TempDb::sqlite();
    let timeout = Duration::from_millis(300);
    let settings = contactstore::Settings::default().busy_timeout(timeout);
    let store = ContactStore::open_with(&db.path, settings).unwrap();
    let org = store.org("acme").unwrap();
    let before = common::dump(&db.path);
    let holder = Connection::open(&db.path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let err = org
        .resolve(&ResolveRequest::external_id("crm-1"))
        .unwrap_err();
    let waited = started.elapsed();
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(err.is_busy(), "{err:?}");
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert_eq!(
        err.to_string(),
        "storage failure: database is busy (SQLite code 5)"
    );
    assert!(waited >= timeout, "gave up after {waited:?}");
    assert!(waited < timeout * 3, "overran its deadline: {waited:?}");
    assert_eq!(common::dump(&db.path), before);
}
