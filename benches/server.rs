//! The HTTP shim against its HTTP floor: 16 keep-alive connections, each driven by a
//! client thread of its own, for three calls — resolve of a known caller (nothing to
//! write), find with hydration (identifiers and memories; a third of the fixture's
//! contacts have a memory of 20 messages and 5 entities) and get by id.
//!
//! The floor is the same HTTP stack (hyper's HTTP/1.1 server with the shim's
//! connection settings, axum's router) on a runtime like the shim's, answering each
//! path with a fixed envelope the size of the shim's average answer to it, after
//! reading and parsing the same JSON body — everything but the store. Both are driven
//! by the same raw keep-alive client, in turn, in one run; each call's figures are
//! requests/s, p50 and p99, and the shim's throughput as a ratio to the floor's.
//!
//! `cargo bench --bench server` (size: `CONTACTSTORE_BENCH_CONTACTS`, default 10,000;
//! the fixture is the shared one of `support`).

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use contactstore::server::{self, ApiKey, ServeConfig};
use contactstore::{ContactStore, IdentifierQuery};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use support::{formatted, phone, range, ORG};

const CLIENTS: usize = 16;
const KEY: &str = "bench-key";
/// Distinct contacts the requests cycle through.
const SAMPLE: u64 = 3_000;

/// One keep-alive connection speaking just enough HTTP/1.1: a request with a
/// `content-length`, an answer read to its `content-length`.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends one request; returns the answer's status and body.
    fn send(&mut self, request: &[u8]) -> (u16, &[u8]) {
        self.stream.write_all(request).unwrap();
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let head_end = loop {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).unwrap();
        let status: u16 = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .expect("a content-length");
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        (status, &self.buf[head_end..head_end + length])
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A request's bytes, as a client library would send them.
fn request(method: &str, path: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {KEY}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One call of the bench: its requests (cycled through) and the floor's answer.
struct Call {
    label: &'static str,
    requests: Vec<Vec<u8>>,
}

/// Requests made, their wall time and every latency, across criterion's samples.
#[derive(Default)]
struct Tally {
    requests: u64,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Tally {
    /// Prints the figures; returns requests/s.
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

/// Runs `iters` requests of `call` split over the clients, one thread each; records
/// the wall time and each request's latency.
fn drive(iters: u64, clients: &mut [Client], call: &Call, tally: &Mutex<Tally>) -> Duration {
    let n = clients.len() as u64;
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let threads: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(c, client)| {
                let share = iters / n + u64::from((c as u64) < iters % n);
                scope.spawn(move || {
                    let mut own = Vec::with_capacity(share as usize);
                    for k in 0..share as usize {
                        let r = &call.requests[(c * 7_919 + k * 104_729) % call.requests.len()];
                        let t = Instant::now();
                        let (status, _) = client.send(r);
                        own.push(t.elapsed());
                        assert_eq!(status, 200);
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

/// The floor: the shim's HTTP stack answering fixed envelopes (`answers`: path
/// prefix → body), after parsing each request's JSON body. Runs until the process
/// ends.
fn spawn_floor(answers: Vec<(&'static str, Bytes)>) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let answer = |prefix: &'static str| {
                let body = answers
                    .iter()
                    .find(|(p, _)| *p == prefix)
                    .unwrap()
                    .1
                    .clone();
                move |bytes: Bytes| {
                    let body = body.clone();
                    async move {
                        if !bytes.is_empty() {
                            let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                            std::hint::black_box(parsed);
                        }
                        ([(CONTENT_TYPE, "application/json")], body).into_response()
                    }
                }
            };
            let app = axum::Router::new()
                .route("/v1/contacts/resolve", post(answer("resolve")))
                .route("/v1/contacts/find", post(answer("find")))
                .route("/v1/contacts/{id}", get(answer("get")));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(true);
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let connection =
                    builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// An envelope the size of the shim's average answer to `call` (padded with spaces,
/// which a JSON parser skips).
fn answer_of_average_size(shim: SocketAddr, call: &Call) -> Bytes {
    let mut client = Client::connect(shim);
    let mut total = 0;
    for r in &call.requests {
        let (status, body) = client.send(r);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
        total += body.len();
    }
    let mut body = br#"{"data":null,"errors":[]}"#.to_vec();
    body.resize((total / call.requests.len()).max(body.len()), b' ');
    Bytes::from(body)
}

fn bench(c: &mut Criterion) {
    let n = support::contacts() as u64;
    let fixture = support::fixture(n);
    let path = support::WorkCopy::of(&fixture.path, "server");
    let handle = server::spawn(
        ServeConfig::new(&path.path)
            .listen("127.0.0.1:0".parse().unwrap())
            .api_key(ApiKey::new(KEY, ORG).unwrap())
            .quiet(),
    )
    .unwrap();
    let shim = handle.local_addr();

    let sample: Vec<u64> = (0..SAMPLE.min(n))
        .map(|k| k * (n / SAMPLE.min(n)))
        .collect();
    let ids: Vec<String> = {
        let store = ContactStore::open(&path.path).unwrap();
        let org = store.org(ORG).unwrap();
        sample
            .iter()
            .map(|&i| {
                org.find(&IdentifierQuery::phone(phone(range::FIXTURE + i)))
                    .unwrap()
                    .expect("a fixture contact")
                    .contact
                    .id
            })
            .collect()
    };
    let calls = [
        Call {
            label: "resolve",
            requests: sample
                .iter()
                .map(|&i| {
                    let body = format!(r#"{{"phone_number":"{}"}}"#, formatted(range::FIXTURE + i));
                    request("POST", "/v1/contacts/resolve", &body)
                })
                .collect(),
        },
        Call {
            label: "find",
            requests: sample
                .iter()
                .map(|&i| {
                    let body = format!(r#"{{"phone_number":"{}"}}"#, formatted(range::FIXTURE + i));
                    request("POST", "/v1/contacts/find", &body)
                })
                .collect(),
        },
        Call {
            label: "get",
            requests: ids
                .iter()
                .map(|id| request("GET", &format!("/v1/contacts/{id}"), ""))
                .collect(),
        },
    ];
    // The same reads in-process, one thread: what the store itself costs a call.
    {
        let store = ContactStore::open(&path.path).unwrap();
        let org = store.org(ORG).unwrap();
        let queries: Vec<IdentifierQuery> = sample
            .iter()
            .map(|&i| IdentifierQuery::phone(formatted(range::FIXTURE + i)))
            .collect();
        for round in 0..2 {
            let started = Instant::now();
            for q in &queries {
                std::hint::black_box(org.find(q).unwrap());
            }
            let find = started.elapsed() / queries.len() as u32;
            let started = Instant::now();
            for q in &queries {
                let found = org.find(q).unwrap().unwrap();
                std::hint::black_box(serde_json::to_vec(&found).unwrap());
            }
            let find_json = started.elapsed() / queries.len() as u32;
            let started = Instant::now();
            for id in &ids {
                std::hint::black_box(org.get(id).unwrap());
            }
            let get = started.elapsed() / ids.len() as u32;
            if round == 1 {
                println!("in-process, one thread: find {find:?}, find + JSON {find_json:?}, get {get:?} a call");
            }
        }
        let started = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..CLIENTS {
                let (path, queries) = (&path.path, &queries);
                scope.spawn(move || {
                    let store = ContactStore::open(path).unwrap();
                    let org = store.org(ORG).unwrap();
                    for q in queries.iter().skip(t).step_by(CLIENTS / 4) {
                        let found = org.find(q).unwrap().unwrap();
                        std::hint::black_box(serde_json::to_vec(&found).unwrap());
                    }
                });
            }
        });
        let calls = CLIENTS * queries.len() / (CLIENTS / 4);
        println!(
            "in-process, {CLIENTS} threads: find + JSON {:.0} calls/s",
            calls as f64 / started.elapsed().as_secs_f64()
        );
    }
    let answers = calls
        .iter()
        .map(|call| (call.label, answer_of_average_size(shim, call)))
        .collect();
    let floor = spawn_floor(answers);

    let mut shim_clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(shim)).collect();
    let mut floor_clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(floor)).collect();
    let mut summary = Vec::new();
    for call in &calls {
        let (shim_tally, floor_tally) = (Mutex::default(), Mutex::default());
        let mut group = c.benchmark_group(format!("server/{}/{n}/{CLIENTS}_clients", call.label));
        group.throughput(Throughput::Elements(1));
        group.sample_size(10);
        group.bench_function("floor", |b| {
            b.iter_custom(|iters| drive(iters, &mut floor_clients, call, &floor_tally))
        });
        group.bench_function("shim", |b| {
            b.iter_custom(|iters| drive(iters, &mut shim_clients, call, &shim_tally))
        });
        group.finish();
        let floor_rate = floor_tally
            .into_inner()
            .unwrap()
            .report(&format!("{} floor", call.label));
        let shim_rate = shim_tally
            .into_inner()
            .unwrap()
            .report(&format!("{} shim", call.label));
        summary.push((call.label, shim_rate / floor_rate.max(f64::EPSILON)));
    }
    for (label, ratio) in summary {
        println!("server {label}: shim / floor throughput {ratio:.2} (target >= 0.50)");
    }
    drop(shim_clients);
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
