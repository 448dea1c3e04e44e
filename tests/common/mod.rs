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
