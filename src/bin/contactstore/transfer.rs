//! `import` and `export`: files or standard streams, and a progress bar on a terminal.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use contactstore::envelope::{Envelope, ErrorBody};
use contactstore::{
    ContactStore, Error, ErrorCode, ExportSummary, ImportError, ImportOptions, ImportProgress,
    ImportSummary,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{exit_code, print_json, Cli};

/// The data of an import that a failure stopped: the summary of the committed lines and
/// the last of them.
#[derive(Serialize)]
struct Stopped<'a> {
    last_committed_line: u64,
    #[serde(flatten)]
    summary: &'a ImportSummary,
}

/// Runs the import and prints its envelope. Exit status: 0 when every line landed or
/// was unchanged; 2 when some were rejected (the others landed; `data.errors` lists
/// them); 1 (the failure's code) when a failure stopped the import, with the summary of
/// what was committed. Errors before the import starts (an input file that does not
/// open) are returned.
pub fn import(
    cli: &Cli,
    store: &ContactStore,
    file: &str,
    options: &ImportOptions,
) -> Result<ExitCode, Error> {
    let outcome = run_import(cli, store, file, options)?;
    let error = |code: ErrorCode, message: String| {
        Some(vec![ErrorBody {
            error: code.as_str().to_owned(),
            message,
        }])
    };
    Ok(match outcome {
        Ok(summary) if summary.rejected == 0 => {
            print_json(&Envelope::success(summary));
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            let message = format!(
                "{} line(s) were rejected (see data.errors); the others landed",
                summary.rejected
            );
            print_json(&Envelope {
                errors: error(ErrorCode::BadRequest, message),
                data: Some(summary),
            });
            ExitCode::from(2)
        }
        Err(ImportError { summary, error: e }) => {
            print_json(&Envelope {
                errors: error(e.code(), e.to_string()),
                data: Some(Stopped {
                    last_committed_line: summary.lines,
                    summary: &summary,
                }),
            });
            exit_code(e.code())
        }
    })
}

fn run_import(
    cli: &Cli,
    store: &ContactStore,
    file: &str,
    options: &ImportOptions,
) -> Result<Result<ImportSummary, ImportError>, Error> {
    let (mut input, total): (Box<dyn io::BufRead + Send>, Option<u64>) = if file == "-" {
        (
            Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
            None,
        )
    } else {
        let f = File::open(file)?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 20, f)), len)
    };
    let bar = progress_bar(total);
    let mut report = |p: ImportProgress| {
        if let Some(bar) = &bar {
            bar.set_position(p.bytes);
            bar.set_message(format!("{} lines", p.lines));
        }
    };
    let outcome = if cli.all_orgs {
        store.all_orgs().import(&mut input, options, &mut report)
    } else {
        store
            .org(&cli.org)?
            .import(&mut input, options, &mut report)
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(outcome)
}

pub fn export(cli: &Cli, store: &ContactStore, file: &str) -> Result<ExportSummary, Error> {
    let write = |out: &mut dyn Write| {
        if cli.all_orgs {
            store.all_orgs().export(out)
        } else {
            store.org(&cli.org)?.export(out)
        }
    };
    if file == "-" {
        return write(&mut BufWriter::with_capacity(1 << 20, io::stdout().lock()));
    }
    // Exports hold personal data. They are written to a new file readable by the owner
    // only, beside the target, and renamed over it only once complete: a failed export
    // leaves no truncated file, and an existing file's looser permissions do not apply.
    let target = Path::new(file);
    let temp = target.with_file_name(format!(
        ".{}.{}.partial",
        target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("export"),
        std::process::id()
    ));
    let result = create_private(&temp)
        .map_err(Error::from)
        .and_then(|f| {
            let mut out = BufWriter::with_capacity(1 << 20, f);
            let summary = write(&mut out)?;
            let file = out.into_inner().map_err(|e| Error::from(e.into_error()))?;
            file.sync_all()?;
            Ok(summary)
        })
        .and_then(|summary| {
            std::fs::rename(&temp, target)
                .map(|()| summary)
                .map_err(Error::from)
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A new file readable and writable by its owner only (never an existing one).
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A progress bar on stderr, only when stderr is a terminal.
fn progress_bar(total_bytes: Option<u64>) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = match total_bytes {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    Some(bar)
}
