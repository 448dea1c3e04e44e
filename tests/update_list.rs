//! update and list (issue 8).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{dump, TempDb, WriteWatch};
use contactstore::{
    ContactStore, ContactUpdate, ErrorCode, IdentifierQuery, IdentifierRef, IdentifierType,
    ListOptions, ResolveRequest, Timestamp,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn sarah(store: &ContactStore) -> String {
    store
        .org("acme")
        .unwrap()
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                email: Some("sarah@example.com".into()),
                ..Default::default()
            },
            name: Some("Sarah".into()),
            metadata: Some(json!({"source": "call", "tier": "gold"})),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id
}

fn values(details: &contactstore::ContactDetails) -> Vec<(IdentifierType, String, bool)> {
    details
        .identifiers
        .iter()
        .map(|i| (i.identifier_type, i.identifier_value.clone(), i.is_primary))
        .collect()
}

#[test]
fn update_sets_and_clears_name_and_patches_metadata() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = sarah(&store);
    let got = org
        .update(
            &id,
            &ContactUpdate::default()
                .name("Sarah Chen")
                .metadata("tier", Value::Null)
                .metadata("language", json!("en")),
        )
        .unwrap();
    assert_eq!(got.contact.name.as_deref(), Some("Sarah Chen"));
    assert_eq!(
        Value::Object(got.contact.metadata),
        json!({"source": "call", "language": "en"})
    );
    let got = org
        .update(&id, &ContactUpdate::default().clear_name())
        .unwrap();
    assert_eq!(got.contact.name, None);
}

#[test]
fn update_adds_removes_and_promotes_identifiers() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = sarah(&store);
    let got = org
        .update(
            &id,
            &ContactUpdate::default()
                .add(IdentifierType::PhoneNumber, "(415) 555-0100")
                .add(IdentifierType::ExternalId, "crm-1")
                .add(IdentifierType::Email, "SARAH@example.com"), // already hers: no-op
        )
        .unwrap();
    assert_eq!(
        values(&got),
        vec![
            (IdentifierType::PhoneNumber, "+14155550192".into(), true),
            (IdentifierType::PhoneNumber, "+14155550100".into(), false),
            (IdentifierType::Email, "sarah@example.com".into(), true),
            (IdentifierType::ExternalId, "crm-1".into(), true),
        ]
    );
    // Make the second phone primary.
    let got = org
        .update(
            &id,
            &ContactUpdate::default().primary(IdentifierType::PhoneNumber, "415.555.0100"),
        )
        .unwrap();
    let phones: Vec<(String, bool)> = got
        .identifiers
        .iter()
        .filter(|i| i.identifier_type == IdentifierType::PhoneNumber)
        .map(|i| (i.identifier_value.clone(), i.is_primary))
        .collect();
    assert_eq!(
        phones,
        vec![
            ("+14155550100".into(), true),
            ("+14155550192".into(), false)
        ]
    );
    // Removing the primary promotes the remaining phone.
    let got = org
        .update(
            &id,
            &ContactUpdate::default().remove(IdentifierType::PhoneNumber, "+14155550100"),
        )
        .unwrap();
    let phones: Vec<(String, bool)> = got
        .identifiers
        .iter()
        .filter(|i| i.identifier_type == IdentifierType::PhoneNumber)
        .map(|i| (i.identifier_value.clone(), i.is_primary))
        .collect();
    assert_eq!(phones, vec![("+14155550192".into(), true)]);
    assert!(org
        .find(&IdentifierQuery::phone("+14155550100"))
        .unwrap()
        .is_none());
    // The removed identifier is free for another contact.
    let other = org.resolve(&ResolveRequest::phone("+14155550100")).unwrap();
    assert!(other.created);
}

#[test]
fn refusals_name_the_type_and_write_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let id = sarah(&store);
    let other = org
        .resolve(&ResolveRequest::email("taken@example.com"))
        .unwrap()
        .contact
        .id;
    let before = dump(&db.path);
    let watch = WriteWatch::new(&db.path);

    let cases: Vec<(ContactUpdate, &str)> = vec![
        (
            // The name change must not land when the identifier is refused.
            ContactUpdate::default()
                .name("X")
                .add(IdentifierType::Email, "taken@example.com"),
            "Invalid email: already belongs to another contact",
        ),
        (
            ContactUpdate::default().remove(IdentifierType::Email, "taken@example.com"),
            "Invalid email: is not an identifier of this contact",
        ),
        (
            ContactUpdate::default().primary(IdentifierType::PhoneNumber, "+14155550100"),
            "Invalid phone_number: is not an identifier of this contact",
        ),
        (
            ContactUpdate::default()
                .remove(IdentifierType::PhoneNumber, "+14155550192")
                .remove(IdentifierType::Email, "sarah@example.com"),
            "Invalid identifiers: a contact keeps at least one identifier",
        ),
        (
            ContactUpdate::default().add(IdentifierType::PhoneNumber, "anonymous"),
            "Invalid phone_number: is not a phone number",
        ),
        (
            ContactUpdate::default().name("n".repeat(1001)),
            "Invalid name: is too long",
        ),
    ];
    for (update, message) in cases {
        let err = org.update(&id, &update).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest);
        assert_eq!(err.to_string(), message);
        assert!(!err.to_string().contains("taken"));
    }
    assert!(IdentifierRef::parse("fax:1").is_err());
    assert!(IdentifierRef::parse("email").is_err());
    for missing in ["nope", other.as_str()] {
        let err = store
            .org("globex")
            .unwrap()
            .update(missing, &ContactUpdate::default().name("x"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
    }
    assert!(!watch.changed());
    assert_eq!(dump(&db.path), before);
}

#[test]
fn the_same_update_twice_changes_nothing_the_second_time() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let id = sarah(&store);
    let update = ContactUpdate::default()
        .name("Sarah Chen")
        .metadata("language", json!("en"))
        .metadata("tier", Value::Null)
        .add(IdentifierType::ExternalId, "crm-1")
        .remove(IdentifierType::Email, "sarah@example.com")
        .primary(IdentifierType::PhoneNumber, "+14155550192");
    let first = org.update(&id, &update).unwrap();
    std::thread::sleep(Duration::from_millis(3));
    let watch = WriteWatch::new(&db.path);
    // The very same update again, removal included: nothing to do, nothing written.
    let second = org.update(&id, &update).unwrap();
    assert_eq!(second.contact.updated_at, first.contact.updated_at);
    assert!(!watch.changed());
    assert_eq!(second, first);
}

#[test]
fn update_follows_merged_ids() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = sarah(&store);
    let dup = org
        .resolve(&ResolveRequest::email("dup@example.com"))
        .unwrap()
        .contact
        .id;
    org.merge(&id, &dup).unwrap();
    let got = org
        .update(&dup, &ContactUpdate::default().name("Via old id"))
        .unwrap();
    assert_eq!(got.contact.id, id);
    assert_eq!(got.contact.name.as_deref(), Some("Via old id"));
}

fn create(store: &ContactStore, org: &str, n: usize, tag: &str) -> Vec<String> {
    let o = store.org(org).unwrap();
    (0..n)
        .map(|i| {
            o.resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    email: Some(format!("{tag}{i}@example.com")),
                    ..Default::default()
                },
                name: Some(format!("{tag} {i}")),
                ..Default::default()
            })
            .unwrap()
            .contact
            .id
        })
        .collect()
}

#[test]
fn list_pages_in_creation_order_and_ends_with_a_null_cursor() {
    let store = common::store();
    let ids = create(&store, "acme", 7, "user");
    create(&store, "globex", 3, "other");
    let org = store.org("acme").unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let mut options = ListOptions::default().limit(3);
        options.cursor = cursor;
        let page = org.list(&options).unwrap();
        assert!(page.contacts.len() <= 3);
        assert!(page.contacts.iter().all(|c| c.identifiers.is_none()));
        seen.extend(page.contacts.iter().map(|c| c.contact.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every contact of the org once, by creation");
    let all = org.list(&ListOptions::default().limit(7)).unwrap();
    assert_eq!(all.contacts.len(), 7);
    assert_eq!(
        all.next_cursor, None,
        "an exactly full last page has no next cursor"
    );
    let json = serde_json::to_value(&all).unwrap();
    assert!(json["contacts"].is_array() && json["next_cursor"].is_null());
}

#[test]
fn list_filters_by_update_time_and_name_prefix() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    create(&store, "acme", 3, "Sarah");
    create(&store, "acme", 2, "sam");
    org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            email: Some("pct@example.com".into()),
            ..Default::default()
        },
        name: Some("50% off".into()),
        ..Default::default()
    })
    .unwrap();
    let names = |options: ListOptions| -> Vec<String> {
        org.list(&options)
            .unwrap()
            .contacts
            .into_iter()
            .map(|c| c.contact.name.unwrap())
            .collect()
    };
    assert_eq!(names(ListOptions::default().name_prefix("SA")).len(), 5);
    assert_eq!(names(ListOptions::default().name_prefix("sarah")).len(), 3);
    assert_eq!(
        names(ListOptions::default().name_prefix("50%")),
        vec!["50% off"]
    );
    assert!(
        names(ListOptions::default().name_prefix("5_")).is_empty(),
        "wildcards are literal"
    );

    std::thread::sleep(Duration::from_millis(3));
    let since = Timestamp::now();
    let id = org
        .find(&IdentifierQuery::email("sam0@example.com"))
        .unwrap()
        .unwrap()
        .contact
        .id;
    org.update(
        &id,
        &ContactUpdate::default().metadata("touched", json!(true)),
    )
    .unwrap();
    assert_eq!(
        names(ListOptions::default().updated_since(since)),
        vec!["sam 0"]
    );

    let page = org
        .list(&ListOptions::default().with_identifiers().limit(1))
        .unwrap();
    assert_eq!(page.contacts[0].identifiers.as_ref().unwrap().len(), 1);
}

#[test]
fn list_refuses_bad_limits_and_cursors() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    for options in [
        ListOptions::default().limit(0),
        ListOptions::default().limit(1001),
        ListOptions::default().cursor("garbage"),
        ListOptions::default().cursor("12.").limit(5),
    ] {
        assert_eq!(
            org.list(&options).unwrap_err().code(),
            ErrorCode::BadRequest
        );
    }
}

#[test]
fn pages_walk_the_index_without_sorting() {
    let db = TempDb::sqlite();
    let store = ContactStore::open(&db.path).unwrap();
    create(&store, "acme", 3, "u");
    drop(store);
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM contact \
             WHERE org_id = ?1 AND (created_at, id) > (?2, ?3) \
               AND (?4 IS NULL OR updated_at >= ?4) AND (?5 IS NULL OR name LIKE ?5 ESCAPE '\\') \
             ORDER BY created_at, id LIMIT ?6",
        )
        .unwrap()
        .query_map(
            rusqlite::params!["acme", 0, "", None::<i64>, None::<String>, 100],
            |r| r.get::<_, String>(3),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join(" | ");
    assert!(plan.contains("contact_by_org_created"), "{plan}");
    assert!(
        plan.contains("(org_id=? AND (created_at,id)>(?,?))"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Paging with any page size visits every contact of the org exactly once, while
    /// new contacts are being created between pages.
    #[test]
    fn paging_visits_every_contact_exactly_once(
        initial in 0usize..40,
        page_size in 1usize..12,
        created_per_page in 0usize..4,
    ) {
        let store = common::store();
        let org = store.org("acme").unwrap();
        let existing: BTreeSet<String> = create(&store, "acme", initial, "a").into_iter().collect();
        create(&store, "other", 5, "o");
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut round = 0;
        loop {
            let mut options = ListOptions::default().limit(page_size);
            options.cursor = cursor;
            let page = org.list(&options).unwrap();
            seen.extend(page.contacts.into_iter().map(|c| c.contact.id));
            if round < 10 {
                create(&store, "acme", created_per_page, &format!("new{round}-"));
            }
            round += 1;
            prop_assert!(round < 200, "paging does not end");
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        prop_assert_eq!(unique.len(), seen.len(), "a contact was listed twice");
        prop_assert!(existing.is_subset(&unique), "a contact was skipped");
    }
}

#[test]
fn listed_identifiers_match_get_even_with_filters() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    for i in 0..6 {
        org.resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some(format!("+1415555{:04}", 100 + i)),
                email: Some(format!("u{i}@example.com")),
                ..Default::default()
            },
            name: Some(if i % 2 == 0 {
                format!("Sam {i}")
            } else {
                format!("Al {i}")
            }),
            ..Default::default()
        })
        .unwrap();
    }
    let page = org
        .list(
            &ListOptions::default()
                .name_prefix("sam")
                .with_identifiers()
                .limit(2),
        )
        .unwrap();
    assert_eq!(page.contacts.len(), 2);
    for c in &page.contacts {
        let expected = org.get(&c.contact.id).unwrap().identifiers;
        assert_eq!(c.identifiers.as_ref().unwrap(), &expected);
    }
}
