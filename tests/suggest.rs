//! Duplicate suggestions (contract §9): precision and recall on a generated population
//! with planted duplicates and planted look-alikes, the cases that must and must not
//! be suggested, and suggest-merges never writing.

mod common;
#[path = "common/population.rs"]
mod population;

use std::collections::{BTreeMap, HashMap};

use common::{TempDb, WriteWatch};
use contactstore::{
    ContactStore, ErrorCode, IdentifierQuery, ImportOptions, MergeSuggestion, Org, ResolveRequest,
    SuggestOptions,
};
use population::{Generated, Population};

/// Imports a generated population; returns each contact's (person, case) by id.
fn populate(org: &Org<'_>, seed: u64, persons: u64) -> HashMap<String, (u64, String)> {
    let contacts: Vec<Generated> = Population::new(seed, persons).flatten().collect();
    let mut lines = String::new();
    for c in &contacts {
        lines.push_str(&c.line);
        lines.push('\n');
    }
    let summary = org
        .import(
            &mut lines.as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.rejected, 0, "{:?}", summary.errors.first());
    contacts
        .into_iter()
        .map(|c| (c.id, (c.person, c.case)))
        .collect()
}

#[test]
fn suggestions_find_planted_duplicates_and_spare_look_alikes() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    // The population is seeded; CONTACTSTORE_SEED tries another.
    let seed = std::env::var("CONTACTSTORE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    let truth = populate(&org, seed, 10_000);
    let mut contacts_of: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (id, (person, _)) in &truth {
        contacts_of.entry(*person).or_default().push(id);
    }
    let planted: Vec<&Vec<&str>> = contacts_of.values().filter(|ids| ids.len() == 2).collect();
    let lookalikes = truth
        .values()
        .filter(|(_, c)| c.starts_with("lookalike:"))
        .count();
    assert!(planted.len() > 300, "{} planted duplicates", planted.len());

    let found = org
        .suggest_merges(&SuggestOptions::default().limit(1000))
        .unwrap()
        .suggestions;
    assert!(found.len() < 1000, "the limit cut suggestions off");
    let mut planted_by_case: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for ids in &planted {
        let case = ids
            .iter()
            .map(|id| truth[*id].1.as_str())
            .find(|c| c.starts_with("duplicate:"))
            .unwrap();
        planted_by_case.entry(case).or_default().0 += 1;
    }
    let mut true_positives = 0;
    let mut false_positives: BTreeMap<String, usize> = BTreeMap::new();
    for s in &found {
        let (pa, ca) = &truth[&s.primary_id];
        let (pb, cb) = &truth[&s.duplicate_id];
        if pa == pb {
            true_positives += 1;
            let case = if ca.starts_with("duplicate:") { ca } else { cb };
            planted_by_case.entry(case.as_str()).or_default().1 += 1;
        } else {
            *false_positives.entry(format!("{ca} / {cb}")).or_default() += 1;
        }
    }
    let precision = true_positives as f64 / found.len().max(1) as f64;
    let recall = true_positives as f64 / planted.len() as f64;
    println!(
        "suggest-merges on {} contacts (seed {seed}, {} planted duplicates, {} planted \
         look-alikes): {} suggestions, precision {precision:.3}, recall {recall:.3}",
        truth.len(),
        planted.len(),
        lookalikes,
        found.len()
    );
    for (case, (n, hit)) in &planted_by_case {
        println!("  {case}: found {hit} of {n}");
    }
    for (pair, n) in &false_positives {
        println!("  false positive {pair}: {n}");
    }
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.8, "recall {recall:.3}");
    check_shape(&found);
}

/// Highest score first, scores in 0..1, the older contact primary, reasons in words
/// that quote no identifier.
fn check_shape(found: &[MergeSuggestion]) {
    for pair in found.windows(2) {
        assert!(pair[0].score >= pair[1].score);
    }
    for s in found {
        assert!((0.0..=1.0).contains(&s.score));
        assert_ne!(s.primary_id, s.duplicate_id);
        // The generated ids follow creation order.
        assert!(s.primary_id < s.duplicate_id, "{s:?}");
        assert!(!s.reasons.is_empty());
        for r in &s.reasons {
            assert!(!r.contains('+') || r.contains("+tags"), "{r}");
            assert!(!r.contains("company"), "{r}");
        }
    }
}

/// Resolves a contact with a name, phones and emails; returns its id.
fn contact(org: &Org<'_>, name: Option<&str>, phone: Option<&str>, email: Option<&str>) -> String {
    org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: phone.map(Into::into),
            email: email.map(Into::into),
            external_id: None,
        },
        name: name.map(Into::into),
        ..Default::default()
    })
    .unwrap()
    .contact
    .id
}

fn suggested(org: &Org<'_>) -> Vec<(String, String, f64, Vec<String>)> {
    org.suggest_merges(&SuggestOptions::default())
        .unwrap()
        .suggestions
        .into_iter()
        .map(|s| (s.primary_id, s.duplicate_id, s.score, s.reasons))
        .collect()
}

#[test]
fn what_produces_duplicates_is_suggested_with_its_reasons() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    // Provider-equivalent emails, the second without a name.
    let a = contact(&org, Some("Sarah Chen"), None, Some("sarah.chen@gmail.com"));
    let b = contact(&org, None, None, Some("SarahChen+orders@googlemail.com"));
    // A caller and a web form.
    let c = contact(
        &org,
        Some("Ingrid Vasquez-Oduya"),
        Some("+14155550123"),
        None,
    );
    let d = contact(
        &org,
        Some("Ingrid Vasquez-Oduya"),
        None,
        Some("ingrid@example.org"),
    );
    // A London number stored under +1.
    let e = contact(&org, Some("Alan Reed"), Some("+442079460958"), None);
    let f = contact(&org, Some("Alan Reed"), Some("+12079460958"), None);
    // A diminutive at the same work domain.
    let g = contact(
        &org,
        Some("Robert Okafor"),
        None,
        Some("robert.okafor@acme-industries.com"),
    );
    let h = contact(
        &org,
        Some("Bob Okafor"),
        None,
        Some("bob@acme-industries.com"),
    );
    let got = suggested(&org);
    let pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|(p, d, _, _)| (p.as_str(), d.as_str()))
        .collect();
    for (primary, duplicate) in [(&a, &b), (&c, &d), (&e, &f), (&g, &h)] {
        assert!(
            pairs.contains(&(primary, duplicate)),
            "{primary} {duplicate} not in {got:#?}"
        );
    }
    assert_eq!(got.len(), 4, "{got:#?}");
    let reasons_of = |p: &str| &got.iter().find(|(x, _, _, _)| x == p).unwrap().3;
    assert!(
        reasons_of(&a)[0].contains("gmail.com"),
        "{:?}",
        reasons_of(&a)
    );
    assert!(reasons_of(&c)
        .iter()
        .any(|r| r.contains("phone number on one, an email on the other")));
    assert!(reasons_of(&e).iter().any(|r| r.contains("national digits")));
    assert!(reasons_of(&g)
        .iter()
        .any(|r| r.contains("forms of one name")));
    assert!(reasons_of(&g).iter().any(|r| r.contains("work domain")));
}

#[test]
fn family_members_a_shared_line_and_common_names_are_not_suggested() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    // A household: same last name, one domain, a mailbox spelled two ways.
    contact(&org, Some("John Marsh"), None, Some("john@marshfamily.net"));
    contact(&org, Some("Mary Marsh"), None, Some("mary@marshfamily.net"));
    contact(&org, Some("Tom Wilde"), None, Some("thewildes@gmail.com"));
    contact(
        &org,
        Some("Ann Wilde"),
        None,
        Some("the.wildes+ann@gmail.com"),
    );
    // Parent and child.
    contact(
        &org,
        Some("Carl Brandt Sr."),
        None,
        Some("carl@brandthome.net"),
    );
    contact(
        &org,
        Some("Carl Brandt Jr."),
        None,
        Some("carljr@brandthome.net"),
    );
    // One household number under two country codes, two people.
    contact(&org, Some("Priya Nair"), Some("+442079460777"), None);
    contact(&org, Some("Arjun Nair"), Some("+12079460777"), None);
    // Colleagues on one block of direct lines.
    contact(&org, Some("Alice Wong"), Some("+13125550100"), None);
    contact(&org, Some("Bob Jones"), Some("+13125550101"), None);
    // A common name: many people share it, one with a phone, another with an email.
    for i in 0..12 {
        contact(
            &org,
            Some("James Smith"),
            Some(&format!("+1212555{:04}", 100 + i)),
            None,
        );
        contact(
            &org,
            Some("James Smith"),
            None,
            Some(&format!("jsmith{i}@yahoo.com")),
        );
    }
    let got = suggested(&org);
    assert!(got.is_empty(), "{got:#?}");
    // Lowering the bar lists them, with the evidence against.
    let all = org
        .suggest_merges(&SuggestOptions::default().min_score(0.0).limit(1000))
        .unwrap()
        .suggestions;
    assert!(all.iter().any(|s| s
        .reasons
        .iter()
        .any(|r| r.starts_with("against: same last name"))));
}

#[test]
fn suggest_merges_never_writes() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    contact(&org, Some("Sarah Chen"), None, Some("sarah.chen@gmail.com"));
    contact(&org, Some("Sarah Chen"), None, Some("sarahchen@gmail.com"));
    let watch = WriteWatch::new(&db.path);
    assert_eq!(suggested(&org).len(), 1);
    assert!(!watch.changed());
}

#[test]
fn suggestions_are_deterministic_and_the_limit_keeps_the_best() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    populate(&org, 7, 2_000);
    let all = org.suggest_merges(&SuggestOptions::default()).unwrap();
    assert_eq!(org.suggest_merges(&SuggestOptions::default()).unwrap(), all);
    assert!(all.suggestions.len() > 10);
    let top = org
        .suggest_merges(&SuggestOptions::default().limit(5))
        .unwrap();
    assert_eq!(top.suggestions, all.suggestions[..5]);
    let high = org
        .suggest_merges(&SuggestOptions::default().min_score(0.9).limit(1000))
        .unwrap();
    assert!(high.suggestions.iter().all(|s| s.score >= 0.9));
    let every = org
        .suggest_merges(&SuggestOptions::default().limit(1000))
        .unwrap();
    assert!(high.suggestions.len() < every.suggestions.len());
    assert_eq!(every.suggestions[..50], all.suggestions[..]);
    let json = serde_json::to_value(&top).unwrap();
    let first = &json["suggestions"][0];
    for key in ["primary_id", "duplicate_id", "score", "reasons"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
}

#[test]
fn options_out_of_range_are_bad_requests() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    for (options, message) in [
        (
            SuggestOptions::default().limit(0),
            "Invalid limit: must be between 1 and 1000",
        ),
        (
            SuggestOptions::default().limit(1001),
            "Invalid limit: must be between 1 and 1000",
        ),
        (
            SuggestOptions::default().min_score(-0.1),
            "Invalid min_score: must be between 0 and 1",
        ),
        (
            SuggestOptions::default().min_score(1.5),
            "Invalid min_score: must be between 0 and 1",
        ),
        (
            SuggestOptions::default().min_score(f64::NAN),
            "Invalid min_score: must be between 0 and 1",
        ),
    ] {
        let e = org.suggest_merges(&options).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest);
        assert_eq!(e.to_string(), message);
    }
    assert!(org
        .suggest_merges(&SuggestOptions::default())
        .unwrap()
        .suggestions
        .is_empty());
}
