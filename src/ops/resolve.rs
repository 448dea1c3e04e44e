//! resolve (contract §3): find the contact that owns the identifiers, or create one.
//!
//! Most calls come from a phone ringing for a caller already known, with nothing to
//! change. So resolve first plans in a read transaction; only when the plan writes
//! (create, attach, fill) does it take the write lock and plan again under it, because
//! another process may have written in between.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::identify::{IdentifierQuery, Identifiers};
use super::lookup::Wanted;
use super::{changes, memory, scope};
use crate::error::Result;
use crate::limits;
use crate::model::{
    new_id, new_prefixed_id, ChangeKind, Contact, Identifier, IdentifierKey, IdentifierType,
    JsonObject, Scope,
};
use crate::storage::{Db, Tx};
use crate::timestamp::Timestamp;

/// A resolve request, with the hosted API's field names: the identifiers of an
/// [`IdentifierQuery`] and what to fill in.
///
/// Unknown fields are ignored (see [`IdentifierQuery`]).
///
/// ```
/// use contactstore::{IdentifierQuery, ResolveRequest};
/// let request = ResolveRequest {
///     identifiers: IdentifierQuery::phone("(415) 555-0192"),
///     name: Some("Sarah Chen".into()),
///     persona_id: Some("persona-12345678".into()),
///     ..Default::default()
/// };
/// let json: ResolveRequest = serde_json::from_str(
///     r#"{"phone_number": "(415) 555-0192", "name": "Sarah Chen", "persona_id": "persona-12345678"}"#,
/// ).unwrap();
/// assert_eq!(json, request);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct ResolveRequest {
    /// The phone number, email and external id (at least one).
    #[serde(flatten)]
    pub identifiers: IdentifierQuery,
    /// The contact's name; fills an empty name, never replaces one.
    #[serde(default)]
    pub name: Option<String>,
    /// Scope of the memory to ensure.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Agent phone number, the memory scope when no persona id is given.
    #[serde(default)]
    pub agent_number: Option<String>,
    /// Metadata keys to add where the contact lacks them. Must be a JSON object.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl ResolveRequest {
    /// A request with just a phone number.
    pub fn phone(phone_number: impl Into<String>) -> Self {
        IdentifierQuery::phone(phone_number).into()
    }
    /// A request with just an email.
    pub fn email(email: impl Into<String>) -> Self {
        IdentifierQuery::email(email).into()
    }
    /// A request with just an external id.
    pub fn external_id(external_id: impl Into<String>) -> Self {
        IdentifierQuery::external_id(external_id).into()
    }
}

impl From<IdentifierQuery> for ResolveRequest {
    fn from(identifiers: IdentifierQuery) -> Self {
        ResolveRequest {
            identifiers,
            ..Default::default()
        }
    }
}

/// An identifier of the request that belongs to a contact other than the one resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// Which of the request's identifiers.
    pub identifier_type: IdentifierType,
    /// The contact that owns it (it stays there: resolve never moves identifiers).
    pub contact_id: String,
}

/// The result of resolve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Resolved {
    /// The contact found or created.
    pub contact: Contact,
    /// Whether it was created by this call.
    pub created: bool,
    /// Identifiers of the request owned by other contacts; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// A resolve request that passed validation.
struct Valid<'r> {
    ids: Identifiers<'r>,
    name: Option<String>,
    metadata: JsonObject,
    scope: Option<Scope>,
}

impl<'r> Valid<'r> {
    fn new(request: &'r ResolveRequest, region: crate::settings::PhoneRegion) -> Result<Self> {
        Ok(Valid {
            ids: request.identifiers.normalized(region)?,
            name: limits::name(request.name.as_deref())?,
            metadata: limits::metadata(request.metadata.as_ref())?,
            scope: scope::optional(
                request.persona_id.as_deref(),
                request.agent_number.as_deref(),
                region,
            )?,
        })
    }
}

/// What a resolve will do, decided from one snapshot of the database.
enum Plan {
    Create,
    Existing {
        contact: Contact,
        attach: Vec<(IdentifierType, String)>,
        conflicts: Vec<Conflict>,
        fill_name: bool,
        add_metadata: JsonObject,
        create_memory: bool,
    },
}

impl Plan {
    fn writes(&self) -> bool {
        match self {
            Plan::Create => true,
            Plan::Existing {
                attach,
                fill_name,
                add_metadata,
                create_memory,
                ..
            } => !attach.is_empty() || *fill_name || !add_metadata.is_empty() || *create_memory,
        }
    }
}

/// Resolves in one org: see the module's documentation and [`crate::Org::resolve`].
pub(crate) fn resolve(db: &Db, org: &str, request: &ResolveRequest) -> Result<Resolved> {
    resolve_with_identifiers(db, org, request).map(|(resolved, _)| resolved)
}

/// As [`resolve`], and the request's identifiers as normalized (a phone number's
/// guess confirmed or parsed), strongest first.
pub(crate) fn resolve_with_identifiers(
    db: &Db,
    org: &str,
    request: &ResolveRequest,
) -> Result<(Resolved, Wanted)> {
    let mut input = Valid::new(request, db.settings().region)?;
    let resolved = resolve_valid(db, org, &mut input)?;
    Ok((resolved, input.ids.wanted))
}

/// What [`resolve`] answers when it would write nothing (a known caller whose request
/// adds nothing), read without the write lock; `None` when it would write.
pub(crate) fn resolve_known(
    db: &Db,
    org: &str,
    request: &ResolveRequest,
) -> Result<Option<Resolved>> {
    let mut input = Valid::new(request, db.settings().region)?;
    resolve_without_writing(db, org, &mut input)
}

fn resolve_without_writing(db: &Db, org: &str, input: &mut Valid<'_>) -> Result<Option<Resolved>> {
    // One identifier and no memory scope: a known caller's plan is one statement, which
    // is a consistent snapshot by itself, so no read transaction is opened around it.
    // (A plan that writes is made again under the write lock in any case.)
    let optimistic = if input.ids.wanted.len() == 1 && input.scope.is_none() {
        db.read_one(|tx| plan(tx, org, input))?
    } else {
        db.read(|tx| plan(tx, org, input))?
    };
    if optimistic.writes() {
        return Ok(None);
    }
    match optimistic {
        Plan::Existing {
            contact, conflicts, ..
        } => Ok(Some(Resolved {
            contact,
            created: false,
            conflicts,
        })),
        Plan::Create => Ok(None),
    }
}

fn resolve_valid(db: &Db, org: &str, input: &mut Valid<'_>) -> Result<Resolved> {
    if let Some(resolved) = resolve_without_writing(db, org, input)? {
        return Ok(resolved);
    }
    db.write(|tx| {
        let plan = plan(tx, org, input)?;
        apply(tx, org, input, plan)
    })
}

fn plan(tx: &dyn Tx, org: &str, input: &mut Valid<'_>) -> Result<Plan> {
    let found = input.ids.owners(tx, org)?;
    let Some(contact) = found.contact else {
        return Ok(Plan::Create);
    };
    let mut attach = Vec::new();
    let mut conflicts = Vec::new();
    for (kind, value) in &input.ids.wanted {
        match found.by_type.iter().find(|(k, _)| k == kind) {
            None => attach.push((*kind, value.clone())),
            Some((_, owner)) if *owner != contact.id => conflicts.push(Conflict {
                identifier_type: *kind,
                contact_id: owner.clone(),
            }),
            Some(_) => {}
        }
    }
    let fill_name =
        input.name.is_some() && contact.name.as_deref().is_none_or(|n| n.trim().is_empty());
    let add_metadata: JsonObject = input
        .metadata
        .iter()
        .filter(|(k, _)| !contact.metadata.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let create_memory = match &input.scope {
        Some(s) => !tx.memory_exists(org, &contact.id, s)?,
        None => false,
    };
    Ok(Plan::Existing {
        contact,
        attach,
        conflicts,
        fill_name,
        add_metadata,
        create_memory,
    })
}

/// A new identifier of a contact.
pub(crate) fn new_identifier(
    contact_id: &str,
    kind: IdentifierType,
    value: &str,
    is_primary: bool,
) -> Identifier {
    Identifier {
        id: new_prefixed_id("ident"),
        contact_id: contact_id.to_owned(),
        identifier_type: kind,
        identifier_value: value.to_owned(),
        is_primary,
    }
}

fn apply(tx: &dyn Tx, org: &str, input: &Valid<'_>, plan: Plan) -> Result<Resolved> {
    let now = Timestamp::now();
    match plan {
        Plan::Create => {
            let contact = Contact {
                id: new_id(),
                org_id: org.to_owned(),
                name: input.name.clone(),
                metadata: input.metadata.clone(),
                created_at: now,
                updated_at: now,
            };
            tx.insert_contact(&contact)?;
            for (kind, value) in &input.ids.wanted {
                tx.insert_identifier(org, &new_identifier(&contact.id, *kind, value, true))?;
            }
            let memory_id = match &input.scope {
                Some(scope) => Some(memory::create(tx, org, &contact.id, scope, now)?),
                None => None,
            };
            let detail = json!({
                "name": contact.name,
                "metadata": contact.metadata,
                "identifiers_added": pair_keys(&input.ids.wanted),
                "memory_id": memory_id,
            });
            changes::record(
                tx,
                org,
                now,
                ChangeKind::ContactCreated,
                &contact.id,
                None,
                &detail,
            )?;
            Ok(Resolved {
                contact,
                created: true,
                conflicts: Vec::new(),
            })
        }
        Plan::Existing {
            mut contact,
            attach,
            conflicts,
            fill_name,
            add_metadata,
            create_memory,
        } => {
            if !attach.is_empty() || fill_name || !add_metadata.is_empty() || create_memory {
                for (kind, value) in &attach {
                    let primary = !tx.has_primary(org, &contact.id, *kind)?;
                    tx.insert_identifier(org, &new_identifier(&contact.id, *kind, value, primary))?;
                }
                if fill_name {
                    contact.name = input.name.clone();
                }
                let mut detail = JsonObject::new();
                if !attach.is_empty() {
                    detail.insert("identifiers_added".into(), json!(pair_keys(&attach)));
                }
                if fill_name {
                    detail.insert("name".into(), json!(contact.name));
                }
                if !add_metadata.is_empty() {
                    detail.insert("metadata".into(), json!(add_metadata));
                }
                contact.metadata.extend(add_metadata);
                contact.updated_at = now;
                tx.save_contact(&contact)?;
                if let (true, Some(scope)) = (create_memory, &input.scope) {
                    let id = memory::create(tx, org, &contact.id, scope, now)?;
                    detail.insert("memory_id".into(), json!(id));
                }
                changes::record(
                    tx,
                    org,
                    now,
                    ChangeKind::ContactUpdated,
                    &contact.id,
                    None,
                    &detail,
                )?;
            }
            Ok(Resolved {
                contact,
                created: false,
                conflicts,
            })
        }
    }
}

/// (type, value) pairs as events name identifiers.
pub(crate) fn pair_keys(pairs: &[(IdentifierType, String)]) -> Vec<IdentifierKey<'_>> {
    pairs
        .iter()
        .map(|(kind, value)| IdentifierKey {
            identifier_type: kind.as_str(),
            identifier_value: value,
        })
        .collect()
}
