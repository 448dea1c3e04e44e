//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

/// A temporary directory holding a database path.
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("contacts.db");
        TempDb { dir, path }
    }
}

/// `PRAGMA data_version` seen from a separate connection: it changes whenever another
/// connection commits a change to the file, so an unchanged value proves nothing was
/// written.
pub struct WriteWatch {
    conn: Connection,
    before: i64,
}

impl WriteWatch {
    pub fn new(path: &Path) -> Self {
        let conn = Connection::open(path).expect("open watcher");
        let before = data_version(&conn);
        WriteWatch { conn, before }
    }

    pub fn changed(&self) -> bool {
        data_version(&self.conn) != self.before
    }
}

fn data_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .expect("data_version")
}

/// Every row of every contactstore table, as text, in a stable order: two equal dumps
/// mean equal contents.
pub fn dump(path: &Path) -> Vec<String> {
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
