//! The operations: for each name, the request type its JSON arguments become and the
//! library call. Nothing is decided here; what a call means is the library's.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use contactstore::{
    CallerRequest, Channel, ContactPatch, ContactStore, ContactUpdate, EntityRef, EntityUpdate,
    IdentifierQuery, ImportOptions, JsonObject, ListOptions, MemoryScope, Message, NewCall,
    NewSmsConversation, OnConflict, OpenItem, Org, Priority, ResolveRequest, Role, SuggestOptions,
    Timestamp,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::failure::Failure;
use crate::pyio::{Source, Target};

type Answer = Result<String, Failure>;

fn parse<T: DeserializeOwned>(args: &str) -> Result<T, Failure> {
    let mut de = serde_json::Deserializer::from_str(args);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let failure = Failure::from_serde(e);
        match &failure {
            Failure::Argument { field, .. } if field == "arguments" => {
                culprit::<T>(args).unwrap_or(failure)
            }
            _ => failure,
        }
    })
}

/// The argument serde refused, for the library's request types with flattened fields
/// (`ResolveRequest`: serde loses the path through `#[serde(flatten)]`), whose fields
/// are all optional: each argument is tried alone, and the one refused is named. Only
/// on the error path.
fn culprit<T: DeserializeOwned>(args: &str) -> Option<Failure> {
    let serde_json::Value::Object(object) = serde_json::from_str(args).ok()? else {
        return None;
    };
    object.into_iter().find_map(|(key, value)| {
        if value.is_null() {
            return None;
        }
        let alone = serde_json::Value::Object([(key.clone(), value)].into_iter().collect());
        let text = alone.to_string();
        let mut de = serde_json::Deserializer::from_str(&text);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) if !e.inner().to_string().starts_with("missing field") => {
                match Failure::from_serde(e) {
                    Failure::Argument { field, reason } if field == "arguments" => {
                        Some(Failure::Argument { field: key, reason })
                    }
                    other => Some(other),
                }
            }
            _ => None,
        }
    })
}

fn answer<T: Serialize>(value: &T) -> Answer {
    // The library's types always serialize (string keys, finite numbers).
    Ok(serde_json::to_string(value).expect("results serialize to JSON"))
}

#[derive(Deserialize)]
struct ContactId {
    contact_id: String,
}

#[derive(Deserialize)]
struct MemoryId {
    memory_id: String,
}

#[derive(Deserialize)]
struct Pair {
    primary_id: String,
    duplicate_id: String,
}

#[derive(Deserialize)]
struct MergedId {
    merged_id: String,
}

// What a call takes besides the ids is nested under `body`, never flattened: serde
// keeps the path of a refused value (`body.messages[0].role`) only without flatten.

#[derive(Deserialize)]
struct Update {
    contact_id: String,
    body: ContactUpdate,
}

#[derive(Deserialize)]
struct Patch {
    contact_id: String,
    body: ContactPatch,
}

#[derive(Deserialize)]
struct Offset {
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
    #[serde(default)]
    limit: Option<usize>,
}

/// A contact's memory of one scope, and what to do with it.
#[derive(Deserialize)]
struct Scoped<T> {
    contact_id: String,
    #[serde(default)]
    persona_id: Option<String>,
    #[serde(default)]
    agent_number: Option<String>,
    body: T,
}

impl<T> Scoped<T> {
    fn scope(&self) -> MemoryScope {
        MemoryScope {
            persona_id: self.persona_id.clone(),
            agent_number: self.agent_number.clone(),
        }
    }
}

#[derive(Deserialize)]
struct Nothing {}

#[derive(Deserialize)]
struct Summary {
    summary: String,
}

#[derive(Deserialize)]
struct Facts {
    facts: JsonObject,
}

#[derive(Deserialize)]
struct Messages {
    messages: Vec<NewMessage>,
}

/// A message to append: `timestamp` is now when absent (as the shim's extension).
#[derive(Deserialize)]
struct NewMessage {
    role: Role,
    content: String,
    channel: Channel,
    #[serde(default)]
    timestamp: Option<Timestamp>,
}

impl NewMessage {
    fn message(self) -> Message {
        Message {
            role: self.role,
            content: self.content,
            channel: self.channel,
            timestamp: self.timestamp.unwrap_or_else(Timestamp::now),
        }
    }
}

fn messages(messages: Vec<NewMessage>) -> Vec<Message> {
    messages.into_iter().map(NewMessage::message).collect()
}

/// An open item to add: `created_at` is now and `priority` medium when absent (as the
/// CLI's `memory add-open-item`).
#[derive(Deserialize)]
struct NewOpenItem {
    #[serde(rename = "type")]
    item_type: String,
    description: String,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    related_to: Option<EntityRef>,
}

impl NewOpenItem {
    fn item(self) -> OpenItem {
        OpenItem {
            item_type: self.item_type,
            description: self.description,
            created_at: self.created_at.unwrap_or_else(Timestamp::now),
            priority: self.priority.unwrap_or(Priority::Medium),
            related_to: self.related_to,
        }
    }
}

#[derive(Deserialize)]
struct Close {
    #[serde(rename = "type")]
    item_type: String,
    description: String,
}

#[derive(Deserialize)]
struct Activity<T> {
    contact_id: String,
    body: T,
}

#[derive(Deserialize)]
struct ById<T> {
    memory_id: String,
    body: T,
}

/// Runs `op` with its JSON arguments. `org_id` is `None` for the store-wide calls.
pub(crate) fn run(store: &ContactStore, org_id: Option<&str>, op: &str, args: &str) -> Answer {
    let Some(org_id) = org_id else {
        return run_store(store, op, args);
    };
    let org = store.org(org_id)?;
    run_org(&org, op, args)
}

fn run_store(store: &ContactStore, op: &str, args: &str) -> Answer {
    #[derive(Deserialize)]
    struct Destination {
        destination: String,
        #[serde(default)]
        overwrite: bool,
    }
    #[derive(Deserialize)]
    struct OrgId {
        org_id: String,
    }
    match op {
        "org" => {
            store.org(&parse::<OrgId>(args)?.org_id)?;
            Ok("null".to_owned())
        }
        "check" => answer(&store.check()?),
        "backup" => {
            let a: Destination = parse(args)?;
            if a.overwrite {
                answer(&store.backup_replacing(&a.destination)?)
            } else {
                answer(&store.backup_to(&a.destination)?)
            }
        }
        "all_orgs.changes" => {
            let a: Since = parse(args)?;
            answer(&store.all_orgs().changes(a.since, a.limit)?)
        }
        "all_orgs.merge" => {
            let a: Pair = parse(args)?;
            answer(&store.all_orgs().merge(&a.primary_id, &a.duplicate_id)?)
        }
        _ => Err(Failure::invalid("operation", "is not a store operation")),
    }
}

fn run_org(org: &Org<'_>, op: &str, args: &str) -> Answer {
    match op {
        // Contacts.
        "resolve" => answer(&org.resolve(&parse::<ResolveRequest>(args)?)?),
        "find" => answer(&org.find(&parse::<IdentifierQuery>(args)?)?),
        "get" => answer(&org.get(&parse::<ContactId>(args)?.contact_id)?),
        "update" => {
            let a: Update = parse(args)?;
            answer(&org.update(&a.contact_id, &a.body)?)
        }
        "patch" => {
            let a: Patch = parse(args)?;
            answer(&org.patch_contact(&a.contact_id, &a.body)?)
        }
        "list" => answer(&org.list(&parse::<ListOptions>(args)?)?),
        "contacts_at_offset" => {
            let a: Offset = parse(args)?;
            answer(&org.contacts_at_offset(a.offset, a.limit)?)
        }
        "merge" => {
            let a: Pair = parse(args)?;
            answer(&org.merge(&a.primary_id, &a.duplicate_id)?)
        }
        "erase" => answer(&org.erase(&parse::<ContactId>(args)?.contact_id)?),
        // Callers and duplicates.
        "resolve_caller" => answer(&org.resolve_caller(&parse::<CallerRequest>(args)?)?),
        "suggest_merges" => answer(&org.suggest_merges(&parse::<SuggestOptions>(args)?)?),
        // History.
        "merge_preview" => {
            let a: Pair = parse(args)?;
            answer(&org.merge_preview(&a.primary_id, &a.duplicate_id)?)
        }
        "unmerge" => answer(&org.unmerge(&parse::<MergedId>(args)?.merged_id)?),
        "changes" => {
            let a: Since = parse(args)?;
            answer(&org.changes(a.since, a.limit)?)
        }
        // Memory, by contact and scope.
        "ensure_memory" => {
            let a: Scoped<Nothing> = parse(args)?;
            answer(&org.ensure_memory(&a.contact_id, &a.scope())?)
        }
        "open_memory" => {
            let a: Scoped<Nothing> = parse(args)?;
            answer(&org.open_memory(&a.contact_id, &a.scope())?)
        }
        "memory_context" => {
            let a: Scoped<Nothing> = parse(args)?;
            answer(&org.memory_context(&a.contact_id, &a.scope())?)
        }
        "reset_memory" => {
            let a: Scoped<Nothing> = parse(args)?;
            org.reset_memory(&a.contact_id, &a.scope())?;
            answer(&json!({ "success": true }))
        }
        "set_summary" => {
            let a: Scoped<Summary> = parse(args)?;
            answer(&org.set_summary(&a.contact_id, &a.scope(), &a.body.summary)?)
        }
        "patch_facts" => {
            let a: Scoped<Facts> = parse(args)?;
            answer(&org.patch_facts(&a.contact_id, &a.scope(), &a.body.facts)?)
        }
        "add_messages" => {
            let a: Scoped<Messages> = parse(args)?;
            let scope = a.scope();
            answer(&org.add_messages(&a.contact_id, &scope, &messages(a.body.messages))?)
        }
        "add_open_item" => {
            let a: Scoped<NewOpenItem> = parse(args)?;
            let scope = a.scope();
            answer(&org.add_open_item(&a.contact_id, &scope, &a.body.item())?)
        }
        "close_open_items" => {
            let a: Scoped<Close> = parse(args)?;
            let (t, d) = (&a.body.item_type, &a.body.description);
            answer(&org.close_open_items(&a.contact_id, &a.scope(), t, d)?)
        }
        "upsert_entity" => {
            let a: Scoped<EntityUpdate> = parse(args)?;
            answer(&org.upsert_entity(&a.contact_id, &a.scope(), &a.body)?)
        }
        // Memory, by id (the hosted API's memory calls).
        "memory" => answer(&org.memory(&parse::<MemoryId>(args)?.memory_id)?),
        "recent_messages" => answer(&org.recent_messages(&parse::<MemoryId>(args)?.memory_id)?),
        "merge_facts" => {
            let a: ById<Facts> = parse(args)?;
            answer(&org.merge_facts(&a.memory_id, &a.body.facts)?)
        }
        "replace_summary" => {
            let a: ById<Summary> = parse(args)?;
            answer(&org.replace_summary(&a.memory_id, &a.body.summary)?)
        }
        "add_messages_by_id" => {
            let a: ById<Messages> = parse(args)?;
            answer(&org.add_messages_by_id(&a.memory_id, &messages(a.body.messages))?)
        }
        "add_open_item_by_id" => {
            let a: ById<NewOpenItem> = parse(args)?;
            answer(&org.add_open_item_by_id(&a.memory_id, &a.body.item())?)
        }
        "close_open_items_by_id" => {
            let a: ById<Close> = parse(args)?;
            let (t, d) = (&a.body.item_type, &a.body.description);
            answer(&org.close_open_items_by_id(&a.memory_id, t, d)?)
        }
        "upsert_entity_by_id" => {
            let a: ById<EntityUpdate> = parse(args)?;
            answer(&org.upsert_entity_by_id(&a.memory_id, &a.body)?)
        }
        // Calls and SMS.
        "record_call" => {
            let a: Activity<NewCall> = parse(args)?;
            answer(&org.record_call(&a.contact_id, &a.body)?)
        }
        "record_sms" => {
            let a: Activity<NewSmsConversation> = parse(args)?;
            answer(&org.record_sms(&a.contact_id, &a.body)?)
        }
        "calls" => answer(&org.calls(&parse::<ContactId>(args)?.contact_id)?),
        "sms_conversations" => {
            answer(&org.sms_conversations(&parse::<ContactId>(args)?.contact_id)?)
        }
        _ => Err(Failure::invalid("operation", "is not an org operation")),
    }
}

/// Imports JSON Lines into `org_id` (every org named by the documents when `None`).
pub(crate) fn import(
    store: &ContactStore,
    org_id: Option<&str>,
    source: Source,
    on_conflict: &str,
) -> Answer {
    let options = ImportOptions::default().on_conflict(match on_conflict {
        "reject" => OnConflict::Reject,
        "merge" => OnConflict::Merge,
        _ => return Err(Failure::invalid("on_conflict", "must be reject or merge")),
    });
    let mut input: Box<dyn std::io::BufRead + Send> = match source {
        Source::Path(path) => Box::new(BufReader::with_capacity(
            1 << 20,
            File::open(path).map_err(contactstore::Error::from)?,
        )),
        Source::File(reader) => Box::new(reader),
    };
    let result = match org_id {
        Some(org_id) => store
            .org(org_id)?
            .import(&mut *input, &options, &mut |_| {}),
        None => store.all_orgs().import(&mut *input, &options, &mut |_| {}),
    };
    match result {
        Ok(summary) => answer(&summary),
        Err(e) => Err(Failure::Import {
            error: e.error,
            summary: e.summary,
        }),
    }
}

/// Exports `org_id` (every org when `None`) as JSON Lines.
pub(crate) fn export(store: &ContactStore, org_id: Option<&str>, target: Target) -> Answer {
    let write = |out: &mut dyn Write| match org_id {
        Some(org_id) => store.org(org_id)?.export(out),
        None => store.all_orgs().export(out),
    };
    match target {
        Target::File(mut writer) => {
            let summary = write(&mut writer)?;
            writer.flush().map_err(contactstore::Error::from)?;
            answer(&summary)
        }
        Target::Path(path) => answer(&export_to_path(&path, write)?),
    }
}

/// As the CLI's `export FILE`: exports hold personal data, so they go to a new file
/// readable by its owner only, renamed over the target once complete (a failed export
/// leaves no truncated file).
/// Numbers the temporary files of this process's exports.
static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn export_to_path<T>(
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> contactstore::Result<T>,
) -> Result<T, Failure> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("export");
    // Unique per call, not per process: threads of one process may export to one path.
    let temp = target.with_file_name(format!(
        ".{name}.{}.{}.partial",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // Only a file this call created is removed on failure.
    let created = options.open(&temp).map_err(contactstore::Error::from)?;
    let result = (|| {
        let mut out = BufWriter::with_capacity(1 << 20, created);
        let summary = write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| contactstore::Error::from(e.into_error()))?;
        file.sync_all()?;
        std::fs::rename(&temp, target)?;
        Ok::<T, contactstore::Error>(summary)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    Ok(result?)
}
