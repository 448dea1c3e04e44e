//! The document: each figure beside its floor and target, from the data tables below.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use contactstore::Timestamp;

use crate::criterion::Median;
use crate::scale::{proc_status_kb, Scale};
use crate::{Context, Failure, Options, IMPORT_CHUNK, README_BEGIN, README_END};

/// What a row is held to.
#[derive(Debug, Clone, Copy)]
pub enum Target {
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

/// A criterion comparison: the library's benchmark and its floor's, in one group.
struct Timed {
    what: &'static str,
    group: &'static str,
    library: &'static str,
    floor: &'static str,
    target: Target,
}

/// Every timed comparison of the report, with its target.
const TIMED: &[Timed] = &[
    Timed {
        what: "resolve, known caller, E.164 input",
        group: "resolve_hit",
        library: "library_e164",
        floor: "floor",
        target: Target::MaxRatio(1.3),
    },
    Timed {
        what: "resolve, known caller, `(415) 555-0192` input",
        group: "resolve_hit",
        library: "library_formatted",
        floor: "floor",
        target: Target::MaxRatio(1.6),
    },
    Timed {
        what: "resolve, known caller as a SIP `From` header, against the E.164 input",
        group: "resolve_hit",
        library: "library_sip_uri",
        floor: "library_e164",
        target: Target::MaxRatio(1.1),
    },
    Timed {
        what: "resolve-caller, known caller as a SIP `From` header, against the E.164 resolve",
        group: "resolve_hit",
        library: "library_resolve_caller_sip",
        floor: "library_e164",
        target: Target::MaxRatio(1.1),
    },
    Timed {
        what: "resolve that creates a contact (phone + email)",
        group: "resolve_create",
        library: "library",
        floor: "floor",
        target: Target::MaxRatio(1.3),
    },
    Timed {
        what: "find with full hydration (1 memory, 20 messages, 5 entities)",
        group: "find",
        library: "library",
        floor: "floor",
        target: Target::MaxRatio(2.0),
    },
    Timed {
        what: "get by id",
        group: "get",
        library: "library_by_id",
        floor: "floor_by_id",
        target: Target::None,
    },
    Timed {
        what: "get by a merged-away id",
        group: "get",
        library: "library_merged_id",
        floor: "floor_merged_id",
        target: Target::None,
    },
    Timed {
        what: "merge (each: 3 identifiers, 2 memories × 50 messages, 10 entities)",
        group: "merge",
        library: "library",
        floor: "floor",
        target: Target::MaxRatio(1.5),
    },
    Timed {
        what: "list: page of 100, early cursor",
        group: "list_page",
        library: "library_early",
        floor: "floor_early",
        target: Target::None,
    },
    Timed {
        what: "list: page of 100, late cursor (99%)",
        group: "list_page",
        library: "library_late",
        floor: "floor_late",
        target: Target::None,
    },
    Timed {
        what: "shim: resolve of a known caller, 16 keep-alive clients (time per request; ≤ 2× is ≥ 0.5× the HTTP floor's throughput)",
        group: "server/resolve",
        library: "16_clients/shim",
        floor: "16_clients/floor",
        target: Target::MaxRatio(2.0),
    },
    Timed {
        what: "shim: find with hydration, 16 keep-alive clients (as above)",
        group: "server/find",
        library: "16_clients/shim",
        floor: "16_clients/floor",
        target: Target::MaxRatio(2.0),
    },
    Timed {
        what: "shim: get by id, 16 keep-alive clients (as above)",
        group: "server/get",
        library: "16_clients/shim",
        floor: "16_clients/floor",
        target: Target::MaxRatio(2.0),
    },
    Timed {
        what: "suggest-merges over a generated org (floor: reading its names and identifiers)",
        group: "suggest_merges",
        library: "library",
        floor: "floor",
        target: Target::None,
    },
];

/// The late list page may cost at most this much more than the early one.
const LIST_GROWTH: f64 = 1.2;
/// Import's rate, library over floor, at least.
const IMPORT_RATE_RATIO: f64 = 0.5;
/// Export's rate of an org of plain contacts (name, phone, email), contacts per second,
/// at least.
const EXPORT_RATE: f64 = 150_000.0;
/// Database size per contact, library over floor, at most.
const SIZE_RATIO: f64 = 1.2;
/// Peak memory of the CLI importing everything, KiB, below.
const IMPORT_PEAK_KB: u64 = 150 * 1024;

pub struct Line {
    what: String,
    library: String,
    floor: String,
    /// For rate rows, the ratio of rates; otherwise of times.
    ratio_text: String,
    target: Target,
    met: Option<bool>,
    /// What the library costs over what the floor costs (times; for rates, the
    /// floor's rate over the library's), for the chart.
    cost_ratio: Option<f64>,
}

impl Line {
    /// A row without a floor or a ratio.
    fn alone(what: String, library: String, target: Target, met: Option<bool>) -> Line {
        Line {
            what,
            library,
            floor: "—".into(),
            ratio_text: "—".into(),
            target,
            met,
            cost_ratio: None,
        }
    }
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

pub struct Report {
    pub document: String,
    pub summary: String,
    /// The chart ([`CHART`]), SVG.
    pub chart: String,
}

/// The rows of the criterion comparisons.
fn timed_lines(n: u64, medians: &BTreeMap<String, Median>, lines: &mut Vec<Line>) {
    let get = |id: String| medians.get(&id).copied();
    for t in TIMED {
        let lib = get(format!("{}/{n}/{}", t.group, t.library));
        let flo = get(format!("{}/{n}/{}", t.group, t.floor));
        let ratio = lib.zip(flo).map(|(l, f)| l.ns / f.ns);
        let met = match (t.target, ratio) {
            (Target::MaxRatio(max), Some(r)) => Some(r <= max),
            _ => None,
        };
        lines.push(Line {
            what: t.what.into(),
            library: lib.map_or("not measured".into(), |m| time(m.ns)),
            floor: flo.map_or("not measured".into(), |m| time(m.ns)),
            ratio_text: ratio.map_or("—".into(), |r| format!("{r:.2}×")),
            target: t.target,
            met,
            cost_ratio: ratio,
        });
    }
    // list: the late page against the early one (no growth with position).
    let early = get(format!("list_page/{n}/library_early"));
    let late = get(format!("list_page/{n}/library_late"));
    if let (Some(e), Some(l)) = (early, late) {
        let r = l.ns / e.ns;
        lines.push(Line {
            what: "list: late page / early page (library)".into(),
            library: time(l.ns),
            floor: format!("early: {}", time(e.ns)),
            ratio_text: format!("{r:.2}× (late / early)"),
            target: Target::MaxRatio(LIST_GROWTH),
            met: Some(r <= LIST_GROWTH),
            // Held against the early page, not a floor.
            cost_ratio: None,
        });
    }
}

/// The throughput rows of criterion's import and export benchmarks.
fn rate_lines(n: u64, medians: &BTreeMap<String, Median>, lines: &mut Vec<Line>) {
    let get = |id: String| medians.get(&id).copied();
    let per_s = |count: f64, m: Option<Median>| m.map(|m| count / (m.ns / 1e9));
    let chunk = n.min(IMPORT_CHUNK) as f64;
    let (lib, flo) = (
        per_s(chunk, get(format!("import/{n}/library"))),
        per_s(chunk, get(format!("import/{n}/floor"))),
    );
    let ratio = lib.zip(flo).map(|(l, f)| l / f);
    lines.push(Line {
        what: format!("import, {} contacts into an empty file", thousands(chunk)),
        library: lib.map_or("not measured".into(), rate),
        floor: flo.map_or("not measured".into(), rate),
        ratio_text: ratio.map_or("—".into(), |r| format!("{r:.2}× of the rate")),
        target: Target::MinRateRatio(IMPORT_RATE_RATIO),
        met: ratio.map(|r| r >= IMPORT_RATE_RATIO),
        cost_ratio: ratio.map(|r| 1.0 / r),
    });
    for (label, shape, target) in [
        ("plain", "name, phone, email", Target::MinRate(EXPORT_RATE)),
        (
            "memories",
            "a third with a memory of 20 messages and 5 entities",
            Target::None,
        ),
    ] {
        let lib = per_s(n as f64, get(format!("export/{label}/{n}/library")));
        let flo = per_s(n as f64, get(format!("export/{label}/{n}/floor")));
        let ratio = lib.zip(flo).map(|(l, f)| l / f);
        lines.push(Line {
            what: format!(
                "export of an org of {} contacts ({shape})",
                thousands(n as f64)
            ),
            library: lib.map_or("not measured".into(), rate),
            floor: flo.map_or("not measured".into(), rate),
            ratio_text: ratio.map_or("—".into(), |r| format!("{r:.2}× of the rate")),
            target,
            met: match target {
                Target::MinRate(min) => lib.map(|l| l >= min),
                _ => None,
            },
            cost_ratio: ratio.map(|r| 1.0 / r),
        });
    }
}

/// The rows measured at full size.
fn scale_lines(n: u64, scale: &Scale, lines: &mut Vec<Line>) {
    let all = thousands(n as f64);
    if let Some(cli) = &scale.cli_import {
        let lib = n as f64 / cli.wall.as_secs_f64();
        let flo = n as f64 / scale.floor_insert.as_secs_f64();
        let r = lib / flo;
        lines.push(Line {
            what: format!("import of all {all} contacts by the CLI (one run, whole process)"),
            library: rate(lib),
            floor: rate(flo),
            ratio_text: format!("{r:.2}× of the rate"),
            target: Target::MinRateRatio(IMPORT_RATE_RATIO),
            met: Some(r >= IMPORT_RATE_RATIO),
            cost_ratio: Some(1.0 / r),
        });
    }
    let cli_export = n as f64 / scale.cli_export.wall.as_secs_f64();
    lines.push(Line::alone(
        format!("export of all {all} plain contacts by the CLI (one run after an untimed one, whole process)"),
        rate(cli_export),
        Target::MinRate(EXPORT_RATE),
        Some(cli_export >= EXPORT_RATE),
    ));
    let per = |bytes: u64| bytes as f64 / n as f64;
    let r = per(scale.library_bytes) / per(scale.floor_bytes);
    lines.push(Line {
        what: "database size per contact (name, phone, email)".into(),
        library: format!("{:.0} B", per(scale.library_bytes)),
        floor: format!("{:.0} B", per(scale.floor_bytes)),
        ratio_text: format!("{r:.2}×"),
        target: Target::MaxRatio(SIZE_RATIO),
        met: Some(r <= SIZE_RATIO),
        cost_ratio: Some(r),
    });
    if let Some(peak) = scale.cli_import.as_ref().and_then(|p| p.peak_kb) {
        lines.push(Line::alone(
            format!("peak RSS, CLI importing {all} contacts"),
            mib(peak),
            Target::MaxKb(IMPORT_PEAK_KB),
            Some(peak < IMPORT_PEAK_KB),
        ));
    }
    if let Some(peak) = scale.cli_export.peak_kb {
        lines.push(Line::alone(
            format!("peak RSS, CLI exporting {all} contacts"),
            mib(peak),
            Target::None,
            None,
        ));
    }
    if let Some(held) = &scale.open_store {
        lines.push(Line::alone(
            "peak RSS, process holding an open store (10,000 resolves, 1,000 finds)".into(),
            mib(held.peak_kb),
            Target::None,
            None,
        ));
    }
}

/// The chart file written beside the document.
pub const CHART: &str = "benchmarks.svg";

/// Each row with a floor as a bar: what the library costs over what its floor costs
/// (1× is the floor), on a log scale, with the row's target as a mark when it is a
/// ratio; green met, red missed, grey held to no ratio.
fn chart(lines: &[Line]) -> String {
    let rows: Vec<(&Line, f64, Option<f64>)> = lines
        .iter()
        .filter_map(|l| {
            let ratio = l.cost_ratio?;
            let target = match l.target {
                Target::MaxRatio(m) => Some(m),
                Target::MinRateRatio(m) => Some(1.0 / m),
                _ => None,
            };
            Some((l, ratio, target))
        })
        .collect();
    let (label_w, plot_w, row_h, top) = (560.0, 420.0, 26.0, 40.0);
    // log2 scale from 1/4× to 8×.
    let (lo, hi) = (-2.0f64, 3.0f64);
    let x = |r: f64| label_w + (r.clamp(0.25, 8.0).log2() - lo) / (hi - lo) * plot_w;
    let height = top + row_h * rows.len() as f64 + 30.0;
    let width = label_w + plot_w + 90.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="8" y="20" font-size="14">Library cost / floor cost (log scale; black mark: target; green met, red missed, grey no target)</text>"##
    );
    for tick in [0.25, 0.5, 1.0, 2.0, 4.0, 8.0] {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{tick}×</text>"##,
            x(tick),
            height - 24.0,
            height - 10.0
        );
    }
    for (i, (line, ratio, target)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        // A row held to an absolute target (a rate) has no ratio to miss: grey.
        let colour = match (target, line.met) {
            (Some(_), Some(true)) => "#2e7d32",
            (Some(_), Some(false)) => "#c62828",
            _ => "#9e9e9e",
        };
        let label: String = line.what.chars().take(90).collect();
        let label = label
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('`', "");
        let (from, to) = (x(1.0).min(x(*ratio)), x(1.0).max(x(*ratio)));
        let _ = writeln!(
            svg,
            r##"<text x="{label_w:.0}" dx="-8" y="{:.1}" text-anchor="end">{label}</text><rect x="{from:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}">{ratio:.2}×</text>"##,
            y + 16.0,
            y + 5.0,
            (to - from).max(1.0),
            row_h - 10.0,
            x(*ratio).max(x(1.0)) + 6.0,
            y + 16.0
        );
        if let Some(t) = target {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#000" stroke-width="2"/>"##,
                x(*t),
                y + 2.0,
                y + row_h - 2.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The results as a Markdown table.
fn table(lines: &[Line]) -> String {
    let mut table = String::new();
    table.push_str("| | library | floor | library / floor | target | |\n");
    table.push_str("|---|---:|---:|---:|---|---|\n");
    for l in lines {
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
    table
}

/// The run's details: confidence intervals and the full-size measurements.
fn details(n: u64, medians: &BTreeMap<String, Median>, scale: &Scale) -> String {
    let mut doc = String::new();
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
    let all = thousands(n as f64);
    let _ = writeln!(doc, "\n### At full size (one run each)\n");
    if let Some(cli) = &scale.cli_import {
        let _ = writeln!(
            doc,
            "- CLI `import` of {all} contacts (name, phone, email; release build): {:.1} s \
             wall, peak RSS {} (measured with {}).",
            cli.wall.as_secs_f64(),
            cli.peak_kb.map_or("unknown".into(), mib),
            scale.rss_method
        );
    }
    let _ = writeln!(
        doc,
        "- CLI `export -` of the fixture's plain org of {all} contacts (name, phone, email; documents discarded): \
         {:.1} s wall, peak RSS {}.",
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
    doc
}

/// The report of one run: `BENCHMARKS.md` and the summary quoted in the README.
pub fn render(
    options: &Options,
    cx: &Context,
    n: u64,
    date: &Timestamp,
    medians: &BTreeMap<String, Median>,
    scale: &Scale,
) -> Report {
    let mut lines = Vec::new();
    timed_lines(n, medians, &mut lines);
    rate_lines(n, medians, &mut lines);
    scale_lines(n, scale, &mut lines);
    let table = table(&lines);
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
         Details, machine and method: [BENCHMARKS.md](BENCHMARKS.md).\n\n{table}\n\
         ![Each figure's cost over its floor's, against its target]({CHART})\n"
    );
    let mut doc = String::new();
    let _ = writeln!(doc, "# Benchmarks\n");
    let _ = writeln!(
        doc,
        "Written by `cargo run --release -p bench-report` (see the README). \
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
    let _ = writeln!(
        doc,
        "\n![Each figure's cost over its floor's, against its target]({CHART})"
    );
    doc.push_str(&details(n, medians, scale));
    doc.push_str(METHOD);
    Report {
        document: doc,
        summary,
        chart: chart(&lines),
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
| export | `Org::export` to a sink: the fixture's plain org (N contacts, name, phone, email) and its main org (N contacts, a third with a memory) | the same merge join written by hand (one walk of each table in contact order, JSON columns copied as stored); checked to give the same bytes |
| shim | 16 client threads, each over its own keep-alive connection, POSTing resolve and find of fixture contacts and GETting them by id | the same HTTP stack (hyper HTTP/1.1, axum router, the shim's connection settings) answering each path with a fixed envelope of the shim's average answer size after parsing the same body; the same raw client |
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
pub fn quote_in_readme(readme: &Path, summary: &str) -> Result<(), Failure> {
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
