//! Merging two contacts (contract §3, merge): the rules, in one place.
//!
//! `merge(primary, duplicate)` runs in one `BEGIN IMMEDIATE` transaction. Refusals
//! first — same contact (`Cannot merge a contact with itself`), unknown id
//! (`Contact not found`), different orgs (`Cannot merge contacts from different
//! orgs`) — then, in this order:
//!
//! 1. **identifiers**: all of the duplicate's move to the primary; the primary keeps its
//!    primaries; a moved identifier of a type the primary lacks keeps its primary flag.
//! 2. **metadata**: top-level keys merged; the primary's value wins on conflict.
//! 3. **name**: the primary's, unless null or empty — then the duplicate's.
//! 4. **created_at**: the earlier of the two; **updated_at**: now.
//! 5. **calls and SMS conversations**: reassigned to the primary.
//! 6. **memory, per scope**: a scope only the duplicate has moves over. Where both
//!    have one: `summary` — one if the other is empty or equal, else the primary's, a
//!    blank line, the duplicate's; `facts` — keys merged, primary wins;
//!    `recent_messages` — union (every exact message once), ordered by timestamp
//!    (primary's first on ties), cut to the newest N; `open_items` — union (every exact item
//!    once), ordered by `created_at`; `entities` — union by (type, id); where both
//!    have one, the later `last_discussed_at` (the primary's on a tie) wins `status`
//!    and conflicting fact keys, other facts are kept, non-empty notes are joined.
//! 7. **the duplicate** is deleted; its id (and every id that redirected to it)
//!    redirects to the primary, so reads follow one redirect however long the chain;
//!    the merge is journaled with what moved.
//!
//! Any error rolls the whole transaction back: the database is exactly as before.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lookup;
use crate::memory::{add_sorted_capped, save_entity};
use crate::model::{Contact, Entity, JsonObject, Memory};
use crate::resolve::to_json;
use crate::store::ContactStore;
use crate::timestamp::Timestamp;

/// What a merge moved from the duplicate to the primary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveCounts {
    /// Identifiers moved.
    pub identifiers: u64,
    /// Memories of scopes only the duplicate had, moved whole.
    pub memories_moved: u64,
    /// Memories of scopes both had, combined into the primary's.
    pub memories_combined: u64,
    /// Entities added to the primary's memories (moved or combined).
    pub entities: u64,
    /// Calls reassigned.
    pub calls: u64,
    /// SMS conversations reassigned.
    pub sms_conversations: u64,
    /// Earlier merged ids re-pointed from the duplicate to the primary.
    pub redirects: u64,
}

/// The result of a merge: the surviving contact and what moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    /// The merged contact (the primary, updated).
    #[serde(flatten)]
    pub contact: Contact,
    /// What moved from the duplicate.
    pub moved: MoveCounts,
}

/// The org an id is looked up in: one org, or any (the all-orgs handle).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Within<'a> {
    Org(&'a str),
    AnyOrg,
}

const CONTACT_BY_ID_ANY_ORG: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact WHERE id = ?1";
const REDIRECT_ANY_ORG: &str =
    "SELECT org_id, surviving_id FROM merge_redirect WHERE merged_id = ?1";

/// The contact with this id. The primary may be named by a merged-away id (it is
/// followed, like get); the duplicate may not — a stale id must never delete the live
/// contact it redirects to.
fn find(conn: &Connection, within: Within<'_>, id: &str, follow: bool) -> Result<Contact> {
    let found = match (within, follow) {
        (Within::Org(org), true) => lookup::contact_following_merges(conn, org, id)?,
        (Within::Org(org), false) => lookup::contact(conn, org, id)?,
        (Within::AnyOrg, _) => {
            let direct = conn
                .prepare_cached(CONTACT_BY_ID_ANY_ORG)?
                .query_row([id], lookup::contact_from_row)
                .optional()?;
            match direct {
                Some(c) => Some(c),
                None if follow => {
                    let redirect: Option<(String, String)> = conn
                        .prepare_cached(REDIRECT_ANY_ORG)?
                        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    match redirect {
                        Some((org, surviving)) => lookup::contact(conn, &org, &surviving)?,
                        None => None,
                    }
                }
                None => None,
            }
        }
    };
    found.ok_or(Error::NotFound)
}

pub(crate) fn merge(
    store: &ContactStore,
    within: Within<'_>,
    primary_id: &str,
    duplicate_id: &str,
) -> Result<Merged> {
    let cap = store.settings().recent_messages_cap;
    store.write(|tx| merge_in(tx, within, primary_id, duplicate_id, cap))
}

/// The merge itself, inside the caller's transaction (import uses it per line).
pub(crate) fn merge_in(
    conn: &Connection,
    within: Within<'_>,
    primary_id: &str,
    duplicate_id: &str,
    cap: usize,
) -> Result<Merged> {
    const ITSELF: &str = "Cannot merge a contact with itself";
    if primary_id == duplicate_id {
        return Err(Error::Refused(ITSELF));
    }
    let mut primary = find(conn, within, primary_id, true)?;
    let duplicate = find(conn, within, duplicate_id, false)?;
    if primary.org_id != duplicate.org_id {
        return Err(Error::Refused("Cannot merge contacts from different orgs"));
    }
    if primary.id == duplicate.id {
        return Err(Error::Refused(ITSELF)); // one was merged into the other before
    }
    let org = primary.org_id.clone();
    let now = Timestamp::now();
    let mut moved = MoveCounts {
        identifiers: move_identifiers(conn, &org, &primary.id, &duplicate.id)?,
        ..MoveCounts::default()
    };
    merge_metadata(&mut primary.metadata, &duplicate.metadata);
    merge_name(&mut primary.name, &duplicate.name);
    primary.created_at = primary.created_at.min(duplicate.created_at);
    primary.updated_at = now;
    (moved.calls, moved.sms_conversations) =
        reassign_activity(conn, &org, &primary.id, &duplicate.id)?;
    merge_memories(conn, &org, &primary.id, &duplicate.id, cap, now, &mut moved)?;
    save_contact(conn, &primary)?;
    moved.redirects = retire_duplicate(conn, &org, &primary.id, &duplicate.id, now)?;
    journal(conn, &org, &primary.id, &duplicate.id, now, &moved)?;
    Ok(Merged {
        contact: primary,
        moved,
    })
}

// 1. identifiers -------------------------------------------------------------------

const MOVE_IDENTIFIERS: &str = "UPDATE identifier SET contact_id = ?2, \
     is_primary = is_primary AND identifier_type NOT IN \
         (SELECT identifier_type FROM identifier \
          WHERE org_id = ?1 AND contact_id = ?2 AND is_primary = 1) \
     WHERE org_id = ?1 AND contact_id = ?3";

fn move_identifiers(conn: &Connection, org: &str, primary: &str, duplicate: &str) -> Result<u64> {
    let n = conn
        .prepare_cached(MOVE_IDENTIFIERS)?
        .execute((org, primary, duplicate))?;
    Ok(n as u64)
}

// 2. metadata, 3. name ---------------------------------------------------------------

/// Keys of `other` the primary lacks are added; the primary's values win.
fn merge_metadata(primary: &mut JsonObject, other: &JsonObject) {
    for (key, value) in other {
        primary.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

fn merge_name(primary: &mut Option<String>, other: &Option<String>) {
    if primary.as_deref().is_none_or(|n| n.trim().is_empty()) {
        primary.clone_from(other);
    }
}

// 5. calls and SMS -----------------------------------------------------------------

const MOVE_CALLS: &str = "UPDATE call SET contact_id = ?2 WHERE org_id = ?1 AND contact_id = ?3";
const MOVE_SMS: &str =
    "UPDATE sms_conversation SET contact_id = ?2 WHERE org_id = ?1 AND contact_id = ?3";

fn reassign_activity(
    conn: &Connection,
    org: &str,
    primary: &str,
    duplicate: &str,
) -> Result<(u64, u64)> {
    let calls = conn
        .prepare_cached(MOVE_CALLS)?
        .execute((org, primary, duplicate))?;
    let sms = conn
        .prepare_cached(MOVE_SMS)?
        .execute((org, primary, duplicate))?;
    Ok((calls as u64, sms as u64))
}

// 6. memory ------------------------------------------------------------------------

const SCOPES_OF_CONTACT: &str =
    "SELECT id, scope FROM memory WHERE org_id = ?1 AND contact_id = ?2";
const MOVE_MEMORY: &str = "UPDATE memory SET contact_id = ?2 WHERE org_id = ?1 AND id = ?3";
const SAVE_COMBINED_MEMORY: &str =
    "UPDATE memory SET agent_number = ?3, summary = ?4, facts = ?5, \
     recent_messages = ?6, open_items = ?7, created_at = ?8, updated_at = ?9 \
     WHERE org_id = ?1 AND id = ?2";
const DELETE_MEMORY: &str = "DELETE FROM memory WHERE org_id = ?1 AND id = ?2";

fn scopes(conn: &Connection, org: &str, contact: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(SCOPES_OF_CONTACT)?;
    let rows = stmt.query_map((org, contact), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn merge_memories(
    conn: &Connection,
    org: &str,
    primary: &str,
    duplicate: &str,
    cap: usize,
    now: Timestamp,
    moved: &mut MoveCounts,
) -> Result<()> {
    let primary_scopes = scopes(conn, org, primary)?;
    let duplicate_scopes = scopes(conn, org, duplicate)?;
    let mut to_combine = Vec::new();
    for (dup_memory, scope) in &duplicate_scopes {
        match primary_scopes.iter().find(|(_, s)| s == scope) {
            None => {
                conn.prepare_cached(MOVE_MEMORY)?
                    .execute((org, primary, dup_memory))?;
                moved.memories_moved += 1;
                moved.entities += entity_count(conn, org, dup_memory)?;
            }
            Some((primary_memory, _)) => {
                to_combine.push((primary_memory.clone(), dup_memory.clone()))
            }
        }
    }
    if to_combine.is_empty() {
        return Ok(());
    }
    // Only the pairs being combined are read (memories moved whole above are not).
    for (primary_memory, dup_memory) in to_combine {
        let (Some(mut p), Some(d)) = (
            lookup::memory(conn, org, &primary_memory)?,
            lookup::memory(conn, org, &dup_memory)?,
        ) else {
            continue;
        };
        let before = p.entities.clone();
        combine_memory(&mut p, &d, cap);
        p.updated_at = now;
        conn.prepare_cached(SAVE_COMBINED_MEMORY)?
            .execute(rusqlite::params![
                org,
                p.id,
                p.agent_number,
                p.summary,
                to_json(&p.facts),
                to_json(&p.recent_messages),
                to_json(&p.open_items),
                p.created_at,
                p.updated_at,
            ])?;
        // Only entities the duplicate added or changed are written.
        for entity in p.entities.iter().filter(|e| !before.contains(e)) {
            save_entity(conn, org, &p.id, entity)?;
        }
        conn.prepare_cached(DELETE_MEMORY)?.execute((org, &d.id))?;
        moved.memories_combined += 1;
        moved.entities += (p.entities.len() - before.len()) as u64;
    }
    Ok(())
}

const ENTITY_COUNT: &str =
    "SELECT count(*) FROM memory_entity WHERE org_id = ?1 AND memory_id = ?2";

fn entity_count(conn: &Connection, org: &str, memory: &str) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(ENTITY_COUNT)?
        .query_row((org, memory), |r| r.get(0))?;
    Ok(n as u64)
}

/// Combines the duplicate's memory of a scope into the primary's (rule 6).
pub(crate) fn combine_memory(primary: &mut Memory, duplicate: &Memory, cap: usize) {
    primary.summary = combine_text(&primary.summary, &duplicate.summary);
    merge_metadata(&mut primary.facts, &duplicate.facts);
    if primary.agent_number.is_none() {
        primary.agent_number.clone_from(&duplicate.agent_number);
    }
    let messages = union(&primary.recent_messages, &duplicate.recent_messages);
    primary.recent_messages.clear();
    add_sorted_capped(&mut primary.recent_messages, &messages, cap);
    primary.open_items = union(&primary.open_items, &duplicate.open_items);
    primary.open_items.sort_by_key(|i| i.created_at);
    for entity in &duplicate.entities {
        let same = |e: &&mut Entity| {
            e.entity_type == entity.entity_type && e.entity_id == entity.entity_id
        };
        match primary.entities.iter_mut().find(same) {
            Some(mine) => combine_entity(mine, entity),
            None => primary.entities.push(entity.clone()),
        }
    }
    primary.created_at = primary.created_at.min(duplicate.created_at);
}

/// The primary's items then the duplicate's, each exact value once.
fn union<T: Clone + Eq + std::hash::Hash>(primary: &[T], duplicate: &[T]) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(primary.len() + duplicate.len());
    primary
        .iter()
        .chain(duplicate)
        .filter(|item| seen.insert(*item))
        .cloned()
        .collect()
}

/// One text if the other is empty or equal, else both separated by a blank line.
fn combine_text(primary: &str, duplicate: &str) -> String {
    if duplicate.trim().is_empty() || primary == duplicate {
        primary.to_owned()
    } else if primary.trim().is_empty() {
        duplicate.to_owned()
    } else {
        format!("{primary}\n\n{duplicate}")
    }
}

/// Where both memories know an entity: the later discussion wins status and
/// conflicting facts (the primary's on a tie); other facts are kept; notes joined.
fn combine_entity(primary: &mut Entity, duplicate: &Entity) {
    let duplicate_is_newer = match (duplicate.last_discussed_at, primary.last_discussed_at) {
        (Some(d), Some(p)) => d > p,
        (Some(_), None) => true,
        _ => false,
    };
    if duplicate_is_newer {
        let mut facts = duplicate.facts.clone();
        merge_metadata(&mut facts, &primary.facts);
        primary.facts = facts;
        if duplicate.status.is_some() {
            primary.status.clone_from(&duplicate.status);
        }
        primary.last_discussed_at = duplicate.last_discussed_at;
    } else {
        merge_metadata(&mut primary.facts, &duplicate.facts);
    }
    let notes = combine_text(
        primary.notes.as_deref().unwrap_or(""),
        duplicate.notes.as_deref().unwrap_or(""),
    );
    primary.notes = (!notes.is_empty()).then_some(notes);
}

// 4. the contact row, 7. the duplicate's end ---------------------------------------

const SAVE_CONTACT: &str = "UPDATE contact SET name = ?3, metadata = ?4, created_at = ?5, \
     updated_at = ?6 WHERE org_id = ?1 AND id = ?2";
const REPOINT_REDIRECTS: &str = "UPDATE merge_redirect SET surviving_id = ?2 \
     WHERE org_id = ?1 AND surviving_id = ?3";
const DELETE_CONTACT: &str = "DELETE FROM contact WHERE org_id = ?1 AND id = ?2";
const INSERT_REDIRECT: &str =
    "INSERT INTO merge_redirect (org_id, merged_id, surviving_id, merged_at) \
     VALUES (?1, ?2, ?3, ?4)";
const INSERT_JOURNAL: &str =
    "INSERT INTO merge_journal (org_id, primary_id, duplicate_id, merged_at, moved) \
     VALUES (?1, ?2, ?3, ?4, ?5)";

fn save_contact(conn: &Connection, c: &Contact) -> Result<()> {
    conn.prepare_cached(SAVE_CONTACT)?.execute((
        &c.org_id,
        &c.id,
        &c.name,
        to_json(&c.metadata),
        c.created_at,
        c.updated_at,
    ))?;
    Ok(())
}

/// Re-points redirects to the duplicate (before deleting it: the redirect's foreign key
/// would cascade), deletes it, and redirects its id. Returns how many were re-pointed.
fn retire_duplicate(
    conn: &Connection,
    org: &str,
    primary: &str,
    duplicate: &str,
    now: Timestamp,
) -> Result<u64> {
    let repointed = conn
        .prepare_cached(REPOINT_REDIRECTS)?
        .execute((org, primary, duplicate))?;
    conn.prepare_cached(DELETE_CONTACT)?
        .execute((org, duplicate))?;
    conn.prepare_cached(INSERT_REDIRECT)?
        .execute((org, duplicate, primary, now))?;
    Ok(repointed as u64)
}

fn journal(
    conn: &Connection,
    org: &str,
    primary: &str,
    duplicate: &str,
    now: Timestamp,
    moved: &MoveCounts,
) -> Result<()> {
    conn.prepare_cached(INSERT_JOURNAL)?
        .execute((org, primary, duplicate, now, to_json(moved)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(
        at: Option<i64>,
        facts: serde_json::Value,
        status: &str,
        notes: Option<&str>,
    ) -> Entity {
        Entity {
            entity_type: "order".into(),
            entity_id: "o-1".into(),
            facts: facts.as_object().unwrap().clone(),
            status: Some(status.into()),
            last_discussed_at: at.and_then(Timestamp::from_millis),
            notes: notes.map(str::to_owned),
        }
    }

    #[test]
    fn texts_combine_with_a_blank_line_unless_empty_or_equal() {
        assert_eq!(combine_text("a", ""), "a");
        assert_eq!(combine_text("", "b"), "b");
        assert_eq!(combine_text("a", "a"), "a");
        assert_eq!(combine_text("a", "b"), "a\n\nb");
    }

    #[test]
    fn the_later_discussion_wins_status_and_conflicting_facts() {
        let mut primary = entity(
            Some(1),
            json!({"status": "processing", "carrier": "UPS"}),
            "processing",
            Some("p"),
        );
        let newer = entity(
            Some(2),
            json!({"status": "in_transit", "eta": "Fri"}),
            "in_transit",
            Some("d"),
        );
        combine_entity(&mut primary, &newer);
        assert_eq!(
            serde_json::Value::Object(primary.facts.clone()),
            json!({"status": "in_transit", "carrier": "UPS", "eta": "Fri"})
        );
        assert_eq!(primary.status.as_deref(), Some("in_transit"));
        assert_eq!(primary.notes.as_deref(), Some("p\n\nd"));

        let mut primary = entity(Some(5), json!({"status": "delivered"}), "delivered", None);
        combine_entity(
            &mut primary,
            &entity(Some(5), json!({"status": "lost", "x": 1}), "lost", None),
        );
        assert_eq!(
            primary.status.as_deref(),
            Some("delivered"),
            "a tie goes to the primary"
        );
        assert_eq!(
            serde_json::Value::Object(primary.facts),
            json!({"status": "delivered", "x": 1})
        );
        assert_eq!(primary.notes, None);
    }

    #[test]
    fn a_newer_entity_without_status_keeps_the_primarys_status() {
        let mut primary = entity(Some(1), json!({}), "delivered", None);
        let mut newer = entity(Some(2), json!({"x": 1}), "ignored", None);
        newer.status = None;
        combine_entity(&mut primary, &newer);
        assert_eq!(primary.status.as_deref(), Some("delivered"));
        assert_eq!(primary.last_discussed_at, Timestamp::from_millis(2));
    }

    #[test]
    fn metadata_and_name_prefer_the_primary() {
        let mut m = json!({"a": 1}).as_object().unwrap().clone();
        merge_metadata(&mut m, json!({"a": 2, "b": 3}).as_object().unwrap());
        assert_eq!(serde_json::Value::Object(m), json!({"a": 1, "b": 3}));
        let mut name = Some("  ".to_owned());
        merge_name(&mut name, &Some("Sarah".into()));
        assert_eq!(name.as_deref(), Some("Sarah"));
        let mut name = Some("Sarah".to_owned());
        merge_name(&mut name, &Some("S.".into()));
        assert_eq!(name.as_deref(), Some("Sarah"));
    }
}
