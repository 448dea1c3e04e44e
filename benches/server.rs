//! The HTTP shim against in-process calls: resolve-hit (a known caller, nothing to
//! write) from 16 concurrent clients, each over its own keep-alive connection, and the
//! same resolves made in-process by 16 threads, each with its own store.
//!
//! `cargo bench --bench server` (set `CONTACTSTORE_BENCH_CONTACTS` for the size,
//! default 10,000; the database is generated once and cached under `target/`). Besides
//! criterion's time per request (its throughput line is requests per second), it
//! prints each mode's requests/s, p50 and p99 latency, and the shim/in-process ratio.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use contactstore::server::{self, ApiKey, ServeConfig};
use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const CLIENTS: usize = 16;
const KEY: &str = "bench-key";

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
    let path = dir.join(format!("server-{n}.db"));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("server-{n}.db.partial"));
    let _ = std::fs::remove_file(&tmp);
    {
        let store = ContactStore::open(&tmp).unwrap();
        let org = store.org("bench").unwrap();
        for i in 0..n {
            org.resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: Some(phone(i)),
                    email: Some(format!("user{i}@example.com")),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap();
        }
    }
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// Requests made, their wall time and every latency, across criterion's samples.
#[derive(Default)]
struct Tally {
    requests: u64,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Tally {
    fn report(&mut self, label: &str) -> f64 {
        self.latencies.sort_unstable();
        let at = |q: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies.get(i).copied().unwrap_or_default()
        };
        let per_second = self.requests as f64 / self.wall.as_secs_f64().max(f64::EPSILON);
        println!(
            "{label}: {per_second:.0} requests/s, p50 {:.3} ms, p99 {:.3} ms ({} requests)",
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            self.requests,
        );
        per_second
    }
}

/// Runs `iters` requests split over one thread per item of `clients`; returns the wall
/// time and records each request's latency.
fn concurrent<C: Send>(
    iters: u64,
    clients: &mut [C],
    tally: &Mutex<Tally>,
    request: impl Fn(&mut C, usize) + Sync,
) -> Duration {
    let n = clients.len() as u64;
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let threads: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(c, client)| {
                let share = iters / n + u64::from((c as u64) < iters % n);
                let request = &request;
                scope.spawn(move || {
                    let mut own = Vec::with_capacity(share as usize);
                    for k in 0..share as usize {
                        let t = Instant::now();
                        request(client, c * 1_000_003 + k * 7919);
                        own.push(t.elapsed());
                    }
                    own
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let wall = started.elapsed();
    let mut tally = tally.lock().unwrap();
    tally.requests += iters;
    tally.wall += wall;
    tally.latencies.extend(latencies.into_iter().flatten());
    wall
}

fn bench(c: &mut Criterion) {
    let n = contacts();
    let path = fixture(n);
    let handle = server::spawn(
        ServeConfig::new(&path)
            .listen("127.0.0.1:0".parse().unwrap())
            .api_key(ApiKey::new(KEY, "bench").unwrap())
            .quiet(),
    )
    .unwrap();
    let url = format!("http://{}/v1/contacts/resolve", handle.local_addr());
    let mut agents: Vec<ureq::Agent> = (0..CLIENTS)
        .map(|_| {
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into()
        })
        .collect();
    let mut stores: Vec<ContactStore> = (0..CLIENTS)
        .map(|_| ContactStore::open(&path).unwrap())
        .collect();

    let http = Mutex::new(Tally::default());
    let local = Mutex::new(Tally::default());
    let mut group = c.benchmark_group(format!("resolve_hit/{n}/{CLIENTS}_clients"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("http_keep_alive", |b| {
        b.iter_custom(|iters| {
            concurrent(iters, &mut agents, &http, |agent, i| {
                let body = format!(r#"{{"phone_number":"{}"}}"#, formatted(i % n));
                let mut response = agent
                    .post(&url)
                    .header("authorization", KEY)
                    .send(body)
                    .unwrap();
                let text = response.body_mut().read_to_string().unwrap();
                assert!(text.contains(r#""created":false"#), "{text}");
            })
        })
    });
    group.bench_function("in_process", |b| {
        b.iter_custom(|iters| {
            concurrent(iters, &mut stores, &local, |store, i| {
                let resolved = store
                    .org("bench")
                    .unwrap()
                    .resolve(&ResolveRequest::phone(formatted(i % n)))
                    .unwrap();
                assert!(!resolved.created);
            })
        })
    });
    group.finish();

    let over_http = http.lock().unwrap().report("shim over HTTP, 16 clients");
    let in_process = local.lock().unwrap().report("in-process, 16 threads");
    println!(
        "shim / in-process throughput: {:.2}",
        over_http / in_process.max(f64::EPSILON)
    );
    handle.shutdown().unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
