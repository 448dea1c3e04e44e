//! Runs the benchmark suite and writes `BENCHMARKS.md`: library and floor medians from
//! one run, their ratios beside the targets of issue 6, the import rate, database size
//! and peak memory at full size, and the machine, date, contact count and commit.
//!
//! ```text
//! cargo run --release -p bench-report                  # 10,000 contacts
//! CONTACTSTORE_BENCH_CONTACTS=1000000 cargo run --release -p bench-report
//! cargo run --release -p bench-report -- --quick       # short criterion runs
//! cargo run --release -p bench-report -- -- --sample-size 20   # to criterion
//! ```
//!
//! Options: `--contacts N` (instead of the variable), `--quick` (criterion's
//! `--warm-up-time 1 --measurement-time 2`), `--out PATH` (default `BENCHMARKS.md`),
//! `--no-readme` (leave the README's quoted table alone), `--no-bench` (rebuild the
//! document from the last run's criterion results). Arguments after `--` go to
//! criterion. Fixtures are generated on first use and cached under `target/`.

#[path = "../../../benches/support/mod.rs"]
mod support;

mod criterion;
mod report;
mod scale;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::SystemTime;

use contactstore::Timestamp;
use serde_json::Value;

/// The bench binaries the report runs.
const BENCHES: [&str; 6] = ["resolve", "merge", "transfer", "list", "suggest", "server"];
/// Everything of an existing BENCHMARKS.md from this line on is kept as it is: figures
/// measured by hand (peak memory of a command, say) that a run does not produce.
const BY_HAND: &str = "<!-- measured by hand: kept by bench-report -->";
/// Contacts per import iteration, at most (as in `benches/transfer.rs`).
pub(crate) const IMPORT_CHUNK: u64 = 100_000;
pub(crate) const README_BEGIN: &str = "<!-- benchmarks:begin (written by tools/bench-report) -->";
pub(crate) const README_END: &str = "<!-- benchmarks:end -->";

pub(crate) type Failure = Box<dyn std::error::Error>;

pub(crate) struct Options {
    contacts: u64,
    quick: bool,
    out: PathBuf,
    readme: bool,
    pub(crate) bench: bool,
    pub(crate) criterion_args: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--hold-store") {
        return match scale::hold_store(&args[1..]) {
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
    let manifest = workspace_root();
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

pub(crate) struct Context {
    pub(crate) cargo: String,
    pub(crate) manifest: PathBuf,
    pub(crate) target: PathBuf,
    pub(crate) fixtures: PathBuf,
}

fn run(options: Options) -> Result<(), Failure> {
    let n = options.contacts;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = workspace_root();
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
    let medians = criterion::read_criterion(&cx.target, options.bench.then_some(started))?;

    eprintln!("== at full size: CLI import, floor bulk insert, open store");
    let scale = scale::measure_at_scale(&cx, n)?;

    let report = report::render(&options, &cx, n, &date, &medians, &scale);
    let mut document = report.document.clone();
    if let Ok(previous) = std::fs::read_to_string(&options.out) {
        if let Some(at) = previous.find(BY_HAND) {
            document.push('\n');
            document.push_str(&previous[at..]);
        }
    }
    std::fs::write(&options.out, &document)?;
    eprintln!("wrote {}", options.out.display());
    let chart = options.out.with_file_name(report::CHART);
    std::fs::write(&chart, &report.chart)?;
    eprintln!("wrote {}", chart.display());
    if options.readme {
        report::quote_in_readme(&cx.manifest.join("README.md"), &report.summary)?;
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

/// The repository's root: two levels above this crate.
fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap_or(here).to_path_buf()
}
