//! Property tests of merge and the operations around it.
//!
//! * `store_agrees_with_the_model`: random sequences of resolve / merge / memory writes /
//!   record call over a small pool of identifiers in two orgs, run against the store and
//!   against a plain in-memory model of the contract; after every step they agree.
//!   They also preview merges, undo them (at once, or after other writes, chains
//!   included), and erase contacts; after every step the change log, replayed from the
//!   start, rebuilds each contact's identifiers, and a merge undone at once gives back
//!   the export as it was.
//! * `merge_invariants_hold`: two random contacts merged, with every invariant of the
//!   merge issue checked, and the other org (holding the same identifiers) untouched.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use contactstore::{
    ChangeKind, Channel, ContactStore, Direction, Error, ErrorCode, IdentifierQuery, MemoryScope,
    Message, NewCall, NewSmsConversation, ResolveRequest, Role, Settings, Timestamp,
};
use proptest::prelude::*;
use serde_json::Value;

const CAP: usize = 4;
const ORGS: [&str; 2] = ["org-a", "org-b"];
/// Spellings of three phone numbers: the same identity written differently.
const PHONES: [[&str; 2]; 3] = [
    ["+14155550101", "(415) 555-0101"],
    ["+14155550102", "415.555.0102"],
    ["+14155550103", "tel:+1-415-555-0103"],
];
const EMAILS: [[&str; 2]; 3] = [
    ["a@example.com", "A@Example.COM"],
    ["b@example.com", " b@example.com "],
    ["c@example.com", "C@example.com"],
];
const EXTERNAL: [&str; 2] = ["crm-1", "crm-2"];
const NAMES: [&str; 2] = ["Sarah", "Sam"];

fn normalized(kind: u8, i: usize) -> String {
    match kind {
        1 => PHONES[i][0].to_owned(),
        2 => EMAILS[i][0].to_owned(),
        _ => EXTERNAL[i].to_owned(),
    }
}

// ---------------------------------------------------------------------------------
// The model: the contract written as plainly as possible.

#[derive(Debug, Clone, Default)]
struct MMemory {
    summary: String,
    facts: BTreeMap<String, Value>,
    messages: Vec<(i64, String)>,
    /// Which memory this is (the store's memory id): kept when a merge moves it whole
    /// or combines another into it. Not compared.
    origin: u64,
}

impl PartialEq for MMemory {
    fn eq(&self, other: &Self) -> bool {
        (&self.summary, &self.facts, &self.messages)
            == (&other.summary, &other.facts, &other.messages)
    }
}

/// What a merge kept to be undone: the duplicate, the primary before and after.
#[derive(Debug, Clone)]
struct MSnap {
    duplicate_id: String,
    primary_id: String,
    duplicate: MContact,
    before: MContact,
    after: MContact,
    /// Scopes both had.
    combined: BTreeSet<String>,
    /// Ids that had redirected to the duplicate.
    redirects: Vec<String>,
    undone: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct MContact {
    /// (type code, normalized value) → is_primary
    identifiers: BTreeMap<(u8, String), bool>,
    name: Option<String>,
    metadata: BTreeMap<String, Value>,
    memories: BTreeMap<String, MMemory>,
    calls: usize,
}

#[derive(Debug, Clone, Default)]
struct MOrg {
    contacts: BTreeMap<String, MContact>,
    redirects: BTreeMap<String, String>,
    /// Every id ever created in the org, in creation order (ops pick from it).
    ids: Vec<String>,
    journal: Vec<MSnap>,
    /// Ids merged into a contact that was then erased: their snapshots went with it.
    erased_merged: BTreeSet<String>,
    /// The next memory origin.
    memories: u64,
}

impl MOrg {
    fn owner(&self, key: &(u8, String)) -> Option<String> {
        self.contacts
            .iter()
            .find(|(_, c)| c.identifiers.contains_key(key))
            .map(|(id, _)| id.clone())
    }

    fn follow(&self, id: &str) -> Option<String> {
        if self.contacts.contains_key(id) {
            return Some(id.to_owned());
        }
        self.redirects.get(id).cloned()
    }

    /// The contact's memory of a scope, created empty (with a new origin) if missing.
    fn memory(&mut self, contact: &str, scope: String) -> &mut MMemory {
        self.memories += 1;
        let origin = self.memories;
        self.contacts
            .get_mut(contact)
            .unwrap()
            .memories
            .entry(scope)
            .or_insert_with(|| MMemory {
                origin,
                ..MMemory::default()
            })
    }

    /// The latest merge that took `id` away and is not undone.
    fn merge_taking(&self, id: &str) -> Option<usize> {
        self.journal
            .iter()
            .rposition(|j| j.duplicate_id == id && !j.undone)
    }
}

fn add_capped(messages: &mut Vec<(i64, String)>, new: &[(i64, String)]) {
    messages.extend_from_slice(new);
    messages.sort_by_key(|m| m.0);
    if messages.len() > CAP {
        messages.drain(..messages.len() - CAP);
    }
}

fn combine_text(p: &str, d: &str) -> String {
    if d.trim().is_empty() || p == d {
        p.to_owned()
    } else if p.trim().is_empty() {
        d.to_owned()
    } else {
        format!("{p}\n\n{d}")
    }
}

/// The model's merge; `Err` carries the expected message.
fn model_merge(org: &mut MOrg, a: &str, b: &str) -> Result<String, &'static str> {
    // Both ids must name contacts before their sameness is looked at.
    let p = org.follow(a).ok_or("Contact not found")?;
    // The duplicate must be a live contact: a merged-away id is not followed.
    let d = org
        .contacts
        .contains_key(b)
        .then(|| b.to_owned())
        .ok_or("Contact not found")?;
    if p == d {
        return Err("Cannot merge a contact with itself");
    }
    let dup = org.contacts.remove(&d).expect("followed");
    let before = org.contacts[&p].clone();
    let combined: BTreeSet<String> = dup
        .memories
        .keys()
        .filter(|k| before.memories.contains_key(*k))
        .cloned()
        .collect();
    let redirects: Vec<String> = org
        .redirects
        .iter()
        .filter(|(_, t)| **t == d)
        .map(|(k, _)| k.clone())
        .collect();
    let snapshot_of_dup = dup.clone();
    let primary = org.contacts.get_mut(&p).expect("followed");
    let primary_types: BTreeSet<u8> = primary
        .identifiers
        .iter()
        .filter(|(_, &is_primary)| is_primary)
        .map(|((k, _), _)| *k)
        .collect();
    for ((kind, value), is_primary) in dup.identifiers {
        let keep = is_primary && !primary_types.contains(&kind);
        primary.identifiers.insert((kind, value), keep);
    }
    for (k, v) in dup.metadata {
        primary.metadata.entry(k).or_insert(v);
    }
    if primary.name.is_none() {
        primary.name = dup.name;
    }
    primary.calls += dup.calls;
    for (scope, dm) in dup.memories {
        match primary.memories.get_mut(&scope) {
            None => {
                primary.memories.insert(scope, dm);
            }
            Some(pm) => {
                pm.summary = combine_text(&pm.summary, &dm.summary);
                for (k, v) in dm.facts {
                    pm.facts.entry(k).or_insert(v);
                }
                // A union: every exact message once.
                let mut union: Vec<(i64, String)> = Vec::new();
                for m in pm.messages.iter().chain(&dm.messages) {
                    if !union.contains(m) {
                        union.push(m.clone());
                    }
                }
                pm.messages.clear();
                add_capped(&mut pm.messages, &union);
            }
        }
    }
    let after = primary.clone();
    for target in org.redirects.values_mut() {
        if *target == d {
            target.clone_from(&p);
        }
    }
    org.redirects.insert(d.clone(), p.clone());
    org.journal.push(MSnap {
        duplicate_id: d,
        primary_id: p.clone(),
        duplicate: snapshot_of_dup,
        before,
        after,
        combined,
        redirects,
        undone: false,
    });
    Ok(p)
}

// ---------------------------------------------------------------------------------
// The model's unmerge: the rules of the README's "History and undo", written out.

const TAKEN: &str =
    "Cannot unmerge: an identifier of the merged contact now belongs to another contact";

/// The text a merge appended to a summary: the model states the rule as "the
/// survivor's text, a blank line, the duplicate's", read backwards.
fn brought_text<'a>(before: &str, after: &'a str) -> Option<&'a str> {
    let joined_prefix = format!("{before}\n\n");
    match (before.trim().is_empty(), after.trim().is_empty()) {
        _ if after == before => None,
        (_, true) => None,
        (true, false) => Some(after),
        (false, false)
            if after.len() > joined_prefix.len() && after.starts_with(&joined_prefix) =>
        {
            Some(&after[joined_prefix.len()..])
        }
        _ => None,
    }
}

/// `text` without the paragraph `brought`: the whole text, its last paragraph, its
/// first, or one in between, tried in that order.
fn remove_paragraph(text: &str, brought: &str) -> String {
    let last = format!("\n\n{brought}");
    let first = format!("{brought}\n\n");
    let between = format!("\n\n{brought}\n\n");
    if text == brought {
        String::new()
    } else if text.ends_with(&last) {
        text[..text.len() - last.len()].to_owned()
    } else if text.starts_with(&first) {
        text[first.len()..].to_owned()
    } else if let Some(at) = text.find(&between) {
        [&text[..at], &text[at + between.len()..]].join("\n\n")
    } else {
        text.to_owned()
    }
}

/// `current` without what the merge from `befores[0]` to `after` brought.
fn subtract(befores: &[Option<&MMemory>], after: &MMemory, current: &MMemory) -> MMemory {
    let before = befores[0];
    let later = &befores[1..];
    let direct = later.is_empty();
    if let (true, Some(b)) = (direct && current == after, before) {
        return MMemory {
            origin: current.origin,
            ..b.clone()
        };
    }
    let mut out = current.clone();
    let before_summary = before.map_or("", |b| b.summary.as_str());
    if direct && current.summary == after.summary {
        out.summary = before_summary.to_owned();
    } else if let Some(brought) = brought_text(before_summary, &after.summary) {
        if !later.iter().flatten().any(|m| m.summary.contains(brought)) {
            out.summary = remove_paragraph(&current.summary, brought);
        }
    }
    for (k, v) in &after.facts {
        if before.and_then(|b| b.facts.get(k)) == Some(v) || current.facts.get(k) != Some(v) {
            continue;
        }
        match befores.iter().rev().flatten().find_map(|b| b.facts.get(k)) {
            Some(old) => out.facts.insert(k.clone(), old.clone()),
            None => out.facts.remove(k),
        };
    }
    if direct && current.messages == after.messages {
        out.messages = before.map(|b| b.messages.clone()).unwrap_or_default();
    } else {
        out.messages.retain(|m| {
            let brought =
                after.messages.contains(m) && !before.is_some_and(|b| b.messages.contains(m));
            !brought || later.iter().flatten().any(|l| l.messages.contains(m))
        });
    }
    out
}

/// Name and metadata without what the merge brought.
fn subtract_fields(befores: &[&MContact], after: &MContact, current: &mut MContact) {
    let before = befores[0];
    if current.name == after.name && after.name != before.name {
        current.name = befores
            .iter()
            .rev()
            .find(|b| b.name.as_deref().is_some_and(|n| !n.trim().is_empty()))
            .map_or_else(|| before.name.clone(), |b| b.name.clone());
    }
    let snapshot = current.metadata.clone();
    for (k, v) in &after.metadata {
        if before.metadata.get(k) == Some(v) || snapshot.get(k) != Some(v) {
            continue;
        }
        match befores.iter().rev().find_map(|b| b.metadata.get(k)) {
            Some(old) => current.metadata.insert(k.clone(), old.clone()),
            None => current.metadata.remove(k),
        };
    }
}

/// Makes the smallest identifier of a type primary where a type has none.
fn settle_primaries(c: &mut MContact) {
    for kind in [1u8, 2, 3] {
        let of_kind: Vec<(u8, String)> = c
            .identifiers
            .keys()
            .filter(|(k, _)| *k == kind)
            .cloned()
            .collect();
        if !of_kind.is_empty() && !of_kind.iter().any(|k| c.identifiers[k]) {
            c.identifiers.insert(of_kind[0].clone(), true);
        }
    }
}

fn model_unmerge(org: &mut MOrg, id: &str) -> Result<String, &'static str> {
    let Some(first) = org.merge_taking(id) else {
        if org.erased_merged.contains(id) && !org.contacts.contains_key(id) {
            return Err(
                "Cannot unmerge: the contact it was merged into was erased, and what undoing needs with it",
            );
        }
        return Err("Contact not found");
    };
    let survivor_id = org.redirects.get(id).cloned().ok_or("Contact not found")?;
    let own = org.journal[first].clone();
    let mut hops: Vec<usize> = Vec::new();
    let mut at = own.primary_id.clone();
    while at != survivor_id {
        let hop = org.merge_taking(&at).expect("a later merge carried it on");
        at.clone_from(&org.journal[hop].primary_id);
        hops.push(hop);
    }
    let later: Vec<MSnap> = hops.iter().map(|h| org.journal[*h].clone()).collect();
    let mut moving = Vec::new();
    for (key, flag) in &own.duplicate.identifiers {
        match org.owner(key) {
            Some(owner) if owner == survivor_id => moving.push((key.clone(), *flag)),
            Some(_) => return Err(TAKEN),
            None => {}
        }
    }
    let mut survivor = org.contacts[&survivor_id].clone();
    let mut restored = MContact {
        name: own.duplicate.name.clone(),
        metadata: own.duplicate.metadata.clone(),
        calls: own.duplicate.calls,
        ..MContact::default()
    };
    for (key, flag) in moving {
        survivor.identifiers.remove(&key);
        restored.identifiers.insert(key, flag);
    }
    survivor.calls -= own.duplicate.calls;
    for (scope, mine) in &own.duplicate.memories {
        let combined = own.combined.contains(scope);
        let whole = survivor
            .memories
            .get(scope)
            .is_some_and(|m| m.origin == mine.origin);
        if !combined && whole {
            let m = survivor.memories.remove(scope).unwrap();
            restored.memories.insert(scope.clone(), m);
            continue;
        }
        restored.memories.insert(scope.clone(), mine.clone());
        let Some(current) = survivor.memories.get(scope).cloned() else {
            continue;
        };
        let (before, after) = if combined {
            (own.before.memories.get(scope), &own.after.memories[scope])
        } else {
            (None, mine)
        };
        let mut befores = vec![before];
        for h in &later {
            befores.push(if h.combined.contains(scope) {
                h.before.memories.get(scope)
            } else {
                None
            });
        }
        let kept = subtract(&befores, after, &current);
        survivor.memories.insert(scope.clone(), kept);
    }
    settle_primaries(&mut survivor);
    settle_primaries(&mut restored);
    let mut befores: Vec<&MContact> = vec![&own.before];
    befores.extend(later.iter().map(|h| &h.before));
    subtract_fields(&befores, &own.after, &mut survivor);
    org.contacts.insert(survivor_id.clone(), survivor);
    org.contacts.insert(id.to_owned(), restored);
    org.redirects.remove(id);
    for r in &own.redirects {
        if org.redirects.get(r) == Some(&survivor_id) {
            org.redirects.insert(r.clone(), id.to_owned());
        }
    }
    // The later merges' snapshots lose the undone contact's data.
    let mut contact_befores: Vec<MContact> = vec![own.before.clone()];
    for (i, hop) in hops.iter().enumerate() {
        let mut s = org.journal[*hop].clone();
        s.duplicate
            .identifiers
            .retain(|k, _| !own.duplicate.identifiers.contains_key(k));
        s.duplicate.calls -= own.duplicate.calls;
        s.redirects
            .retain(|r| r != id && !own.redirects.contains(r));
        s.duplicate.memories.retain(|scope, m| {
            own.duplicate
                .memories
                .get(scope)
                .is_none_or(|o| o.origin != m.origin)
        });
        for (scope, m) in s.duplicate.memories.iter_mut() {
            if !own.combined.contains(scope) {
                continue;
            }
            let mut befores = vec![own.before.memories.get(scope)];
            for h in &later[..i] {
                befores.push(if h.combined.contains(scope) {
                    h.before.memories.get(scope)
                } else {
                    None
                });
            }
            *m = subtract(&befores, &own.after.memories[scope], m);
        }
        let refs: Vec<&MContact> = contact_befores.iter().collect();
        subtract_fields(&refs, &own.after, &mut s.duplicate);
        for scope in s.combined.clone() {
            let (before, after) = if own.combined.contains(&scope) {
                (own.before.memories.get(&scope), &own.after.memories[&scope])
            } else if let Some(mine) = own.duplicate.memories.get(&scope) {
                (None, mine)
            } else {
                continue;
            };
            let mut befores = vec![before];
            for h in &later[..=i] {
                befores.push(if h.combined.contains(&scope) {
                    h.before.memories.get(&scope)
                } else {
                    None
                });
            }
            let a = s.after.memories[&scope].clone();
            s.after
                .memories
                .insert(scope.clone(), subtract(&befores, after, &a));
        }
        contact_befores.push(s.before.clone());
        let refs: Vec<&MContact> = contact_befores.iter().collect();
        let mut primary_after = s.after.clone();
        subtract_fields(&refs, &own.after, &mut primary_after);
        s.after.name = primary_after.name;
        s.after.metadata = primary_after.metadata;
        org.journal[*hop] = s;
    }
    org.journal[first].undone = true;
    Ok(survivor_id)
}

fn model_erase(org: &mut MOrg, id: &str) -> Result<String, &'static str> {
    let target = org.follow(id).ok_or("Contact not found")?;
    org.contacts.remove(&target);
    let mut gone: BTreeSet<String> = org
        .redirects
        .iter()
        .filter(|(_, t)| **t == target)
        .map(|(k, _)| k.clone())
        .collect();
    org.erased_merged.extend(gone.iter().cloned());
    gone.insert(target.clone());
    org.redirects
        .retain(|k, t| !gone.contains(k) && !gone.contains(t));
    org.journal
        .retain(|j| !gone.contains(&j.primary_id) && !gone.contains(&j.duplicate_id));
    Ok(target)
}

// ---------------------------------------------------------------------------------
// Reading the store back into the model's shape.

fn store_orgs(store: &ContactStore) -> BTreeMap<String, BTreeMap<String, MContact>> {
    let mut out = Vec::new();
    store.all_orgs().export(&mut out).unwrap();
    let mut orgs: BTreeMap<String, BTreeMap<String, MContact>> = BTreeMap::new();
    for line in String::from_utf8(out).unwrap().lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        let mut c = MContact {
            name: doc["name"].as_str().map(str::to_owned),
            metadata: doc["metadata"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            calls: doc["calls"].as_array().unwrap().len(),
            ..Default::default()
        };
        for ident in doc["identifiers"].as_array().unwrap() {
            let kind = match ident["identifier_type"].as_str().unwrap() {
                "phone_number" => 1,
                "email" => 2,
                _ => 3,
            };
            c.identifiers.insert(
                (kind, ident["identifier_value"].as_str().unwrap().to_owned()),
                ident["is_primary"].as_bool().unwrap(),
            );
        }
        for m in doc["memories"].as_array().unwrap() {
            let scope = m["persona_id"].as_str().unwrap().to_owned();
            let messages: Vec<(i64, String)> = m["recent_messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|msg| {
                    let at = Timestamp::parse(msg["timestamp"].as_str().unwrap()).unwrap();
                    (at.as_millis(), msg["content"].as_str().unwrap().to_owned())
                })
                .collect();
            c.memories.insert(
                scope,
                MMemory {
                    summary: m["summary"].as_str().unwrap().to_owned(),
                    facts: m["facts"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    messages,
                    origin: 0,
                },
            );
        }
        orgs.entry(doc["org_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(doc["id"].as_str().unwrap().to_owned(), c);
    }
    orgs
}

// ---------------------------------------------------------------------------------
// Operations

#[derive(Debug, Clone)]
enum Op {
    Resolve {
        org: usize,
        phone: Option<(usize, usize)>,
        email: Option<(usize, usize)>,
        external: Option<usize>,
        name: Option<usize>,
        persona: Option<usize>,
        metadata: Option<(usize, usize)>,
    },
    Merge {
        org: usize,
        a: usize,
        b: usize,
    },
    AddMessage {
        org: usize,
        who: usize,
        persona: usize,
        at: i64,
        content: usize,
    },
    PatchFact {
        org: usize,
        who: usize,
        persona: usize,
        key: usize,
        value: Option<usize>,
    },
    SetSummary {
        org: usize,
        who: usize,
        persona: usize,
        summary: usize,
    },
    RecordCall {
        org: usize,
        who: usize,
    },
    Unmerge {
        org: usize,
        who: usize,
    },
    Preview {
        org: usize,
        a: usize,
        b: usize,
    },
    /// B into A, then A into C: a chain for unmerge to undo from its end.
    MergeChain {
        org: usize,
        a: usize,
        b: usize,
        c: usize,
    },
    /// A merge undone at once: everything is as before it.
    MergeUndone {
        org: usize,
        a: usize,
        b: usize,
    },
    Erase {
        org: usize,
        who: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let org = 0..2usize;
    prop_oneof![
        4 => (
            org.clone(),
            proptest::option::of((0..3usize, 0..2usize)),
            proptest::option::of((0..3usize, 0..2usize)),
            proptest::option::weighted(0.3, 0..2usize),
            proptest::option::of(0..2usize),
            proptest::option::weighted(0.4, 0..2usize),
            proptest::option::of((0..3usize, 0..2usize)),
        )
            .prop_map(|(org, phone, email, external, name, persona, metadata)| Op::Resolve {
                org, phone, email, external, name, persona, metadata,
            }),
        3 => (org.clone(), 0..8usize, 0..8usize).prop_map(|(org, a, b)| Op::Merge { org, a, b }),
        2 => (org.clone(), 0..8usize, 0..2usize, 0..6i64, 0..3usize)
            .prop_map(|(org, who, persona, at, content)| Op::AddMessage { org, who, persona, at, content }),
        1 => (org.clone(), 0..8usize, 0..2usize, 0..3usize, proptest::option::of(0..2usize))
            .prop_map(|(org, who, persona, key, value)| Op::PatchFact { org, who, persona, key, value }),
        1 => (org.clone(), 0..8usize, 0..2usize, 0..3usize)
            .prop_map(|(org, who, persona, summary)| Op::SetSummary { org, who, persona, summary }),
        1 => (org.clone(), 0..8usize).prop_map(|(org, who)| Op::RecordCall { org, who }),
        3 => (org.clone(), 0..16usize).prop_map(|(org, who)| Op::Unmerge { org, who }),
        1 => (org.clone(), 0..8usize, 0..8usize).prop_map(|(org, a, b)| Op::Preview { org, a, b }),
        1 => (org.clone(), 0..8usize, 0..8usize).prop_map(|(org, a, b)| Op::MergeUndone { org, a, b }),
        2 => (org.clone(), 0..8usize, 0..8usize, 0..8usize)
            .prop_map(|(org, a, b, c)| Op::MergeChain { org, a, b, c }),
        1 => (org, 0..8usize).prop_map(|(org, who)| Op::Erase { org, who }),
    ]
}

/// Four contacts with memories, then mostly merges, chains, unmerges and writes
/// among them: the paths of unmerge that random operations over many ids reach
/// seldom.
fn chain_ops() -> impl Strategy<Value = Vec<Op>> {
    let prelude: Vec<Op> = (0..4)
        .map(|i| Op::Resolve {
            org: 0,
            phone: (i < 3).then_some((i, 0)),
            email: (i > 0).then_some((i % 3, 1)),
            external: (i == 3).then_some(0),
            name: (i % 2 == 0).then_some(i / 2),
            persona: Some(i % 2),
            metadata: Some((i % 3, i % 2)),
        })
        .collect();
    let who = 0..4usize;
    let op = prop_oneof![
        3 => (who.clone(), who.clone()).prop_map(|(a, b)| Op::Merge { org: 0, a, b }),
        2 => (who.clone(), who.clone(), who.clone())
            .prop_map(|(a, b, c)| Op::MergeChain { org: 0, a, b, c }),
        4 => (0..16usize).prop_map(|who| Op::Unmerge { org: 0, who }),
        2 => (who.clone(), 0..2usize, 0..6i64, 0..3usize)
            .prop_map(|(who, persona, at, content)| Op::AddMessage { org: 0, who, persona, at, content }),
        2 => (who.clone(), 0..2usize, 0..3usize, proptest::option::of(0..2usize))
            .prop_map(|(who, persona, key, value)| Op::PatchFact { org: 0, who, persona, key, value }),
        1 => (who.clone(), 0..2usize, 0..3usize)
            .prop_map(|(who, persona, summary)| Op::SetSummary { org: 0, who, persona, summary }),
        1 => who.clone().prop_map(|who| Op::RecordCall { org: 0, who }),
        1 => (who.clone(), who.clone()).prop_map(|(a, b)| Op::MergeUndone { org: 0, a, b }),
        1 => who.prop_map(|who| Op::Erase { org: 0, who }),
    ];
    proptest::collection::vec(op, 1..30).prop_map(move |ops| {
        let mut all = prelude.clone();
        all.extend(ops);
        all
    })
}

fn persona(i: usize) -> String {
    format!("persona-{i}")
}

fn message(at: i64, content: usize) -> Message {
    Message {
        role: Role::User,
        content: format!("m{content}"),
        channel: Channel::Sms,
        timestamp: Timestamp::from_millis(1_753_000_000_000 + at * 1000).unwrap(),
    }
}

fn new_call() -> NewCall {
    NewCall {
        direction: Direction::Inbound,
        agent_number: None,
        contact_number: None,
        started_at: None,
        duration_seconds: Some(1),
        status: None,
        summary: None,
        metadata: Default::default(),
    }
}

/// Runs one op on both; panics (fails the property) when they disagree.
fn step(store: &ContactStore, model: &mut [MOrg; 2], op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Resolve {
            org,
            phone,
            email,
            external,
            name,
            persona: p,
            metadata,
        } => {
            let m = &mut model[*org];
            let request = ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: phone.map(|(i, s)| PHONES[i][s].to_owned()),
                    email: email.map(|(i, s)| EMAILS[i][s].to_owned()),
                    external_id: external.map(|i| EXTERNAL[i].to_owned()),
                },
                name: name.map(|i| NAMES[i].to_owned()),
                persona_id: p.map(persona),
                agent_number: None,
                metadata: metadata.map(|(k, v)| serde_json::json!({ format!("k{k}"): v })),
            };
            let result = store.org(ORGS[*org]).unwrap().resolve(&request);
            let mut wanted: Vec<(u8, String)> = Vec::new();
            if let Some(i) = external {
                wanted.push((3, normalized(3, *i)));
            }
            if let Some((i, _)) = phone {
                wanted.push((1, normalized(1, *i)));
            }
            if let Some((i, _)) = email {
                wanted.push((2, normalized(2, *i)));
            }
            if wanted.is_empty() {
                prop_assert!(matches!(result, Err(Error::MissingIdentifier)));
                return Ok(());
            }
            let result = result.unwrap();
            let owners: Vec<Option<String>> = wanted.iter().map(|k| m.owner(k)).collect();
            let chosen = owners.iter().flatten().next().cloned();
            let id = match chosen {
                None => {
                    prop_assert!(result.created);
                    let id = result.contact.id.clone();
                    m.ids.push(id.clone());
                    m.contacts.insert(id.clone(), MContact::default());
                    id
                }
                Some(chosen) => {
                    prop_assert!(!result.created);
                    prop_assert_eq!(&result.contact.id, &chosen);
                    let expected_conflicts: BTreeSet<String> = owners
                        .iter()
                        .flatten()
                        .filter(|o| **o != chosen)
                        .cloned()
                        .collect();
                    let got: BTreeSet<String> = result
                        .conflicts
                        .iter()
                        .map(|c| c.contact_id.clone())
                        .collect();
                    prop_assert_eq!(got, expected_conflicts);
                    chosen
                }
            };
            let c = m.contacts.get_mut(&id).unwrap();
            for (key, owner) in wanted.iter().zip(&owners) {
                if owner.is_none() {
                    let has_primary = c.identifiers.iter().any(|((k, _), &p)| *k == key.0 && p);
                    c.identifiers.insert(key.clone(), !has_primary);
                }
            }
            if c.name.is_none() {
                c.name = name.map(|i| NAMES[i].to_owned());
            }
            if let Some((k, v)) = metadata {
                c.metadata.entry(format!("k{k}")).or_insert(Value::from(*v));
            }
            if let Some(p) = p {
                m.memory(&id, persona(*p));
            }
        }
        Op::Merge { org, a, b } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let a = m.ids[a % m.ids.len()].clone();
            let b = m.ids[b % m.ids.len()].clone();
            let expected = model_merge(m, &a, &b);
            let got = store.org(ORGS[*org]).unwrap().merge(&a, &b);
            match (expected, got) {
                (Ok(p), Ok(merged)) => prop_assert_eq!(merged.contact.id, p),
                (Err(message), Err(e)) => prop_assert_eq!(e.to_string(), message),
                (e, g) => prop_assert!(false, "model {:?} store {:?}", e, g.map(|m| m.contact.id)),
            }
        }
        Op::AddMessage {
            org,
            who,
            persona: p,
            at,
            content,
        } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let id = m.ids[who % m.ids.len()].clone();
            let Some(target) = m.follow(&id) else {
                // Erased: the id names nothing any more.
                let handle = store.org(ORGS[*org]).unwrap();
                prop_assert_eq!(handle.get(&id).unwrap_err().code(), ErrorCode::NotFound);
                return Ok(());
            };
            let stored = store
                .org(ORGS[*org])
                .unwrap()
                .add_messages(
                    &id,
                    &MemoryScope::persona(persona(*p)),
                    &[message(*at, *content)],
                )
                .unwrap();
            prop_assert_eq!(&stored.contact_id, &target);
            let memory = m.memory(&target, persona(*p));
            let at_ms = message(*at, *content).timestamp.as_millis();
            let new = (at_ms, format!("m{content}"));
            // An exact repeat of a stored message is not stored again.
            if !memory.messages.contains(&new) {
                add_capped(&mut memory.messages, &[new]);
            }
        }
        Op::PatchFact {
            org,
            who,
            persona: p,
            key,
            value,
        } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let id = m.ids[who % m.ids.len()].clone();
            let Some(target) = m.follow(&id) else {
                // Erased: the id names nothing any more.
                let handle = store.org(ORGS[*org]).unwrap();
                prop_assert_eq!(handle.get(&id).unwrap_err().code(), ErrorCode::NotFound);
                return Ok(());
            };
            let patch = serde_json::json!({ format!("f{key}"): value.map(Value::from) });
            store
                .org(ORGS[*org])
                .unwrap()
                .patch_facts(
                    &id,
                    &MemoryScope::persona(persona(*p)),
                    patch.as_object().unwrap(),
                )
                .unwrap();
            let memory = m.memory(&target, persona(*p));
            match value {
                Some(v) => memory.facts.insert(format!("f{key}"), Value::from(*v)),
                None => memory.facts.remove(&format!("f{key}")),
            };
        }
        Op::SetSummary {
            org,
            who,
            persona: p,
            summary,
        } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let id = m.ids[who % m.ids.len()].clone();
            let Some(target) = m.follow(&id) else {
                // Erased: the id names nothing any more.
                let handle = store.org(ORGS[*org]).unwrap();
                prop_assert_eq!(handle.get(&id).unwrap_err().code(), ErrorCode::NotFound);
                return Ok(());
            };
            let text = ["", "Asked about an order.", "Prefers SMS."][*summary];
            store
                .org(ORGS[*org])
                .unwrap()
                .set_summary(&id, &MemoryScope::persona(persona(*p)), text)
                .unwrap();
            m.memory(&target, persona(*p)).summary = text.to_owned();
        }
        Op::RecordCall { org, who } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let id = m.ids[who % m.ids.len()].clone();
            let Some(target) = m.follow(&id) else {
                // Erased: the id names nothing any more.
                let handle = store.org(ORGS[*org]).unwrap();
                prop_assert_eq!(handle.get(&id).unwrap_err().code(), ErrorCode::NotFound);
                return Ok(());
            };
            store
                .org(ORGS[*org])
                .unwrap()
                .record_call(&id, &new_call())
                .unwrap();
            m.contacts.get_mut(&target).unwrap().calls += 1;
        }
        Op::Unmerge { org, who } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            // Mostly an id merged away (a chain's too); sometimes any id.
            let merged: Vec<String> = m
                .journal
                .iter()
                .filter(|j| !j.undone)
                .map(|j| j.duplicate_id.clone())
                .collect();
            let id = if *who < 12 && !merged.is_empty() {
                merged[who % merged.len()].clone()
            } else {
                m.ids[who % m.ids.len()].clone()
            };
            let expected = model_unmerge(m, &id);
            let got = store.org(ORGS[*org]).unwrap().unmerge(&id);
            match (expected, got) {
                (Ok(survivor), Ok(split)) => {
                    prop_assert_eq!(&split.restored.contact.id, &id);
                    prop_assert_eq!(split.primary.contact.id, survivor);
                }
                (Err(message), Err(e)) => prop_assert_eq!(e.to_string(), message),
                (e, g) => prop_assert!(
                    false,
                    "model {:?} store {:?}",
                    e,
                    g.map(|u| u.primary.contact.id)
                ),
            }
        }
        Op::Preview { org, a, b } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let a = m.ids[a % m.ids.len()].clone();
            let b = m.ids[b % m.ids.len()].clone();
            let expected = model_merge(&mut m.clone(), &a, &b);
            let got = store.org(ORGS[*org]).unwrap().merge_preview(&a, &b);
            match (expected, got) {
                (Ok(p), Ok(merged)) => prop_assert_eq!(merged.contact.id, p),
                (Err(message), Err(e)) => prop_assert_eq!(e.to_string(), message),
                (e, g) => prop_assert!(false, "model {:?} store {:?}", e, g.map(|m| m.contact.id)),
            }
        }
        Op::MergeChain { org, a, b, c } => {
            for (p, d) in [(*a, *b), (*c, *a)] {
                step(
                    store,
                    model,
                    &Op::Merge {
                        org: *org,
                        a: p,
                        b: d,
                    },
                )?;
            }
        }
        Op::MergeUndone { org, a, b } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let a = m.ids[a % m.ids.len()].clone();
            let b = m.ids[b % m.ids.len()].clone();
            if model_merge(&mut m.clone(), &a, &b).is_err() {
                return Ok(());
            }
            let handle = store.org(ORGS[*org]).unwrap();
            let before = export_without_updated_at(store);
            handle.merge(&a, &b).unwrap();
            handle.unmerge(&b).unwrap();
            prop_assert_eq!(export_without_updated_at(store), before);
        }
        Op::Erase { org, who } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let id = m.ids[who % m.ids.len()].clone();
            let expected = model_erase(m, &id);
            let got = store.org(ORGS[*org]).unwrap().erase(&id);
            match (expected, got) {
                (Ok(target), Ok(erased)) => prop_assert_eq!(erased.contact_id, target),
                (Err(message), Err(e)) => prop_assert_eq!(e.to_string(), message),
                (e, g) => prop_assert!(false, "model {:?} store {:?}", e, g.map(|e| e.contact_id)),
            }
        }
    }
    Ok(())
}

/// The all-orgs export, each line without the contact's `updated_at`.
fn export_without_updated_at(store: &ContactStore) -> Vec<String> {
    let mut out = Vec::new();
    store.all_orgs().export(&mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            v.as_object_mut().unwrap().remove("updated_at");
            v.to_string()
        })
        .collect()
}

/// Each contact's identifiers as the org's change log, replayed from the start, says.
fn replayed_identifiers(
    store: &ContactStore,
    org: &str,
) -> BTreeMap<String, BTreeSet<(u8, String)>> {
    let key = |v: &Value| -> (u8, String) {
        let kind = match v["identifier_type"].as_str().unwrap() {
            "phone_number" => 1,
            "email" => 2,
            _ => 3,
        };
        (kind, v["identifier_value"].as_str().unwrap().to_owned())
    };
    let keys = |detail: &Value, field: &str| -> Vec<(u8, String)> {
        detail[field]
            .as_array()
            .map(|a| a.iter().map(key).collect())
            .unwrap_or_default()
    };
    let mut out: BTreeMap<String, BTreeSet<(u8, String)>> = BTreeMap::new();
    let mut since = 0;
    let mut last_seq = 0;
    loop {
        let page = store.org(org).unwrap().changes(since, Some(100)).unwrap();
        if page.changes.is_empty() {
            break;
        }
        for c in page.changes {
            assert!(c.seq > last_seq, "seqs increase");
            last_seq = c.seq;
            let related = c.related_id.clone().unwrap_or_default();
            match c.kind {
                ChangeKind::ContactCreated
                | ChangeKind::ContactImported
                | ChangeKind::ContactUpdated => {
                    let set = out.entry(c.contact_id.clone()).or_default();
                    set.extend(keys(&c.detail, "identifiers_added"));
                    for k in keys(&c.detail, "identifiers_removed") {
                        set.remove(&k);
                    }
                }
                ChangeKind::ContactMerged => {
                    out.remove(&related);
                    out.entry(c.contact_id.clone())
                        .or_default()
                        .extend(keys(&c.detail, "identifiers_added"));
                }
                ChangeKind::ContactUnmerged => {
                    let set = out.entry(c.contact_id.clone()).or_default();
                    for k in keys(&c.detail, "identifiers_removed") {
                        set.remove(&k);
                    }
                }
                ChangeKind::ContactRestored => {
                    let _ = related;
                    out.insert(
                        c.contact_id.clone(),
                        keys(&c.detail, "identifiers_added").into_iter().collect(),
                    );
                }
                ChangeKind::ContactErased => {
                    out.remove(&c.contact_id);
                    for id in c.detail["merged_ids"].as_array().unwrap() {
                        out.remove(id.as_str().unwrap());
                    }
                }
                _ => {}
            }
        }
        since = page.next;
    }
    out
}

fn agree(store: &ContactStore, model: &[MOrg; 2]) -> Result<(), TestCaseError> {
    let stored = store_orgs(store);
    for (i, org) in ORGS.iter().enumerate() {
        let empty = BTreeMap::new();
        let got = stored.get(*org).unwrap_or(&empty);
        prop_assert_eq!(got, &model[i].contacts, "org {}", org);
        // The change log, replayed, rebuilds every contact's identifiers.
        let expected: BTreeMap<String, BTreeSet<(u8, String)>> = model[i]
            .contacts
            .iter()
            .map(|(id, c)| (id.clone(), c.identifiers.keys().cloned().collect()))
            .collect();
        prop_assert_eq!(
            replayed_identifiers(store, org),
            expected,
            "replayed log of {}",
            org
        );
        let handle = store.org(org).unwrap();
        for (old, target) in &model[i].redirects {
            prop_assert_eq!(&handle.get(old).unwrap().contact.id, target);
        }
        // Every identifier finds its owner.
        for (id, c) in &model[i].contacts {
            for (kind, value) in c.identifiers.keys() {
                let q = match kind {
                    1 => IdentifierQuery::phone(value.clone()),
                    2 => IdentifierQuery::email(value.clone()),
                    _ => IdentifierQuery::external_id(value.clone()),
                };
                prop_assert_eq!(&handle.find(&q).unwrap().unwrap().contact.id, id);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn merges_and_unmerges_of_few_contacts_agree_with_the_model(ops in chain_ops()) {
        let store = common::store_with(Settings::default().recent_messages_cap(CAP));
        let mut model: [MOrg; 2] = Default::default();
        for op in &ops {
            step(&store, &mut model, op)?;
            agree(&store, &model)?;
        }
    }

    #[test]
    fn store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let store = common::store_with(Settings::default().recent_messages_cap(CAP));
        let mut model: [MOrg; 2] = Default::default();
        for op in &ops {
            step(&store, &mut model, op)?;
            agree(&store, &model)?;
        }
    }
}

// ---------------------------------------------------------------------------------
// Invariants of one merge

#[derive(Debug, Clone)]
struct Side {
    phones: Vec<usize>,
    emails: Vec<usize>,
    messages: Vec<(i64, usize)>,
    facts: Vec<(usize, usize)>,
    metadata: Vec<(usize, usize)>,
    calls: usize,
    sms: usize,
}

fn side(
    phone_pool: std::ops::Range<usize>,
    email_pool: std::ops::Range<usize>,
) -> impl Strategy<Value = Side> {
    (
        proptest::collection::btree_set(phone_pool, 1..3),
        proptest::collection::btree_set(email_pool, 0..3),
        proptest::collection::vec((0..10i64, 0..3usize), 0..8),
        proptest::collection::vec((0..3usize, 0..3usize), 0..3),
        proptest::collection::vec((0..3usize, 0..3usize), 0..3),
        0..3usize,
        0..3usize,
    )
        .prop_map(
            |(phones, emails, messages, facts, metadata, calls, sms)| Side {
                phones: phones.into_iter().collect(),
                emails: emails.into_iter().collect(),
                messages,
                facts,
                metadata,
                calls,
                sms,
            },
        )
}

fn build(store: &ContactStore, org: &str, s: &Side) -> String {
    let o = store.org(org).unwrap();
    let phone = |i: usize| format!("+1415555{:04}", 200 + i);
    let email = |i: usize| format!("user{i}@example.com");
    let mut metadata = serde_json::Map::new();
    for (k, v) in &s.metadata {
        metadata.insert(format!("m{k}"), Value::from(*v));
    }
    let id = o
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some(phone(s.phones[0])),
                ..Default::default()
            },
            metadata: Some(Value::Object(metadata)),
            persona_id: Some("p".into()),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    for &i in &s.phones[1..] {
        o.resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some(phone(s.phones[0])),
                ..Default::default()
            },
            ..ResolveRequest::phone(phone(i))
        })
        .unwrap();
    }
    for &i in &s.emails {
        o.resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some(phone(s.phones[0])),
                ..Default::default()
            },
            ..ResolveRequest::email(email(i))
        })
        .unwrap();
    }
    let scope = MemoryScope::persona("p");
    let messages: Vec<Message> = s.messages.iter().map(|(at, c)| message(*at, *c)).collect();
    o.add_messages(&id, &scope, &messages).unwrap();
    let mut facts = serde_json::Map::new();
    for (k, v) in &s.facts {
        facts.insert(format!("f{k}"), Value::from(*v));
    }
    o.patch_facts(&id, &scope, &facts).unwrap();
    for _ in 0..s.calls {
        o.record_call(&id, &new_call()).unwrap();
    }
    for _ in 0..s.sms {
        o.record_sms(
            &id,
            &NewSmsConversation {
                direction: Direction::Outbound,
                agent_number: None,
                contact_number: None,
                started_at: None,
                message_count: 1,
                status: None,
                summary: None,
                metadata: Default::default(),
            },
        )
        .unwrap();
    }
    id
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn merge_invariants_hold(a in side(0..3, 0..3), b in side(3..6, 3..6)) {
        let store = common::store_with(Settings::default().recent_messages_cap(CAP));
        // Org B holds the very same identifiers and data.
        build(&store, "org-b", &a);
        build(&store, "org-b", &b);
        let mut org_b_before = Vec::new();
        store.org("org-b").unwrap().export(&mut org_b_before).unwrap();

        let p = build(&store, "org-a", &a);
        let d = build(&store, "org-a", &b);
        let org = store.org("org-a").unwrap();
        let before_p = org.get(&p).unwrap();
        let before_d = org.get(&d).unwrap();
        let calls_before = org.calls(&p).unwrap().len() + org.calls(&d).unwrap().len();
        let sms_before = org.sms_conversations(&p).unwrap().len() + org.sms_conversations(&d).unwrap().len();

        org.merge(&p, &d).unwrap();
        let after = org.get(&p).unwrap();

        // The union of identifiers is kept, each on exactly one contact, one primary a type.
        let union: BTreeSet<(String, String)> = before_p.identifiers.iter().chain(&before_d.identifiers)
            .map(|i| (i.identifier_type.to_string(), i.identifier_value.clone())).collect();
        let now: BTreeSet<(String, String)> = after.identifiers.iter()
            .map(|i| (i.identifier_type.to_string(), i.identifier_value.clone())).collect();
        prop_assert_eq!(&union, &now);
        prop_assert_eq!(after.identifiers.len(), union.len());
        for kind in ["phone_number", "email"] {
            let primaries = after.identifiers.iter().filter(|i| i.identifier_type.to_string() == kind && i.is_primary).count();
            let any = after.identifiers.iter().any(|i| i.identifier_type.to_string() == kind);
            prop_assert_eq!(primaries, usize::from(any));
        }
        // The primary's primaries stayed.
        for i in before_p.identifiers.iter().filter(|i| i.is_primary) {
            prop_assert!(after.identifiers.iter().any(|x| x.identifier_value == i.identifier_value && x.is_primary));
        }
        // The duplicate is gone and redirects; its identifiers find the primary.
        prop_assert_eq!(&org.get(&d).unwrap().contact.id, &p);
        for i in &before_d.identifiers {
            let q = match i.identifier_type.to_string().as_str() {
                "phone_number" => IdentifierQuery::phone(i.identifier_value.clone()),
                _ => IdentifierQuery::email(i.identifier_value.clone()),
            };
            prop_assert_eq!(&org.find(&q).unwrap().unwrap().contact.id, &p);
        }
        // Calls and SMS add up.
        prop_assert_eq!(org.calls(&p).unwrap().len(), calls_before);
        prop_assert_eq!(org.sms_conversations(&p).unwrap().len(), sms_before);
        // No message is lost except by the cap, and they stay ordered.
        let mut expected: Vec<Message> = Vec::new();
        for m in before_p.memories[0].recent_messages.iter().chain(&before_d.memories[0].recent_messages) {
            if !expected.contains(m) {
                expected.push(m.clone());
            }
        }
        expected.sort_by_key(|m| m.timestamp);
        let expected = expected[expected.len().saturating_sub(CAP)..].to_vec();
        let merged = &after.memories[0];
        prop_assert_eq!(&merged.recent_messages, &expected);
        prop_assert!(merged.recent_messages.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        // The primary's metadata and fact values win; the duplicate's other keys are added.
        for (k, v) in &before_p.contact.metadata {
            prop_assert_eq!(after.contact.metadata.get(k), Some(v));
        }
        for (k, v) in &before_d.contact.metadata {
            prop_assert!(after.contact.metadata.contains_key(k));
            if !before_p.contact.metadata.contains_key(k) {
                prop_assert_eq!(after.contact.metadata.get(k), Some(v));
            }
        }
        for (k, v) in &before_p.memories[0].facts {
            prop_assert_eq!(merged.facts.get(k), Some(v));
        }
        for k in before_d.memories[0].facts.keys() {
            prop_assert!(merged.facts.contains_key(k));
        }
        // The other org is untouched.
        let mut org_b_after = Vec::new();
        store.org("org-b").unwrap().export(&mut org_b_after).unwrap();
        prop_assert!(org_b_before == org_b_after);
    }
}
