//! Schema 3's upgrade: stored phone numbers normalized again with the libphonenumber
//! port that replaced the `phonenumber` crate.
//!
//! The old crate could store a value the new library writes differently (it dropped a
//! default region's national prefix from numbers that carried a country code, and read
//! some national spellings wrongly). Every stored phone identifier, agent number and
//! call/SMS number is parsed again under the store's default region:
//!
//! * a value that normalizes to itself is left alone (nearly all of them);
//! * a value that now normalizes differently is rewritten — unless the new value is
//!   already another identifier (of any contact) or another memory scope of the same
//!   contact: then both are kept as they are, so both stay reachable, and the pair is
//!   recorded as a `collision` in `migration_finding` for an operator to merge or not;
//! * a value that is no longer valid is repaired when the old crate's known mistake
//!   explains it: it dropped the default region's national prefix (`1` in the US)
//!   right after a country code (`+880 1812-345678` was stored as `+880812345678`).
//!   Putting the prefix back gives a valid number: that is the one rewritten, as
//!   above. Otherwise the value is kept and recorded as `invalid`.
//!
//! Nothing is merged and nothing is deleted. One log line (target `contactstore`)
//! gives the counts — never a number.

use rlibphonenumber::{PhoneNumberFormat, PhoneNumberType, PHONE_NUMBER_UTIL};
use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;
use crate::normalize;
use crate::settings::PhoneRegion;

/// The schema version this step brings a file to.
const VERSION: i64 = 3;

// The upgrade reads every org: it runs once, inside the migration's transaction.
const PHONE_IDENTIFIERS_OF_ALL_ORGS: &str = "SELECT org_id, identifier_value, contact_id, id \
     FROM identifier WHERE identifier_type = 1";
const PHONE_OWNER: &str = "SELECT contact_id FROM identifier \
     WHERE org_id = ?1 AND identifier_type = 1 AND identifier_value = ?2";
const RENAME_PHONE: &str = "UPDATE identifier SET identifier_value = ?3 \
     WHERE org_id = ?1 AND identifier_type = 1 AND identifier_value = ?2";
const AGENT_MEMORIES_OF_ALL_ORGS: &str = "SELECT org_id, id, contact_id, persona_id, agent_number \
     FROM memory WHERE agent_number IS NOT NULL";
const SCOPE_TAKEN: &str =
    "SELECT 1 FROM memory WHERE org_id = ?1 AND contact_id = ?2 AND scope = ?3";
const RENAME_AGENT: &str =
    "UPDATE memory SET agent_number = ?3, scope = ?4 WHERE org_id = ?1 AND id = ?2";
const ACTIVITY_NUMBERS_OF_ALL_ORGS: &str = "SELECT org_id, kind, id, contact_id, agent_number, \
     contact_number FROM activity WHERE agent_number IS NOT NULL OR contact_number IS NOT NULL";
const RENAME_ACTIVITY_NUMBERS: &str = "UPDATE activity SET agent_number = ?4, contact_number = ?5 \
     WHERE org_id = ?1 AND kind = ?2 AND id = ?3";
const INSERT_FINDING: &str = "INSERT OR REPLACE INTO migration_finding \
     (org_id, contact_id, record_id, field, version, finding, other_contact_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// What the step did, in counts.
#[derive(Debug, Default)]
struct Counts {
    repaired: u64,
    identifiers: u64,
    agent_numbers: u64,
    activity_numbers: u64,
    collisions: u64,
    invalid: u64,
}

/// A value normalized again: `Same`, `Changed` to a new value, or `Invalid` now.
enum Outcome {
    Same,
    Changed(String),
    Invalid,
}

/// The stored value normalized again under the store's region.
struct Renormalizer {
    region: PhoneRegion,
    /// The region's national prefix, as the old crate dropped it.
    national_prefix: Option<String>,
}

impl Renormalizer {
    fn new(region: PhoneRegion) -> Self {
        Renormalizer {
            region,
            national_prefix: national_prefix(region),
        }
    }

    fn outcome(&self, value: &str, counts: &mut Counts) -> Outcome {
        match normalize::phone(value, self.region, "phone_number") {
            Ok(new) if new == value => Outcome::Same,
            Ok(new) => Outcome::Changed(new),
            Err(_) => match self.repaired(value) {
                Some(new) => {
                    counts.repaired += 1;
                    Outcome::Changed(new)
                }
                None => Outcome::Invalid,
            },
        }
    }

    /// `+<country code><national prefix><national number>`, if that is valid.
    fn repaired(&self, value: &str) -> Option<String> {
        let prefix = self.national_prefix.as_deref()?;
        let number = PHONE_NUMBER_UTIL.parse(value, None).ok()?;
        let candidate = format!(
            "+{}{prefix}{}",
            number.country_code,
            number.get_national_significant_number()
        );
        normalize::phone(&candidate, self.region, "phone_number").ok()
    }
}

/// A region's national (trunk) prefix: `1` in the North American Numbering Plan, else
/// the digits its national format puts before the national number (`0` in GB, none
/// in IT), read off the region's example number.
fn national_prefix(region: PhoneRegion) -> Option<String> {
    let util = &PHONE_NUMBER_UTIL;
    if util.get_country_code_for_region(region.0) == Some(1) {
        return Some("1".to_owned());
    }
    let example = util
        .get_example_number_for_type_and_region(region.0, PhoneNumberType::FixedLine)
        .ok()?;
    let national: String = util
        .format(&example, PhoneNumberFormat::National)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let nsn = example.get_national_significant_number();
    let prefix = national.strip_suffix(nsn.as_str())?;
    (!prefix.is_empty()).then(|| prefix.to_owned())
}

/// A finding about one record.
struct Finding<'a> {
    org: &'a str,
    contact: &'a str,
    record: &'a str,
    field: &'static str,
    collision_with: Option<&'a str>,
}

fn record(conn: &Connection, f: &Finding<'_>, counts: &mut Counts) -> Result<()> {
    let finding = match f.collision_with {
        Some(_) => {
            counts.collisions += 1;
            "collision"
        }
        None => {
            counts.invalid += 1;
            "invalid"
        }
    };
    conn.prepare_cached(INSERT_FINDING)?.execute((
        f.org,
        f.contact,
        f.record,
        f.field,
        VERSION,
        finding,
        f.collision_with,
    ))?;
    Ok(())
}

/// Runs the step inside the migration's transaction.
pub(super) fn upgrade(conn: &Connection, region: PhoneRegion) -> Result<()> {
    let mut counts = Counts::default();
    let again = Renormalizer::new(region);
    identifiers(conn, &again, &mut counts)?;
    agent_numbers(conn, &again, &mut counts)?;
    activity_numbers(conn, &again, &mut counts)?;
    let rewritten = counts.identifiers + counts.agent_numbers + counts.activity_numbers;
    if rewritten + counts.collisions + counts.invalid > 0 {
        log::warn!(
            target: "contactstore",
            "schema upgrade to version {VERSION}: phone numbers normalized again with \
             libphonenumber (rlibphonenumber): {} identifiers, {} agent numbers and {} \
             call/SMS numbers rewritten; {} values lacked the national prefix the old \
             normalization dropped and were repaired where the repaired value was free; {} kept under their old value because the new \
             one is taken, {} kept because they are no longer valid numbers (listed by \
             `contactstore check`)",
            counts.identifiers,
            counts.agent_numbers,
            counts.activity_numbers,
            counts.repaired,
            counts.collisions,
            counts.invalid,
        );
    }
    Ok(())
}

fn identifiers(conn: &Connection, again: &Renormalizer, counts: &mut Counts) -> Result<()> {
    // (org, old value, new value or None when invalid, contact, identifier id)
    let mut changes: Vec<(String, String, Option<String>, String, String)> = Vec::new();
    let mut stmt = conn.prepare(PHONE_IDENTIFIERS_OF_ALL_ORGS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let value: String = row.get(1)?;
        let new = match again.outcome(&value, counts) {
            Outcome::Same => continue,
            Outcome::Changed(new) => Some(new),
            Outcome::Invalid => None,
        };
        changes.push((row.get(0)?, value, new, row.get(2)?, row.get(3)?));
    }
    for (org, old, new, contact, id) in &changes {
        let Some(new) = new else {
            let f = Finding {
                org,
                contact,
                record: id,
                field: "phone_number",
                collision_with: None,
            };
            record(conn, &f, counts)?;
            continue;
        };
        let owner: Option<String> = conn
            .prepare_cached(PHONE_OWNER)?
            .query_row((org, new), |r| r.get(0))
            .optional()?;
        match owner {
            Some(other) => {
                let f = Finding {
                    org,
                    contact,
                    record: id,
                    field: "phone_number",
                    collision_with: Some(&other),
                };
                record(conn, &f, counts)?;
            }
            None => {
                conn.prepare_cached(RENAME_PHONE)?
                    .execute((org, old, new))?;
                counts.identifiers += 1;
            }
        }
    }
    Ok(())
}

fn agent_numbers(conn: &Connection, again: &Renormalizer, counts: &mut Counts) -> Result<()> {
    // (org, memory id, contact, persona id, new agent number or None when invalid)
    type Change = (String, String, String, Option<String>, Option<String>);
    let mut changes: Vec<Change> = Vec::new();
    let mut stmt = conn.prepare(AGENT_MEMORIES_OF_ALL_ORGS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let agent: String = row.get(4)?;
        let new = match again.outcome(&agent, counts) {
            Outcome::Same => continue,
            Outcome::Changed(new) => Some(new),
            Outcome::Invalid => None,
        };
        changes.push((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, new));
    }
    for (org, id, contact, persona, new) in &changes {
        let Some(new) = new else {
            let f = Finding {
                org,
                contact,
                record: id,
                field: "agent_number",
                collision_with: None,
            };
            record(conn, &f, counts)?;
            continue;
        };
        let scope = match persona {
            Some(p) => format!("persona:{p}"),
            None => format!("agent:{new}"),
        };
        let taken = persona.is_none()
            && conn
                .prepare_cached(SCOPE_TAKEN)?
                .exists((org, contact, &scope))?;
        if taken {
            let f = Finding {
                org,
                contact,
                record: id,
                field: "agent_number",
                collision_with: Some(contact),
            };
            record(conn, &f, counts)?;
        } else {
            conn.prepare_cached(RENAME_AGENT)?
                .execute((org, id, new, &scope))?;
            counts.agent_numbers += 1;
        }
    }
    Ok(())
}

fn activity_numbers(conn: &Connection, again: &Renormalizer, counts: &mut Counts) -> Result<()> {
    // (org, kind, id, contact, agent number, contact number) as they should be stored
    type Change = (String, i64, String, String, Option<String>, Option<String>);
    let mut changes: Vec<Change> = Vec::new();
    let mut invalid: Vec<(String, String, String, &'static str)> = Vec::new();
    let mut stmt = conn.prepare(ACTIVITY_NUMBERS_OF_ALL_ORGS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (org, id, contact): (String, String, String) = (row.get(0)?, row.get(2)?, row.get(3)?);
        let mut numbers: [Option<String>; 2] = [row.get(4)?, row.get(5)?];
        let mut changed = false;
        for (number, field) in numbers.iter_mut().zip(["agent_number", "contact_number"]) {
            let Some(value) = number.as_deref() else {
                continue;
            };
            match again.outcome(value, counts) {
                Outcome::Same => {}
                Outcome::Changed(new) => {
                    *number = Some(new);
                    changed = true;
                }
                Outcome::Invalid => invalid.push((org.clone(), contact.clone(), id.clone(), field)),
            }
        }
        if changed {
            let [agent, contact_number] = numbers;
            changes.push((org, row.get(1)?, id, contact, agent, contact_number));
        }
    }
    for (org, kind, id, _, agent, contact_number) in &changes {
        conn.prepare_cached(RENAME_ACTIVITY_NUMBERS)?.execute((
            org,
            kind,
            id,
            agent,
            contact_number,
        ))?;
        counts.activity_numbers += 1;
    }
    for (org, contact, id, field) in &invalid {
        let f = Finding {
            org,
            contact,
            record: id,
            field,
            collision_with: None,
        };
        record(conn, &f, counts)?;
    }
    Ok(())
}
