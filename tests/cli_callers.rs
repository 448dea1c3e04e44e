//! The caller commands of `contactstore`, run as a real process (contract §9):
//! classify-caller, resolve-caller and suggest-merges, their envelopes and exit codes.

mod common;

use common::{run, TempDb, WriteWatch};
use serde_json::{json, Value};

#[test]
fn classify_caller_prints_the_kind_exits_0_and_opens_no_database() {
    let db = TempDb::new();
    for (raw, data) in [
        (
            "\"Sarah\" <sip:+14155550192@host;user=phone>;tag=1",
            json!({"kind": "number", "phone_number": "+14155550192"}),
        ),
        (
            "tel:0791234567;phone-context=+41",
            json!({"kind": "number", "phone_number": "+41791234567"}),
        ),
        ("+266696687", json!({"kind": "withheld"})),
        ("", json!({"kind": "withheld"})),
        ("72975", json!({"kind": "short_code", "code": "72975"})),
        (
            "AMAZON",
            json!({"kind": "alphanumeric", "sender": "AMAZON"}),
        ),
        ("sip:alice@example.com", json!({"kind": "invalid"})),
        ("-1", json!({"kind": "invalid"})),
    ] {
        let (code, v) = run(&db.path, &["classify-caller", raw]);
        assert_eq!(code, 0, "{raw}");
        assert_eq!(v, json!({"data": data, "errors": null}), "{raw}");
    }
    let (code, v) = run(
        &db.path,
        &["--region", "GB", "classify-caller", "020 7946 0958"],
    );
    assert_eq!(code, 0);
    assert_eq!(v["data"]["phone_number"], "+442079460958");
    assert!(!db.path.exists(), "classify-caller created the database");
}

#[test]
fn resolve_caller_resolves_numbers_and_answers_other_kinds() {
    let db = TempDb::new();
    let (code, created) = run(
        &db.path,
        &[
            "resolve-caller",
            "--from",
            "sip:+14155550192@example.sip.twilio.com",
            "--to",
            "+14155550100",
            "--name",
            "Sarah Chen",
            "--metadata",
            r#"{"source":"inbound_call"}"#,
        ],
    );
    assert_eq!(code, 0, "{created}");
    assert_eq!(created["errors"], Value::Null);
    assert_eq!(
        created["data"]["caller"],
        json!({"kind": "number", "phone_number": "+14155550192"})
    );
    assert_eq!(created["data"]["created"], true);
    let id = created["data"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created["data"]["contact"]["metadata"]["source"],
        "inbound_call"
    );

    let (code, again) = run(
        &db.path,
        &[
            "resolve-caller",
            "--from",
            "(415) 555-0192",
            "--persona-id",
            "p-1",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        (
            again["data"]["created"].clone(),
            again["data"]["contact"]["id"].clone()
        ),
        (json!(false), json!(id))
    );
    let (_, found) = run(&db.path, &["find", "--phone", "+14155550192"]);
    let memories = found["data"]["memories"].as_array().unwrap();
    assert_eq!(memories.len(), 2);
    assert_eq!(memories[0]["agent_number"], "+14155550100");
    assert_eq!(memories[1]["persona_id"], "p-1");

    let watch = WriteWatch::new(&db.path);
    for (from, caller) in [
        ("anonymous", json!({"kind": "withheld"})),
        ("", json!({"kind": "withheld"})),
        ("72975", json!({"kind": "short_code", "code": "72975"})),
        (
            "AMAZON",
            json!({"kind": "alphanumeric", "sender": "AMAZON"}),
        ),
    ] {
        let (code, v) = run(
            &db.path,
            &["resolve-caller", "--from", from, "--to", "+14155550100"],
        );
        assert_eq!(code, 0, "{from:?}");
        assert_eq!(
            v,
            json!({"data": {"caller": caller, "contact": null, "created": false}, "errors": null})
        );
    }
    assert!(
        !watch.changed(),
        "a caller that is not a number wrote something"
    );
}

#[test]
fn resolve_caller_errors_exit_2_and_name_the_field() {
    let db = TempDb::new();
    for (args, message) in [
        (
            vec!["resolve-caller", "--from", "sip:alice@example.com"],
            "Invalid from: is not a phone number, short code or sender id",
        ),
        (
            vec!["resolve-caller", "--from", "+1 415 555 0192 ext. 12"],
            "Invalid from: must not include an extension",
        ),
        (
            vec!["resolve-caller", "--from", "+14155550192", "--to", "12345"],
            "Invalid to: is not a valid phone number",
        ),
        (
            vec![
                "resolve-caller",
                "--from",
                "+14155550192",
                "--metadata",
                "{",
            ],
            "Invalid metadata: is not valid JSON",
        ),
        (
            vec!["resolve-caller", "--from", "anonymous", "--metadata", "[1]"],
            "Invalid metadata: must be a JSON object",
        ),
    ] {
        let (code, v) = run(&db.path, &args);
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(v["data"], Value::Null);
        assert_eq!(v["errors"][0]["error"], "BAD_REQUEST");
        assert_eq!(v["errors"][0]["message"], message, "{args:?}");
    }
    // --from is required.
    let (code, v) = run(&db.path, &["resolve-caller", "--to", "+14155550100"]);
    assert_eq!(code, 2);
    assert_eq!(v["errors"][0]["error"], "BAD_REQUEST");
    // The plain resolve keeps refusing a text caller id.
    let (code, v) = run(&db.path, &["resolve", "--phone", "anonymous"]);
    assert_eq!(code, 2);
    assert_eq!(
        v["errors"][0]["message"],
        "Invalid phone_number: is not a phone number"
    );
}

#[test]
fn suggest_merges_lists_pairs_and_checks_its_options() {
    let db = TempDb::new();
    let (_, a) = run(
        &db.path,
        &[
            "resolve",
            "--email",
            "sarah.chen@gmail.com",
            "--name",
            "Sarah Chen",
        ],
    );
    let (_, b) = run(
        &db.path,
        &["resolve", "--email", "SarahChen+orders@googlemail.com"],
    );
    run(
        &db.path,
        &["resolve", "--phone", "+14155550192", "--name", "Alan Reed"],
    );
    let watch = WriteWatch::new(&db.path);
    let (code, v) = run(&db.path, &["suggest-merges"]);
    assert_eq!(code, 0, "{v}");
    let suggestions = v["data"]["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 1, "{v}");
    assert_eq!(suggestions[0]["primary_id"], a["data"]["contact"]["id"]);
    assert_eq!(suggestions[0]["duplicate_id"], b["data"]["contact"]["id"]);
    assert!(suggestions[0]["score"].as_f64().unwrap() > 0.9);
    assert!(suggestions[0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("gmail.com"));
    let (code, v) = run(
        &db.path,
        &["suggest-merges", "--limit", "5", "--min-score", "0.99"],
    );
    assert_eq!(code, 0);
    assert_eq!(v["data"]["suggestions"], json!([]));
    assert!(!watch.changed(), "suggest-merges wrote something");
    for (args, message) in [
        (
            vec!["suggest-merges", "--limit", "0"],
            Some("Invalid limit: must be between 1 and 1000"),
        ),
        (
            vec!["suggest-merges", "--min-score", "1.5"],
            Some("Invalid min_score: must be between 0 and 1"),
        ),
        (
            vec!["suggest-merges", "--min-score", "-0.5"],
            Some("Invalid min_score: must be between 0 and 1"),
        ),
        (vec!["suggest-merges", "--limit", "many"], None),
    ] {
        let (code, v) = run(&db.path, &args);
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(v["errors"][0]["error"], "BAD_REQUEST");
        if let Some(message) = message {
            assert_eq!(v["errors"][0]["message"], message);
        }
    }
}
