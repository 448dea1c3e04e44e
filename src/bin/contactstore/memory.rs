//! `memory …`: read and write a contact's memory.

use clap::{Args, Subcommand};
use contactstore::{
    EntityRef, EntityUpdate, Error, Memory, MemoryScope, Message, OpenItem, Org, Timestamp,
};

use serde_json::json;

use super::{invalid, json_object, optional_object, optional_timestamp, print_success};

#[derive(Args, Debug)]
pub struct ScopeArgs {
    /// The persona whose memory this is.
    #[arg(long)]
    pub persona_id: Option<String>,
    /// The agent number whose memory this is (when no persona id is given).
    #[arg(long)]
    pub agent_number: Option<String>,
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
pub enum MemoryCommand {
    /// Show the memory (created empty if missing).
    Show {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Show a memory record by its id, with its memory_history (the hosted API's
    /// GET /v1/memory/contact/{memory_id}).
    Get {
        /// The memory's id (mem-…).
        memory_id: String,
    },
    /// Show what an agent is given at the start of a conversation, in the hosted API's
    /// shape (recentMessages, summary, contactFacts, entities, openItems). Never
    /// creates a memory.
    Context {
        /// The contact's id.
        contact_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Wipe the memory of one scope — summary, facts, messages, open items, entities
    /// and history — irreversibly. Other scopes and the contact stay.
    Reset {
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
        /// call, voice, sms, email or chat.
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

/// Runs a memory command and prints its envelope.
pub fn run(org: &Org<'_>, command: &MemoryCommand) -> Result<(), Error> {
    let written: Result<Memory, Error> = match command {
        MemoryCommand::Get { memory_id } => return print_success(org.memory(memory_id)?),
        MemoryCommand::Context { contact_id, scope } => {
            return print_success(org.memory_context(contact_id, &scope.scope())?)
        }
        MemoryCommand::Reset { contact_id, scope } => {
            org.reset_memory(contact_id, &scope.scope())?;
            return print_success(json!({ "success": true }));
        }
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
            let message = Message::from_parts(role, content, channel, timestamp.as_deref())?;
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
    };
    print_success(written?)
}
