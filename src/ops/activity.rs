//! Recording and listing calls and SMS conversations: one path for both kinds.

use serde_json::json;

use super::changes;
use super::lookup::reached_contact;
use crate::error::Result;
use crate::limits;
use crate::model::{
    new_prefixed_id, ActivityKind, ActivityRow, Call, ChangeKind, Direction, JsonObject, NewCall,
    NewSmsConversation, SmsConversation, StoredJson,
};
use crate::normalize;
use crate::settings::PhoneRegion;
use crate::storage::Db;
use crate::timestamp::Timestamp;

/// The fields calls and conversations share, as given: validated by
/// [`ActivityInput::row`].
pub(crate) struct ActivityInput<'a> {
    pub kind: ActivityKind,
    pub id: Option<&'a str>,
    pub direction: Direction,
    pub agent_number: Option<&'a str>,
    pub contact_number: Option<&'a str>,
    pub started_at: Timestamp,
    pub amount: Option<i64>,
    pub status: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub metadata: &'a JsonObject,
}

impl ActivityInput<'_> {
    /// The record, validated and normalized, owned by `contact_id` (given an id when
    /// none was).
    pub(crate) fn row(&self, contact_id: &str, region: PhoneRegion) -> Result<ActivityRow> {
        let phone =
            |v: Option<&str>, field| v.map(|p| normalize::phone(p, region, field)).transpose();
        if let Some(s) = self.summary {
            limits::text(s, "summary")?;
        }
        limits::metadata_object(self.metadata)?;
        let agent_number = phone(self.agent_number, "agent_number")?;
        let contact_number = phone(self.contact_number, "contact_number")?;
        let status = self
            .status
            .map(|s| limits::short_key(s, "status"))
            .transpose()?;
        let amount = match (self.kind, self.amount) {
            (ActivityKind::Sms, None) => Some(0),
            (_, amount) => amount,
        };
        let amount = amount
            .map(|n| limits::count(n, self.kind.amount_field()))
            .transpose()?;
        let id = match self.id {
            Some(id) => limits::record_id(id, self.kind.id_field())?,
            None => new_prefixed_id(self.kind.id_prefix()),
        };
        Ok(ActivityRow {
            kind: self.kind,
            id,
            contact_id: contact_id.to_owned(),
            direction: self.direction,
            agent_number,
            contact_number,
            started_at: self.started_at,
            amount,
            status,
            summary: self.summary.map(str::to_owned),
            metadata: StoredJson::of(self.metadata),
        })
    }
}

impl NewCall {
    fn input(&self, now: Timestamp) -> ActivityInput<'_> {
        ActivityInput {
            kind: ActivityKind::Call,
            id: None,
            direction: self.direction,
            agent_number: self.agent_number.as_deref(),
            contact_number: self.contact_number.as_deref(),
            started_at: self.started_at.unwrap_or(now),
            amount: self.duration_seconds,
            status: self.status.as_deref(),
            summary: self.summary.as_deref(),
            metadata: &self.metadata,
        }
    }
}

impl NewSmsConversation {
    fn input(&self, now: Timestamp) -> ActivityInput<'_> {
        ActivityInput {
            kind: ActivityKind::Sms,
            id: None,
            direction: self.direction,
            agent_number: self.agent_number.as_deref(),
            contact_number: self.contact_number.as_deref(),
            started_at: self.started_at.unwrap_or(now),
            amount: Some(self.message_count),
            status: self.status.as_deref(),
            summary: self.summary.as_deref(),
            metadata: &self.metadata,
        }
    }
}

/// Records one activity in one transaction: finds the contact (following merges),
/// inserts the record and bumps the contact's `updated_at`. The input is validated
/// before the transaction begins.
fn record(db: &Db, org: &str, contact_id: &str, input: ActivityInput<'_>) -> Result<ActivityRow> {
    let input_row = input.row("", db.settings().region)?;
    db.write(|tx| {
        let mut row = input_row.clone();
        let contact = reached_contact(tx, org, contact_id)?;
        let now = Timestamp::now();
        tx.touch_contact(org, &contact.id, now)?;
        row.contact_id = contact.id;
        tx.insert_activity(org, &row)?;
        let kind = match row.kind {
            ActivityKind::Call => ChangeKind::CallRecorded,
            ActivityKind::Sms => ChangeKind::SmsRecorded,
        };
        let detail = json!({
            "id": row.id,
            "direction": row.direction,
            "started_at": row.started_at,
        });
        changes::record(tx, org, now, kind, &row.contact_id, None, &detail)?;
        Ok(row)
    })
}

pub(crate) fn record_call(db: &Db, org: &str, contact_id: &str, new: &NewCall) -> Result<Call> {
    record(db, org, contact_id, new.input(Timestamp::now())).map(Call::from)
}

pub(crate) fn record_sms(
    db: &Db,
    org: &str,
    contact_id: &str,
    new: &NewSmsConversation,
) -> Result<SmsConversation> {
    record(db, org, contact_id, new.input(Timestamp::now())).map(SmsConversation::from)
}

/// The contact's records of one kind, newest first.
pub(crate) fn list(
    db: &Db,
    org: &str,
    contact_id: &str,
    kind: ActivityKind,
) -> Result<Vec<ActivityRow>> {
    db.read(|tx| {
        let contact = reached_contact(tx, org, contact_id)?;
        tx.activities_of(org, &contact.id, kind)
    })
}
