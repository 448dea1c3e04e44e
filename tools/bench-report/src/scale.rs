//! Measurements at full size, one run each, outside criterion: the CLI importing and
//! exporting, the floor's bulk insert, and a process holding a store open.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
use serde_json::Value;

use crate::{support, Context, Failure};

pub struct Scale {
    pub cli_import: Option<Process>,
    pub cli_export: Process,
    pub floor_insert: Duration,
    pub library_bytes: u64,
    pub floor_bytes: u64,
    pub fixture_bytes: u64,
    pub open_store: Option<HeldStore>,
    pub rss_method: &'static str,
}

pub struct Process {
    pub wall: Duration,
    pub peak_kb: Option<u64>,
}

pub struct HeldStore {
    pub baseline_kb: u64,
    pub open_kb: u64,
    pub peak_kb: u64,
}

pub fn measure_at_scale(cx: &Context, n: u64) -> Result<Scale, Failure> {
    let fixture = support::fixture(n);
    let cli = release_cli(cx)?;
    let (import, library_bytes) = cli_import(cx, &cli, n)?;
    let export = cli_export(&cli, &fixture.path, n)?;
    let (floor_insert, floor_bytes) = floor_insert(n);
    let open_store = held_store(&fixture.path, n)?;
    Ok(Scale {
        cli_import: Some(import.process),
        cli_export: export.process,
        floor_insert,
        library_bytes,
        floor_bytes,
        fixture_bytes: support::db_bytes(&fixture.path),
        open_store,
        rss_method: import.method,
    })
}

/// Builds the CLI (release) and returns its path.
fn release_cli(cx: &Context) -> Result<std::path::PathBuf, Failure> {
    let status = Command::new(&cx.cargo)
        .current_dir(&cx.manifest)
        .args(["build", "--release", "--bin", "contactstore"])
        .status()?;
    if !status.success() {
        return Err("cargo build --release --bin contactstore failed".into());
    }
    Ok(cx.target.join("release").join("contactstore"))
}

/// The CLI importing N contacts with a phone and an email each into an empty file;
/// returns the measurement and the file's size.
fn cli_import(cx: &Context, cli: &Path, n: u64) -> Result<(Measured, u64), Failure> {
    let input = cx.fixtures.join(format!("plain-{n}.jsonl"));
    if !input.exists() {
        let partial = input.with_extension("jsonl.partial");
        let mut out = BufWriter::new(std::fs::File::create(&partial)?);
        let mut line = Vec::with_capacity(256);
        for i in 0..n {
            line.clear();
            support::plain_line(i, &mut line);
            out.write_all(&line)?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&partial, &input)?;
    }
    let library_db = cx.fixtures.join(format!("cli-import-{n}.db"));
    support::remove_db(&library_db);
    eprintln!("CLI import of {n} contacts...");
    let import = run_measured(
        Command::new(cli)
            .arg("--db")
            .arg(&library_db)
            .args(["--org", support::ORG, "import"])
            .arg(&input),
        true,
    )?;
    let envelope: Value = serde_json::from_slice(&import.stdout).unwrap_or(Value::Null);
    if envelope["data"]["imported"].as_u64() != Some(n) {
        return Err(format!("the CLI import did not import {n} contacts: {envelope}").into());
    }
    let bytes = support::db_bytes(&library_db);
    support::remove_db(&library_db);
    Ok((import, bytes))
}

/// The CLI exporting the fixture's plain org of N contacts (documents discarded).
///
/// One untimed export runs first: by now the benches before this one have read and
/// written several copies of the fixture, which evict parts of it from the operating
/// system's cache, and a timed first run measured the disk instead of the export
/// (75,000 contacts/s where a second run made 440,000/s; 18 s after dropping the cache,
/// 2.2 s warm). The import above starts from an empty file and needs no such run.
fn cli_export(cli: &Path, fixture: &Path, n: u64) -> Result<Measured, Failure> {
    let export_command = || {
        let mut command = Command::new(cli);
        command
            .arg("--db")
            .arg(fixture)
            .args(["--org", support::PLAIN_ORG, "export", "-"]);
        command
    };
    eprintln!("CLI export of {n} contacts (one untimed run to warm the cache, then timed)...");
    let warm = export_command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !warm.success() {
        return Err(format!("the untimed CLI export failed: {warm}").into());
    }
    let export = run_measured(&mut export_command(), false)?;
    let summary = export
        .stderr
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .unwrap_or(Value::Null);
    if summary["data"]["exported"].as_u64() != Some(n) {
        return Err(format!("the CLI export did not export {n} contacts: {summary}").into());
    }
    Ok(export)
}

/// The floor: the same rows as the CLI import, by a raw loop in one transaction into
/// an empty file; returns the time and the file's size.
fn floor_insert(n: u64) -> (Duration, u64) {
    eprintln!("floor bulk insert of {n} contacts...");
    let rows: Vec<support::PlainRow> = (0..n).map(support::plain_row).collect();
    let floor_file = support::WorkCopy::empty("scale-floor");
    let conn = support::floor_connection(&floor_file.path);
    let t = Instant::now();
    support::floor_bulk_insert(&conn, &rows);
    let elapsed = t.elapsed();
    drop(conn); // checkpoints the WAL into the file, as the CLI's exit does
    (elapsed, floor_file.bytes())
}

/// A process holding the fixture open and serving lookups.
fn held_store(fixture: &Path, n: u64) -> Result<Option<HeldStore>, Failure> {
    eprintln!("open store...");
    let held = Command::new(std::env::current_exe()?)
        .arg("--hold-store")
        .arg(fixture)
        .arg(n.to_string())
        .stderr(Stdio::inherit())
        .output()?;
    Ok(serde_json::from_slice::<Value>(&held.stdout)
        .ok()
        .and_then(|v| {
            Some(HeldStore {
                baseline_kb: v["baseline_kb"].as_u64()?,
                open_kb: v["open_kb"].as_u64()?,
                peak_kb: v["peak_kb"].as_u64()?,
            })
        }))
}

/// What [`run_measured`] saw of a process.
struct Measured {
    process: Process,
    method: &'static str,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs a command to completion (its stdout kept, or discarded with `keep_stdout`
/// false); returns its wall time, peak RSS and output. The peak comes from
/// `/usr/bin/time -v` (getrusage of the child) when present, else from polling the
/// child's `VmHWM` in `/proc`.
fn run_measured(cmd: &mut Command, keep_stdout: bool) -> Result<Measured, Failure> {
    let gnu_time = Path::new("/usr/bin/time");
    let has_time = gnu_time.exists()
        && Command::new(gnu_time)
            .args(["-v", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let stdout = || {
        if keep_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    let started = Instant::now();
    let (mut child, method) = if has_time {
        let child = Command::new(gnu_time)
            .arg("-v")
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .stdout(stdout())
            .stderr(Stdio::piped())
            .spawn()?;
        (child, "`/usr/bin/time -v` (maximum resident set size)")
    } else {
        let child = cmd.stdout(stdout()).stderr(Stdio::piped()).spawn()?;
        (child, "`VmHWM` polled from `/proc/<pid>/status` every 5 ms")
    };
    let pid = child.id();
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut polled: Option<u64> = None;
    let status = loop {
        if !has_time {
            if let Some(kb) = proc_status_kb(&format!("/proc/{pid}/status"), "VmHWM") {
                polled = Some(polled.unwrap_or(0).max(kb));
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let stdout = out.join().map_err(|_| "stdout reader panicked")?;
    let stderr =
        String::from_utf8_lossy(&err.join().map_err(|_| "stderr reader panicked")?).into_owned();
    if !status.success() {
        return Err(format!("{:?} failed ({status}): {stderr}", cmd.get_program()).into());
    }
    let peak_kb = if has_time {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
    } else {
        polled
    };
    Ok(Measured {
        process: Process { wall, peak_kb },
        method,
        stdout,
        stderr,
    })
}

pub fn proc_status_kb(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The child process: opens the store, resolves 10,000 known callers and finds 1,000
/// contacts with their memories, and prints its resident memory (Linux `/proc`).
pub fn hold_store(args: &[String]) -> Result<(), Failure> {
    let path = args.first().ok_or("--hold-store needs a database path")?;
    let n: u64 = args.get(1).ok_or("--hold-store needs N")?.parse()?;
    let me = "/proc/self/status";
    let baseline_kb = proc_status_kb(me, "VmRSS").ok_or("no /proc/self/status")?;
    let store = ContactStore::open(path)?;
    let org = store.org(support::ORG)?;
    let open_kb = proc_status_kb(me, "VmRSS").unwrap_or(0);
    for i in support::spread(n, 10_000) {
        org.resolve(&ResolveRequest::phone(support::formatted(i)))?;
    }
    for i in support::spread(n / 3, 1_000) {
        org.find(&IdentifierQuery::phone(support::phone(3 * i)))?
            .ok_or("a fixture contact is missing")?;
    }
    let peak_kb = proc_status_kb(me, "VmHWM").unwrap_or(0);
    println!(r#"{{"baseline_kb":{baseline_kb},"open_kb":{open_kb},"peak_kb":{peak_kb}}}"#);
    Ok(())
}
