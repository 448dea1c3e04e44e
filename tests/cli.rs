//! The `contactstore` command, run as a real process (contract §6).

mod common;

use std::process::Command;

use common::{cli, run, TempDb};
use serde_json::{json, Value};

fn error_code(v: &Value) -> &str {
    v["errors"][0]["error"].as_str().unwrap()
}

#[test]
fn resolve_find_get_session() {
    let db = TempDb::new();
    let (code, created) = run(
        &db.path,
        &[
            "resolve",
            "--phone",
            "(415) 555-0192",
            "--name",
            "Sarah Chen",
            "--persona-id",
            "persona-12345678",
            "--metadata",
            r#"{"source":"inbound_call"}"#,
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(created["errors"], Value::Null);
    assert_eq!(created["data"]["created"], true);
    let id = created["data"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["data"]["contact"]["org_id"], "default");

    let (code, again) = run(
        &db.path,
        &[
            "resolve",
            "--phone",
            "+14155550192",
            "--email",
            "Sarah@Example.com",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(again["data"]["created"], false);
    assert_eq!(again["data"]["contact"]["id"], id.as_str());

    let (code, found) = run(&db.path, &["find", "--email", "sarah@example.com"]);
    assert_eq!(code, 0);
    assert_eq!(found["data"]["id"], id.as_str());
    assert_eq!(found["data"]["identifiers"].as_array().unwrap().len(), 2);
    assert_eq!(
        found["data"]["memories"][0]["persona_id"],
        "persona-12345678"
    );

    let (code, got) = run(&db.path, &["get", &id]);
    assert_eq!(code, 0);
    assert_eq!(got["data"], found["data"]);
}

#[test]
fn output_keeps_the_references_field_order() {
    let db = TempDb::new();
    let out = cli(&db.path, &["resolve", "--email", "a@example.com"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let keys = [
        "\"id\"",
        "\"org_id\"",
        "\"name\"",
        "\"metadata\"",
        "\"created_at\"",
        "\"updated_at\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text.starts_with(r#"{"data":"#) && text.trim_end().ends_with(r#""errors":null}"#));
}

#[test]
fn find_without_a_match_is_success_with_null_data() {
    let db = TempDb::new();
    let (code, v) = run(&db.path, &["find", "--phone", "+14155550192"]);
    assert_eq!(code, 0);
    assert_eq!(v, serde_json::json!({"data": null, "errors": null}));
}

#[test]
fn exit_codes_follow_the_error_codes() {
    let db = TempDb::new();
    let (code, v) = run(&db.path, &["get", "no-such-contact"]);
    assert_eq!((code, error_code(&v)), (3, "NOT_FOUND"));
    assert_eq!(v["errors"][0]["message"], "Contact not found");
    assert_eq!(v["data"], Value::Null);

    let (code, v) = run(&db.path, &["resolve", "--phone", "anonymous"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));

    let (code, v) = run(&db.path, &["resolve", "--name", "Sarah"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    assert_eq!(
        v["errors"][0]["message"],
        "At least one identifier (phone_number, email, or external_id) is required"
    );

    let (code, v) = run(
        &db.path,
        &["resolve", "--email", "a@example.com", "--metadata", "{nope"],
    );
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    assert_eq!(
        v["errors"][0]["message"],
        "Invalid metadata: is not valid JSON"
    );

    let (code, v) = run(
        &db.path,
        &["resolve", "--email", "a@example.com", "--metadata", "[1]"],
    );
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));

    let (code, v) = run(&db.path, &["find"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));

    let (code, v) = run(&db.path, &["--all-orgs", "get", "x"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
}

#[test]
fn bad_usage_prints_an_envelope_and_exits_2() {
    let db = TempDb::new();
    for args in [&["frobnicate"][..], &["resolve", "--bogus"], &["get"], &[]] {
        let (code, v) = run(&db.path, args);
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(error_code(&v), "BAD_REQUEST");
    }
}

#[test]
fn an_unopenable_database_is_an_internal_error_without_the_path() {
    let db = TempDb::new();
    let path = db.dir.path().join("missing-dir").join("sarah.db");
    let out = cli(&path, &["find", "--email", "a@example.com"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(error_code(&v), "INTERNAL_ERROR");
    assert!(!stdout.contains("sarah"));
}

#[test]
fn errors_never_echo_the_phone_or_email() {
    let db = TempDb::new();
    for args in [
        &["resolve", "--phone", "+266696687"][..],
        &["resolve", "--email", "sarah.secret@"],
        &["find", "--phone", "415-555-0192 ext. 99"],
    ] {
        let out = cli(&db.path, args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("696687") && !all.contains("secret") && !all.contains("0192"),
            "{all}"
        );
    }
}

#[test]
fn db_and_org_default_from_the_environment() {
    let db = TempDb::sqlite();
    let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .args(["resolve", "--email", "a@example.com"])
        .env("CONTACTSTORE_DB", &db.path)
        .env("CONTACTSTORE_ORG", "acme")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"]["contact"]["org_id"], "acme");
    assert!(db.path.exists());
    // Another org does not see it.
    let (_, v) = run(
        &db.path,
        &["--org", "other", "find", "--email", "a@example.com"],
    );
    assert_eq!(v["data"], Value::Null);
    let (_, v) = run(
        &db.path,
        &["--org", "acme", "find", "--email", "a@example.com"],
    );
    assert_eq!(v["data"]["org_id"], "acme");
}

#[test]
fn db_defaults_to_contacts_db_in_the_working_directory() {
    let db = TempDb::new();
    let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .args(["resolve", "--email", "a@example.com"])
        .current_dir(db.dir.path())
        .env_remove("CONTACTSTORE_DB")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(db.dir.path().join("contacts.db").exists());
}

#[test]
fn region_setting_applies_to_national_numbers() {
    let db = TempDb::new();
    let (code, v) = run(
        &db.path,
        &["--region", "GB", "resolve", "--phone", "020 7946 0958"],
    );
    assert_eq!(code, 0);
    let id = v["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let (_, v) = run(&db.path, &["find", "--phone", "+44 20 7946 0958"]);
    assert_eq!(v["data"]["id"], id.as_str());
    let (code, v) = run(&db.path, &["--region", "XX", "find", "--phone", "1"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
}

#[test]
fn memory_and_activity_commands_print_envelopes() {
    let db = TempDb::new();
    let (_, v) = run(&db.path, &["resolve", "--phone", "+14155550192"]);
    let id = v["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let scope = ["--persona-id", "persona-1"];
    let with = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.insert(2, id.clone());
        all.extend(scope.iter().map(|s| s.to_string()));
        all
    };
    let steps: Vec<Vec<String>> = vec![
        with(&["memory", "set-summary", "Asked about order #8821"]),
        with(&[
            "memory",
            "patch-facts",
            r#"{"timezone":"America/Los_Angeles"}"#,
        ]),
        with(&[
            "memory",
            "add-message",
            "--role",
            "user",
            "--channel",
            "sms",
            "--content",
            "Shipped?",
            "--timestamp",
            "2025-07-23T09:10:00Z",
        ]),
        with(&[
            "memory",
            "add-open-item",
            "--type",
            "follow_up",
            "--description",
            "Confirm delivery",
            "--priority",
            "high",
            "--related-to",
            "order:order-8821",
        ]),
        with(&[
            "memory",
            "upsert-entity",
            "--entity-type",
            "order",
            "--entity-id",
            "order-8821",
            "--facts",
            r#"{"carrier":"UPS"}"#,
            "--status",
            "in_transit",
        ]),
    ];
    for step in &steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let (code, v) = run(&db.path, &args);
        assert_eq!(code, 0, "{args:?}: {v}");
    }
    let (code, m) = run(
        &db.path,
        &with(&["memory", "show"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, 0);
    let m = &m["data"];
    assert_eq!(m["summary"], "Asked about order #8821");
    assert_eq!(m["facts"]["timezone"], "America/Los_Angeles");
    assert_eq!(m["recent_messages"][0]["content"], "Shipped?");
    assert_eq!(m["open_items"][0]["priority"], "high");
    assert_eq!(m["open_items"][0]["related_to"]["entity_id"], "order-8821");
    assert_eq!(m["entities"][0]["status"], "in_transit");

    let bad = with(&[
        "memory",
        "add-message",
        "--role",
        "robot",
        "--channel",
        "sms",
        "--content",
        "x",
    ]);
    let (code, v) = run(
        &db.path,
        &bad.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    let (code, v) = run(&db.path, &["memory", "show", &id]);
    assert_eq!(
        (code, error_code(&v)),
        (2, "BAD_REQUEST"),
        "a scope is required"
    );

    let (code, v) = run(
        &db.path,
        &[
            "call",
            "record",
            &id,
            "--direction",
            "inbound",
            "--contact-number",
            "(415) 555-0192",
            "--duration",
            "60",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["contact_number"], "+14155550192");
    let (_, v) = run(&db.path, &["call", "list", &id]);
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (code, _) = run(
        &db.path,
        &[
            "sms",
            "record",
            &id,
            "--direction",
            "outbound",
            "--message-count",
            "3",
        ],
    );
    assert_eq!(code, 0);
    let (_, v) = run(&db.path, &["sms", "list", &id]);
    assert_eq!(v["data"][0]["message_count"], 3);
    let (code, v) = run(
        &db.path,
        &["call", "record", &id, "--direction", "sideways"],
    );
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
}

#[test]
fn export_to_stdout_carries_only_documents_and_round_trips() {
    let db = TempDb::new();
    run(
        &db.path,
        &[
            "resolve",
            "--phone",
            "+14155550192",
            "--name",
            "Sarah",
            "--persona-id",
            "p",
        ],
    );
    run(
        &db.path,
        &["--org", "other", "resolve", "--email", "b@example.com"],
    );
    let out = cli(&db.path, &["--all-orgs", "export", "-"]);
    assert!(out.status.success());
    let docs = String::from_utf8(out.stdout).unwrap();
    assert_eq!(docs.lines().count(), 2);
    for line in docs.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            v.get("data").is_none(),
            "stdout holds documents, not envelopes"
        );
        assert!(v["calls"].is_array() && v["sms_conversations"].is_array());
    }
    let summary: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(summary["data"]["exported"], 2);

    // Into a file (owner-only), then into an empty database, then out again.
    let file = db.dir.path().join("export.jsonl");
    let (code, v) = run(&db.path, &["--all-orgs", "export", file.to_str().unwrap()]);
    assert_eq!((code, &v["data"]["exported"]), (0, &Value::from(2)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let copy = db.dir.path().join("copy.db");
    let (code, v) = run(&copy, &["--all-orgs", "import", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["imported"], 2);
    let again = cli(&copy, &["--all-orgs", "export", "-"]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), docs);
}

#[test]
fn import_from_stdin_reports_rejected_lines() {
    use std::io::Write;
    let db = TempDb::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .arg("--db")
        .arg(&db.path)
        .args(["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"identifiers\":[{\"identifier_type\":\"email\",\"identifier_value\":\"a@example.com\"}]}\nnope\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // Some lines were rejected: exit 2, the good line landed.
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"]["imported"], 1);
    assert_eq!(v["data"]["rejected"], 1);
    assert_eq!(v["data"]["errors"][0]["line"], 2);
}

/// `import` exits 0 only when no line was rejected (lines already present count as
/// unchanged), 2 when some were (the others landed, and the envelope lists the
/// rejected ones), 1 when a storage failure stopped it (with what was committed).
#[test]
fn import_exit_status_tells_each_outcome_apart() {
    let db = TempDb::new();
    let file = db.dir.path().join("in.jsonl");
    let good = "{\"name\":\"Sarah\",\"identifiers\":[{\"identifier_type\":\"phone_number\",\"identifier_value\":\"(415) 555-0192\"}]}\n\
                {\"identifiers\":[{\"identifier_type\":\"email\",\"identifier_value\":\"b@example.com\"}]}\n";
    std::fs::write(&file, good).unwrap();
    let path = file.to_str().unwrap();
    let (code, v) = run(&db.path, &["import", path]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["data"]["imported"].as_u64(), v["errors"].is_null()),
        (Some(2), true)
    );

    // The same file again: every line is unchanged, and that is success.
    let (code, v) = run(&db.path, &["import", path]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["unchanged"], 2);
    assert_eq!(v["data"]["imported"], 0);
    let (code, v) = run(&db.path, &["import", "--on-conflict", "merge", path]);
    assert_eq!(
        (code, &v["data"]["unchanged"], &v["data"]["merged"]),
        (0, &Value::from(2), &Value::from(0))
    );

    // A line that conflicts, and one that is not JSON: exit 2, the good line lands.
    let mixed = db.dir.path().join("mixed.jsonl");
    std::fs::write(
        &mixed,
        "{\"name\":\"Other\",\"identifiers\":[{\"identifier_type\":\"phone_number\",\"identifier_value\":\"+14155550192\"}]}\n\
         {\"identifiers\":[{\"identifier_type\":\"email\",\"identifier_value\":\"c@example.com\"}]}\n\
         not json\n",
    )
    .unwrap();
    let (code, v) = run(&db.path, &["import", mixed.to_str().unwrap()]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(
        (
            v["data"]["imported"].as_u64(),
            v["data"]["rejected"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let lines: Vec<u64> = v["data"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 3]);
    assert_eq!(error_code(&v), "BAD_REQUEST");
    assert_eq!(
        v["errors"][0]["message"],
        "2 line(s) were rejected (see data.errors); the others landed"
    );

    // A missing input file: nothing was imported, a failure (1).
    let (code, v) = run(&db.path, &["import", "/nonexistent/in.jsonl"]);
    assert_eq!((code, error_code(&v)), (1, "INTERNAL_ERROR"));
}

/// A storage failure stops the import: exit 1, the summary of the committed lines
/// and the last committed line in `data`, the failure in `errors`. (A file its user
/// cannot write: root runs the command in a user namespace, `unshare --user`.)
#[cfg(unix)]
#[test]
fn an_import_stopped_by_a_storage_failure_exits_1_with_what_was_committed() {
    use std::os::unix::fs::PermissionsExt;
    let db = TempDb::sqlite();
    let (code, _) = run(&db.path, &["resolve", "--external-id", "x"]);
    assert_eq!(code, 0);
    let file = db.dir.path().join("in.jsonl");
    std::fs::write(
        &file,
        "{\"identifiers\":[{\"identifier_type\":\"email\",\"identifier_value\":\"b@example.com\"}]}\n",
    )
    .unwrap();
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let privileged = std::fs::OpenOptions::new()
        .write(true)
        .open(&db.path)
        .is_ok();
    let mut cmd = if privileged {
        let mut cmd = Command::new("unshare");
        cmd.arg("--user").arg(env!("CARGO_BIN_EXE_contactstore"));
        cmd
    } else {
        Command::new(env!("CARGO_BIN_EXE_contactstore"))
    };
    let out = cmd
        .arg("--db")
        .arg(&db.path)
        .args(["import", file.to_str().unwrap()])
        .output()
        .expect("run contactstore (root needs `unshare` from util-linux)");
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(error_code(&v), "INTERNAL_ERROR");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("database is read-only"),
        "{v}"
    );
    assert_eq!(v["data"]["last_committed_line"], 0);
    assert_eq!(v["data"]["imported"], 0);
}

#[test]
fn backup_and_check_commands() {
    let db = TempDb::sqlite();
    run(
        &db.path,
        &["resolve", "--phone", "+14155550192", "--name", "Sarah"],
    );
    let copy = db.dir.path().join("copy.db");
    let (code, v) = run(&db.path, &["backup", copy.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["data"]["bytes"].as_u64(),
        Some(std::fs::metadata(&copy).unwrap().len())
    );
    let (code, v) = run(&copy, &["find", "--phone", "(415) 555-0192"]);
    assert_eq!((code, &v["data"]["name"]), (0, &Value::from("Sarah")));
    // Never over an existing file; never from a database that does not exist.
    let (code, v) = run(&db.path, &["backup", copy.to_str().unwrap()]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"), "{v}");
    // Unless asked: --overwrite replaces it with a whole new copy.
    run(&db.path, &["resolve", "--email", "later@example.com"]);
    let (code, v) = run(&db.path, &["backup", copy.to_str().unwrap(), "--overwrite"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = run(&copy, &["find", "--email", "later@example.com"]);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["data"].is_object(),
        "the replaced copy lacks the later write: {v}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".backup-"))
        .collect();
    assert!(leftovers.is_empty(), "a partial copy was left behind");
    let missing = db.dir.path().join("missing.db");
    let (code, v) = run(
        &missing,
        &["backup", db.dir.path().join("b2.db").to_str().unwrap()],
    );
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"), "{v}");
    assert!(!missing.exists());

    let (code, v) = run(&copy, &["check"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["healthy"], true);
    assert!(v["errors"].is_null());
    // A dangling identifier: exit 1, the failing checks named.
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; INSERT INTO identifier VALUES \
         ('default', 3, 'ghost', 'no-such-contact', 'ident-ghost', 0);",
    )
    .unwrap();
    drop(conn);
    let (code, v) = run(&copy, &["check"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["data"]["healthy"], false);
    assert_eq!(error_code(&v), "INTERNAL_ERROR");
    assert_eq!(
        v["errors"][0]["message"],
        "the store is not healthy: 2 check(s) failed (foreign_key_check, identifiers_have_contacts)"
    );
    // A file that does not exist is not created by checking it.
    let (code, v) = run(&missing, &["check"]);
    assert_eq!((code, error_code(&v)), (1, "INTERNAL_ERROR"), "{v}");
    assert!(!missing.exists());
}

#[test]
fn update_and_list_commands() {
    let db = TempDb::new();
    let (_, v) = run(
        &db.path,
        &["resolve", "--phone", "+14155550192", "--name", "Sarah"],
    );
    let id = v["data"]["contact"]["id"].as_str().unwrap().to_owned();
    run(&db.path, &["resolve", "--email", "other@example.com"]);

    let (code, v) = run(
        &db.path,
        &[
            "update",
            &id,
            "--name",
            "Sarah Chen",
            "--metadata",
            r#"{"tier":"gold"}"#,
            "--add-email",
            "Sarah@Example.com",
            "--add-phone",
            "415.555.0100",
            "--primary",
            "phone_number:+14155550100",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["name"], "Sarah Chen");
    assert_eq!(v["data"]["metadata"]["tier"], "gold");
    assert_eq!(v["data"]["identifiers"].as_array().unwrap().len(), 3);
    let (code, v) = run(
        &db.path,
        &[
            "update",
            &id,
            "--clear-name",
            "--remove",
            "email:sarah@example.com",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["data"]["name"], Value::Null);
    let (code, v) = run(
        &db.path,
        &["update", &id, "--add-email", "other@example.com"],
    );
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    assert_eq!(
        v["errors"][0]["message"],
        "Invalid email: already belongs to another contact"
    );
    let (code, v) = run(&db.path, &["update", &id, "--remove", "nonsense"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    let (code, v) = run(&db.path, &["update", "missing", "--name", "x"]);
    assert_eq!((code, error_code(&v)), (3, "NOT_FOUND"));

    let (code, v) = run(&db.path, &["list", "--limit", "1", "--with-identifiers"]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"]["contacts"][0]["id"], id.as_str());
    assert!(v["data"]["contacts"][0]["identifiers"].is_array());
    let cursor = v["data"]["next_cursor"].as_str().unwrap().to_owned();
    let (_, v) = run(&db.path, &["list", "--limit", "1", "--cursor", &cursor]);
    assert_eq!(v["data"]["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"]["next_cursor"], Value::Null);
    let (code, v) = run(&db.path, &["list", "--limit", "0"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    let (code, v) = run(&db.path, &["list", "--updated-since", "yesterday"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
}

#[test]
fn export_failures_keep_stdout_clean_and_files_private() {
    let db = TempDb::new();
    // A failing `export -`: the error envelope goes to stderr, stdout stays empty.
    let missing = db.dir.path().join("no-such-dir").join("x.db");
    let out = cli(&missing, &["export", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout carries documents only");
    let v: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error_code(&v), "INTERNAL_ERROR");

    // Exporting over an existing world-readable file leaves an owner-only file.
    run(&db.path, &["resolve", "--email", "a@example.com"]);
    let file = db.dir.path().join("out.jsonl");
    std::fs::write(&file, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (code, _) = run(&db.path, &["export", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("a@example.com"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn all_orgs_works_with_an_org_in_the_environment() {
    let db = TempDb::new();
    run(
        &db.path,
        &["--org", "a", "resolve", "--email", "a@example.com"],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .arg("--db")
        .arg(&db.path)
        .args(["--all-orgs", "export", "-"])
        .env("CONTACTSTORE_ORG", "b")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}

/// The hosted memory reads and reset from the command line: `memory get` by id,
/// `memory context` in the hosted shape without creating anything, `memory reset`.
#[test]
fn memory_get_context_and_reset() {
    let db = TempDb::new();
    let (_, v) = run(&db.path, &["resolve", "--phone", "(415) 555-0192"]);
    let id = v["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let scope = ["--persona-id", "persona-1"];

    let (code, v) = run(&db.path, &["memory", "context", &id, scope[0], scope[1]]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["recentMessages"], json!([]));
    assert_eq!(v["data"]["contact_id"], id.as_str());
    let (_, shown) = run(&db.path, &["get", &id]);
    assert_eq!(
        shown["data"]["memories"],
        json!([]),
        "context created a memory"
    );

    let mut args = vec!["memory", "add-message", &id, scope[0], scope[1]];
    args.extend(["--role", "user", "--channel", "call", "--content", "Hi"]);
    let (code, v) = run(&db.path, &args);
    assert_eq!(code, 0, "{v}");
    let memory_id = v["data"]["id"].as_str().unwrap().to_owned();
    let (code, v) = run(&db.path, &["memory", "get", &memory_id]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["recent_messages"][0]["channel"], "call");
    let kinds: Vec<&str> = v["data"]["memory_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "messages_added"]);
    let (_, v) = run(&db.path, &["memory", "context", &id, scope[0], scope[1]]);
    assert_eq!(v["data"]["recentMessages"][0]["content"], "Hi");

    let (code, v) = run(&db.path, &["memory", "reset", &id, scope[0], scope[1]]);
    assert_eq!((code, &v["data"]), (0, &json!({"success": true})));
    let (_, v) = run(&db.path, &["memory", "get", &memory_id]);
    assert_eq!(v["data"]["recent_messages"], json!([]));

    let (code, v) = run(&db.path, &["memory", "get", "mem-nope"]);
    assert_eq!((code, error_code(&v)), (3, "NOT_FOUND"));
    assert_eq!(v["errors"][0]["message"], "Memory not found");
    let (code, v) = run(&db.path, &["memory", "reset", &id]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    assert_eq!(
        v["errors"][0]["message"],
        "persona_id or agent_number is required"
    );
    let (code, _) = run(&db.path, &["--org", "other", "memory", "get", &memory_id]);
    assert_eq!(code, 3, "another org's memory id");
}

/// The README's "History and undo" session: preview, merge, unmerge, changes.
#[test]
fn merge_preview_unmerge_and_changes_from_the_command_line() {
    let db = TempDb::new();
    let (_, v) = run(
        &db.path,
        &["resolve", "--phone", "(415) 555-0192", "--name", "Sarah"],
    );
    let a = v["data"]["contact"]["id"].as_str().unwrap().to_owned();
    let (_, v) = run(&db.path, &["resolve", "--email", "sarah@example.com"]);
    let b = v["data"]["contact"]["id"].as_str().unwrap().to_owned();

    let (code, preview) = run(&db.path, &["merge", &a, &b, "--dry-run"]);
    assert_eq!(code, 0, "{preview}");
    assert_eq!(preview["data"]["identifiers"].as_array().unwrap().len(), 2);
    let (_, still) = run(&db.path, &["get", &b]);
    assert_eq!(
        still["data"]["id"],
        b.as_str(),
        "the preview merged nothing"
    );
    let (code, merged) = run(&db.path, &["merge", &a, &b]);
    assert_eq!(code, 0, "{merged}");
    assert_eq!(
        merged["data"]["identifiers"],
        preview["data"]["identifiers"]
    );
    assert_eq!(merged["data"]["moved"], preview["data"]["moved"]);

    let (code, split) = run(&db.path, &["unmerge", &b]);
    assert_eq!(code, 0, "{split}");
    assert_eq!(split["data"]["restored"]["id"], b.as_str());
    assert_eq!(split["data"]["primary"]["id"], a.as_str());
    assert_eq!(
        split["data"]["restored"]["identifiers"][0]["identifier_value"],
        "sarah@example.com"
    );
    let (code, v) = run(&db.path, &["unmerge", &b]);
    assert_eq!((code, error_code(&v)), (3, "NOT_FOUND"));
    let (code, v) = run(&db.path, &["unmerge", &a]);
    assert_eq!((code, error_code(&v)), (3, "NOT_FOUND"));

    let (code, page) = run(&db.path, &["changes", "--limit", "3"]);
    assert_eq!(code, 0, "{page}");
    let kinds: Vec<&str> = page["data"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["contact.created", "contact.created", "contact.merged"]
    );
    let next = page["data"]["next"].as_u64().unwrap();
    let (_, rest) = run(&db.path, &["changes", "--since", &next.to_string()]);
    let kinds: Vec<&str> = rest["data"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["contact.unmerged", "contact.restored"]);
    for c in rest["data"]["changes"].as_array().unwrap() {
        assert!(c["seq"].as_u64().unwrap() > next);
        for field in ["seq", "at", "org_id", "kind", "contact_id", "detail"] {
            assert!(!c[field].is_null(), "{field}: {c}");
        }
    }
    let (_, other_org) = run(&db.path, &["--org", "other", "changes"]);
    assert_eq!(other_org["data"]["changes"], json!([]));
    let (code, all) = run(&db.path, &["--all-orgs", "changes"]);
    assert_eq!(code, 0);
    assert_eq!(all["data"]["changes"].as_array().unwrap().len(), 5);
    let (code, v) = run(&db.path, &["changes", "--limit", "0"]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
    let (code, v) = run(&db.path, &["--all-orgs", "unmerge", &b]);
    assert_eq!((code, error_code(&v)), (2, "BAD_REQUEST"));
}
