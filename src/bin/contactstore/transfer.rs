//! `import` and `export`: files or standard streams, and a progress bar on a terminal.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};

use contactstore::{
    ContactStore, Error, ExportSummary, ImportOptions, ImportProgress, ImportSummary,
};
use indicatif::{ProgressBar, ProgressStyle};

use super::Cli;

pub fn import(
    cli: &Cli,
    store: &ContactStore,
    file: &str,
    options: &ImportOptions,
) -> Result<ImportSummary, Error> {
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
    let summary = if cli.all_orgs {
        store.all_orgs().import(&mut input, options, &mut report)
    } else {
        store
            .org(&cli.org)?
            .import(&mut input, options, &mut report)
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary
}

pub fn export(cli: &Cli, store: &ContactStore, file: &str) -> Result<ExportSummary, Error> {
    let mut out: Box<dyn Write> = if file == "-" {
        Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock()))
    } else {
        Box::new(BufWriter::with_capacity(1 << 20, create_private(file)?))
    };
    if cli.all_orgs {
        store.all_orgs().export(&mut out)
    } else {
        store.org(&cli.org)?.export(&mut out)
    }
}

/// Exports hold personal data: the file is created readable by its owner only.
fn create_private(path: &str) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
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
