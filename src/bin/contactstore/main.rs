//! `contactstore`: the command line of the contactstore library.
//!
//! Argument parsing and envelopes only; every operation is a library call.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
mod activity;
mod caller;
mod contact;
mod history;
mod memory;
mod operate;
#[cfg(feature = "serve")]
mod serve;
mod transfer;

use activity::{CallCommand, SmsCommand};
use caller::{ResolveCallerArgs, SuggestArgs};
use contact::{IdentifierArgs, ListArgs, ResolveArgs, UpdateArgs};
use memory::MemoryCommand;

use contactstore::envelope::Envelope;
use contactstore::{
    classify_caller, ContactStore, Error, ErrorCode, ImportOptions, JsonObject, OnConflict,
    PhoneRegion, Settings, Timestamp,
};
use serde::Serialize;
use serde_json::Value;

/// Contact identities and per-agent memory in one SQLite file.
///
/// Every command prints one JSON envelope on stdout: {"data": …, "errors": null} on
/// success, {"data": null, "errors": [{"error": CODE, "message": …}]} on failure.
/// Exit status: 0 success (a find with no match included), 2 bad request or usage,
/// 3 not found, 1 any other failure. import exits 2 when some lines were rejected
/// (the others landed), check 1 when the store is not healthy.
#[derive(Parser, Debug)]
#[command(name = "contactstore", version, max_term_width = 100)]
struct Cli {
    /// Database file (created on first use, readable by its owner only), or a
    /// PostgreSQL URL (`postgres://user@host:port/db`; a build with the `postgres`
    /// feature) shared by every host.
    #[arg(
        long,
        global = true,
        env = "CONTACTSTORE_DB",
        default_value = "contacts.db"
    )]
    db: PathBuf,

    /// The org every operation runs in.
    #[arg(
        long,
        global = true,
        env = "CONTACTSTORE_ORG",
        default_value = "default"
    )]
    org: String,

    /// Work across all orgs (export, import, merge and changes only).
    #[arg(long, global = true)]
    all_orgs: bool,

    /// Region for phone numbers written without a country code (ISO 3166, e.g. US, GB).
    #[arg(long, global = true, env = "CONTACTSTORE_REGION", default_value = "US")]
    region: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find the contact owning these identifiers, or create it. Never overwrites:
    /// unknown identifiers are attached, an empty name is filled, missing metadata
    /// keys are added.
    Resolve(ResolveArgs),
    /// Say what a caller id is, without opening the database: a number (with its
    /// E.164 form), withheld, a short code, an alphanumeric sender id, or invalid.
    /// Always exit 0.
    ClassifyCaller {
        /// The caller id as delivered (a number, a SIP or tel URI, "anonymous", …).
        #[arg(allow_hyphen_values = true)]
        raw: String,
    },
    /// Resolve a caller id as telephony delivers it: a number is resolved (found or
    /// created, as resolve does); a withheld id, short code or sender id is answered
    /// with its kind and no contact, writing nothing; anything else is a bad request.
    ResolveCaller(ResolveCallerArgs),
    /// List pairs of contacts that are probably one person, highest score first, each
    /// with the evidence found. Never writes; merge what you agree with.
    SuggestMerges(SuggestArgs),
    /// Show the contact owning these identifiers (external id > phone > email), with
    /// its identifiers and memories; data is null when none matches.
    Find(IdentifierArgs),
    /// Show a contact by id, with its identifiers and memories. A merged-away id shows
    /// the contact it was merged into.
    Get {
        /// The contact's id.
        contact_id: String,
    },
    // Its help text is the doc comment of `ServeArgs` (serve.rs).
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Merge DUPLICATE_ID into PRIMARY_ID: identifiers, metadata, name, calls, SMS and
    /// memory move to the primary; the duplicate is deleted and its id redirects to the
    /// primary. Prints the merged contact with its identifiers and memories, and what
    /// moved. --dry-run prints the same and writes nothing. With --all-orgs the ids may
    /// be of any org (different orgs are refused). `unmerge` undoes it.
    Merge(history::MergeArgs),
    /// Undo the merge that took MERGED_ID away: the contact comes back with what was
    /// its own (exactly as it was, if nothing was written since the merge); the
    /// survivor keeps the rest, and everything written since. Prints both contacts.
    Unmerge {
        /// The id of the contact that was merged away.
        merged_id: String,
    },
    /// Page through the change log, oldest first: one event per write (contact
    /// created or updated, memory written, call or SMS recorded, merge, unmerge,
    /// import, erase). Resume with --since set to the previous page's "next".
    Changes(history::ChangesArgs),
    /// Correct a contact: name, metadata (null removes a key), identifiers. Resolve
    /// never overwrites; this does.
    Update(UpdateArgs),
    /// List the org's contacts page by page (by creation), without memories.
    List(ListArgs),
    /// Erase a contact and everything that names it (identifiers, memories, calls,
    /// SMS, merge redirects and journal rows), zeroing it in the file and truncating
    /// the WAL. A merged-away id erases the contact it was merged into.
    #[command(visible_alias = "delete")]
    Erase {
        /// The contact's id.
        contact_id: String,
    },
    /// Read and write a contact's memory (one per persona, or per agent number).
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// Record and list a contact's calls.
    #[command(subcommand)]
    Call(CallCommand),
    /// Record and list a contact's SMS conversations.
    #[command(subcommand)]
    Sms(SmsCommand),
    /// Import contact documents (JSON Lines) from FILE or stdin. Each line is atomic;
    /// rejected lines are listed with their numbers in the final envelope, and lines
    /// the store already holds count as unchanged (so a file can be imported again
    /// after a crash). Exit status 2 when some lines were rejected, 1 when a failure
    /// stopped the import (the envelope gives the last committed line).
    Import {
        /// Input file, or - for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// What to do with a line whose identifier belongs to an existing contact.
        #[arg(long, value_enum, default_value_t = ConflictPolicy::Reject)]
        on_conflict: ConflictPolicy,
    },
    /// Export contact documents (JSON Lines) to FILE or stdout. With -, stdout holds
    /// only the documents and the summary envelope goes to stderr.
    Export {
        /// Output file (created readable by its owner only), or - for stdout.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Write a consistent copy of the database to DEST while other processes keep
    /// writing (SQLite's VACUUM INTO). DEST is created readable by its owner only; an
    /// existing file is refused unless --overwrite is given. The copy is a store like
    /// any other.
    Backup {
        /// The new file.
        destination: PathBuf,
        /// Replace DEST if it exists (atomically: the copy is renamed over it when
        /// complete).
        #[arg(long)]
        overwrite: bool,
    },
    /// Check the database without writing to it: SQLite's integrity_check and
    /// foreign_key_check, and the store's invariants. Prints a report; exit status 0
    /// when healthy, 1 when not. Migration findings are listed as warnings.
    Check,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ConflictPolicy {
    /// Reject the line.
    Reject,
    /// Merge the line into the contact that owns its identifier.
    Merge,
}

/// The library's warnings (target `contactstore`: the counts of a schema upgrade) on
/// stderr; nothing from other crates, which may not keep personal data out.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn && metadata.target().starts_with("contactstore")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("contactstore: {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOG: StderrLog = StderrLog;

fn main() -> ExitCode {
    if log::set_logger(&LOG).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(&cli) {
        Ok(code) => code,
        Err(error) => {
            let envelope = Envelope::<()>::failure(&error);
            if matches!(&cli.command, Command::Export { file } if file == "-") {
                // stdout carries documents only, even when the export fails midway.
                eprintln!("{}", serde_json::to_string(&envelope).unwrap_or_default());
            } else {
                print_json(&envelope);
            }
            exit_code(error.code())
        }
    }
}

/// Runs the command and prints its success envelope (import and check print their own
/// and choose their exit status). Arguments become a library request before the store
/// is opened, so a bad argument creates no file.
fn run(cli: &Cli) -> Result<ExitCode, Error> {
    let region: PhoneRegion = cli.region.parse()?;
    let settings = Settings::default().region(region);
    let store = || ContactStore::open_with(&cli.db, settings.clone());
    let () = match &cli.command {
        Command::Resolve(args) => {
            let request = args.request()?;
            print_success(store()?.org(one_org(cli)?)?.resolve(&request)?)
        }
        Command::ClassifyCaller { raw } => print_success(classify_caller(raw, region)),
        Command::ResolveCaller(args) => {
            let request = args.request()?;
            print_success(store()?.org(one_org(cli)?)?.resolve_caller(&request)?)
        }
        Command::SuggestMerges(args) => {
            let options = args.options();
            print_success(store()?.org(one_org(cli)?)?.suggest_merges(&options)?)
        }
        Command::Find(args) => {
            let found = store()?.org(one_org(cli)?)?.find(&args.query())?;
            print_json(&Envelope::success_optional(found));
            Ok(())
        }
        Command::Get { contact_id } => print_success(store()?.org(one_org(cli)?)?.get(contact_id)?),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(cli, args, region),
        Command::Merge(args) => history::merge(cli, &store()?, args),
        Command::Unmerge { merged_id } => history::unmerge(cli, &store()?, merged_id),
        Command::Changes(args) => history::changes(cli, &store()?, args),
        Command::Update(args) => {
            let changes = args.changes()?;
            print_success(
                store()?
                    .org(one_org(cli)?)?
                    .update(&args.contact_id, &changes)?,
            )
        }
        Command::List(args) => {
            let options = args.options()?;
            print_success(store()?.org(one_org(cli)?)?.list(&options)?)
        }
        Command::Erase { contact_id } => {
            print_success(store()?.org(one_org(cli)?)?.erase(contact_id)?)
        }
        Command::Memory(command) => memory::run(&store()?.org(one_org(cli)?)?, command),
        Command::Call(command) => activity::call(&store()?.org(one_org(cli)?)?, command),
        Command::Sms(command) => activity::sms(&store()?.org(one_org(cli)?)?, command),
        Command::Import { file, on_conflict } => {
            let options = ImportOptions::default().on_conflict(match on_conflict {
                ConflictPolicy::Reject => OnConflict::Reject,
                ConflictPolicy::Merge => OnConflict::Merge,
            });
            return transfer::import(cli, &store()?, file, &options);
        }
        Command::Backup {
            destination,
            overwrite,
        } => operate::backup(cli, store, destination, *overwrite),
        Command::Check => return operate::check(cli),
        Command::Export { file } => {
            let summary = transfer::export(cli, &store()?, file)?;
            if file == "-" {
                // stdout carries only the documents.
                eprintln!(
                    "{}",
                    serde_json::to_string(&Envelope::success(summary)).unwrap_or_default()
                );
                Ok(())
            } else {
                print_success(summary)
            }
        }
    }?;
    Ok(ExitCode::SUCCESS)
}

/// Parses a JSON object argument (facts, metadata) with a field-naming error.
fn json_object(text: &str, field: &'static str) -> Result<JsonObject, Error> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(field, "must be a JSON object")),
        Err(_) => Err(invalid(field, "is not valid JSON")),
    }
}

fn optional_object(text: Option<&str>, field: &'static str) -> Result<JsonObject, Error> {
    text.map_or(Ok(JsonObject::new()), |t| json_object(t, field))
}

fn optional_timestamp(text: Option<&str>, field: &'static str) -> Result<Option<Timestamp>, Error> {
    text.map(|t| Timestamp::parse(t).map_err(|_| invalid(field, "is not an RFC 3339 timestamp")))
        .transpose()
}

fn one_org(cli: &Cli) -> Result<&str, Error> {
    if cli.all_orgs {
        return Err(invalid(
            "org_id",
            "--all-orgs applies to export, import, merge and changes; this command runs in one org",
        ));
    }
    Ok(&cli.org)
}

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidField { field, reason }
}

fn print_success<T: Serialize>(data: T) -> Result<(), Error> {
    print_json(&Envelope::success(data));
    Ok(())
}

fn exit_code(code: ErrorCode) -> ExitCode {
    match code {
        ErrorCode::BadRequest => ExitCode::from(2),
        ErrorCode::NotFound => ExitCode::from(3),
        _ => ExitCode::from(1),
    }
}

/// Parses the command line. `--org` and `--all-orgs` exclude each other only when both
/// are given on the command line: `$CONTACTSTORE_ORG` must not break `--all-orgs`.
fn parse() -> Result<Cli, clap::Error> {
    use clap::parser::ValueSource;
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let cli = Cli::from_arg_matches(&matches)?;
    if cli.all_orgs && matches.value_source("org") == Some(ValueSource::CommandLine) {
        return Err(command.error(
            clap::error::ErrorKind::ArgumentConflict,
            "--org and --all-orgs cannot be used together",
        ));
    }
    Ok(cli)
}

/// Help and version print as usual; any other usage error prints clap's explanation on
/// stderr and a BAD_REQUEST envelope on stdout, so scripts always get JSON.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let _ = e.print();
    print_json(&Envelope::<()>::failure_with(
        ErrorCode::BadRequest,
        "Invalid command line: see contactstore --help",
    ));
    ExitCode::from(2)
}

fn print_json<T: Serialize>(value: &T) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let text = if stdout.is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    if let Ok(text) = text {
        let _ = writeln!(out, "{text}");
    }
}
