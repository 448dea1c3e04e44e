//! Crash safety (issue 5, deliverable 2): a process resolving, writing memory, recording
//! calls, merging, unmerging and erasing is killed with SIGKILL at random moments, again and
//! again, on one file. After every kill the file passes `PRAGMA integrity_check`, the
//! store's invariants hold, and every operation the process acknowledged is there.
//!
//! Figures: kills, integrity failures, invariant violations, lost acknowledged writes.
//! `cargo test --test crash -- --nocapture` prints them; `CONTACTSTORE_LONG=1` kills
//! 1,000 times instead of 100.

mod common;
mod reliability;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{tagged, TempDb};
use contactstore::{
    ContactStore, Direction, EntityUpdate, ErrorCode, IdentifierQuery, MemoryScope, NewCall, Org,
    ResolveRequest,
};
use reliability::{check_problems, long_run, Rng};

/// People the killed processes work on, across all cycles.
const IDENTITIES: u64 = 200;
const PERSONA: &str = "persona-crash";

/// Person `k`'s identifier. External ids, not phone numbers: a process that parses
/// none skips loading the phone metadata, which keeps a debug-build cycle short.
fn person(k: u64) -> String {
    format!("person-{k}")
}

fn contact_of(org: &Org<'_>, k: u64) -> contactstore::Result<String> {
    match org.find(&IdentifierQuery::external_id(person(k)))? {
        Some(found) => Ok(found.contact.id),
        None => Ok(org
            .resolve(&ResolveRequest::external_id(person(k)))?
            .contact
            .id),
    }
}

/// Child entry: works until it is killed, printing `ACK …` after each operation the
/// library acknowledged (stdout is flushed at each line). Run only by the test below.
#[test]
#[ignore = "child process entry"]
fn child_work_until_killed() {
    let path = std::env::var("CHILD_DB").expect("CHILD_DB");
    let cycle: u64 = std::env::var("CHILD_CYCLE").unwrap().parse().unwrap();
    let mut rng = Rng::new(std::env::var("CHILD_SEED").unwrap().parse().unwrap());
    let store = ContactStore::open(&path).expect("open");
    let org = store.org("acme").unwrap();
    org.find(&IdentifierQuery::external_id(person(0))).unwrap();
    println!("READY");
    let started = Instant::now();
    // Bounded, in case the parent is gone: a kill normally ends it long before.
    for n in 0..100_000u64 {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        let k = rng.below(IDENTITIES);
        let result: contactstore::Result<()> = (|| {
            match rng.below(100) {
                0..=34 => {
                    let id = org
                        .resolve(&ResolveRequest {
                            identifiers: IdentifierQuery {
                                external_id: Some(person(k)),
                                ..Default::default()
                            },
                            name: Some(format!("Person {k}")),
                            persona_id: rng.chance(50).then(|| PERSONA.to_owned()),
                            ..Default::default()
                        })?
                        .contact
                        .id;
                    println!("ACK resolve {k} {id}");
                }
                35..=69 => {
                    let id = contact_of(&org, k)?;
                    let entity = format!("e-{cycle}-{n}");
                    org.upsert_entity(
                        &id,
                        &MemoryScope::persona(PERSONA),
                        &EntityUpdate {
                            entity_type: "order".into(),
                            entity_id: entity.clone(),
                            status: Some("open".into()),
                            ..Default::default()
                        },
                    )?;
                    println!("ACK entity {id} {entity}");
                }
                70..=84 => {
                    let id = contact_of(&org, k)?;
                    let call = org.record_call(
                        &id,
                        &NewCall {
                            direction: Direction::Inbound,
                            agent_number: None,
                            contact_number: None,
                            started_at: None,
                            duration_seconds: Some(n as i64),
                            status: None,
                            summary: None,
                            metadata: Default::default(),
                        },
                    )?;
                    println!("ACK call {id} {}", call.id);
                }
                85..=89 => {
                    let j = k / 2;
                    let primary = contact_of(&org, 2 * j)?;
                    let duplicate = contact_of(&org, 2 * j + 1)?;
                    match org.merge(&primary, &duplicate) {
                        Ok(_) => println!("ACK merge {primary} {duplicate}"),
                        Err(e) if e.code() != ErrorCode::InternalError => {} // merged already
                        Err(e) => return Err(e),
                    }
                }
                90..=94 => {
                    // A pair of its own, merged and split again (a kill may land in
                    // either transaction); only the unmerge is acknowledged.
                    let pair = |side: &str| -> contactstore::Result<String> {
                        let external = format!("pair-{cycle}-{n}-{side}");
                        Ok(org
                            .resolve(&ResolveRequest::external_id(external))?
                            .contact
                            .id)
                    };
                    let (primary, duplicate) = (pair("a")?, pair("b")?);
                    org.merge(&primary, &duplicate)?;
                    org.unmerge(&duplicate)?;
                    println!("ACK unmerge {primary} {duplicate}");
                }
                _ => {
                    // A contact of its own, created and erased (erasure checkpoints and
                    // truncates the WAL: a kill may land in the middle of that too).
                    let external = format!("erase-{cycle}-{n}");
                    let id = org
                        .resolve(&ResolveRequest::external_id(&external))?
                        .contact
                        .id;
                    org.erase(&id)?;
                    println!("ACK erase {id} {external}");
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            println!("ERROR {} {e}", e.code());
        }
    }
}

/// An acknowledged operation, as the child reported it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ack {
    Resolve { k: u64, id: String },
    Entity { id: String, entity: String },
    Call { id: String, call: String },
    Merge { primary: String, duplicate: String },
    Unmerge { primary: String, duplicate: String },
    Erase { id: String, external: String },
}

impl Ack {
    fn parse(line: &str) -> Option<Ack> {
        let parts: Vec<&str> = line.split(' ').collect();
        let s = |i: usize| parts[i].to_owned();
        Some(match (parts.first()?, parts.len()) {
            (&"resolve", 3) => Ack::Resolve {
                k: parts[1].parse().ok()?,
                id: s(2),
            },
            (&"entity", 3) => Ack::Entity {
                id: s(1),
                entity: s(2),
            },
            (&"call", 3) => Ack::Call {
                id: s(1),
                call: s(2),
            },
            (&"merge", 3) => Ack::Merge {
                primary: s(1),
                duplicate: s(2),
            },
            (&"unmerge", 3) => Ack::Unmerge {
                primary: s(1),
                duplicate: s(2),
            },
            (&"erase", 3) => Ack::Erase {
                id: s(1),
                external: s(2),
            },
            _ => return None,
        })
    }

    /// Whether the operation's effect is in the store.
    fn is_present(&self, org: &Org<'_>) -> bool {
        let reach = |id: &str| org.get(id).ok();
        match self {
            Ack::Resolve { k, id } => {
                let owner = org
                    .find(&IdentifierQuery::external_id(person(*k)))
                    .ok()
                    .flatten();
                matches!((reach(id), owner), (Some(c), Some(o)) if c.contact.id == o.contact.id)
            }
            Ack::Entity { id, entity } => reach(id).is_some_and(|c| {
                c.memories
                    .iter()
                    .flat_map(|m| &m.entities)
                    .any(|e| &e.entity_id == entity)
            }),
            Ack::Call { id, call } => org
                .calls(id)
                .is_ok_and(|calls| calls.iter().any(|c| &c.id == call)),
            Ack::Merge { primary, duplicate } => {
                matches!((reach(primary), reach(duplicate)), (Some(p), Some(d)) if p.contact.id == d.contact.id)
            }
            Ack::Unmerge { primary, duplicate } => {
                matches!((reach(primary), reach(duplicate)),
                    (Some(p), Some(d)) if p.contact.id == *primary && d.contact.id == *duplicate)
            }
            Ack::Erase { id, external } => {
                org.get(id).is_err_and(|e| e.code() == ErrorCode::NotFound)
                    && org
                        .find(&IdentifierQuery::external_id(external))
                        .is_ok_and(|found| found.is_none())
            }
        }
    }
}

/// Starts the child and kills it after `delay` (from its start, or from `READY` when
/// `after_ready`); returns everything it printed.
fn run_and_kill(
    db: &std::path::Path,
    cycle: u64,
    seed: u64,
    delay: Duration,
    after_ready: bool,
) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_work_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CHILD_DB", db)
        .env("CHILD_CYCLE", cycle.to_string())
        .env("CHILD_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let ready = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let reader = {
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::clone(&lines);
        let ready = Arc::clone(&ready);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.ends_with("READY") {
                    *ready.0.lock().unwrap() = true;
                    ready.1.notify_all();
                }
                lines.lock().unwrap().push(line);
            }
        })
    };
    if after_ready {
        let (flag, signal) = &*ready;
        let guard = flag.lock().unwrap();
        let _ = signal
            .wait_timeout_while(guard, Duration::from_secs(20), |ready| !*ready)
            .unwrap();
    }
    std::thread::sleep(delay);
    // SIGKILL on unix: no destructor, no flush, no checkpoint runs in the child.
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap();
    let lines = lines.lock().unwrap();
    lines.join("\n") + "\n"
}

#[test]
fn a_process_killed_at_random_moments_loses_nothing_it_acknowledged() {
    let kills = if long_run() { 1_000 } else { 100 };
    let seed = Rng::seed();
    println!("crash: seed {seed} (CONTACTSTORE_SEED replays it)");
    let mut rng = Rng::new(seed);
    let db = TempDb::new();
    // A set: the same resolve acknowledged twice is checked once.
    let mut acks = std::collections::BTreeSet::<Ack>::new();
    let mut acknowledged = 0usize;
    // Every ten cycles (every tenth of the run in the long one), all are checked again.
    let full_check_every = (kills / 10).max(10);
    let (mut integrity_failures, mut invariant_failures, mut lost) = (0u64, 0u64, 0u64);
    let mut unexpected_errors = Vec::new();
    let mut in_flight_kills = 0u64;
    let started = Instant::now();
    for cycle in 0..kills {
        // Mostly while it works; sometimes while it is still opening the file.
        let after_ready = !rng.chance(10);
        let delay = Duration::from_millis(rng.below(if after_ready { 60 } else { 150 }));
        let out = run_and_kill(&db.path, cycle, rng.next_u64(), delay, after_ready);
        let new: Vec<Ack> = tagged(&out, "ACK ")
            .into_iter()
            .filter_map(Ack::parse)
            .collect();
        if !new.is_empty() {
            in_flight_kills += 1;
        }
        unexpected_errors.extend(tagged(&out, "ERROR ").into_iter().map(str::to_owned));

        // What a restarted process would find: first the raw file, checked read-only by
        // the library's check (SQLite's checks, then the store's invariants)… unless
        // the very first child died before it created the schema (the next open does).
        let unborn = acks.is_empty()
            && new.is_empty()
            && rusqlite::Connection::open(&db.path)
                .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))
                .is_ok_and(|v| v == 0);
        let problems = if unborn {
            Vec::new()
        } else {
            check_problems(&db.path)
        };
        let sqlite_checks = ["integrity_check", "foreign_key_check", "header"];
        let (integrity, violations): (Vec<&String>, Vec<&String>) = problems
            .iter()
            .partition(|p| sqlite_checks.iter().any(|c| p.starts_with(c)));
        if !integrity.is_empty() {
            integrity_failures += 1;
            eprintln!("cycle {cycle}: integrity: {integrity:?}");
        }
        if !violations.is_empty() {
            invariant_failures += 1;
            eprintln!("cycle {cycle}: invariants: {violations:?}");
        }
        // …then the store: this cycle's acknowledgements, and every tenth cycle all.
        let store = ContactStore::open(&db.path).unwrap();
        let org = store.org("acme").unwrap();
        acknowledged += new.len();
        acks.extend(new.iter().cloned());
        let to_check: Vec<&Ack> =
            if cycle % full_check_every == full_check_every - 1 || cycle + 1 == kills {
                acks.iter().collect()
            } else {
                new.iter().collect()
            };
        for ack in to_check {
            if !ack.is_present(&org) {
                lost += 1;
                eprintln!("cycle {cycle}: lost {ack:?}");
            }
        }
    }
    println!(
        "crash: kills {kills} ({in_flight_kills} after acknowledged writes), acknowledged \
         operations {}, integrity failures {integrity_failures}, invariant violations \
         {invariant_failures}, lost acknowledged writes {lost}, {:.1} s",
        acknowledged,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(unexpected_errors, Vec::<String>::new());
    assert_eq!(integrity_failures, 0);
    assert_eq!(invariant_failures, 0);
    assert_eq!(lost, 0);
    assert!(
        in_flight_kills * 2 > kills,
        "most kills must land while the process works"
    );
}
