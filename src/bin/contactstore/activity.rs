//! `call …` and `sms …`: record and list a contact's calls and SMS conversations.

use clap::{Args, Subcommand};
use contactstore::{Error, NewCall, NewSmsConversation, Org};

use super::{optional_object, optional_timestamp, print_success};

#[derive(Args, Debug)]
pub struct ActivityArgs {
    /// The contact's id.
    pub contact_id: String,
    /// inbound or outbound.
    #[arg(long)]
    pub direction: String,
    /// The agent's number.
    #[arg(long)]
    pub agent_number: Option<String>,
    /// The contact's number.
    #[arg(long)]
    pub contact_number: Option<String>,
    /// When it started (RFC 3339); now by default.
    #[arg(long)]
    pub started_at: Option<String>,
    /// Status, e.g. completed.
    #[arg(long)]
    pub status: Option<String>,
    /// Summary.
    #[arg(long)]
    pub summary: Option<String>,
    /// Metadata as a JSON object.
    #[arg(long)]
    pub metadata: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum CallCommand {
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
pub enum SmsCommand {
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

/// Runs a call command and prints its envelope.
pub fn call(org: &Org<'_>, command: &CallCommand) -> Result<(), Error> {
    match command {
        CallCommand::Record { call, duration } => {
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
            print_success(org.record_call(&call.contact_id, &new)?)
        }
        CallCommand::List { contact_id } => print_success(org.calls(contact_id)?),
    }
}

/// Runs an SMS command and prints its envelope.
pub fn sms(org: &Org<'_>, command: &SmsCommand) -> Result<(), Error> {
    match command {
        SmsCommand::Record { sms, message_count } => {
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
            print_success(org.record_sms(&sms.contact_id, &new)?)
        }
        SmsCommand::List { contact_id } => print_success(org.sms_conversations(contact_id)?),
    }
}
