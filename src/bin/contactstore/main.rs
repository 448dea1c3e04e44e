//! `contactstore`: the command line of the contactstore library.
//!
//! Argument parsing and envelopes only; every operation is a library call.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use contactstore::envelope::Envelope;
use contactstore::{
    ContactStore, Error, ErrorCode, IdentifierQuery, PhoneRegion, ResolveRequest, Settings,
};
use serde::Serialize;
use serde_json::Value;

/// Contact identities and per-agent memory in one SQLite file.
///
/// Every command prints one JSON envelope on stdout: {"data": …, "errors": null} on
/// success, {"data": null, "errors": [{"error": CODE, "message": …}]} on failure.
/// Exit status: 0 success (a find with no match included), 2 bad request or usage,
/// 3 not found, 1 any other failure.
#[derive(Parser, Debug)]
#[command(name = "contactstore", version, max_term_width = 100)]
struct Cli {
    /// Database file (created on first use, readable by its owner only).
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

    /// Work across all orgs (export, import and merge only).
    #[arg(long, global = true, conflicts_with = "org")]
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
    /// Show the contact owning these identifiers (external id > phone > email), with
    /// its identifiers and memories; data is null when none matches.
    Find(IdentifierArgs),
    /// Show a contact by id, with its identifiers and memories. A merged-away id shows
    /// the contact it was merged into.
    Get {
        /// The contact's id.
        contact_id: String,
    },
}

#[derive(Args, Debug)]
struct IdentifierArgs {
    /// Phone number in any usual spelling, e.g. "(415) 555-0192" or +14155550192.
    #[arg(long)]
    phone: Option<String>,
    /// Email address.
    #[arg(long)]
    email: Option<String>,
    /// Id in another system (a CRM), compared exactly.
    #[arg(long)]
    external_id: Option<String>,
}

#[derive(Args, Debug)]
struct ResolveArgs {
    #[command(flatten)]
    identifiers: IdentifierArgs,
    /// Name, used only if the contact has none.
    #[arg(long)]
    name: Option<String>,
    /// Persona whose memory of the contact must exist afterwards.
    #[arg(long)]
    persona_id: Option<String>,
    /// Agent phone number, the memory scope when no persona id is given.
    #[arg(long)]
    agent_number: Option<String>,
    /// Metadata as a JSON object; only keys the contact lacks are added.
    #[arg(long)]
    metadata: Option<String>,
}

impl IdentifierArgs {
    fn query(&self) -> IdentifierQuery {
        IdentifierQuery {
            phone_number: self.phone.clone(),
            email: self.email.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            print_json(&Envelope::<()>::failure(&error));
            exit_code(error.code())
        }
    }
}

/// Runs the command and prints its success envelope.
fn run(cli: &Cli) -> Result<(), Error> {
    let region: PhoneRegion = cli.region.parse()?;
    let settings = Settings::default().region(region);
    match &cli.command {
        Command::Resolve(args) => {
            let metadata = args
                .metadata
                .as_deref()
                .map(|text| {
                    serde_json::from_str::<Value>(text)
                        .map_err(|_| invalid("metadata", "is not valid JSON"))
                })
                .transpose()?;
            let request = ResolveRequest {
                phone_number: args.identifiers.phone.clone(),
                email: args.identifiers.email.clone(),
                external_id: args.identifiers.external_id.clone(),
                name: args.name.clone(),
                persona_id: args.persona_id.clone(),
                agent_number: args.agent_number.clone(),
                metadata,
            };
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(store.org(one_org(cli)?)?.resolve(&request)?)
        }
        Command::Find(args) => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_json(&Envelope::success_optional(
                store.org(one_org(cli)?)?.find(&args.query())?,
            ));
            Ok(())
        }
        Command::Get { contact_id } => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(store.org(one_org(cli)?)?.get(contact_id)?)
        }
    }
}

fn one_org(cli: &Cli) -> Result<&str, Error> {
    if cli.all_orgs {
        return Err(invalid(
            "org_id",
            "--all-orgs applies to export, import and merge; this command runs in one org",
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
