//! Runs the benchmark suite and writes `BENCHMARKS.md`: library and floor medians from
//! one run, their ratios beside the targets of issue 6, the import rate, database size
//! and peak memory at full size, and the machine, date, contact count and commit.
//!
//! ```text
//! cargo run --release --example bench_report                  # 10,000 contacts
//! CONTACTSTORE_BENCH_CONTACTS=1000000 cargo run --release --example bench_report
//! cargo run --release --example bench_report -- --quick       # short criterion runs
//! cargo run --release --example bench_report -- -- --sample-size 20   # to criterion
//! ```
//!
//! Options: `--contacts N` (instead of the variable), `--quick` (criterion's
//! `--warm-up-time 1 --measurement-time 2`), `--out PATH` (default `BENCHMARKS.md`),
//! `--no-readme` (leave the README's quoted table alone), `--no-bench` (rebuild the
//! document from the last run's criterion results). Arguments after `--` go to
//! criterion. Fixtures are generated on first use and cached under `target/`.

#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use contactstore::{ContactStore, IdentifierQuery, ResolveRequest, Timestamp};
use serde_json::Value;

/// The benches the report runs (`benches/*.rs`).
const BENCHES: [&str; 4] = ["resolve", "merge", "transfer", "list"];
/// Contacts per import iteration in `benches/transfer.rs`.
const IMPORT_CHUNK: u64 = 100_000;
const README_BEGIN: &str = "<!-- benchmarks:begin (written by examples/bench_report.rs) -->";
const README_END: &str = "<!-- benchmarks:end -->";

type Failure = Box<dyn std::error::Error>;

struct Options {
    contacts: u64,
    quick: bool,
    out: PathBuf,
    readme: bool,
    bench: bool,
    criterion_args: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--hold-store") {
        return match hold_store(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench_report --hold-store: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match parse(args).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: Vec<String>) -> Result<Options, Failure> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        contacts: support::contacts() as u64,
        quick: std::env::var_os("QUICK").is_some_and(|v| v != "0" && !v.is_empty()),
        out: manifest.join("BENCHMARKS.md"),
        readme: true,
        bench: true,
        criterion_args: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--contacts" => {
                let value = args.next().ok_or("--contacts needs a number")?;
                options.contacts = value.replace(['_', ','], "").parse()?;
            }
            "--quick" => options.quick = true,
            "--out" => options.out = args.next().ok_or("--out needs a path")?.into(),
            "--no-readme" => options.readme = false,
            "--no-bench" => options.bench = false,
            "--" => options.criterion_args.extend(args.by_ref()),
            "-h" | "--help" => {
                println!(
                    "usage: bench_report [--contacts N] [--quick] [--out PATH] [--no-readme] \
                     [--no-bench] [-- CRITERION_ARGS...]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (see --help)").into()),
        }
    }
    if options.quick {
        // Criterion refuses an option given twice: the caller's own values win.
        for (flag, value) in [("--warm-up-time", "1"), ("--measurement-time", "2")] {
            if !options.criterion_args.iter().any(|a| a == flag) {
                options
                    .criterion_args
                    .splice(0..0, [flag.to_owned(), value.to_owned()]);
            }
        }
    }
    Ok(options)
}

// ---------------------------------------------------------------------------------
// The run

struct Context {
    cargo: String,
    manifest: PathBuf,
    target: PathBuf,
    fixtures: PathBuf,
}

fn run(options: Options) -> Result<(), Failure> {
    let n = options.contacts;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir(&cargo, &manifest)?;
    let fixtures = target.join("tmp").join("bench-fixtures");
    // The benches (children) and this process agree on the size and the fixtures.
    std::env::set_var("CONTACTSTORE_BENCH_CONTACTS", n.to_string());
    std::env::set_var("CONTACTSTORE_BENCH_FIXTURES", &fixtures);
    let cx = Context {
        cargo,
        manifest,
        target,
        fixtures,
    };
    let started = SystemTime::now();
    let date = Timestamp::now();

    if options.bench {
        eprintln!("== benches ({n} contacts): {}", BENCHES.join(", "));
        let mut cmd = Command::new(&cx.cargo);
        cmd.current_dir(&cx.manifest).arg("bench");
        for b in BENCHES {
            cmd.args(["--bench", b]);
        }
        cmd.arg("--").args(&options.criterion_args);
        let status = cmd.status()?;
        if !status.success() {
            return Err(format!("cargo bench failed ({status})").into());
        }
    }
    let medians = read_criterion(&cx.target, options.bench.then_some(started))?;

    eprintln!("== at full size: CLI import, floor bulk insert, open store");
    let scale = measure_at_scale(&cx, n)?;

    let report = render(&options, &cx, n, &date, &medians, &scale);
    std::fs::write(&options.out, &report.document)?;
    eprintln!("wrote {}", options.out.display());
    if options.readme {
        quote_in_readme(&cx.manifest.join("README.md"), &report.summary)?;
    }
    print!("{}", report.summary);
    Ok(())
}

fn target_dir(cargo: &str, manifest: &Path) -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(manifest.join(dir));
    }
    let out = Command::new(cargo)
        .current_dir(manifest)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()?;
    let metadata: Value = serde_json::from_slice(&out.stdout)?;
    Ok(metadata["target_directory"]
        .as_str()
        .ok_or("cargo metadata gave no target_directory")?
        .into())
}

/// A criterion result: the median and its 95% confidence interval, in nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Median {
    ns: f64,
    low: f64,
    high: f64,
}

/// Every `new/estimates.json` under `target/criterion` (newer than `since`, when
/// given), by criterion's full id (`group/function`).
fn read_criterion(
    target: &Path,
    since: Option<SystemTime>,
) -> Result<BTreeMap<String, Median>, Failure> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("criterion"));
    let mut found = BTreeMap::new();
    let mut stack = vec![home];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let in_new = path.parent().and_then(Path::file_name) == Some("new".as_ref());
            if !in_new || path.file_name() != Some("estimates.json".as_ref()) {
                continue;
            }
            let modified = entry.metadata()?.modified()?;
            if since.is_some_and(|s| modified < s) {
                continue; // from an earlier run
            }
            let benchmark: Value =
                serde_json::from_slice(&std::fs::read(path.with_file_name("benchmark.json"))?)?;
            let estimates: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
            let median = &estimates["median"];
            let (Some(id), Some(ns)) = (
                benchmark["full_id"].as_str(),
                median["point_estimate"].as_f64(),
            ) else {
                continue;
            };
            let bound = |b: &str| median["confidence_interval"][b].as_f64().unwrap_or(ns);
            found.insert(
                id.to_owned(),
                Median {
                    ns,
                    low: bound("lower_bound"),
                    high: bound("upper_bound"),
                },
            );
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------
// Measurements at full size (one run each, outside criterion)

struct Scale {
    cli_import: Option<Process>,
    cli_export: Process,
    floor_insert: Duration,
    library_bytes: u64,
    floor_bytes: u64,
    fixture_bytes: u64,
    open_store: Option<HeldStore>,
    rss_method: &'static str,
}

struct Process {
    wall: Duration,
    peak_kb: Option<u64>,
}

struct HeldStore {
    baseline_kb: u64,
    open_kb: u64,
    peak_kb: u64,
}

fn measure_at_scale(cx: &Context, n: u64) -> Result<Scale, Failure> {
    let fixture = support::fixture(n);

    // The CLI (release build) importing N contacts with a phone and an email each.
    let status = Command::new(&cx.cargo)
        .current_dir(&cx.manifest)
        .args(["build", "--release", "--bin", "contactstore"])
        .status()?;
    if !status.success() {
        return Err("cargo build --release --bin contactstore failed".into());
    }
    let cli = cx.target.join("release").join("contactstore");
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
    remove_db(&library_db);
    eprintln!("CLI import of {n} contacts...");
    let import = run_measured(
        Command::new(&cli)
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
    let library_bytes = support::db_bytes(&library_db);
    remove_db(&library_db);

    // The CLI exporting the fixture's org of N contacts (documents discarded).
    eprintln!("CLI export of {n} contacts...");
    let export = run_measured(
        Command::new(&cli).arg("--db").arg(&fixture.path).args([
            "--org",
            support::ORG,
            "export",
            "-",
        ]),
        false,
    )?;
    let summary = export
        .stderr
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .unwrap_or(Value::Null);
    if summary["data"]["exported"].as_u64() != Some(n) {
        return Err(format!("the CLI export did not export {n} contacts: {summary}").into());
    }

    // The floor: the same rows by a raw loop in one transaction, into an empty file.
    eprintln!("floor bulk insert of {n} contacts...");
    let rows: Vec<support::PlainRow> = (0..n).map(support::plain_row).collect();
    let floor_file = support::WorkCopy::empty("scale-floor");
    let conn = support::floor_connection(&floor_file.path);
    let t = Instant::now();
    support::floor_bulk_insert(&conn, &rows);
    let floor_insert = t.elapsed();
    drop(conn); // checkpoints the WAL into the file, as the CLI's exit does
    let floor_bytes = floor_file.bytes();
    drop(floor_file);
    drop(rows);

    // A process holding the fixture open and serving lookups.
    eprintln!("open store...");
    let held = Command::new(std::env::current_exe()?)
        .arg("--hold-store")
        .arg(&fixture.path)
        .arg(n.to_string())
        .stderr(Stdio::inherit())
        .output()?;
    let open_store = serde_json::from_slice::<Value>(&held.stdout)
        .ok()
        .and_then(|v| {
            Some(HeldStore {
                baseline_kb: v["baseline_kb"].as_u64()?,
                open_kb: v["open_kb"].as_u64()?,
                peak_kb: v["peak_kb"].as_u64()?,
            })
        });
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

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
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

fn proc_status_kb(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The child process: opens the store, resolves 10,000 known callers and finds 1,000
/// contacts with their memories, and prints its resident memory (Linux `/proc`).
fn hold_store(args: &[String]) -> Result<(), Failure> {
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

// ---------------------------------------------------------------------------------
// The document

/// What a row is held to.
enum Target {
    /// library / floor time at most this.
    MaxRatio(f64),
    /// library / floor rate at least this.
    MinRateRatio(f64),
    /// At least this many contacts per second.
    MinRate(f64),
    /// Below this many KiB.
    MaxKb(u64),
    /// Reported only.
    None,
}

struct Line {
    what: String,
    library: String,
    floor: String,
    /// For rate rows, the ratio of rates; otherwise of times.
    ratio_text: String,
    target: Target,
    met: Option<bool>,
}

fn time(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(per_second: f64) -> String {
    format!("{}/s", thousands(per_second))
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

struct Report {
    document: String,
    summary: String,
}

fn render(
    options: &Options,
    cx: &Context,
    n: u64,
    date: &Timestamp,
    medians: &BTreeMap<String, Median>,
    scale: &Scale,
) -> Report {
    let get = |id: String| medians.get(&id).copied();
    let mut lines: Vec<Line> = Vec::new();
    let mut timed = |what: &str, group: &str, library: &str, floor: &str, target: Target| {
        let lib = get(format!("{group}/{n}/{library}"));
        let flo = get(format!("{group}/{n}/{floor}"));
        let ratio = match (lib, flo) {
            (Some(l), Some(f)) => Some(l.ns / f.ns),
            _ => None,
        };
        let met = match (&target, ratio) {
            (Target::MaxRatio(max), Some(r)) => Some(r <= *max),
            _ => None,
        };
        lines.push(Line {
            what: what.into(),
            library: lib.map_or("not measured".into(), |m| time(m.ns)),
            floor: flo.map_or("not measured".into(), |m| time(m.ns)),
            ratio_text: ratio.map_or("—".into(), |r| format!("{r:.2}×")),
            target,
            met,
        });
    };
    timed(
        "resolve, known caller, E.164 input",
        "resolve_hit",
        "library_e164",
        "floor",
        Target::MaxRatio(1.3),
    );
    timed(
        "resolve, known caller, `(415) 555-0192` input",
        "resolve_hit",
        "library_formatted",
        "floor",
        Target::MaxRatio(1.6),
    );
    timed(
        "resolve that creates a contact (phone + email)",
        "resolve_create",
        "library",
        "floor",
        Target::MaxRatio(1.3),
    );
    timed(
        "find with full hydration (1 memory, 20 messages, 5 entities)",
        "find",
        "library",
        "floor",
        Target::MaxRatio(2.0),
    );
    timed(
        "get by id",
        "get",
        "library_by_id",
        "floor_by_id",
        Target::None,
    );
    timed(
        "get by a merged-away id",
        "get",
        "library_merged_id",
        "floor_merged_id",
        Target::None,
    );
    timed(
        "merge (each: 3 identifiers, 2 memories × 50 messages, 10 entities)",
        "merge",
        "library",
        "floor",
        Target::MaxRatio(1.5),
    );
    timed(
        "list: page of 100, early cursor",
        "list_page",
        "library_early",
        "floor_early",
        Target::None,
    );
    timed(
        "list: page of 100, late cursor (99%)",
        "list_page",
        "library_late",
        "floor_late",
        Target::None,
    );

    // list: the late page against the early one (issue 8: no growth with position).
    let early = get(format!("list_page/{n}/library_early"));
    let late = get(format!("list_page/{n}/library_late"));
    if let (Some(e), Some(l)) = (early, late) {
        let r = l.ns / e.ns;
        lines.push(Line {
            what: "list: late page / early page (library)".into(),
            library: time(l.ns),
            floor: format!("early: {}", time(e.ns)),
            ratio_text: format!("{r:.2}× (late / early)"),
            target: Target::MaxRatio(1.2),
            met: Some(r <= 1.2),
        });
    }

    // Throughput.
    let chunk = n.min(IMPORT_CHUNK) as f64;
    let lib = get(format!("import/{n}/library"));
    let flo = get(format!("import/{n}/floor"));
    let per_s = |count: f64, m: Option<Median>| m.map(|m| count / (m.ns / 1e9));
    let (lib_rate, flo_rate) = (per_s(chunk, lib), per_s(chunk, flo));
    let ratio = lib_rate.zip(flo_rate).map(|(l, f)| l / f);
    lines.push(Line {
        what: format!("import, {} contacts into an empty file", thousands(chunk)),
        library: lib_rate.map_or("not measured".into(), rate),
        floor: flo_rate.map_or("not measured".into(), rate),
        ratio_text: ratio.map_or("—".into(), |r| format!("{r:.2}× of the rate")),
        target: Target::MinRateRatio(0.5),
        met: ratio.map(|r| r >= 0.5),
    });
    let exported = support::export_count(n) as f64;
    let lib = per_s(exported, get(format!("export/{n}/library")));
    let flo = per_s(exported, get(format!("export/{n}/floor")));
    let ratio = lib.zip(flo).map(|(l, f)| l / f);
    lines.push(Line {
        what: format!("export of an org of {} contacts", thousands(exported)),
        library: lib.map_or("not measured".into(), rate),
        floor: flo.map_or("not measured".into(), rate),
        ratio_text: ratio.map_or("—".into(), |r| format!("{r:.2}× of the rate")),
        target: Target::MinRate(100_000.0),
        met: lib.map(|l| l >= 100_000.0),
    });

    // At full size.
    if let Some(cli) = &scale.cli_import {
        let lib = n as f64 / cli.wall.as_secs_f64();
        let flo = n as f64 / scale.floor_insert.as_secs_f64();
        let r = lib / flo;
        lines.push(Line {
            what: format!(
                "import of all {} contacts by the CLI (one run, whole process)",
                thousands(n as f64)
            ),
            library: rate(lib),
            floor: rate(flo),
            ratio_text: format!("{r:.2}× of the rate"),
            target: Target::MinRateRatio(0.5),
            met: Some(r >= 0.5),
        });
    }
    let cli_export = n as f64 / scale.cli_export.wall.as_secs_f64();
    lines.push(Line {
        what: format!(
            "export of all {} contacts by the CLI (one run, whole process)",
            thousands(n as f64)
        ),
        library: rate(cli_export),
        floor: "—".into(),
        ratio_text: "—".into(),
        target: Target::MinRate(100_000.0),
        met: Some(cli_export >= 100_000.0),
    });
    let per = |bytes: u64| bytes as f64 / n as f64;
    let r = per(scale.library_bytes) / per(scale.floor_bytes);
    lines.push(Line {
        what: "database size per contact (name, phone, email)".into(),
        library: format!("{:.0} B", per(scale.library_bytes)),
        floor: format!("{:.0} B", per(scale.floor_bytes)),
        ratio_text: format!("{r:.2}×"),
        target: Target::MaxRatio(1.2),
        met: Some(r <= 1.2),
    });
    if let Some(peak) = scale.cli_import.as_ref().and_then(|p| p.peak_kb) {
        lines.push(Line {
            what: format!("peak RSS, CLI importing {} contacts", thousands(n as f64)),
            library: mib(peak),
            floor: "—".into(),
            ratio_text: "—".into(),
            target: Target::MaxKb(150 * 1024),
            met: Some(peak < 150 * 1024),
        });
    }
    if let Some(peak) = scale.cli_export.peak_kb {
        lines.push(Line {
            what: format!("peak RSS, CLI exporting {} contacts", thousands(n as f64)),
            library: mib(peak),
            floor: "—".into(),
            ratio_text: "—".into(),
            target: Target::None,
            met: None,
        });
    }
    if let Some(held) = &scale.open_store {
        lines.push(Line {
            what: "peak RSS, process holding an open store (10,000 resolves, 1,000 finds)".into(),
            library: mib(held.peak_kb),
            floor: "—".into(),
            ratio_text: "—".into(),
            target: Target::None,
            met: None,
        });
    }

    let mut table = String::new();
    table.push_str("| | library | floor | library / floor | target | |\n");
    table.push_str("|---|---:|---:|---:|---|---|\n");
    for l in &lines {
        let target = match l.target {
            Target::MaxRatio(m) => format!("≤ {m}×"),
            Target::MinRateRatio(m) => format!("≥ {m}× the floor's rate"),
            Target::MinRate(r) => format!("≥ {}", rate(r)),
            Target::MaxKb(kb) => format!("< {}", mib(kb)),
            Target::None => "—".into(),
        };
        let verdict = match l.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {target} | {verdict} |",
            l.what, l.library, l.floor, l.ratio_text
        );
    }
    let met = lines.iter().filter(|l| l.met == Some(true)).count();
    let missed = lines.iter().filter(|l| l.met == Some(false)).count();
    let commit = git_commit(&cx.manifest);
    let settings = if options.criterion_args.is_empty() {
        "criterion's defaults as set in each bench".to_owned()
    } else {
        format!("criterion arguments `{}`", options.criterion_args.join(" "))
    };
    let heading = format!(
        "{} contacts, {} UTC, commit {commit}, {settings}{}",
        thousands(n as f64),
        &date.to_string()[..16].replace('T', " "),
        if options.bench {
            ""
        } else {
            " (criterion results of an earlier run)"
        },
    );
    let summary = format!(
        "Medians of one run ({heading}); {met} targets met, {missed} missed. \
         Details, machine and method: [BENCHMARKS.md](BENCHMARKS.md).\n\n{table}"
    );

    let mut doc = String::new();
    let _ = writeln!(doc, "# Benchmarks\n");
    let _ = writeln!(
        doc,
        "Written by `cargo run --release --example bench_report` (see the README). \
         Every figure below comes from one run; library and floor were measured in the \
         same run on the same machine, so the ratios carry over to other machines better \
         than the times do.\n"
    );
    let _ = writeln!(doc, "- **Contacts:** {}", thousands(n as f64));
    let _ = writeln!(doc, "- **Date:** {date}");
    let _ = writeln!(doc, "- **Commit:** {commit}");
    let _ = writeln!(doc, "- **Machine:** {}", machine());
    let _ = writeln!(
        doc,
        "- **Toolchain:** {}, SQLite {}",
        rustc(),
        rusqlite::version()
    );
    let _ = writeln!(
        doc,
        "- **Settings:** {settings}; the `bench` profile (optimized, line tables)\n"
    );
    let _ = writeln!(doc, "## Results\n");
    let _ = writeln!(
        doc,
        "Times are criterion medians per operation; rates are contacts per second. \
         {met} targets met, {missed} missed.\n"
    );
    doc.push_str(&table);
    let _ = writeln!(doc, "\n### Confidence intervals (95%, of the median)\n");
    let _ = writeln!(doc, "| benchmark | median | interval |\n|---|---:|---|");
    for (id, m) in medians
        .iter()
        .filter(|(id, _)| id.contains(&format!("/{n}/")))
    {
        let _ = writeln!(
            doc,
            "| `{id}` | {} | {} – {} |",
            time(m.ns),
            time(m.low),
            time(m.high)
        );
    }
    let _ = writeln!(doc, "\n### At full size (one run each)\n");
    if let Some(cli) = &scale.cli_import {
        let _ = writeln!(
            doc,
            "- CLI `import` of {} contacts (name, phone, email; release build): {:.1} s \
             wall, peak RSS {} (measured with {}).",
            thousands(n as f64),
            cli.wall.as_secs_f64(),
            cli.peak_kb.map_or("unknown".into(), mib),
            scale.rss_method
        );
    }
    let _ = writeln!(
        doc,
        "- CLI `export -` of the fixture's org of {} contacts (documents discarded): \
         {:.1} s wall, peak RSS {}.",
        thousands(n as f64),
        scale.cli_export.wall.as_secs_f64(),
        scale.cli_export.peak_kb.map_or("unknown".into(), mib),
    );
    let _ = writeln!(
        doc,
        "- Floor bulk insert of the same rows in one transaction: {:.1} s.",
        scale.floor_insert.as_secs_f64()
    );
    let _ = writeln!(
        doc,
        "- Database files (after close, WAL checkpointed): library {} bytes, floor {} \
         bytes; the benchmark fixture (a third of the contacts with a memory of 20 \
         messages and 5 entities) {} bytes, {:.0} B per contact.",
        thousands(scale.library_bytes as f64),
        thousands(scale.floor_bytes as f64),
        thousands(scale.fixture_bytes as f64),
        scale.fixture_bytes as f64 / n as f64
    );
    if let Some(h) = &scale.open_store {
        let _ = writeln!(
            doc,
            "- A process holding the fixture open: {} before opening, {} after, peak {} \
             after 10,000 resolves and 1,000 finds (`VmRSS` / `VmHWM` of \
             `/proc/self/status`).",
            mib(h.baseline_kb),
            mib(h.open_kb),
            mib(h.peak_kb)
        );
    }
    doc.push_str(METHOD);
    Report {
        document: doc,
        summary,
    }
}

const METHOD: &str = r#"
## Method

Each library benchmark has a **floor** beside it: the same SQL work written by hand
with raw rusqlite and `prepare_cached` statements, on the same file, schema, indexes
and pragmas (WAL, `synchronous=NORMAL`, `foreign_keys=ON`), returning or writing the
same rows. The floor connection also sets `SQLITE_DBCONFIG_ENABLE_QPSG`: without it
SQLite marks statements whose plan could depend on a bound value, and rusqlite's
statement cache (which clears bindings when a statement comes back) then makes SQLite
parse and plan such a statement again on every use.

| benchmark | library | floor |
|---|---|---|
| resolve hit | `Org::resolve` of a known phone (10,000 contacts spread over the file, in turn) | one indexed identifier → contact lookup (a JOIN returning the contact row, metadata decoded) |
| resolve create | `Org::resolve` with a new phone and email | one `BEGIN IMMEDIATE` transaction inserting the contact and its two identifiers |
| find | `Org::find` by phone of a contact with a memory | in one read transaction: the lookup, identifiers, memories, entities (JSON columns decoded into `serde_json::Value`) |
| get | `Org::get` by id, and by a merged-away id | the same hydration after a lookup by id (or one statement following the redirect) |
| merge | `Org::merge` of a fresh pair per iteration (pairs imported untimed before each batch) | one transaction: contact row (`json_patch`), identifiers, calls, SMS, the memories (the shared scope's JSON combined in Rust), entities (one upsert), redirects, delete, redirect and journal rows; checked to leave the same memories as the library |
| import | `Org::import` of JSON Lines from memory into an empty file | a raw loop inserting the same rows (contact + 2 identifiers) in one transaction |
| export | `Org::export` to a sink of an org of `min(N, 100,000)` contacts (a third with a memory) kept in the same file | the same rows read per contact with cached statements, JSON written by hand (JSON columns copied as stored); checked to give the same bytes |
| list | `Org::list` with a limit of 100 after an early and a late cursor | the same keyset query (`(created_at, id) > (?, ?)`), metadata decoded |

The fixture (`CONTACTSTORE_BENCH_CONTACTS` contacts, default 10,000) is generated once
through the library's own import and cached under `target/tmp/bench-fixtures/`: each
contact has a phone and an email, every third one a memory of 20 messages and 5
entities, and up to 1,000 further contacts were merged into memory holders (the
merged-away ids of the get benchmark); a second org of `min(N, 100,000)` contacts of
the same shape serves the export benchmark. Benchmarks that write work on copies of it.
Rates and peak memory at full size are measured outside criterion, one run each: the
CLI importing N contacts into an empty file and exporting the fixture's N, the floor's
bulk insert of the same N, and a process holding the fixture open.
"#;

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let logical = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let available = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = proc_status_kb("/proc/meminfo", "MemTotal")
        .map_or("unknown memory".into(), |kb| {
            format!("{:.1} GiB memory", kb as f64 / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!(", Linux {}", s.trim()))
        .unwrap_or_default();
    format!(
        "{model}, {logical} logical CPUs ({available} available to the process), {memory}{kernel}"
    )
}

fn rustc() -> String {
    Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or("rustc (unknown version)".into(), |s| s.trim().to_owned())
}

fn git_commit(manifest: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(manifest)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("`{commit}` (with uncommitted changes)")
            } else {
                format!("`{commit}`")
            }
        }
        None => "unknown (not a git checkout)".into(),
    }
}

/// Replaces the README's quoted summary (between the markers), if it has the markers.
fn quote_in_readme(readme: &Path, summary: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(readme)?;
    let (Some(begin), Some(end)) = (text.find(README_BEGIN), text.find(README_END)) else {
        eprintln!("README has no benchmark markers; left as it is");
        return Ok(());
    };
    if end < begin {
        return Ok(());
    }
    let updated = format!(
        "{}{README_BEGIN}\n{summary}{}",
        &text[..begin],
        &text[end..]
    );
    if updated != text {
        std::fs::write(readme, updated)?;
        eprintln!("updated the quoted table in {}", readme.display());
    }
    Ok(())
}
