//! resolve-caller (contract §9): a caller id as telephony delivers it, resolved when it
//! is a number and answered with its kind when it is not.
//!
//! A known caller must cost what a resolve costs, so the number is not parsed here:
//! the caller id goes to resolve as its phone number, where the lookup-first guess
//! answers for a known caller (its URI taken off first). Only when resolve refuses the
//! number is the id classified further — withheld, a short code or a sender id, or
//! else a BAD_REQUEST naming `from`. No withheld value is a valid number, so this
//! order gives the kinds [`classify_caller`](crate::classify_caller) gives.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::identify::IdentifierQuery;
use super::resolve::{self, Conflict, ResolveRequest};
use crate::caller::{self, Caller};
use crate::error::{Error, Result};
use crate::limits;
use crate::model::{Contact, IdentifierType};
use crate::normalize;
use crate::storage::Db;

/// A resolve-caller request: the caller id and what a resolve of a number takes.
///
/// ```
/// use contactstore::CallerRequest;
/// let request: CallerRequest = serde_json::from_str(
///     r#"{"from": "sip:+14155550192@sip.twilio.com", "to": "+14155550100"}"#,
/// ).unwrap();
/// assert_eq!(request, CallerRequest::new("sip:+14155550192@sip.twilio.com").to("+14155550100"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct CallerRequest {
    /// The caller id as delivered: a number in any spelling, a SIP or tel URI (with a
    /// display name), a withheld value, a short code or a sender id.
    pub from: String,
    /// The number called (the agent's), in the same forms: the memory scope when no
    /// `persona_id` is given (with one, it is still checked to be a number).
    #[serde(default)]
    pub to: Option<String>,
    /// Scope of the memory to ensure.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// The contact's name; fills an empty name, never replaces one.
    #[serde(default)]
    pub name: Option<String>,
    /// Metadata keys to add where the contact lacks them. Must be a JSON object.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl CallerRequest {
    /// A request with just the caller id.
    pub fn new(from: impl Into<String>) -> Self {
        CallerRequest {
            from: from.into(),
            ..Default::default()
        }
    }

    /// The number called, the memory scope when no persona id is given.
    pub fn to(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// The persona whose memory of the contact must exist afterwards.
    pub fn persona_id(mut self, persona_id: impl Into<String>) -> Self {
        self.persona_id = Some(persona_id.into());
        self
    }
}

/// The result of resolve-caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct CallerResolved {
    /// What the caller id is.
    pub caller: Caller,
    /// The contact of a number (found or created); `None` for every other kind.
    pub contact: Option<Contact>,
    /// Whether the contact was created by this call.
    pub created: bool,
    /// Identifiers of the request owned by other contacts, as resolve reports them;
    /// omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

impl CallerResolved {
    fn without_contact(caller: Caller) -> Self {
        CallerResolved {
            caller,
            contact: None,
            created: false,
            conflicts: Vec::new(),
        }
    }
}

/// resolve-caller in one org: see the module's documentation and
/// [`crate::Org::resolve_caller`].
pub(crate) fn resolve_caller(
    db: &Db,
    org: &str,
    request: &CallerRequest,
) -> Result<CallerResolved> {
    let region = db.settings().region;
    // Memory is scoped by the persona, else by the number called.
    let agent_number = match (&request.persona_id, &request.to) {
        (None, Some(to)) => Some(to.clone()),
        (Some(_), Some(to)) => {
            // Not the scope, but still a field of the request: a bad one is refused
            // whatever else the request holds.
            normalize::phone(to, region, "to")?;
            None
        }
        _ => None,
    };
    // No withheld value is a valid number (a test holds every one of them to that), so
    // trying the number first answers as classify_caller does.
    let resolve_request = ResolveRequest {
        identifiers: IdentifierQuery::phone(request.from.clone()),
        name: request.name.clone(),
        persona_id: request.persona_id.clone(),
        agent_number: agent_number.clone(),
        metadata: request.metadata.clone(),
    };
    match resolve::resolve_with_identifiers(db, org, &resolve_request) {
        Ok((resolved, identifiers)) => {
            let phone_number = identifiers
                .into_iter()
                .find(|(kind, _)| *kind == IdentifierType::PhoneNumber)
                .map(|(_, value)| value)
                .ok_or(Error::invalid("from", "is not a phone number"))?;
            Ok(CallerResolved {
                caller: Caller::Number { phone_number },
                contact: Some(resolved.contact),
                created: resolved.created,
                conflicts: resolved.conflicts,
            })
        }
        // The number was refused before anything was written: the id may be another
        // kind of caller.
        Err(Error::InvalidField {
            field: "phone_number",
            reason,
        }) => {
            let kind = if caller::is_withheld(&request.from) {
                Some(Caller::Withheld)
            } else {
                caller::not_a_number(&request.from)
            };
            match kind {
                Some(kind) => {
                    check_the_rest(request, agent_number.as_deref(), region)?;
                    Ok(CallerResolved::without_contact(kind))
                }
                None => Err(Error::invalid(
                    "from",
                    caller_reason(&request.from, reason, region),
                )),
            }
        }
        Err(Error::InvalidField {
            field: "agent_number",
            reason,
        }) => Err(Error::invalid("to", reason)),
        Err(e) => Err(e),
    }
}

/// The reason an invalid caller id is refused, as [`caller::classify`] gives it.
fn caller_reason(
    raw: &str,
    resolve_reason: &'static str,
    region: crate::settings::PhoneRegion,
) -> &'static str {
    caller::classify(raw, region)
        .err()
        .unwrap_or(resolve_reason)
}

/// The other fields of a request answered without a resolve, checked as resolve
/// checks them: a bad field is a BAD_REQUEST whatever the caller id.
fn check_the_rest(
    request: &CallerRequest,
    agent_number: Option<&str>,
    region: crate::settings::PhoneRegion,
) -> Result<()> {
    limits::name(request.name.as_deref())?;
    limits::metadata(request.metadata.as_ref())?;
    if let Some(persona_id) = &request.persona_id {
        limits::persona_id(persona_id)?;
    }
    if let Some(to) = agent_number {
        normalize::phone(to, region, "to")?;
    }
    Ok(())
}
