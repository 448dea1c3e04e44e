//! Property tests of merge and the operations around it.
//!
//! * `store_agrees_with_the_model`: random sequences of resolve / merge / memory writes /
//!   record call over a small pool of identifiers in two orgs, run against the store and
//!   against a plain in-memory model of the contract; after every step they agree.
//! * `merge_invariants_hold`: two random contacts merged, with every invariant of the
//!   merge issue checked, and the other org (holding the same identifiers) untouched.

use std::collections::{BTreeMap, BTreeSet};

use contactstore::{
    Channel, ContactStore, Direction, Error, IdentifierQuery, MemoryScope, Message, NewCall,
    NewSmsConversation, ResolveRequest, Role, Settings, Timestamp,
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

#[derive(Debug, Clone, Default, PartialEq)]
struct MMemory {
    summary: String,
    facts: BTreeMap<String, Value>,
    messages: Vec<(i64, String)>,
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
    for target in org.redirects.values_mut() {
        if *target == d {
            target.clone_from(&p);
        }
    }
    org.redirects.insert(d, p.clone());
    Ok(p)
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
        1 => (org, 0..8usize).prop_map(|(org, who)| Op::RecordCall { org, who }),
    ]
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
                c.memories.entry(persona(*p)).or_default();
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
            let target = m.follow(&id).unwrap();
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
            let memory = m
                .contacts
                .get_mut(&target)
                .unwrap()
                .memories
                .entry(persona(*p))
                .or_default();
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
            let target = m.follow(&id).unwrap();
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
            let memory = m
                .contacts
                .get_mut(&target)
                .unwrap()
                .memories
                .entry(persona(*p))
                .or_default();
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
            let target = m.follow(&id).unwrap();
            let text = ["", "Asked about an order.", "Prefers SMS."][*summary];
            store
                .org(ORGS[*org])
                .unwrap()
                .set_summary(&id, &MemoryScope::persona(persona(*p)), text)
                .unwrap();
            m.contacts
                .get_mut(&target)
                .unwrap()
                .memories
                .entry(persona(*p))
                .or_default()
                .summary = text.to_owned();
        }
        Op::RecordCall { org, who } => {
            let m = &mut model[*org];
            if m.ids.is_empty() {
                return Ok(());
            }
            let id = m.ids[who % m.ids.len()].clone();
            let target = m.follow(&id).unwrap();
            store
                .org(ORGS[*org])
                .unwrap()
                .record_call(&id, &new_call())
                .unwrap();
            m.contacts.get_mut(&target).unwrap().calls += 1;
        }
    }
    Ok(())
}

fn agree(store: &ContactStore, model: &[MOrg; 2]) -> Result<(), TestCaseError> {
    let stored = store_orgs(store);
    for (i, org) in ORGS.iter().enumerate() {
        let empty = BTreeMap::new();
        let got = stored.get(*org).unwrap_or(&empty);
        prop_assert_eq!(got, &model[i].contacts, "org {}", org);
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
    fn store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let store = ContactStore::open_in_memory_with(Settings::default().recent_messages_cap(CAP)).unwrap();
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
        let store = ContactStore::open_in_memory_with(Settings::default().recent_messages_cap(CAP)).unwrap();
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
