//! `contactstore serve` (contract §7): the real server on an ephemeral loopback port,
//! driven by a real HTTP client. Only loopback traffic; every wait is bounded.

mod common;
mod shim;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDb;
use contactstore::Settings;
use serde_json::{json, Value};
use shim::*;

#[test]
fn resolve_creates_once_then_finds_the_same_contact() {
    let shim = Shim::start();
    let (status, first) = shim.resolve(
        ACME,
        json!({
            "phone_number": "(415) 555-0192",
            "name": "Sarah Chen",
            "persona_id": "persona-12345678",
            "metadata": {"source": "inbound_call"},
        }),
    );
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["errors"], Value::Null);
    assert_eq!(first["data"]["created"], true);
    let contact = &first["data"]["contact"];
    assert_eq!(contact["org_id"], "acme");
    assert_eq!(contact["name"], "Sarah Chen");
    assert_eq!(contact["metadata"], json!({"source": "inbound_call"}));

    // Another spelling, the key as a bearer token: the same contact.
    let (status, again) = shim.post(
        "/v1/contacts/resolve",
        Some(&format!("Bearer {ACME}")),
        r#"{"phone_number": "+1 415 555 0192", "email": "Sarah@Example.com"}"#,
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["created"], false);
    assert_eq!(contact_id(&again), contact_id(&first));
}

#[test]
fn find_returns_the_contact_with_identifiers_and_memories_or_null() {
    let shim = Shim::start();
    let (_, created) = shim.resolve(
        ACME,
        json!({"phone_number": "(415) 555-0192", "persona_id": "persona-12345678"}),
    );
    let (status, found) = shim.find(ACME, json!({"phone_number": "415.555.0192"}));
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["errors"], Value::Null);
    let data = &found["data"];
    assert_eq!(data["id"].as_str().unwrap(), contact_id(&created));
    assert_eq!(data["identifiers"][0]["identifier_value"], "+14155550192");
    assert_eq!(data["identifiers"][0]["is_primary"], true);
    assert_eq!(data["memories"][0]["persona_id"], "persona-12345678");
    assert_eq!(data["memories"][0]["entities"], json!([]));

    let (status, none) = shim.find(ACME, json!({"email": "nobody@example.com"}));
    assert_eq!(status, 200);
    assert_eq!(none, json!({"data": null, "errors": null}));
}

#[test]
fn get_returns_the_contact_and_404_for_an_unknown_id() {
    let shim = Shim::start();
    let (_, created) = shim.resolve(ACME, json!({"external_id": "crm-8812"}));
    let id = contact_id(&created);

    let (status, got) = shim.get(&format!("/v1/contacts/{id}"), Some(ACME));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["data"]["id"].as_str().unwrap(), id);
    assert_eq!(
        got["data"]["identifiers"][0]["identifier_type"],
        "external_id"
    );
    assert_eq!(got["data"]["memories"], json!([]));

    for unknown in [
        "01a2cafe-0000-7000-8000-000000000000",
        "not-a-uuid",
        "%FF%FE",
    ] {
        let (status, v) = shim.get(&format!("/v1/contacts/{unknown}"), Some(ACME));
        assert_eq!(status, 404, "{unknown}: {v}");
        assert_eq!(failure(&v), ("NOT_FOUND", "Contact not found"));
    }
}

#[test]
fn bad_identifiers_are_400_without_echoing_them() {
    let shim = Shim::start();
    let cases = [
        (
            json!({"phone_number": "anonymous"}),
            "Invalid phone_number: is not a phone number",
        ),
        (
            json!({"phone_number": "+266696687"}),
            "Invalid phone_number",
        ),
        (json!({"email": "sarah.example.com"}), "Invalid email"),
        (json!({"external_id": "   "}), "Invalid external_id"),
    ];
    for (body, expected) in cases {
        for path in ["/v1/contacts/resolve", "/v1/contacts/find"] {
            let (status, v) = shim.post(path, Some(ACME), &body.to_string());
            assert_eq!(status, 400, "{path} {body}: {v}");
            let (code, message) = failure(&v);
            assert_eq!(code, "BAD_REQUEST");
            assert!(message.starts_with(expected), "{message}");
            assert!(!message.contains("266696687") && !message.contains("sarah"));
        }
    }
    // Nothing was written by the refused resolves.
    let (_, none) = shim.find(ACME, json!({"email": "sarah@example.com"}));
    assert_eq!(none["data"], Value::Null);
}

#[test]
fn a_request_without_identifier_is_400_with_the_api_message() {
    let shim = Shim::start();
    for path in ["/v1/contacts/resolve", "/v1/contacts/find"] {
        for body in ["{}", r#"{"name": "Sarah Chen"}"#, ""] {
            if path.ends_with("find") && body.contains("name") {
                continue; // find takes identifiers only
            }
            let (status, v) = shim.post(path, Some(ACME), body);
            assert_eq!(status, 400, "{path} {body:?}: {v}");
            assert_eq!(failure(&v), ("BAD_REQUEST", MISSING_IDENTIFIER));
        }
    }
}

#[test]
fn malformed_bodies_are_400_with_generic_messages() {
    let shim = Shim::start();
    let bodies = [
        r#"{"phone_number": "(415) 555-0192""#, // truncated
        "phone_number=4155550192",              // a form, not JSON
        r#"{"phone_number": 4155550192}"#,      // wrong type
        r#"{"phone_number": ["4155550192"]}"#,  // wrong type
        r#"["4155550192"]"#,                    // not an object
        r#""4155550192""#,                      // not an object
    ];
    // Metadata that is not an object: a field of resolve only (find ignores it).
    let resolve_only = r#"{"email": "s@example.com", "metadata": "x4155550192"}"#;
    let cases = ["/v1/contacts/resolve", "/v1/contacts/find"]
        .into_iter()
        .flat_map(|path| bodies.iter().map(move |body| (path, *body)))
        .chain([("/v1/contacts/resolve", resolve_only)]);
    for (path, body) in cases {
        let (status, v) = shim.post(path, Some(ACME), body);
        assert_eq!(status, 400, "{path} {body}: {v}");
        let (code, message) = failure(&v);
        assert_eq!(code, "BAD_REQUEST");
        assert!(
            message.starts_with("Invalid request body") || message.starts_with("Invalid "),
            "{message}"
        );
        assert!(!message.contains("4155550192"), "echoed: {message}");
    }
    // Unknown fields are ignored, like the hosted API: alone they leave no identifier,
    // beside a valid one they change nothing.
    let (status, v) = shim.post(
        "/v1/contacts/find",
        Some(ACME),
        r#"{"phone": "4155550192"}"#,
    );
    assert_eq!(
        (status, failure(&v)),
        (400, ("BAD_REQUEST", MISSING_IDENTIFIER))
    );
    let (status, _) = shim.post(
        "/v1/contacts/resolve",
        Some(ACME),
        r#"{"email": "s@example.com", "request_id": "r-1"}"#,
    );
    assert_eq!(status, 200);
    let (_, v) = shim.post("/v1/contacts/resolve", Some(ACME), "{nope");
    assert_eq!(
        failure(&v),
        ("BAD_REQUEST", "Invalid request body: not valid JSON")
    );
    // JSON whitespace alone is an empty object; a form feed is not JSON whitespace
    // (schemathesis found a PATCH of "\x0c" answered 200).
    let (_, v) = shim.post("/v1/contacts/resolve", Some(ACME), " \r\n\t");
    assert_eq!(failure(&v), ("BAD_REQUEST", MISSING_IDENTIFIER));
    let (status, v) = shim.post("/v1/contacts/resolve", Some(ACME), "\x0c");
    assert_eq!(
        (status, failure(&v)),
        (400, ("BAD_REQUEST", "Invalid request body: not valid JSON"))
    );
}

#[test]
fn an_oversized_body_is_400() {
    let shim = Shim::start();
    // Valid JSON, over the 1 MiB limit.
    let body = format!(
        r#"{{"phone_number": "(415) 555-0192", "name": "{}"}}"#,
        "x".repeat(contactstore::limits::MAX_BODY_BYTES)
    );
    let request = format!(
        "POST /v1/contacts/resolve HTTP/1.1\r\nHost: localhost\r\nauthorization: {ACME}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = raw_exchange(shim.addr(), request.as_bytes());
    assert_eq!(status, 400, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        failure(&v),
        ("BAD_REQUEST", "Invalid request body: larger than 1 MiB")
    );
    // A body within the limit with the largest metadata the library takes is fine.
    let big = "y".repeat(contactstore::limits::MAX_METADATA_BYTES - 100);
    let (status, v) = shim.resolve(
        ACME,
        json!({"phone_number": "(415) 555-0192", "metadata": {"notes": big}}),
    );
    assert_eq!(status, 200, "{v}");
}

#[test]
fn a_missing_or_unknown_key_is_401() {
    let shim = Shim::start();
    let body = r#"{"phone_number": "(415) 555-0192"}"#;
    let (status, v) = shim.post("/v1/contacts/resolve", None, body);
    assert_eq!(status, 401, "{v}");
    assert_eq!(
        failure(&v),
        ("UNAUTHORIZED", "Missing authorization header")
    );
    for key in [
        "key-unknown",
        "Bearer key-unknown",
        "Basic key-acme",
        "",
        "key-acme2",
    ] {
        let (status, v) = shim.post("/v1/contacts/find", Some(key), body);
        assert_eq!(status, 401, "{key:?}: {v}");
        assert_eq!(failure(&v), ("UNAUTHORIZED", "Invalid API key"));
    }
    let (status, v) = shim.get("/v1/contacts/01a2cafe-0000-7000-8000-000000000000", None);
    assert_eq!(status, 401, "{v}");
    assert_eq!(failure(&v).0, "UNAUTHORIZED");
    // The refused resolve wrote nothing.
    let (_, none) = shim.find(ACME, json!({"phone_number": "(415) 555-0192"}));
    assert_eq!(none["data"], Value::Null);
}

/// The `connection` header of the answer to a POST of `body` to `path` with `key`.
fn connection_header(shim: &Shim, path: &str, key: Option<&str>, body: &str) -> Option<String> {
    let mut request = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}{path}", shim.base))
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", key);
    }
    let response = shim
        .agent
        .run(request.body(body.to_owned()).unwrap())
        .expect("HTTP exchange");
    response
        .headers()
        .get("connection")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn an_answer_sent_before_the_body_was_read_closes_the_connection() {
    let shim = Shim::start();
    let body = r#"{"phone_number": "(415) 555-0192"}"#;
    // Refused before the body is read: the client is told not to reuse the connection.
    for (path, key) in [
        ("/v1/contacts/resolve", None),
        ("/v1/contacts/resolve", Some("key-unknown")),
        ("/v1/nowhere", Some(ACME)),
    ] {
        assert_eq!(
            connection_header(&shim, path, key, body).as_deref(),
            Some("close"),
            "{path} {key:?}"
        );
    }
    // Read and answered: the connection stays open, and keeps serving.
    for _ in 0..3 {
        assert_eq!(
            connection_header(&shim, "/v1/contacts/resolve", Some(ACME), body),
            None
        );
    }
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_with_envelopes() {
    let shim = Shim::start();
    for path in [
        "/",
        "/v1/contacts/",
        "/v2/contacts/find",
        "/v1/contacts/x/y",
        "/v1/memory",
        "/v1/memory/contact/m/x",
        "/x/v1/contacts",
    ] {
        let (status, v) = shim.get(path, Some(ACME));
        assert_eq!(status, 404, "{path}: {v}");
        assert_eq!(failure(&v), ("NOT_FOUND", "Unknown path"));
    }
    let (status, v) = shim.post("/v1/contact/resolve", Some(ACME), "{}");
    assert_eq!(status, 404, "{v}");

    let (status, v) = read(
        shim.agent
            .put(format!("{}/v1/contacts/find", shim.base))
            .header("authorization", ACME)
            .send("{}"),
    );
    assert_eq!(status, 405, "{v}");
    assert_eq!(failure(&v).0, "METHOD_NOT_ALLOWED");

    // The methods a path takes are in the Allow header.
    let response = shim
        .agent
        .delete(format!("{}/v1/contacts/some-id", shim.base))
        .header("authorization", ACME)
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let allow = response.headers().get("allow").unwrap().to_str().unwrap();
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "HEAD", "PATCH"]);
}

#[test]
fn each_key_sees_only_its_own_org() {
    let shim = Shim::start();
    let (_, a) = shim.resolve(
        ACME,
        json!({"phone_number": "(415) 555-0192", "name": "Sarah at Acme"}),
    );
    let (_, b) = shim.resolve(
        GLOBEX,
        json!({"phone_number": "(415) 555-0192", "name": "Sarah at Globex"}),
    );
    assert_eq!(a["data"]["created"], true);
    assert_eq!(
        b["data"]["created"], true,
        "same number, other org: a new contact"
    );
    let (id_a, id_b) = (contact_id(&a), contact_id(&b));
    assert_ne!(id_a, id_b);
    assert_eq!(b["data"]["contact"]["org_id"], "globex");

    let (_, found) = shim.find(GLOBEX, json!({"phone_number": "+14155550192"}));
    assert_eq!(found["data"]["id"].as_str().unwrap(), id_b);
    assert_eq!(found["data"]["name"], "Sarah at Globex");

    let (status, v) = shim.get(&format!("/v1/contacts/{id_a}"), Some(GLOBEX));
    assert_eq!(status, 404, "another org's contact is not found: {v}");
    let (status, _) = shim.get(&format!("/v1/contacts/{id_b}"), Some(ACME));
    assert_eq!(status, 404);

    // An email only Acme knows stays invisible to Globex.
    shim.resolve(
        ACME,
        json!({"phone_number": "(415) 555-0192", "email": "sarah@acme.example"}),
    );
    let (_, none) = shim.find(GLOBEX, json!({"email": "sarah@acme.example"}));
    assert_eq!(none["data"], Value::Null);
}

#[test]
fn bodies_are_the_envelopes_the_command_line_prints() {
    let shim = Shim::start();
    let (_, created) = shim.resolve(
        ACME,
        json!({"phone_number": "(415) 555-0192", "persona_id": "persona-1"}),
    );
    let id = contact_id(&created);
    let http_text = |path: &str, body: Option<&str>| -> String {
        let request = match body {
            Some(body) => shim
                .agent
                .post(format!("{}{path}", shim.base))
                .header("authorization", ACME)
                .send(body),
            None => shim
                .agent
                .get(format!("{}{path}", shim.base))
                .header("authorization", ACME)
                .call(),
        };
        request.unwrap().body_mut().read_to_string().unwrap()
    };
    let cli = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
            .arg("--db")
            .arg(&shim.db.path)
            .args(["--org", "acme"])
            .args(args)
            .env_remove("CONTACTSTORE_REGION")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    };
    assert_eq!(
        http_text(
            "/v1/contacts/find",
            Some(r#"{"phone_number":"+14155550192"}"#)
        ),
        cli(&["find", "--phone", "+14155550192"])
    );
    assert_eq!(
        http_text(&format!("/v1/contacts/{id}"), None),
        cli(&["get", &id])
    );
    assert_eq!(
        http_text(
            "/v1/contacts/resolve",
            Some(r#"{"phone_number":"anonymous"}"#)
        ),
        cli(&["resolve", "--phone", "anonymous"])
    );
}

#[test]
fn the_log_has_one_line_per_request_with_route_templates_only() {
    let shim = Shim::start();
    let (_, created) = shim.resolve(ACME, json!({"phone_number": "(415) 555-0192"}));
    let id = contact_id(&created);
    shim.get(&format!("/v1/contacts/{id}"), Some(ACME));
    shim.find(ACME, json!({"email": "sarah@example.com"}));
    shim.get("/v1/contacts/+14155550192/history", Some(ACME));
    shim.post("/v1/contacts/find", None, "{}");

    let lines = shim.log_lines();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let expected = [
        ("POST /v1/contacts/resolve 200", 0),
        ("GET /v1/contacts/{contact_id} 200", 1),
        ("POST /v1/contacts/find 200", 2),
        ("GET (unknown path) 404", 3),
        ("POST /v1/contacts/find 401", 4),
    ];
    for (text, i) in expected {
        assert!(lines[i].contains(text), "line {i}: {}", lines[i]);
        assert!(lines[i].ends_with("ms"), "{}", lines[i]);
    }
    for line in &lines {
        assert!(!line.contains(&id), "contact id logged: {line}");
        // The time and the duration may hold any digits (a millisecond of .555 did):
        // what the request sent can only be in between.
        let words: Vec<&str> = line.split_whitespace().collect();
        let between = words[1..words.len() - 1].join(" ");
        assert!(
            !between.contains("555") && !line.contains("example.com"),
            "{line}"
        );
        assert!(!line.contains(ACME), "key logged: {line}");
    }
}

#[test]
fn a_storage_failure_is_500_without_details() {
    // Another process holds the write lock longer than the server waits for it.
    let shim = Shim::start_with(Settings::default().busy_timeout(Duration::from_millis(200)));
    let (status, _) = shim.resolve(ACME, json!({"phone_number": "(415) 555-0192"}));
    assert_eq!(status, 200);
    let mut locker = common::WriteLock::take(&shim.db.path);

    let (status, v) = shim.resolve(ACME, json!({"phone_number": "(415) 555-0193"}));
    assert_eq!(status, 500, "{v}");
    let (code, message) = failure(&v);
    assert_eq!(code, "INTERNAL_ERROR");
    assert!(message.starts_with("storage failure"), "{message}");
    assert!(!message.contains("0193") && !message.contains("contacts.db"));

    // Reads go on meanwhile (WAL), and writes once the lock is gone.
    let (status, _) = shim.find(ACME, json!({"phone_number": "(415) 555-0192"}));
    assert_eq!(status, 200);
    locker.release("ROLLBACK");
    let (status, v) = shim.resolve(ACME, json!({"phone_number": "(415) 555-0193"}));
    assert_eq!(status, 200, "{v}");
}

#[test]
fn sixteen_clients_of_two_hundred_requests_see_no_error() {
    const CLIENTS: usize = 16;
    const REQUESTS: usize = 200;
    const CALLERS: usize = 40;
    let shim = Shim::start();
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let shim = &shim;
                scope.spawn(move || {
                    let agent = agent(); // one keep-alive connection per client
                    let mut failures = Vec::new();
                    let mut seen: Vec<String> = Vec::new();
                    for i in 0..REQUESTS {
                        // Every client resolves the same callers, in its own order.
                        let caller = (client * 7 + i * 13) % CALLERS;
                        let phone = format!("(415) 555-{:04}", 100 + caller);
                        let (path, body) = match i % 4 {
                            0 | 1 => ("/v1/contacts/resolve", json!({"phone_number": phone})),
                            2 => ("/v1/contacts/find", json!({"phone_number": phone})),
                            _ => match seen.last() {
                                Some(id) => (id.as_str(), Value::Null),
                                None => ("/v1/contacts/find", json!({"phone_number": phone})),
                            },
                        };
                        let url = format!("{}{}", shim.base, path);
                        let response = if body.is_null() {
                            agent.get(&url).header("authorization", ACME).call()
                        } else {
                            agent
                                .post(&url)
                                .header("authorization", ACME)
                                .send(body.to_string())
                        };
                        match response.map(|r| r.status().as_u16()) {
                            Ok(200) => {}
                            other => failures.push(format!("{path}: {other:?}")),
                        }
                        if i == 0 {
                            let (_, found) = shim.find(ACME, json!({"phone_number": phone}));
                            let id = found["data"]["id"].as_str().unwrap();
                            seen.push(format!("/v1/contacts/{id}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failures: {failures:?}",
        failures.len()
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    // Concurrent resolves of the same callers made exactly one contact each.
    let contacts = common::sql_rows(&shim.db.path, "SELECT count(*) FROM contact");
    assert_eq!(
        contacts[0][0].as_deref(),
        Some(CALLERS.to_string().as_str())
    );
    assert!(shim.log_lines().len() >= CLIENTS * REQUESTS);
}

#[test]
fn shutdown_waits_for_requests_in_flight() {
    let mut shim = Shim::start();
    // Warm up (the first phone number parse loads metadata).
    assert_eq!(
        shim.resolve(ACME, json!({"phone_number": "(415) 555-0100"}))
            .0,
        200
    );

    // Hold the write lock so that new resolves wait inside the store.
    let mut locker = common::WriteLock::take(&shim.db.path);
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let url = format!("{}/v1/contacts/resolve", shim.base);
            std::thread::spawn(move || {
                read(
                    agent()
                        .post(&url)
                        .header("authorization", ACME)
                        .send(json!({"phone_number": format!("(415) 555-02{i:02}")}).to_string()),
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800)); // the requests reach the store

    let handle = shim.handle.as_mut().unwrap();
    handle.begin_shutdown();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!handle.is_finished(), "stopped with requests in flight");
    // New connections are refused once shutdown has begun.
    assert!(
        TcpStream::connect_timeout(&shim.addr(), Duration::from_secs(2)).is_err(),
        "a new connection was accepted during shutdown"
    );

    locker.release("COMMIT");
    for client in clients {
        let (status, v) = client.join().unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["created"], true);
    }
    let started = Instant::now();
    shim.handle.take().unwrap().shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let contacts = common::sql_rows(&shim.db.path, "SELECT count(*) FROM contact");
    assert_eq!(contacts[0][0].as_deref(), Some("5"));
}

// ---- the `contactstore serve` command --------------------------------------------------

/// `contactstore serve` as a process, with the base URL from its ready envelope.
struct Process {
    child: Child,
    addr: SocketAddr,
    stderr: std::process::ChildStderr,
}

fn serve_process(db: &Path, extra: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .arg("--db")
        .arg(db)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "test-key=acme",
        ])
        .args(extra)
        .env_remove("CONTACTSTORE_REGION")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = ready_envelope(&mut child);
    assert_eq!(ready["errors"], Value::Null);
    let addr: SocketAddr = ready["data"]["listen"].as_str().unwrap().parse().unwrap();
    assert_eq!(ready["data"]["base_url"], format!("http://{addr}"));
    assert_eq!(ready["data"]["orgs"], json!(["acme"]));
    let stderr = child.stderr.take().unwrap();
    Process {
        child,
        addr,
        stderr,
    }
}

/// The envelope a starting `serve` prints on stdout once it listens.
fn ready_envelope(child: &mut Child) -> Value {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    serde_json::from_str(&line).expect("ready envelope")
}

/// Sends SIGTERM and waits (bounded) for the exit.
fn terminate(child: &mut Child) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    wait_with_timeout(child, Duration::from_secs(20))
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn the_command_serves_until_sigterm_and_finishes_the_request_in_flight() {
    let db = TempDb::new();
    let mut process = serve_process(&db.path, &[]);
    assert!(process.addr.ip().is_loopback());

    // A request whose body is still arriving when SIGTERM comes.
    let mut stream = TcpStream::connect(process.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let body = r#"{"phone_number": "(415) 555-0192", "name": "Sarah Chen"}"#;
    let head = format!(
        "POST /v1/contacts/resolve HTTP/1.1\r\nHost: localhost\r\nauthorization: test-key\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let term = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        process.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );

    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response); // the server closes after answering
    let (status, text) = parse_response(&response);
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["created"], true);
    assert_eq!(v["data"]["contact"]["org_id"], "acme");

    let status = wait_with_timeout(&mut process.child, Duration::from_secs(20))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    process.stderr.read_to_string(&mut log).unwrap();
    assert!(log.contains("POST /v1/contacts/resolve 200"), "{log}");
    assert!(!log.contains("555") && !log.contains("test-key"), "{log}");
}

#[test]
fn the_command_refuses_to_start_without_a_valid_key() {
    let db = TempDb::new();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
            .arg("--db")
            .arg(&db.path)
            .arg("serve")
            .args(args)
            .env_remove("CONTACTSTORE_API_KEYS")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let v: Value = serde_json::from_str(stdout.trim()).expect("one envelope");
        (out.status.code(), v)
    };
    let (code, v) = run(&["--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2));
    assert_eq!(failure(&v).0, "BAD_REQUEST");

    let (code, v) = run(&["--listen", "127.0.0.1:0", "--api-key", "secret-without-org"]);
    assert_eq!(code, Some(2));
    let (_, message) = failure(&v);
    assert_eq!(message, "Invalid api_key: must be KEY=ORG");
    assert!(!message.contains("secret"));

    let (code, v) = run(&[
        "--listen",
        "127.0.0.1:0",
        "--api-key",
        "k=acme",
        "--api-key",
        "k=globex",
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(failure(&v).1, "Invalid api_key: is given for two orgs");

    let (code, v) = run(&["--api-key", "k=acme", "--listen", "nowhere"]);
    assert_eq!(code, Some(2));
    assert!(failure(&v).1.starts_with("Invalid listen"));

    // A keys file others may read is refused, whatever it holds; so is a bad line.
    let keys = db.dir.path().join("keys");
    std::fs::write(&keys, "# test keys\nsecret-key=acme\n").unwrap();
    let file = keys.to_str().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        set_mode(&keys, mode);
        let (code, v) = run(&["--listen", "127.0.0.1:0", "--api-keys-file", file]);
        assert_eq!(code, Some(2), "mode {mode:o}");
        let (_, message) = failure(&v);
        assert_eq!(
            message,
            "Invalid api_keys_file: must be readable by its owner only (chmod 600)"
        );
        assert!(!message.contains("secret") && !message.contains(file));
    }
    set_mode(&keys, 0o600);
    std::fs::write(&keys, "secret-key-without-org\n").unwrap();
    let (code, v) = run(&["--listen", "127.0.0.1:0", "--api-keys-file", file]);
    assert_eq!(code, Some(2));
    assert_eq!(failure(&v).1, "Invalid api_key: must be KEY=ORG");
    let missing = db.dir.path().join("no-such-file");
    let (code, v) = run(&["--api-keys-file", missing.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{v}");
    assert!(!failure(&v).1.contains("no-such-file"));
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Keys from a 0600 file and from `CONTACTSTORE_API_KEYS` each open their org; none is
/// in the process's arguments.
#[test]
fn keys_come_from_a_private_file_and_the_environment() {
    let db = TempDb::new();
    let keys = db.dir.path().join("keys");
    std::fs::write(
        &keys,
        "# one key a line\n\nfile-key=acme\n  spaced-key=acme  \n",
    )
    .unwrap();
    set_mode(&keys, 0o600);
    let mut child = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .arg("--db")
        .arg(&db.path)
        .args(["serve", "--listen", "127.0.0.1:0", "--api-keys-file"])
        .arg(&keys)
        .env(
            "CONTACTSTORE_API_KEYS",
            "env-key=globex, other-env-key=globex",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = ready_envelope(&mut child);
    assert_eq!(ready["data"]["orgs"], json!(["acme", "globex"]));
    let base = ready["data"]["base_url"].as_str().unwrap().to_owned();
    let agent = agent();
    let org_of = |key: &str| {
        let (status, v) = read(
            agent
                .post(format!("{base}/v1/contacts/resolve"))
                .header("authorization", key)
                .send(r#"{"external_id": "crm-1"}"#),
        );
        (status, v["data"]["contact"]["org_id"].clone())
    };
    assert_eq!(org_of("file-key"), (200, json!("acme")));
    assert_eq!(org_of("spaced-key"), (200, json!("acme")));
    assert_eq!(org_of("Bearer env-key"), (200, json!("globex")));
    assert_eq!(org_of("other-env-key"), (200, json!("globex")));
    assert_eq!(org_of("file-key-not").0, 401);
    assert_eq!(org_of("# one key a line").0, 401);
    assert!(terminate(&mut child).is_some());
}

#[test]
fn merge_endpoint_merges_and_refuses_like_the_hosted_api() {
    let shim = Shim::start();
    let (_, a) = shim.resolve(
        ACME,
        serde_json::json!({"phone_number": "+14155550192", "name": "Sarah"}),
    );
    let (_, b) = shim.resolve(ACME, serde_json::json!({"email": "sarah@example.com"}));
    let (_, other) = shim.resolve(GLOBEX, serde_json::json!({"email": "x@example.com"}));
    let a = a["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let b = b["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let other = other["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let merge = |p: &str, d: &str| {
        shim.post(
            "/v1/contacts/merge",
            Some(ACME),
            &serde_json::json!({"primary_contact_id": p, "duplicate_contact_id": d}).to_string(),
        )
    };

    let (status, v) = merge(&a, &a);
    assert_eq!(status, 400);
    assert_eq!(
        v["errors"][0]["message"],
        "Cannot merge a contact with itself"
    );
    let (status, v) = merge(&a, &other);
    assert_eq!(status, 404, "another org's contact is not found");
    assert_eq!(v["errors"][0]["message"], "Contact not found");
    let (status, _) = shim.post(
        "/v1/contacts/merge",
        Some(ACME),
        r#"{"primary_contact_id": 1}"#,
    );
    assert_eq!(status, 400);

    let (status, v) = merge(&a, &b);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["id"], a.as_str());
    assert_eq!(v["data"]["name"], "Sarah");
    assert_eq!(v["errors"], Value::Null);
    let (status, got) = shim.get(&format!("/v1/contacts/{b}"), Some(ACME));
    assert_eq!(status, 200);
    assert_eq!(
        got["data"]["id"],
        a.as_str(),
        "the merged-away id redirects"
    );
    assert_eq!(got["data"]["identifiers"].as_array().unwrap().len(), 2);
}

// ---- clients the shim does not control ------------------------------------------------

/// This process's soft limit on open files (Linux), to size a flood within it: the
/// server process inherits the same limit.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}

/// Reads until the server closes the connection; how long that took, or `None` if it
/// was still open after `limit`.
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue, // an answer (such as 408) before the close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(started.elapsed())
            }
            Err(_) => return None,
        }
    }
}

fn resolve_over(agent: &ureq::Agent, addr: SocketAddr, external_id: &str) -> (u16, Value) {
    read(
        agent
            .post(format!("http://{addr}/v1/contacts/resolve"))
            .header("authorization", "test-key")
            .send(json!({ "external_id": external_id }).to_string()),
    )
}

/// Up to 3,000 clients that never finish their headers (or never send a byte), and one
/// that stays idle after a request, are all closed once the header timeout passes; a
/// normal client is served the whole time.
#[test]
fn stuck_connections_are_closed_after_the_header_timeout_while_others_are_served() {
    const HEADER_TIMEOUT: Duration = Duration::from_secs(3);
    // Opening stops after this long, so that every stuck connection is open at once for
    // at least two thirds of the timeout: a kernel whose listen backlog is small (an older
    // net.core.somaxconn) drops SYNs during the flood and makes each connect wait a second.
    const OPENING_AT_MOST: Duration = Duration::from_secs(1);
    let db = TempDb::new();
    let mut process = serve_process(
        &db.path,
        &[
            "--header-timeout",
            &HEADER_TIMEOUT.as_secs().to_string(),
            "--max-connections",
            "4000",
        ],
    );
    let flood_target = 3_000.min(open_file_limit() / 2 - 100);
    let partial: [&[u8]; 3] = [
        b"",
        b"GET /v1/contacts HTTP/1.1\r\n",
        b"POST /v1/contacts/resolve HTTP/1.1\r\nHost: localhost\r\nauthorization: test-",
    ];
    // A normal client, served the whole time: before, during and after the flood. Its
    // keep-alive connection is open before the flood, so it never waits for a backlog slot.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (first_answer, first_answered) = std::sync::mpsc::channel();
    let normal = {
        let (stop, addr) = (std::sync::Arc::clone(&stop), process.addr);
        std::thread::spawn(move || {
            let agent = agent();
            // Each request's latency and the instant it was answered.
            let mut served = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let (status, v) = resolve_over(&agent, addr, &format!("crm-{}", served.len()));
                assert_eq!(status, 200, "{v}");
                served.push((started.elapsed(), Instant::now()));
                if served.len() == 1 {
                    first_answer.send(()).unwrap();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            served
        })
    };
    first_answered
        .recv_timeout(Duration::from_secs(10))
        .expect("the normal client's first request is answered");
    let mut idle = TcpStream::connect(process.addr).unwrap();
    idle.write_all(
        b"GET /v1/contacts HTTP/1.1\r\nHost: localhost\r\nauthorization: test-key\r\n\r\n",
    )
    .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    let opened = Instant::now();
    let mut stuck: Vec<TcpStream> = Vec::with_capacity(flood_target);
    while stuck.len() < flood_target && opened.elapsed() < OPENING_AT_MOST {
        let mut stream = TcpStream::connect(process.addr).unwrap();
        stream
            .write_all(partial[stuck.len() % partial.len()])
            .unwrap();
        stuck.push(stream);
    }
    let flood = stuck.len();
    let flood_open = Instant::now();
    assert!(
        flood >= 50,
        "only {flood} connections opened in {OPENING_AT_MOST:?}"
    );
    let mut first_closed = None;
    for (i, stream) in stuck.iter_mut().enumerate() {
        let closed = time_to_close(stream, Duration::from_secs(10));
        assert!(
            closed.is_some(),
            "stuck connection {i} of {flood} is still open"
        );
        first_closed.get_or_insert_with(Instant::now);
    }
    // The first stuck connection was closed no later than when it was seen closed, nor
    // (by the server's timer) much later than one timeout after it was opened.
    let first_closed = first_closed
        .unwrap_or_else(Instant::now)
        .min(opened + HEADER_TIMEOUT);
    let idle_closed = time_to_close(&mut idle, Duration::from_secs(10));
    assert!(
        idle_closed.is_some(),
        "the idle keep-alive connection is still open"
    );
    let all_closed = opened.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = normal
        .join()
        .expect("the normal client was served throughout");
    // Served while every stuck connection was open (after the last was opened, before
    // the first was closed), with no pause of a second: how many requests fit in the
    // window depends on the machine's disk, not on serve.
    let during_flood = served
        .iter()
        .filter(|(_, answered)| *answered > flood_open && *answered < first_closed)
        .count();
    let mut latencies: Vec<Duration> = served.iter().map(|(latency, _)| *latency).collect();
    assert!(
        during_flood >= 3,
        "{during_flood} of {} requests answered while all {flood} stuck connections were \
         open ({:?}); latencies in order: {latencies:?}",
        served.len(),
        first_closed.saturating_duration_since(flood_open)
    );
    let longest_pause = served
        .windows(2)
        .map(|pair| pair[1].1.duration_since(pair[0].1))
        .max()
        .unwrap_or_default();
    assert!(
        longest_pause < Duration::from_secs(1),
        "no answer for {longest_pause:?}; latencies in order: {latencies:?}"
    );
    latencies.sort_unstable();
    println!(
        "{flood} stuck connections opened in {:.2} s, all closed (and 1 idle one) {:.1} s \
         after the first was opened; meanwhile a normal client was served {} times ({} \
         while all were open), slowest {:.1} ms",
        flood_open.duration_since(opened).as_secs_f64(),
        all_closed.as_secs_f64(),
        latencies.len(),
        during_flood,
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );
    let agent = agent();
    let (status, _) = resolve_over(&agent, process.addr, "after");
    assert_eq!(status, 200);
    assert!(terminate(&mut process.child).is_some());
}

/// Past the bound a connection gets a 503 envelope and is closed; the slots come back
/// when the stuck clients time out.
#[test]
fn connections_past_the_bound_are_refused_cleanly_until_slots_free() {
    let db = TempDb::new();
    let mut process = serve_process(
        &db.path,
        &["--header-timeout", "2", "--max-connections", "4"],
    );
    let holders: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(process.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = raw_exchange(
        process.addr,
        b"GET /v1/contacts HTTP/1.1\r\nHost: localhost\r\nauthorization: test-key\r\n\r\n",
    );
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        failure(&v),
        ("SERVICE_UNAVAILABLE", "Too many connections; try again")
    );

    std::thread::sleep(Duration::from_millis(2_500));
    let (status, v) = resolve_over(&agent(), process.addr, "crm-1");
    assert_eq!(status, 200, "{v}");
    drop(holders);
    assert!(terminate(&mut process.child).is_some());
}
