//! `contactstore`: the command line of the contactstore library.
//!
//! Argument parsing and envelopes only; every operation is a library call.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
#[cfg(feature = "serve")]
mod serve;
mod transfer;

use contactstore::envelope::Envelope;
use contactstore::memory::{json_object, message_from_parts};
use contactstore::{
    ContactStore, ContactUpdate, EntityRef, EntityUpdate, Error, ErrorCode, IdentifierQuery,
    IdentifierRef, IdentifierType, ImportOptions, JsonObject, ListOptions, Memory, MemoryScope,
    NewCall, NewSmsConversation, OnConflict, OpenItem, Org, PhoneRegion, ResolveRequest, Settings,
    Timestamp,
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
    /// primary. With --all-orgs the ids may be of any org (different orgs are refused).
    Merge {
        /// The contact that remains.
        primary_id: String,
        /// The contact merged into it and deleted.
        duplicate_id: String,
    },
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
    /// rejected lines are listed with their numbers in the final envelope.
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
}

#[derive(Args, Debug)]
struct UpdateArgs {
    /// The contact's id.
    contact_id: String,
    /// Set the name.
    #[arg(long, conflicts_with = "clear_name")]
    name: Option<String>,
    /// Clear the name.
    #[arg(long)]
    clear_name: bool,
    /// Metadata keys to set, as a JSON object; null removes a key.
    #[arg(long)]
    metadata: Option<String>,
    /// Add a phone number (repeatable).
    #[arg(long)]
    add_phone: Vec<String>,
    /// Add an email (repeatable).
    #[arg(long)]
    add_email: Vec<String>,
    /// Add an external id (repeatable).
    #[arg(long)]
    add_external_id: Vec<String>,
    /// Remove an identifier, as TYPE:VALUE (repeatable), e.g. email:old@example.com.
    #[arg(long, value_name = "TYPE:VALUE")]
    remove: Vec<String>,
    /// Make an identifier the primary of its type, as TYPE:VALUE (repeatable).
    #[arg(long, value_name = "TYPE:VALUE")]
    primary: Vec<String>,
}

#[derive(Args, Debug)]
struct ListArgs {
    /// Page size, 1 to 1000.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// The next_cursor of the previous page.
    #[arg(long)]
    cursor: Option<String>,
    /// Only contacts updated at or after this RFC 3339 instant.
    #[arg(long)]
    updated_since: Option<String>,
    /// Only names starting with this (case-insensitive).
    #[arg(long)]
    name_prefix: Option<String>,
    /// Include each contact's identifiers.
    #[arg(long)]
    with_identifiers: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ConflictPolicy {
    /// Reject the line.
    Reject,
    /// Merge the line into the contact that owns its identifier.
    Merge,
}

#[derive(Args, Debug)]
struct ScopeArgs {
    /// The persona whose memory this is.
    #[arg(long)]
    persona_id: Option<String>,
    /// The agent number whose memory this is (when no persona id is given).
    #[arg(long)]
    agent_number: Option<String>,
}

impl ScopeArgs {
    fn scope(&self) -> MemoryScope {
        MemoryScope {
            persona_id: self.persona_id.clone(),
            agent_number: self.agent_number.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
enum MemoryCommand {
    /// Show the memory (created empty if missing).
    Show {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Replace the summary.
    SetSummary {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// The new summary.
        summary: String,
    },
    /// Set facts from a JSON object; a key set to null is removed.
    PatchFacts {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// A JSON object, e.g. '{"timezone":"America/Los_Angeles"}'.
        facts: String,
    },
    /// Append a message (the newest 50 are kept).
    AddMessage {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// user, assistant or system.
        #[arg(long)]
        role: String,
        /// voice, sms, email or chat.
        #[arg(long)]
        channel: String,
        /// What was said.
        #[arg(long)]
        content: String,
        /// When (RFC 3339); now by default.
        #[arg(long)]
        timestamp: Option<String>,
    },
    /// Add an open item.
    AddOpenItem {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Item type, e.g. follow_up.
        #[arg(long = "type")]
        item_type: String,
        /// What is to be done.
        #[arg(long)]
        description: String,
        /// low, medium, high or urgent.
        #[arg(long, default_value = "medium")]
        priority: String,
        /// The entity it concerns, as TYPE:ID (e.g. order:order-8821).
        #[arg(long)]
        related_to: Option<String>,
        /// When it was opened (RFC 3339); now by default.
        #[arg(long)]
        created_at: Option<String>,
    },
    /// Close the open items with this type and description.
    CloseOpenItem {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Item type.
        #[arg(long = "type")]
        item_type: String,
        /// Its description, exactly.
        #[arg(long)]
        description: String,
    },
    /// Create or update an entity (an order, a booking) of the memory.
    UpsertEntity {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Entity type, e.g. order.
        #[arg(long)]
        entity_type: String,
        /// Entity id, e.g. order-8821.
        #[arg(long)]
        entity_id: String,
        /// Facts to set as a JSON object; null removes a key.
        #[arg(long)]
        facts: Option<String>,
        /// Status, e.g. in_transit.
        #[arg(long)]
        status: Option<String>,
        /// When it was last discussed (RFC 3339).
        #[arg(long)]
        last_discussed_at: Option<String>,
        /// Notes (replacing earlier notes).
        #[arg(long)]
        notes: Option<String>,
    },
}

#[derive(Args, Debug)]
struct ActivityArgs {
    /// The contact's id.
    contact_id: String,
    /// inbound or outbound.
    #[arg(long)]
    direction: String,
    /// The agent's number.
    #[arg(long)]
    agent_number: Option<String>,
    /// The contact's number.
    #[arg(long)]
    contact_number: Option<String>,
    /// When it started (RFC 3339); now by default.
    #[arg(long)]
    started_at: Option<String>,
    /// Status, e.g. completed.
    #[arg(long)]
    status: Option<String>,
    /// Summary.
    #[arg(long)]
    summary: Option<String>,
    /// Metadata as a JSON object.
    #[arg(long)]
    metadata: Option<String>,
}

#[derive(Subcommand, Debug)]
enum CallCommand {
    /// Record a call.
    Record {
        #[command(flatten)]
        call: ActivityArgs,
        /// Duration in seconds.
        #[arg(long)]
        duration: Option<i64>,
    },
    /// List the contact's calls, newest first.
    List {
        /// The contact's id.
        contact_id: String,
    },
}

#[derive(Subcommand, Debug)]
enum SmsCommand {
    /// Record an SMS conversation.
    Record {
        #[command(flatten)]
        sms: ActivityArgs,
        /// Number of messages.
        #[arg(long, default_value_t = 0)]
        message_count: i64,
    },
    /// List the contact's SMS conversations, newest first.
    List {
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
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
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
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(cli, args, region),
        Command::Merge {
            primary_id,
            duplicate_id,
        } => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            if cli.all_orgs {
                print_success(store.all_orgs().merge(primary_id, duplicate_id)?)
            } else {
                print_success(store.org(&cli.org)?.merge(primary_id, duplicate_id)?)
            }
        }
        Command::Update(args) => {
            let changes = update_from(args)?;
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(
                store
                    .org(one_org(cli)?)?
                    .update(&args.contact_id, &changes)?,
            )
        }
        Command::List(args) => {
            let options = ListOptions {
                limit: Some(args.limit),
                cursor: args.cursor.clone(),
                updated_since: optional_timestamp(args.updated_since.as_deref(), "updated_since")?,
                name_prefix: args.name_prefix.clone(),
                with_identifiers: args.with_identifiers,
            };
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(store.org(one_org(cli)?)?.list(&options)?)
        }
        Command::Erase { contact_id } => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(store.org(one_org(cli)?)?.erase(contact_id)?)
        }
        Command::Memory(command) => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(memory(&store.org(one_org(cli)?)?, command)?)
        }
        Command::Call(CallCommand::Record { call, duration }) => {
            let new = NewCall {
                direction: call.direction.parse()?,
                agent_number: call.agent_number.clone(),
                contact_number: call.contact_number.clone(),
                started_at: optional_timestamp(call.started_at.as_deref(), "started_at")?,
                duration_seconds: *duration,
                status: call.status.clone(),
                summary: call.summary.clone(),
                metadata: optional_object(call.metadata.as_deref(), "metadata")?,
            };
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(
                store
                    .org(one_org(cli)?)?
                    .record_call(&call.contact_id, &new)?,
            )
        }
        Command::Call(CallCommand::List { contact_id }) => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(store.org(one_org(cli)?)?.calls(contact_id)?)
        }
        Command::Sms(SmsCommand::Record { sms, message_count }) => {
            let new = NewSmsConversation {
                direction: sms.direction.parse()?,
                agent_number: sms.agent_number.clone(),
                contact_number: sms.contact_number.clone(),
                started_at: optional_timestamp(sms.started_at.as_deref(), "started_at")?,
                message_count: *message_count,
                status: sms.status.clone(),
                summary: sms.summary.clone(),
                metadata: optional_object(sms.metadata.as_deref(), "metadata")?,
            };
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(
                store
                    .org(one_org(cli)?)?
                    .record_sms(&sms.contact_id, &new)?,
            )
        }
        Command::Sms(SmsCommand::List { contact_id }) => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            print_success(store.org(one_org(cli)?)?.sms_conversations(contact_id)?)
        }
        Command::Import { file, on_conflict } => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            let options = ImportOptions::default().on_conflict(match on_conflict {
                ConflictPolicy::Reject => OnConflict::Reject,
                ConflictPolicy::Merge => OnConflict::Merge,
            });
            print_success(transfer::import(cli, &store, file, &options)?)
        }
        Command::Export { file } => {
            let store = ContactStore::open_with(&cli.db, settings)?;
            let summary = transfer::export(cli, &store, file)?;
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
    }
}

fn memory(org: &Org<'_>, command: &MemoryCommand) -> Result<Memory, Error> {
    match command {
        MemoryCommand::Show { contact_id, scope } => org.ensure_memory(contact_id, &scope.scope()),
        MemoryCommand::SetSummary {
            contact_id,
            scope,
            summary,
        } => org.set_summary(contact_id, &scope.scope(), summary),
        MemoryCommand::PatchFacts {
            contact_id,
            scope,
            facts,
        } => org.patch_facts(contact_id, &scope.scope(), &json_object(facts, "facts")?),
        MemoryCommand::AddMessage {
            contact_id,
            scope,
            role,
            channel,
            content,
            timestamp,
        } => {
            let message = message_from_parts(role, content, channel, timestamp.as_deref())?;
            org.add_messages(contact_id, &scope.scope(), &[message])
        }
        MemoryCommand::AddOpenItem {
            contact_id,
            scope,
            item_type,
            description,
            priority,
            related_to,
            created_at,
        } => {
            let related_to = related_to
                .as_deref()
                .map(|r| {
                    r.split_once(':')
                        .map(|(t, i)| EntityRef {
                            entity_type: t.to_owned(),
                            entity_id: i.to_owned(),
                        })
                        .ok_or(invalid("related_to", "must be TYPE:ID"))
                })
                .transpose()?;
            let item = OpenItem {
                item_type: item_type.clone(),
                description: description.clone(),
                created_at: optional_timestamp(created_at.as_deref(), "created_at")?
                    .unwrap_or_else(Timestamp::now),
                priority: priority.parse()?,
                related_to,
            };
            org.add_open_item(contact_id, &scope.scope(), &item)
        }
        MemoryCommand::CloseOpenItem {
            contact_id,
            scope,
            item_type,
            description,
        } => org.close_open_items(contact_id, &scope.scope(), item_type, description),
        MemoryCommand::UpsertEntity {
            contact_id,
            scope,
            entity_type,
            entity_id,
            facts,
            status,
            last_discussed_at,
            notes,
        } => {
            let update = EntityUpdate {
                entity_type: entity_type.clone(),
                entity_id: entity_id.clone(),
                facts: optional_object(facts.as_deref(), "facts")?,
                status: status.clone(),
                last_discussed_at: optional_timestamp(
                    last_discussed_at.as_deref(),
                    "last_discussed_at",
                )?,
                notes: notes.clone(),
            };
            org.upsert_entity(contact_id, &scope.scope(), &update)
        }
    }
}

fn update_from(args: &UpdateArgs) -> Result<ContactUpdate, Error> {
    let mut changes = ContactUpdate {
        metadata: optional_object(args.metadata.as_deref(), "metadata")?,
        ..ContactUpdate::default()
    };
    if let Some(name) = &args.name {
        changes = changes.name(name.clone());
    }
    if args.clear_name {
        changes = changes.clear_name();
    }
    for (kind, values) in [
        (IdentifierType::PhoneNumber, &args.add_phone),
        (IdentifierType::Email, &args.add_email),
        (IdentifierType::ExternalId, &args.add_external_id),
    ] {
        for value in values {
            changes = changes.add(kind, value.clone());
        }
    }
    for r in &args.remove {
        changes.remove.push(IdentifierRef::parse(r)?);
    }
    for r in &args.primary {
        changes.primary.push(IdentifierRef::parse(r)?);
    }
    Ok(changes)
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
