//! resolve (contract §3): find the contact that owns the identifiers, or create one.
//!
//! Most calls come from a phone ringing for a caller already known, with nothing to
//! change. So resolve first plans in a read transaction; only when the plan writes
//! (create, attach, fill) does it take the write lock and plan again under it, because
//! another process may have written in between.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::lookup::{self, Owners, Wanted};
use crate::model::{Conflict, Contact, JsonObject, Resolved, Scope};
use crate::normalize::{self, IdentifierType, PhoneRegion};
use crate::store::ContactStore;
use crate::timestamp::Timestamp;

/// Longest contact name accepted.
pub const MAX_NAME_CHARS: usize = 1_000;
/// Longest persona id accepted.
pub const MAX_PERSONA_ID_CHARS: usize = 256;
/// Largest metadata object accepted, as compact JSON.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// The identifiers of a find (at least one is required).
/// Unknown fields are ignored, as a web API does: a harness's extra fields (a request
/// id, a field of a newer API version) are no reason to refuse the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierQuery {
    /// A phone number in any usual spelling.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// An email address.
    #[serde(default)]
    pub email: Option<String>,
    /// An id from another system.
    #[serde(default)]
    pub external_id: Option<String>,
}

impl IdentifierQuery {
    /// A query by phone number.
    pub fn phone(phone_number: impl Into<String>) -> Self {
        IdentifierQuery {
            phone_number: Some(phone_number.into()),
            ..Default::default()
        }
    }
    /// A query by email.
    pub fn email(email: impl Into<String>) -> Self {
        IdentifierQuery {
            email: Some(email.into()),
            ..Default::default()
        }
    }
    /// A query by external id.
    pub fn external_id(external_id: impl Into<String>) -> Self {
        IdentifierQuery {
            external_id: Some(external_id.into()),
            ..Default::default()
        }
    }

    /// The normalized identifiers, strongest first.
    pub(crate) fn normalized(&self, region: PhoneRegion) -> Result<Identifiers> {
        Identifiers::new(
            self.phone_number.as_deref(),
            self.email.as_deref(),
            self.external_id.as_deref(),
            region,
        )
    }
}

/// The identifiers of a request, strongest first (external_id > phone_number > email).
///
/// A phone number written in a plain form may hold only its cheap guess
/// ([`normalize::phone_candidate`]) until a lookup confirms it: a stored identifier
/// with exactly that value proves the guess, and saves the libphonenumber parse on the
/// hot path of a known caller. Otherwise [`Identifiers::owners`] parses it in full
/// before anything is decided.
pub(crate) struct Identifiers {
    pub(crate) wanted: Wanted,
    /// The phone number as written, while its value in `wanted` is an unconfirmed guess.
    unconfirmed_phone: Option<String>,
    region: PhoneRegion,
}

impl Identifiers {
    fn new(
        phone_number: Option<&str>,
        email: Option<&str>,
        external_id: Option<&str>,
        region: PhoneRegion,
    ) -> Result<Self> {
        let mut wanted = Vec::with_capacity(3);
        let mut unconfirmed_phone = None;
        if let Some(x) = external_id {
            wanted.push((
                IdentifierType::ExternalId,
                normalize::external_id(x, "external_id")?,
            ));
        }
        if let Some(p) = phone_number {
            let value = match normalize::phone_candidate(p, region) {
                Some(guess) => {
                    unconfirmed_phone = Some(p.to_owned());
                    guess
                }
                None => normalize::phone(p, region, "phone_number")?,
            };
            wanted.push((IdentifierType::PhoneNumber, value));
        }
        if let Some(e) = email {
            wanted.push((IdentifierType::Email, normalize::email(e, "email")?));
        }
        if wanted.is_empty() {
            return Err(Error::MissingIdentifier);
        }
        Ok(Identifiers {
            wanted,
            unconfirmed_phone,
            region,
        })
    }

    /// Each identifier's owner (strongest first) and the contact of the strongest one
    /// found. An unconfirmed phone guess that nobody owns is parsed in full first — an
    /// invalid number is a BAD_REQUEST exactly as without the guess.
    pub(crate) fn owners(&mut self, conn: &Connection, org_id: &str) -> Result<Owners> {
        let found = lookup::owners_and_contact(conn, org_id, &self.wanted)?;
        let Some(raw) = self.unconfirmed_phone.take() else {
            return Ok(found);
        };
        if found
            .by_type
            .iter()
            .any(|(k, _)| *k == IdentifierType::PhoneNumber)
        {
            return Ok(found); // the stored value confirms the guess
        }
        let parsed = normalize::phone(&raw, self.region, "phone_number")?;
        let slot = self
            .wanted
            .iter_mut()
            .find(|(k, _)| *k == IdentifierType::PhoneNumber);
        match slot {
            Some((_, value)) if *value != parsed => {
                *value = parsed;
                lookup::owners_and_contact(conn, org_id, &self.wanted)
            }
            _ => Ok(found),
        }
    }
}

/// A resolve request, with the hosted API's field names.
///
/// Unknown fields are ignored (see [`IdentifierQuery`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResolveRequest {
    /// A phone number in any usual spelling.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// An email address.
    #[serde(default)]
    pub email: Option<String>,
    /// An id from another system.
    #[serde(default)]
    pub external_id: Option<String>,
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
        ResolveRequest {
            phone_number: Some(phone_number.into()),
            ..Default::default()
        }
    }
    /// A request with just an email.
    pub fn email(email: impl Into<String>) -> Self {
        ResolveRequest {
            email: Some(email.into()),
            ..Default::default()
        }
    }
    /// A request with just an external id.
    pub fn external_id(external_id: impl Into<String>) -> Self {
        ResolveRequest {
            external_id: Some(external_id.into()),
            ..Default::default()
        }
    }
}

/// A resolve request that passed validation.
struct Valid {
    ids: Identifiers,
    name: Option<String>,
    metadata: JsonObject,
    scope: Option<ScopeInput>,
}

/// The memory to ensure: its scope and the columns a new memory gets.
pub(crate) struct ScopeInput {
    pub scope: Scope,
    pub persona_id: Option<String>,
    pub agent_number: Option<String>,
}

impl ScopeInput {
    /// Validates persona_id / agent_number; `None` when neither is given.
    pub(crate) fn new(
        persona_id: Option<&str>,
        agent_number: Option<&str>,
        region: PhoneRegion,
    ) -> Result<Option<Self>> {
        let persona_id = persona_id
            .map(|p| normalize::key(p, MAX_PERSONA_ID_CHARS, "persona_id"))
            .transpose()?;
        let agent_number = agent_number
            .map(|a| normalize::phone(a, region, "agent_number"))
            .transpose()?;
        let scope = match (&persona_id, &agent_number) {
            (Some(p), _) => Scope::Persona(p.clone()),
            (None, Some(a)) => Scope::Agent(a.clone()),
            (None, None) => return Ok(None),
        };
        Ok(Some(ScopeInput {
            scope,
            persona_id,
            agent_number,
        }))
    }
}

/// Validates a contact name: `None` for absent or blank.
pub(crate) fn valid_name(name: Option<&str>) -> Result<Option<String>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid("name", "is too long"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "contains control characters"));
    }
    Ok(Some(name.to_owned()))
}

/// Validates metadata: absent or a JSON object of bounded size.
pub(crate) fn valid_metadata(metadata: Option<&Value>) -> Result<JsonObject> {
    match metadata {
        None | Some(Value::Null) => Ok(JsonObject::new()),
        Some(Value::Object(map)) => {
            crate::memory::check_nesting(map, "metadata")?;
            if to_json(map).len() > MAX_METADATA_BYTES {
                return Err(Error::invalid("metadata", "is too large"));
            }
            Ok(map.clone())
        }
        Some(_) => Err(Error::invalid("metadata", "must be a JSON object")),
    }
}

/// Compact JSON text of a value, as stored.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing maps, vectors and strings to a String cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("null"))
}

impl Valid {
    fn new(request: &ResolveRequest, region: PhoneRegion) -> Result<Self> {
        let ids = Identifiers::new(
            request.phone_number.as_deref(),
            request.email.as_deref(),
            request.external_id.as_deref(),
            region,
        )?;
        Ok(Valid {
            ids,
            name: valid_name(request.name.as_deref())?,
            metadata: valid_metadata(request.metadata.as_ref())?,
            scope: ScopeInput::new(
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

pub(crate) fn resolve(
    store: &ContactStore,
    org_id: &str,
    request: &ResolveRequest,
) -> Result<Resolved> {
    let mut input = Valid::new(request, store.settings().region)?;
    // One identifier and no memory scope: a known caller's plan is one statement, which
    // is a consistent snapshot by itself, so no read transaction is opened around it.
    // (A plan that writes is made again under the write lock below in any case.)
    let optimistic = if input.ids.wanted.len() == 1 && input.scope.is_none() {
        plan(store.connection(), org_id, &mut input)?
    } else {
        store.read(|conn| plan(conn, org_id, &mut input))?
    };
    if !optimistic.writes() {
        if let Plan::Existing {
            contact, conflicts, ..
        } = optimistic
        {
            return Ok(Resolved {
                contact,
                created: false,
                conflicts,
            });
        }
    }
    store.write(|tx| {
        let plan = plan(tx, org_id, &mut input)?;
        apply(tx, org_id, &input, plan)
    })
}

fn plan(conn: &Connection, org_id: &str, input: &mut Valid) -> Result<Plan> {
    let Owners {
        by_type: owners,
        contact,
    } = input.ids.owners(conn, org_id)?;
    let Some(contact) = contact else {
        return Ok(Plan::Create);
    };
    let chosen_id = &contact.id;
    let mut attach = Vec::new();
    let mut conflicts = Vec::new();
    for (kind, value) in &input.ids.wanted {
        match owners.iter().find(|(k, _)| k == kind) {
            None => attach.push((*kind, value.clone())),
            Some((_, owner)) if owner != chosen_id => conflicts.push(Conflict {
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
        Some(s) => !memory_exists(conn, org_id, &contact.id, &s.scope)?,
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

const MEMORY_EXISTS: &str =
    "SELECT 1 FROM memory WHERE org_id = ?1 AND contact_id = ?2 AND scope = ?3";

fn memory_exists(conn: &Connection, org_id: &str, contact_id: &str, scope: &Scope) -> Result<bool> {
    Ok(conn
        .prepare_cached(MEMORY_EXISTS)?
        .query_row((org_id, contact_id, scope.key()), |_| Ok(()))
        .optional()?
        .is_some())
}

const INSERT_CONTACT: &str =
    "INSERT INTO contact (org_id, id, name, metadata, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

const UPDATE_CONTACT: &str =
    "UPDATE contact SET name = ?3, metadata = ?4, updated_at = ?5 WHERE org_id = ?1 AND id = ?2";

fn apply(conn: &Connection, org_id: &str, input: &Valid, plan: Plan) -> Result<Resolved> {
    let now = Timestamp::now();
    match plan {
        Plan::Create => {
            let contact = Contact {
                id: new_id(),
                org_id: org_id.to_owned(),
                name: input.name.clone(),
                metadata: input.metadata.clone(),
                created_at: now,
                updated_at: now,
            };
            conn.prepare_cached(INSERT_CONTACT)?.execute((
                org_id,
                &contact.id,
                &contact.name,
                to_json(&contact.metadata),
                now,
            ))?;
            for (kind, value) in &input.ids.wanted {
                insert_identifier(conn, org_id, &contact.id, *kind, value, true)?;
            }
            if let Some(scope) = &input.scope {
                insert_memory(conn, org_id, &contact.id, scope, now)?;
            }
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
                    let primary = !has_primary(conn, org_id, &contact.id, *kind)?;
                    insert_identifier(conn, org_id, &contact.id, *kind, value, primary)?;
                }
                if fill_name {
                    contact.name = input.name.clone();
                }
                contact.metadata.extend(add_metadata);
                contact.updated_at = now;
                conn.prepare_cached(UPDATE_CONTACT)?.execute((
                    org_id,
                    &contact.id,
                    &contact.name,
                    to_json(&contact.metadata),
                    now,
                ))?;
                if let (true, Some(scope)) = (create_memory, &input.scope) {
                    insert_memory(conn, org_id, &contact.id, scope, now)?;
                }
            }
            Ok(Resolved {
                contact,
                created: false,
                conflicts,
            })
        }
    }
}

/// A new contact id: a UUID v7, so ids created together sit together in the index.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

const HAS_PRIMARY: &str = "SELECT 1 FROM identifier \
     WHERE org_id = ?1 AND contact_id = ?2 AND identifier_type = ?3 AND is_primary = 1";

pub(crate) fn has_primary(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
    kind: IdentifierType,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(HAS_PRIMARY)?
        .query_row((org_id, contact_id, kind.code()), |_| Ok(()))
        .optional()?
        .is_some())
}

const INSERT_IDENTIFIER: &str = "INSERT INTO identifier \
     (org_id, identifier_type, identifier_value, contact_id, id, is_primary) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

pub(crate) fn insert_identifier(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
    kind: IdentifierType,
    value: &str,
    primary: bool,
) -> Result<()> {
    conn.prepare_cached(INSERT_IDENTIFIER)?.execute((
        org_id,
        kind.code(),
        value,
        contact_id,
        format!("ident-{}", new_id()),
        primary,
    ))?;
    Ok(())
}

const INSERT_MEMORY: &str = "INSERT INTO memory \
     (org_id, id, contact_id, scope, persona_id, agent_number, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";

/// Creates an empty memory; returns its id.
pub(crate) fn insert_memory(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
    scope: &ScopeInput,
    now: Timestamp,
) -> Result<String> {
    let id = format!("mem-{}", new_id());
    conn.prepare_cached(INSERT_MEMORY)?.execute((
        org_id,
        &id,
        contact_id,
        scope.scope.key(),
        &scope.persona_id,
        &scope.agent_number,
        now,
    ))?;
    Ok(id)
}
