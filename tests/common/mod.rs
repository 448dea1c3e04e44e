//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use contactstore::{ContactStore, ResolveRequest, Settings};

/// The PostgreSQL server the parametrised tests run on, in the PostgreSQL run:
/// `tests/postgres/run` sets `CONTACTSTORE_TEST_ENGINE=postgres` and passes on
/// `CONTACTSTORE_TEST_POSTGRES` (`postgres://user@host:port/db`); the same tests then
/// open their stores there, each in a schema of its own. Otherwise every test runs on
/// SQLite — `cargo test` is the SQLite run even with the server's URL in the
/// environment.
pub fn postgres_url() -> Option<String> {
    if std::env::var("CONTACTSTORE_TEST_ENGINE").as_deref() != Ok("postgres") {
        return None;
    }
    std::env::var("CONTACTSTORE_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// True when this run's stores are on PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_url().is_some()
}

/// A new, empty PostgreSQL schema on the test server, as a URL whose connections use
/// it (`options=-c search_path=…`): a store per test, independent of the others.
pub fn fresh_postgres_url(base: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        now_ms(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(base, postgres::NoTls)
        .unwrap_or_else(|e| panic!("CONTACTSTORE_TEST_POSTGRES: cannot connect: {e}"));
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// A store of its own for one test, with default settings: in memory on SQLite, in a
/// fresh schema on PostgreSQL (see [`postgres_url`]).
pub fn store() -> ContactStore {
    store_with(Settings::default())
}

/// As [`store`], with settings.
pub fn store_with(settings: Settings) -> ContactStore {
    match postgres_url() {
        Some(base) => ContactStore::open_with(fresh_postgres_url(&base), settings)
            .expect("open on PostgreSQL"),
        None => ContactStore::open_in_memory_with(settings).expect("open in memory"),
    }
}

/// A database for one test that several handles (or processes) open: a file in a
/// temporary directory, or — on a PostgreSQL run — a fresh schema, whose URL is then
/// `path` (every API, the CLI's `--db` and `serve` take either).
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// A store on `db` holding one contact in org `acme`, created by resolving a phone
/// number: a database that has been written to, with its files created.
pub fn store_with_a_caller(db: &TempDb) -> ContactStore {
    let store = ContactStore::open(&db.path).unwrap();
    store
        .org("acme")
        .unwrap()
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap();
    store
}

impl TempDb {
    /// On the run's engine.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = match postgres_url() {
            Some(base) => PathBuf::from(fresh_postgres_url(&base)),
            None => dir.path().join("contacts.db"),
        };
        TempDb { dir, path }
    }

    /// Always an SQLite file: for tests of the file itself (WAL, permissions, crash
    /// recovery, query plans, backup, dumps read with rusqlite).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("contacts.db");
        TempDb { dir, path }
    }
}

/// Whether anything was written since it was made: `PRAGMA data_version` seen from a
/// separate connection on SQLite (it changes whenever another connection commits a
/// change to the file); on PostgreSQL, a dump of every table compared with the one
/// taken at the start. An unchanged value proves nothing was written.
pub enum WriteWatch {
    Sqlite { conn: Connection, before: i64 },
    Postgres { url: String, before: Vec<String> },
}

impl WriteWatch {
    pub fn new(path: &Path) -> Self {
        match postgres_location(path) {
            Some(url) => WriteWatch::Postgres {
                before: dump_postgres(url),
                url: url.to_owned(),
            },
            None => {
                let conn = Connection::open(path).expect("open watcher");
                let before = data_version(&conn);
                WriteWatch::Sqlite { conn, before }
            }
        }
    }

    pub fn changed(&self) -> bool {
        match self {
            WriteWatch::Sqlite { conn, before } => data_version(conn) != *before,
            WriteWatch::Postgres { url, before } => dump_postgres(url) != *before,
        }
    }
}

fn data_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .expect("data_version")
}

/// The URL, when a test database's location is a PostgreSQL one.
pub fn postgres_location(path: &Path) -> Option<&str> {
    path.to_str()
        .filter(|p| p.starts_with("postgres://") || p.starts_with("postgresql://"))
}

/// Every row of every table of the location's schema, as text, in a stable order.
pub fn dump_postgres(url: &str) -> Vec<String> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect for dump");
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for table in tables {
        let rows = client
            .query(
                &format!("SELECT t::text FROM \"{table}\" t ORDER BY 1"),
                &[],
            )
            .unwrap();
        for row in rows {
            let cells: String = row.get(0);
            out.push(format!("{table}: {cells}"));
        }
    }
    out
}

/// Every row of every contactstore table, as text, in a stable order: two equal dumps
/// mean equal contents.
pub fn dump(path: &Path) -> Vec<String> {
    if let Some(url) = postgres_location(path) {
        return dump_postgres(url);
    }
    let conn = Connection::open(path).expect("open for dump");
    dump_conn(&conn)
}

pub fn dump_conn(conn: &Connection) -> Vec<String> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let width: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info(?1)",
                [&table],
                |r| r.get(0),
            )
            .unwrap();
        let order: Vec<String> = (1..=width.min(3)).map(|i| i.to_string()).collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT * FROM \"{table}\" ORDER BY {}",
                order.join(", ")
            ))
            .unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..columns {
                    let v: rusqlite::types::Value = r.get(i)?;
                    cells.push(format!("{v:?}"));
                }
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap();
        for row in rows {
            out.push(row.unwrap());
        }
    }
    out
}

/// The rows of a read statement (SQL both engines take) on a test database, each
/// column as text (`None` for NULL): for tests that look at tables directly.
pub fn sql_rows(path: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    if let Some(url) = postgres_location(path) {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        return client
            .simple_query(sql)
            .expect("query")
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
    }
    let conn = Connection::open(path).expect("open");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        (0..columns)
            .map(|i| {
                Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                    rusqlite::types::Value::Null => None,
                    rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                    rusqlite::types::Value::Real(x) => Some(x.to_string()),
                    rusqlite::types::Value::Text(t) => Some(t),
                    rusqlite::types::Value::Blob(b) => Some(format!("{b:?}")),
                })
            })
            .collect()
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Makes every statement of a kind on a table fail from now on (`point` is
/// `BEFORE|AFTER INSERT|UPDATE|DELETE ON table`), until [`clear_failure`]: a trigger
/// that raises, on either engine.
pub fn inject_failure(path: &Path, point: &str) {
    match postgres_location(path) {
        Some(url) => {
            let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            client
                .batch_execute(&format!(
                    "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
                     CREATE TRIGGER injected_failure {point} FOR EACH ROW \
                     EXECUTE FUNCTION injected_failure();"
                ))
                .expect("inject");
        }
        None => Connection::open(path)
            .expect("open")
            .execute_batch(&format!(
                "CREATE TRIGGER injected_failure {point} BEGIN SELECT RAISE(ABORT, 'injected'); END;"
            ))
            .expect("inject"),
    }
}

/// Removes what [`inject_failure`] installed at `point`.
pub fn clear_failure(path: &Path, point: &str) {
    match postgres_location(path) {
        Some(url) => {
            let table = point.rsplit(' ').next().unwrap();
            postgres::Client::connect(url, postgres::NoTls)
                .expect("connect")
                .batch_execute(&format!("DROP TRIGGER injected_failure ON {table}"))
                .expect("clear");
        }
        None => Connection::open(path)
            .expect("open")
            .execute_batch("DROP TRIGGER injected_failure")
            .expect("clear"),
    }
}

/// Another connection holding writers out of a test database until released: SQLite's
/// write lock (`BEGIN IMMEDIATE`) or, on PostgreSQL, an `EXCLUSIVE` lock on the
/// contact table (reads go on, writes of contacts wait). The store's writes wait up to
/// its busy timeout, then fail as busy.
pub enum WriteLock {
    Sqlite(Connection),
    Postgres(postgres::Client),
}

impl WriteLock {
    pub fn take(path: &Path) -> WriteLock {
        match postgres_location(path) {
            Some(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                client
                    .batch_execute("BEGIN; LOCK TABLE contact IN EXCLUSIVE MODE")
                    .expect("lock");
                WriteLock::Postgres(client)
            }
            None => {
                let conn = Connection::open(path).expect("open");
                conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
                WriteLock::Sqlite(conn)
            }
        }
    }

    /// Ends the locking transaction (`COMMIT` or `ROLLBACK`).
    pub fn release(&mut self, end: &str) {
        match self {
            WriteLock::Sqlite(conn) => conn.execute_batch(end).expect("release"),
            WriteLock::Postgres(client) => client.batch_execute(end).expect("release"),
        }
    }
}

/// Runs the ignored test `entry` of the current test binary in `n` child processes,
/// each with `CHILD_INDEX` set and the given environment, starting together at
/// `CHILD_START_AT_MS` (a shared instant a little in the future).
pub fn spawn_children(entry: &str, n: usize, env: &[(&str, String)]) -> Vec<Child> {
    let exe = std::env::current_exe().expect("current exe");
    let start_at = now_ms() + 400;
    (0..n)
        .map(|i| {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "--exact",
                entry,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CHILD_INDEX", i.to_string())
            .env("CHILD_START_AT_MS", start_at.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd.spawn().expect("spawn child")
        })
        .collect()
}

/// In a child: waits for the shared start instant.
pub fn wait_for_start() {
    if let Some(at) = std::env::var("CHILD_START_AT_MS")
        .ok()
        .and_then(|v| v.parse::<u128>().ok())
    {
        let now = now_ms();
        if at > now {
            std::thread::sleep(Duration::from_millis((at - now) as u64));
        }
    }
}

pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Waits for children; returns their stdout, asserting each succeeded.
pub fn join_children(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("wait child");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "child failed: {}\n{}",
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        })
        .collect()
}

/// What follows `tag` on each line of a child's output that has it (libtest may print
/// its own text before the first line of a test's output).
pub fn tagged<'a>(stdout: &'a str, tag: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter_map(|l| l.find(tag).map(|i| &l[i + tag.len()..]))
        .collect()
}

/// `n` contact documents of three orgs (`org-a`, `org-b`, `org-c`), one a line, in
/// every shape import takes — identifiers in several spellings, memories with messages,
/// open items and entities, calls and SMS — without ids and without `updated_at`, as a
/// hand-written file would be.
pub fn generated(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let org = ["org-a", "org-b", "org-c"][i % 3];
        let mut identifiers = vec![serde_json::json!({
            "identifier_type": "phone_number",
            "identifier_value": format!("(415) 555-{:04}", i),
        })];
        if i % 2 == 0 {
            identifiers.push(serde_json::json!({"identifier_type": "email", "identifier_value": format!("User{i}@Example.com")}));
        }
        if i % 5 == 0 {
            identifiers.push(
                serde_json::json!({"identifier_type": "external_id", "identifier_value": format!("crm-{i}")}),
            );
            identifiers.push(serde_json::json!({"identifier_type": "phone_number", "identifier_value": format!("+1 212 555 {:04}", i)}));
        }
        let mut memories = Vec::new();
        if i % 3 == 0 {
            memories.push(serde_json::json!({
                "persona_id": format!("persona-{}", i % 4),
                "summary": format!("Summary {i} with unicode: café ☎"),
                "facts": {"tier": i % 3, "vip": i % 2 == 0, "nested": {"a": [1, 2.5, null]}},
                "recent_messages": (0..(i % 7)).map(|k| serde_json::json!({
                    "role": if k % 2 == 0 { "user" } else { "assistant" },
                    "content": format!("message {k} \"quoted\" \n newline"),
                    "channel": (["sms", "voice", "email", "chat"][k % 4]),
                    "timestamp": format!("2025-07-2{}T09:10:{:02}.{:03}Z", k % 9, k, i % 1000),
                })).collect::<Vec<_>>(),
                "open_items": [{
                    "type": "follow_up", "description": format!("item {i}"),
                    "created_at": "2025-07-23T09:10:00Z", "priority": "high",
                    "related_to": {"entity_type": "order", "entity_id": format!("order-{i}")}
                }],
                "entities": [
                    {"entity_type": "order", "entity_id": format!("order-{i}"), "facts": {"n": i},
                     "status": "open", "last_discussed_at": "2025-07-23T09:10:00+02:00", "notes": null},
                    {"entity_type": "booking", "entity_id": "b", "facts": {}, "status": null,
                     "last_discussed_at": null, "notes": "window seat"}
                ]
            }));
        }
        if i % 4 == 0 {
            memories.push(serde_json::json!({"agent_number": "+1 415 555 0100"}));
        }
        let calls: Vec<serde_json::Value> = (0..(i % 3)).map(|k| serde_json::json!({
            "direction": "inbound", "agent_number": "4155550100", "contact_number": format!("(415) 555-{:04}", i),
            "started_at": format!("2025-07-2{k}T10:00:00Z"), "duration_seconds": 60 + k,
            "status": "completed", "summary": "ok", "metadata": {"k": k}
        })).collect();
        let sms: Vec<serde_json::Value> = (0..(i % 2)).map(|_| serde_json::json!({
            "direction": "outbound", "contact_number": format!("+1415555{:04}", i),
            "started_at": "2025-07-22T10:00:00Z", "message_count": 3, "status": "closed", "summary": null
        })).collect();
        let doc = serde_json::json!({
            "org_id": org,
            "name": if i % 6 == 0 { serde_json::Value::Null } else { serde_json::json!(format!("Contact {i}")) },
            "metadata": {"source": "crm", "i": i},
            "created_at": format!("2025-0{}-1{}T08:00:00.{:03}Z", 1 + i % 9, i % 10, i % 1000),
            "identifiers": identifiers,
            "memories": memories,
            "calls": calls,
            "sms_conversations": sms,
        });
        out.push_str(&serde_json::to_string(&doc).unwrap());
        out.push('\n');
    }
    out
}

/// The command line, run on `db` with the environment's defaults removed.
pub fn cli(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("CONTACTSTORE_DB")
        .env_remove("CONTACTSTORE_ORG")
        .env_remove("CONTACTSTORE_REGION")
        .output()
        .expect("run contactstore")
}

/// The exit code and the one JSON envelope a command printed on stdout.
pub fn run(db: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = cli(db, args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one envelope per command: {stdout}");
    let v = serde_json::from_str(lines[0]).expect("stdout is JSON");
    (out.status.code().unwrap(), v)
}
