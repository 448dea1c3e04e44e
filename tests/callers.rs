//! Callers as telephony delivers them (contract §9): the labelled corpus of caller ids
//! (`tests/fixtures/caller-ids.tsv`), resolve-caller, and URI forms wherever a phone
//! number is accepted.

mod common;

use std::collections::BTreeMap;

use common::{TempDb, WriteWatch};
use contactstore::{
    classify_caller, Caller, CallerRequest, ContactStore, ContactUpdate, Direction, ErrorCode,
    IdentifierQuery, IdentifierType, ImportOptions, NewCall, PhoneRegion, ResolveRequest, Settings,
};
use proptest::prelude::*;

/// One labelled caller id.
struct Row {
    line: usize,
    region: PhoneRegion,
    raw: String,
    expected: Caller,
}

fn corpus() -> Vec<Row> {
    let text = include_str!("fixtures/caller-ids.tsv");
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 5, "line {}: {line:?}", i + 1);
        let value = fields[3].to_owned();
        let expected = match fields[2] {
            "number" => Caller::Number {
                phone_number: value,
            },
            "withheld" => Caller::Withheld,
            "short_code" => Caller::ShortCode { code: value },
            "alphanumeric" => Caller::Alphanumeric { sender: value },
            "invalid" => Caller::Invalid,
            other => panic!("line {}: unknown kind {other}", i + 1),
        };
        rows.push(Row {
            line: i + 1,
            region: fields[0].parse().unwrap(),
            raw: fields[1].to_owned(),
            expected,
        });
    }
    rows
}

fn kind(caller: &Caller) -> &'static str {
    match caller {
        Caller::Number { .. } => "number",
        Caller::Withheld => "withheld",
        Caller::ShortCode { .. } => "short_code",
        Caller::Alphanumeric { .. } => "alphanumeric",
        Caller::Invalid => "invalid",
    }
}

#[test]
fn every_caller_id_of_the_corpus_is_classified_as_labelled() {
    let rows = corpus();
    assert!(
        rows.len() >= 200,
        "the corpus has {} caller ids",
        rows.len()
    );
    let mut wrong = Vec::new();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *by_kind.entry(kind(&row.expected)).or_default() += 1;
        let got = classify_caller(&row.raw, row.region);
        if got != row.expected {
            wrong.push(format!(
                "line {} {:?} ({}): expected {:?}, got {got:?}",
                row.line, row.raw, row.region, row.expected
            ));
        }
    }
    println!(
        "caller-ids.tsv: {} of {} agree; by kind {by_kind:?}",
        rows.len() - wrong.len(),
        rows.len()
    );
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn equivalent_spellings_of_the_corpus_reach_one_contact_and_other_kinds_write_nothing() {
    let rows = corpus();
    let db = TempDb::new();
    // One store per default region, on one file: the org names the region.
    let mut contact_of: BTreeMap<String, String> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| matches!(r.expected, Caller::Number { .. }))
    {
        let store =
            ContactStore::open_with(&db.path, Settings::default().region(row.region)).unwrap();
        let org = store.org("corpus").unwrap();
        let got = org
            .resolve_caller(&CallerRequest::new(row.raw.clone()))
            .unwrap();
        assert_eq!(got.caller, row.expected, "line {}", row.line);
        let Caller::Number { phone_number } = &row.expected else {
            unreachable!()
        };
        let id = got.contact.unwrap().id;
        let first = contact_of.entry(phone_number.clone()).or_insert(id.clone());
        assert_eq!(
            *first, id,
            "line {} {:?} reached another contact",
            row.line, row.raw
        );
    }
    assert!(
        contact_of.len() >= 10,
        "{} distinct numbers",
        contact_of.len()
    );
    let numbers = contact_of.len();

    let watch = WriteWatch::new(&db.path);
    for row in rows
        .iter()
        .filter(|r| !matches!(r.expected, Caller::Number { .. }))
    {
        let store =
            ContactStore::open_with(&db.path, Settings::default().region(row.region)).unwrap();
        let org = store.org("corpus").unwrap();
        let got = org.resolve_caller(&CallerRequest::new(row.raw.clone()).to("+14155550100"));
        match &row.expected {
            Caller::Invalid => {
                let e = got.unwrap_err();
                assert_eq!(e.code(), ErrorCode::BadRequest, "line {}", row.line);
                assert!(
                    e.to_string().starts_with("Invalid from: "),
                    "line {}: {e}",
                    row.line
                );
            }
            expected => {
                let got = got.unwrap();
                assert_eq!(&got.caller, expected, "line {}", row.line);
                assert_eq!(
                    (got.contact, got.created),
                    (None, false),
                    "line {}",
                    row.line
                );
            }
        }
    }
    assert!(
        !watch.changed(),
        "a caller that is not a number wrote something"
    );
    println!("{numbers} numbers, each reached by all its spellings through resolve-caller");
}

#[test]
fn resolve_caller_with_a_withheld_caller_writes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    org.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    let watch = WriteWatch::new(&db.path);
    for from in [
        "anonymous",
        "+266696687",
        "",
        "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1",
        "0000000000",
    ] {
        let request = CallerRequest {
            from: from.into(),
            to: Some("+14155550100".into()),
            name: Some("Sarah Chen".into()),
            metadata: Some(serde_json::json!({"source": "inbound_call"})),
            ..Default::default()
        };
        let got = org.resolve_caller(&request).unwrap();
        assert_eq!(got.caller, Caller::Withheld, "{from:?}");
        assert_eq!((got.contact, got.created), (None, false));
        let json = serde_json::to_value(
            org.resolve_caller(&CallerRequest::new(from).persona_id("p-1"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"caller": {"kind": "withheld"}, "contact": null, "created": false})
        );
    }
    assert!(!watch.changed(), "a withheld caller wrote to the database");
}

#[test]
fn a_number_is_resolved_with_memory_scoped_by_persona_else_by_the_number_called() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let first = org
        .resolve_caller(&CallerRequest {
            from: "sip:+14155550192@example.sip.twilio.com".into(),
            to: Some("sip:+14155550100@example.sip.twilio.com".into()),
            name: Some("Sarah Chen".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(first.created);
    let id = first.contact.unwrap().id;
    let found = org
        .find(&IdentifierQuery::phone("+14155550192"))
        .unwrap()
        .unwrap();
    assert_eq!(found.contact.id, id);
    assert_eq!(found.contact.name.as_deref(), Some("Sarah Chen"));
    assert_eq!(found.memories.len(), 1);
    assert_eq!(
        found.memories[0].agent_number.as_deref(),
        Some("+14155550100")
    );
    assert_eq!(found.memories[0].persona_id, None);

    // With a persona, the number called is not the scope — but it is still checked.
    let with_bad_to = CallerRequest {
        from: "\"Sarah\" <sip:4155550192@pbx.example.com;user=phone>;tag=9".into(),
        to: Some("not a number".into()),
        persona_id: Some("persona-1".into()),
        ..Default::default()
    };
    let err = org.resolve_caller(&with_bad_to).unwrap_err();
    assert_eq!(err.to_string(), "Invalid to: is not a phone number");
    assert_eq!(
        org.get(&id).unwrap().memories.len(),
        1,
        "a refused request wrote"
    );
    let again = org
        .resolve_caller(&CallerRequest {
            to: Some("+14155550111".into()),
            ..with_bad_to
        })
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.contact.unwrap().id, id);
    let found = org.get(&id).unwrap();
    assert_eq!(found.memories.len(), 2);
    assert_eq!(found.memories[1].persona_id.as_deref(), Some("persona-1"));
    assert_eq!(found.memories[1].agent_number, None);

    let json = serde_json::to_value(
        org.resolve_caller(&CallerRequest::new("tel:+1-415-555-0192"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        json["caller"],
        serde_json::json!({"kind": "number", "phone_number": "+14155550192"})
    );
    assert_eq!(json["contact"]["id"], id.as_str());
    assert_eq!(json["created"], false);
    assert!(json.get("conflicts").is_none());
}

#[test]
fn short_codes_and_sender_ids_answer_with_their_kind() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let got = org.resolve_caller(&CallerRequest::new("72975")).unwrap();
    assert_eq!(
        got.caller,
        Caller::ShortCode {
            code: "72975".into()
        }
    );
    assert!(got.contact.is_none());
    let got = org.resolve_caller(&CallerRequest::new("AMAZON")).unwrap();
    assert_eq!(
        got.caller,
        Caller::Alphanumeric {
            sender: "AMAZON".into()
        }
    );
    assert!(org.list(&Default::default()).unwrap().contacts.is_empty());
}

#[test]
fn bad_requests_name_the_field_and_write_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let watch = WriteWatch::new(&db.path);
    let cases = [
        (
            CallerRequest::new("sip:alice@example.com"),
            "Invalid from: is not a phone number, short code or sender id",
        ),
        (
            CallerRequest::new("+1 415 555 0192 ext. 12"),
            "Invalid from: must not include an extension",
        ),
        (
            CallerRequest::new("+1415555019"),
            "Invalid from: is not a valid phone number",
        ),
        (
            CallerRequest::new("client:alice"),
            "Invalid from: is not a phone number, short code or sender id",
        ),
        (
            CallerRequest::new("+14155550192").to("12345"),
            "Invalid to: is not a valid phone number",
        ),
        (
            CallerRequest::new("anonymous").to("12345"),
            "Invalid to: is not a valid phone number",
        ),
        (
            CallerRequest::new("72975").to("garbage"),
            "Invalid to: is not a phone number",
        ),
        (
            CallerRequest {
                metadata: Some(serde_json::json!([1])),
                ..CallerRequest::new("anonymous")
            },
            "Invalid metadata: must be a JSON object",
        ),
        (
            CallerRequest {
                metadata: Some(serde_json::json!("x")),
                ..CallerRequest::new("+14155550192")
            },
            "Invalid metadata: must be a JSON object",
        ),
        (
            CallerRequest::new("AMAZON").persona_id(""),
            "Invalid persona_id: must not be empty",
        ),
    ];
    for (request, message) in cases {
        let e = org.resolve_caller(&request).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest, "{request:?}");
        assert_eq!(e.to_string(), message, "{request:?}");
        assert!(!e.to_string().contains("555"), "{e}");
    }
    assert!(!watch.changed());
    // The hosted path keeps the hosted behaviour: a text caller id is a bad number.
    let e = org
        .resolve(&ResolveRequest::phone("anonymous"))
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid phone_number: is not a phone number");
}

#[test]
fn uri_forms_are_accepted_wherever_a_phone_number_is() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = org
        .resolve(&ResolveRequest::phone(
            "\"Sarah\" <sip:+14155550192@host;user=phone>;tag=1",
        ))
        .unwrap()
        .contact
        .id;
    assert_eq!(
        org.find(&IdentifierQuery::phone("tel:+1-415-555-0192"))
            .unwrap()
            .unwrap()
            .contact
            .id,
        id
    );
    let updated = org
        .update(
            &id,
            &ContactUpdate::default().add(
                IdentifierType::PhoneNumber,
                "sip:+442079460958@gw.example.co.uk",
            ),
        )
        .unwrap();
    assert!(updated
        .identifiers
        .iter()
        .any(|i| i.identifier_value == "+442079460958"));
    let call = org
        .record_call(
            &id,
            &NewCall {
                direction: Direction::Inbound,
                agent_number: Some("sip:+14155550100@example.sip.twilio.com".into()),
                contact_number: Some("<sip:+14155550192@host>".into()),
                started_at: None,
                duration_seconds: Some(30),
                status: None,
                summary: None,
                metadata: Default::default(),
            },
        )
        .unwrap();
    assert_eq!(call.agent_number.as_deref(), Some("+14155550100"));
    assert_eq!(call.contact_number.as_deref(), Some("+14155550192"));
    let line = r#"{"name":"Alan","identifiers":[{"identifier_type":"phone_number","identifier_value":"sips:+33142685300@sip.example.fr;user=phone"}]}"#;
    let summary = org
        .import(
            &mut format!("{line}\n").as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.imported, 1, "{:?}", summary.errors);
    assert!(org
        .find(&IdentifierQuery::phone("+33 1 42 68 53 00"))
        .unwrap()
        .is_some());
}

fn caller_ids() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        "[+]?[0-9 ().-]{0,16}",
        "\\+1[2-9][0-9]{2}[2-9][0-9]{6}",
        "[0-9]{2,9}",
        "[A-Za-z0-9 &.-]{1,13}",
        "(sip|sips|tel|client):[+%0-9A-Za-z.;=-]{0,20}(@[a-z.]{1,10})?",
        "\"[A-Za-z ]{0,8}\" <sip:\\+?[0-9]{3,12}@h>(;tag=[a-z0-9]{1,6})?",
        proptest::sample::select(vec![
            "anonymous".to_owned(),
            "+266696687".to_owned(),
            String::new(),
            "sip:anonymous@anonymous.invalid".to_owned(),
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// resolve-caller answers with exactly the kind classify-caller gives, a number
    /// reaches the contact resolve reaches, and only an invalid id is a BAD_REQUEST.
    #[test]
    fn resolve_caller_agrees_with_classify_caller(
        stored in proptest::collection::vec("\\+1[2-9][0-9]{2}[2-9][0-9]{6}", 0..4),
        from in caller_ids(),
    ) {
        let store = common::store();
        let org = store.org("acme").unwrap();
        for number in &stored {
            let _ = org.resolve(&ResolveRequest::phone(number.clone()));
        }
        let expected = classify_caller(&from, PhoneRegion::default());
        match org.resolve_caller(&CallerRequest::new(from.clone())) {
            Ok(got) => {
                prop_assert_eq!(&got.caller, &expected, "{:?}", from);
                if let Caller::Number { phone_number } = &expected {
                    let found = org.find(&IdentifierQuery::phone(phone_number.clone())).unwrap().unwrap();
                    prop_assert_eq!(got.contact.map(|c| c.id), Some(found.contact.id));
                } else {
                    prop_assert!(got.contact.is_none());
                }
            }
            Err(e) => {
                prop_assert_eq!(expected, Caller::Invalid, "{:?}: {}", from, e);
                prop_assert_eq!(e.code(), ErrorCode::BadRequest);
                prop_assert!(e.to_string().starts_with("Invalid from: "), "{}", e);
            }
        }
    }
}
