//! The hosted API's paths and the local extensions over HTTP (issue 12): for each
//! endpoint its success, its documented errors, another org's ids (404), merged-away
//! ids, and bad bodies (400 with an envelope, nothing written).

mod common;
mod shim;

use common::dump;
use serde_json::{json, Value};
use shim::*;

const PERSONA: &str = "persona-12345678";
const SCOPED_BODY: &str = "Invalid request body: expected a JSON object with a string \
     contact_id and a string persona_id or agent_number";

/// Resolves a contact by phone in `key`'s org; its id.
fn contact(shim: &Shim, key: &str, phone: &str) -> String {
    let (status, v) = shim.resolve(key, json!({ "phone_number": phone, "persona_id": PERSONA }));
    assert_eq!(status, 200, "{v}");
    v["data"]["contact"]["id"].as_str().unwrap().to_owned()
}

/// Opens the persona memory of a contact; its id.
fn memory(shim: &Shim, key: &str, contact_id: &str) -> String {
    let (status, v) = shim.post_json(
        "/v1/memory/contact",
        key,
        json!({"contact_id": contact_id, "persona_id": PERSONA}),
    );
    assert_eq!(status, 200, "{v}");
    v["data"]["memory"]["id"].as_str().unwrap().to_owned()
}

/// Merges `duplicate` into `primary` over HTTP.
fn merge(shim: &Shim, primary: &str, duplicate: &str) {
    let (status, v) = shim.post_json(
        "/v1/contacts/merge",
        ACME,
        json!({"primary_contact_id": primary, "duplicate_contact_id": duplicate}),
    );
    assert_eq!(status, 200, "{v}");
}

/// Asserts a failure of this status, code and message.
fn refused(answer: (u16, Value), status: u16, code: &str, message: &str) {
    let (got, v) = answer;
    assert_eq!(got, status, "{v}");
    assert_eq!(failure(&v), (code, message), "{v}");
}

/// Asserts that every request `send` makes is a 400 envelope and writes nothing.
fn bad_bodies_change_nothing(shim: &Shim, cases: &[(&str, &str, &str)]) {
    let before = dump(&shim.db.path);
    for (method, path, body) in cases {
        let (status, v) = raw(shim, method, path, body);
        assert_eq!(status, 400, "{method} {path} {body}: {v}");
        let (code, message) = failure(&v);
        assert_eq!(code, "BAD_REQUEST");
        assert!(!message.contains("secret"), "{message}");
    }
    assert_eq!(dump(&shim.db.path), before, "a refused request wrote");
}

/// A request with a body sent as given (not necessarily JSON).
fn raw(shim: &Shim, method: &str, path: &str, body: &str) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", shim.base))
        .header("authorization", ACME)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .unwrap();
    read(shim.agent.run(request))
}

#[test]
fn the_list_pages_by_offset_with_the_hosted_pagination() {
    let shim = Shim::start();
    let ids: Vec<String> = (0..5)
        .map(|i| contact(&shim, ACME, &format!("+1415555010{i}")))
        .collect();
    contact(&shim, GLOBEX, "+14155550100");

    let (status, v) = shim.get("/v1/contacts?limit=2&offset=1", Some(ACME));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["errors"], Value::Null);
    assert_eq!(
        v["pagination"],
        json!({"total": 5, "limit": 2, "offset": 1, "has_more": true})
    );
    let page: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[1].as_str(), ids[2].as_str()]);
    // The get shape: identifiers and memories beside the contact.
    let first = &v["data"][0];
    assert_eq!(first["identifiers"][0]["identifier_value"], "+14155550101");
    assert!(first["memories"].is_array());

    let (_, v) = shim.get("/v1/contacts", Some(ACME));
    assert_eq!(
        v["pagination"],
        json!({"total": 5, "limit": 50, "offset": 0, "has_more": false})
    );
    let (_, v) = shim.get("/v1/contacts?offset=5", Some(ACME));
    assert_eq!(v["data"], json!([]));
    assert_eq!(v["pagination"]["has_more"], false);
    let (_, v) = shim.get("/v1/contacts", Some(GLOBEX));
    assert_eq!(
        v["pagination"]["total"], 1,
        "another org's contacts are not listed"
    );

    for query in ["limit=0", "limit=201", "limit=-1"] {
        refused(
            shim.get(&format!("/v1/contacts?{query}"), Some(ACME)),
            400,
            "BAD_REQUEST",
            if query == "limit=-1" {
                "Invalid query parameters"
            } else {
                "Invalid limit: must be between 1 and 200"
            },
        );
    }
    for query in [
        "limit=abc",
        "offset=-1",
        "offset=1.5",
        "offset=99999999999999999999",
    ] {
        refused(
            shim.get(&format!("/v1/contacts?{query}"), Some(ACME)),
            400,
            "BAD_REQUEST",
            "Invalid query parameters",
        );
    }
    refused(
        shim.get("/v1/contacts?offset=9223372036854775808", Some(ACME)),
        400,
        "BAD_REQUEST",
        "Invalid offset: must be at most 2^63 - 1",
    );
    refused(
        shim.get("/v1/contacts", None),
        401,
        "UNAUTHORIZED",
        "Missing authorization header",
    );
}

#[test]
fn patch_adds_or_updates_identifiers_and_merges_metadata() {
    let shim = Shim::start();
    let id = contact(&shim, ACME, "+14155550192");
    shim.patch(
        &format!("/v1/contacts/{id}"),
        ACME,
        json!({"metadata": {"a": 1, "b": 2}}),
    );
    let (status, v) = shim.patch(
        &format!("/v1/contacts/{id}"),
        ACME,
        json!({"name": "Sarah Chen", "email": "Sarah@Example.com", "external_id": "crm-8812",
               "metadata": {"b": 3, "c": null}}),
    );
    assert_eq!(status, 200, "{v}");
    let data = &v["data"];
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["name"], "Sarah Chen");
    assert_eq!(data["metadata"], json!({"a": 1, "b": 3, "c": null}));
    // The basic contact form: no identifiers, no memories.
    assert!(data.get("identifiers").is_none() && data.get("memories").is_none());
    let (_, got) = shim.get(&format!("/v1/contacts/{id}"), Some(ACME));
    let values: Vec<&str> = got["data"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["identifier_value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["+14155550192", "sarah@example.com", "crm-8812"]);

    // An empty patch changes nothing and answers the contact.
    let (status, v) = raw(&shim, "PATCH", &format!("/v1/contacts/{id}"), "");
    assert_eq!((status, &v["data"]["name"]), (200, &json!("Sarah Chen")));

    // A merged-away id reaches the survivor.
    let other = contact(&shim, ACME, "+14155550100");
    merge(&shim, &id, &other);
    let (status, v) = shim.patch(
        &format!("/v1/contacts/{other}"),
        ACME,
        json!({"name": "S. Chen"}),
    );
    assert_eq!((status, &v["data"]["id"]), (200, &json!(id)));

    // Another org's id, an unknown id: 404, nothing written.
    let theirs = contact(&shim, GLOBEX, "+14155550192");
    let before = dump(&shim.db.path);
    for target in [theirs.as_str(), "no-such-contact", "%FF"] {
        refused(
            shim.patch(
                &format!("/v1/contacts/{target}"),
                ACME,
                json!({"name": "X"}),
            ),
            404,
            "NOT_FOUND",
            "Contact not found",
        );
    }
    // An identifier of another contact: 409, the contract's BAD_REQUEST, nothing written.
    let taken = contact(&shim, ACME, "+14155550111");
    shim.patch(
        &format!("/v1/contacts/{taken}"),
        ACME,
        json!({"email": "taken@example.com"}),
    );
    let before_taken = dump(&shim.db.path);
    refused(
        shim.patch(
            &format!("/v1/contacts/{id}"),
            ACME,
            json!({"name": "Not Written", "email": "taken@example.com"}),
        ),
        409,
        "BAD_REQUEST",
        "Invalid email: already belongs to another contact",
    );
    assert_eq!(dump(&shim.db.path), before_taken);
    assert_ne!(before, before_taken);

    let path = format!("/v1/contacts/{id}");
    bad_bodies_change_nothing(
        &shim,
        &[
            ("PATCH", &path, "[]"),
            ("PATCH", &path, "{"),
            ("PATCH", &path, r#"{"name": 5}"#),
            ("PATCH", &path, r#"{"metadata": [1]}"#),
            ("PATCH", &path, r#"{"email": "not-an-email-secret"}"#),
            ("PATCH", &path, r#"{"external_id": "   "}"#),
            ("PATCH", &path, r#"{"name": "a\u0000b"}"#),
        ],
    );
}

#[test]
fn memory_open_is_get_or_create_per_contact_and_scope() {
    let shim = Shim::start();
    let id = contact(&shim, ACME, "+14155550192");
    let (status, v) = shim.post_json(
        "/v1/memory/contact",
        ACME,
        json!({"contact_id": id, "agent_number": "(415) 555-0100"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["created"], true);
    let memory = &v["data"]["memory"];
    assert_eq!(memory["contact_id"], id.as_str());
    assert_eq!(memory["agent_number"], "+14155550100");
    assert_eq!(memory["persona_id"], Value::Null);
    assert_eq!(memory["memory_history"][0]["type"], "created");
    let first = memory["id"].clone();
    let (_, again) = shim.post_json(
        "/v1/memory/contact",
        ACME,
        json!({"contact_id": id, "agent_number": "+14155550100"}),
    );
    assert_eq!(again["data"]["created"], false);
    assert_eq!(again["data"]["memory"]["id"], first);

    // A merged-away contact id opens the survivor's memory.
    let other = contact(&shim, ACME, "+14155550111");
    merge(&shim, &id, &other);
    let (_, via_old) = shim.post_json(
        "/v1/memory/contact",
        ACME,
        json!({"contact_id": other, "agent_number": "+14155550100"}),
    );
    assert_eq!(via_old["data"]["memory"]["id"], first);

    let theirs = contact(&shim, GLOBEX, "+14155550192");
    let before = dump(&shim.db.path);
    for target in [theirs.as_str(), "no-such-contact"] {
        refused(
            shim.post_json(
                "/v1/memory/contact",
                ACME,
                json!({"contact_id": target, "persona_id": PERSONA}),
            ),
            404,
            "NOT_FOUND",
            "Contact not found",
        );
    }
    refused(
        shim.post_json("/v1/memory/contact", ACME, json!({"contact_id": id})),
        400,
        "BAD_REQUEST",
        "persona_id or agent_number is required",
    );
    refused(
        shim.post_json(
            "/v1/memory/contact",
            ACME,
            json!({"contact_id": id, "persona_id": null, "agent_number": null}),
        ),
        400,
        "BAD_REQUEST",
        "persona_id or agent_number is required",
    );
    refused(
        shim.post_json(
            "/v1/memory/contact",
            ACME,
            json!({"contact_id": id, "agent_number": "secret-not-a-number"}),
        ),
        400,
        "BAD_REQUEST",
        "Invalid agent_number: is not a phone number",
    );
    assert_eq!(dump(&shim.db.path), before);
    bad_bodies_change_nothing(
        &shim,
        &[
            ("POST", "/v1/memory/contact", "[]"),
            ("POST", "/v1/memory/contact", "{}"),
            (
                "POST",
                "/v1/memory/contact",
                r#"{"contact_id": 7, "persona_id": "p"}"#,
            ),
            (
                "POST",
                "/v1/memory/contact",
                r#"{"contact_id": "x", "persona_id": 7}"#,
            ),
            ("POST", "/v1/memory/contact", "not json"),
        ],
    );
    let (status, v) = shim.post_json("/v1/memory/contact", ACME, json!({}));
    assert_eq!(status, 400);
    assert_eq!(failure(&v).1, SCOPED_BODY);
}

#[test]
fn memory_writes_and_reads_by_id_with_history() {
    let shim = Shim::start();
    let id = contact(&shim, ACME, "+14155550192");
    let mem = memory(&shim, ACME, &id);
    let base = format!("/v1/memory/contact/{mem}");

    let (status, v) = shim.patch(
        &format!("{base}/facts"),
        ACME,
        json!({"facts": {"timezone": "America/Los_Angeles", "tier": "gold"}}),
    );
    assert_eq!(status, 200, "{v}");
    let (_, v) = shim.patch(
        &format!("{base}/facts"),
        ACME,
        json!({"facts": {"tier": null, "preferred_contact": "sms"}}),
    );
    // Merged: no key is deleted, null is kept as null.
    assert_eq!(
        v["data"]["facts"],
        json!({"timezone": "America/Los_Angeles", "tier": null, "preferred_contact": "sms"})
    );
    let (status, v) = shim.patch(
        &format!("{base}/summary"),
        ACME,
        json!({"summary": "Asked about order #8821."}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["summary"], "Asked about order #8821.");
    assert!(v["data"]["summary_updated_at"].is_string());

    let (status, v) = shim.get(&base, Some(ACME));
    assert_eq!(status, 200, "{v}");
    let kinds: Vec<&str> = v["data"]["memory_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["created", "facts_update", "facts_update", "summary_update"]
    );
    for entry in v["data"]["memory_history"].as_array().unwrap() {
        assert!(entry["timestamp"].is_string() && entry.get("value").is_some());
    }

    // Messages through the extension, read back oldest first with channels verbatim.
    let (status, v) = shim.post_json(
        &format!("/x/v1/memory/contact/{mem}/messages"),
        ACME,
        json!({"messages": [
            {"role": "assistant", "content": "Yes, it shipped.", "channel": "call",
             "timestamp": "2025-07-22T10:30:05.000Z"},
            {"role": "user", "content": "Has my order shipped?", "channel": "call",
             "timestamp": "2025-07-22T10:30:00.000Z"},
            {"role": "user", "content": "Thanks", "channel": "sms"}
        ]}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = shim.get(&format!("{base}/messages"), Some(ACME));
    assert_eq!(status, 200, "{v}");
    let messages = v["data"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["content"], "Has my order shipped?");
    assert_eq!(messages[0]["channel"], "call");
    assert_eq!(messages[0]["timestamp"], "2025-07-22T10:30:00.000Z");
    assert_eq!(messages[2]["channel"], "sms");

    // Another org's memory id and unknown ids are 404 on every memory path.
    let theirs = memory(&shim, GLOBEX, &contact(&shim, GLOBEX, "+14155550192"));
    let before = dump(&shim.db.path);
    for target in [theirs.as_str(), "mem-unknown"] {
        let path = format!("/v1/memory/contact/{target}");
        for answer in [
            shim.get(&path, Some(ACME)),
            shim.get(&format!("{path}/messages"), Some(ACME)),
            shim.patch(&format!("{path}/facts"), ACME, json!({"facts": {"a": 1}})),
            shim.patch(&format!("{path}/summary"), ACME, json!({"summary": "x"})),
            shim.post_json(
                &format!("/x{path}/messages"),
                ACME,
                json!({"messages": [{"role": "user", "content": "x", "channel": "sms"}]}),
            ),
        ] {
            refused(answer, 404, "NOT_FOUND", "Memory not found");
        }
    }
    assert_eq!(dump(&shim.db.path), before);

    bad_bodies_change_nothing(
        &shim,
        &[
            ("PATCH", &format!("{base}/facts"), "{}"),
            ("PATCH", &format!("{base}/facts"), r#"{"facts": [1]}"#),
            ("PATCH", &format!("{base}/facts"), r#"{"facts": "secret"}"#),
            ("PATCH", &format!("{base}/summary"), "{}"),
            ("PATCH", &format!("{base}/summary"), r#"{"summary": 1}"#),
            ("PATCH", &format!("{base}/summary"), "[]"),
            (
                "POST",
                &format!("/x{base}/messages"),
                r#"{"messages": [{"role": "robot", "content": "x", "channel": "sms"}]}"#,
            ),
            (
                "POST",
                &format!("/x{base}/messages"),
                r#"{"messages": [{"role": "user", "content": "x", "channel": "fax"}]}"#,
            ),
            (
                "POST",
                &format!("/x{base}/messages"),
                r#"{"messages": [{"role": "user", "content": "x", "channel": "sms", "timestamp": "tomorrow"}]}"#,
            ),
        ],
    );
    let too_long = "x".repeat(contactstore::limits::MAX_TEXT_CHARS + 1);
    refused(
        shim.patch(
            &format!("{base}/summary"),
            ACME,
            json!({ "summary": too_long }),
        ),
        400,
        "BAD_REQUEST",
        "Invalid summary: is too long",
    );
}

#[test]
fn a_merge_combines_memories_and_the_duplicates_memory_id_is_gone() {
    let shim = Shim::start();
    let primary = contact(&shim, ACME, "+14155550192");
    let duplicate = contact(&shim, ACME, "+14155550100");
    let kept = memory(&shim, ACME, &primary);
    let combined = memory(&shim, ACME, &duplicate);
    shim.patch(
        &format!("/v1/memory/contact/{combined}/facts"),
        ACME,
        json!({"facts": {"from_duplicate": true}}),
    );
    merge(&shim, &primary, &duplicate);
    let (_, v) = shim.get(&format!("/v1/memory/contact/{kept}"), Some(ACME));
    assert_eq!(v["data"]["facts"]["from_duplicate"], true);
    let last = v["data"]["memory_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["type"], "merged_in");
    refused(
        shim.get(&format!("/v1/memory/contact/{combined}"), Some(ACME)),
        404,
        "NOT_FOUND",
        "Memory not found",
    );
    // The context through the merged-away contact id is the survivor's.
    let (_, v) = shim.get(
        &format!("/v1/memory/context?contact_id={duplicate}&persona_id={PERSONA}"),
        Some(ACME),
    );
    assert_eq!(v["data"]["contact_id"], primary.as_str());
    assert_eq!(v["data"]["contactFacts"]["from_duplicate"], true);
}

#[test]
fn the_context_is_camel_case_read_only_and_scoped() {
    let shim = Shim::start();
    let id = contact(&shim, ACME, "+14155550192");
    let before = dump(&shim.db.path);
    let (status, v) = shim.get(
        &format!("/v1/memory/context?contact_id={id}&agent_number=%2B14155550100"),
        Some(ACME),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["data"],
        json!({"contact_id": id, "recentMessages": [], "summary": null, "contactFacts": {},
               "entities": [], "openItems": []})
    );
    assert_eq!(
        dump(&shim.db.path),
        before,
        "reading the context created a memory"
    );

    let mem = memory(&shim, ACME, &id);
    shim.patch(
        &format!("/v1/memory/contact/{mem}/summary"),
        ACME,
        json!({"summary": "Prefers SMS."}),
    );
    shim.post_json(
        &format!("/x/v1/memory/contact/{mem}/open-items"),
        ACME,
        json!({"type": "follow_up", "description": "Confirm delivery",
               "related_to": {"entity_type": "order", "entity_id": "order-8821"}}),
    );
    let (_, v) = shim.get(
        &format!("/v1/memory/context?contact_id={id}&persona_id={PERSONA}"),
        Some(ACME),
    );
    let data = v["data"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "contactFacts",
            "contact_id",
            "entities",
            "openItems",
            "recentMessages",
            "summary"
        ]
    );
    assert_eq!(data["summary"], "Prefers SMS.");
    assert_eq!(data["openItems"][0]["priority"], "medium");

    let theirs = contact(&shim, GLOBEX, "+14155550192");
    for query in [
        format!("contact_id={theirs}&persona_id={PERSONA}"),
        format!("contact_id=nobody&persona_id={PERSONA}"),
    ] {
        refused(
            shim.get(&format!("/v1/memory/context?{query}"), Some(ACME)),
            404,
            "NOT_FOUND",
            "Contact not found",
        );
    }
    refused(
        shim.get(&format!("/v1/memory/context?contact_id={id}"), Some(ACME)),
        400,
        "BAD_REQUEST",
        "persona_id or agent_number is required",
    );
    refused(
        shim.get("/v1/memory/context?persona_id=p", Some(ACME)),
        400,
        "BAD_REQUEST",
        "Invalid query parameters",
    );
}

#[test]
fn reset_wipes_one_scope_and_answers_success() {
    let shim = Shim::start();
    let id = contact(&shim, ACME, "+14155550192");
    let mem = memory(&shim, ACME, &id);
    shim.patch(
        &format!("/v1/memory/contact/{mem}/facts"),
        ACME,
        json!({"facts": {"tier": "gold"}}),
    );
    let (status, v) = shim.post_json(
        "/v1/memory/reset",
        ACME,
        json!({"contact_id": id, "persona_id": PERSONA}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"data": {"success": true}, "errors": null}));
    let (_, v) = shim.get(&format!("/v1/memory/contact/{mem}"), Some(ACME));
    assert_eq!(v["data"]["facts"], json!({}));
    // Resetting again, or a scope without memory, still succeeds.
    let (status, _) = shim.post_json(
        "/v1/memory/reset",
        ACME,
        json!({"contact_id": id, "agent_number": "+14155550100"}),
    );
    assert_eq!(status, 200);

    let theirs = contact(&shim, GLOBEX, "+14155550192");
    let theirs_mem = memory(&shim, GLOBEX, &theirs);
    shim.patch(
        &format!("/v1/memory/contact/{theirs_mem}/facts"),
        GLOBEX,
        json!({"facts": {"tier": "gold"}}),
    );
    let before = dump(&shim.db.path);
    refused(
        shim.post_json(
            "/v1/memory/reset",
            ACME,
            json!({"contact_id": theirs, "persona_id": PERSONA}),
        ),
        404,
        "NOT_FOUND",
        "Contact not found",
    );
    refused(
        shim.post_json("/v1/memory/reset", ACME, json!({"contact_id": id})),
        400,
        "BAD_REQUEST",
        "persona_id or agent_number is required",
    );
    assert_eq!(dump(&shim.db.path), before);
    let (_, v) = shim.get(&format!("/v1/memory/contact/{theirs_mem}"), Some(GLOBEX));
    assert_eq!(v["data"]["facts"], json!({"tier": "gold"}));
    bad_bodies_change_nothing(
        &shim,
        &[
            ("POST", "/v1/memory/reset", "[]"),
            ("POST", "/v1/memory/reset", r#"{"persona_id": "p"}"#),
        ],
    );
}

#[test]
fn extension_items_entities_activity_and_erase() {
    let shim = Shim::start();
    let id = contact(&shim, ACME, "+14155550192");
    let mem = memory(&shim, ACME, &id);
    let items = format!("/x/v1/memory/contact/{mem}/open-items");
    let (status, v) = shim.post_json(
        &items,
        ACME,
        json!({"type": "follow_up", "description": "Call back", "priority": "high"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["open_items"][0]["priority"], "high");
    let (_, v) = shim.post_json(
        &format!("{items}/close"),
        ACME,
        json!({"type": "follow_up", "description": "Call back"}),
    );
    assert_eq!(v["data"]["open_items"], json!([]));
    let (status, v) = shim.send(
        "PUT",
        &format!("/x/v1/memory/contact/{mem}/entities"),
        Some(ACME),
        Some(&json!({"entity_type": "order", "entity_id": "order-8821",
                     "facts": {"carrier": "UPS"}, "status": "in_transit"})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["entities"][0]["facts"], json!({"carrier": "UPS"}));

    let calls = format!("/x/v1/contacts/{id}/calls");
    let (status, v) = shim.post_json(
        &calls,
        ACME,
        json!({"direction": "inbound", "agent_number": "(415) 555-0100",
               "duration_seconds": 60.0, "summary": "Order status"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["duration_seconds"], 60);
    assert_eq!(v["data"]["agent_number"], "+14155550100");
    let sms = format!("/x/v1/contacts/{id}/sms-conversations");
    let (status, v) = shim.post_json(
        &sms,
        ACME,
        json!({"direction": "outbound", "message_count": 3}),
    );
    assert_eq!(status, 200, "{v}");
    let (_, v) = shim.get(&calls, Some(ACME));
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = shim.get(&sms, Some(ACME));
    assert_eq!(v["data"][0]["message_count"], 3);

    let theirs = contact(&shim, GLOBEX, "+14155550192");
    let before = dump(&shim.db.path);
    for answer in [
        shim.get(&format!("/x/v1/contacts/{theirs}/calls"), Some(ACME)),
        shim.post_json(
            &format!("/x/v1/contacts/{theirs}/calls"),
            ACME,
            json!({"direction": "inbound"}),
        ),
        shim.get(
            &format!("/x/v1/contacts/{theirs}/sms-conversations"),
            Some(ACME),
        ),
        shim.send(
            "DELETE",
            &format!("/x/v1/contacts/{theirs}"),
            Some(ACME),
            None,
        ),
    ] {
        refused(answer, 404, "NOT_FOUND", "Contact not found");
    }
    assert_eq!(dump(&shim.db.path), before);
    bad_bodies_change_nothing(
        &shim,
        &[
            ("POST", &calls, r#"{"direction": "sideways"}"#),
            (
                "POST",
                &calls,
                r#"{"direction": "inbound", "duration_seconds": 1.5}"#,
            ),
            (
                "POST",
                &calls,
                r#"{"direction": "inbound", "agent_number": "secret"}"#,
            ),
            ("POST", &sms, "{}"),
            ("POST", &items, r#"{"type": "", "description": "x"}"#),
            (
                "POST",
                &format!("{items}/close"),
                r#"{"type": "\u0001", "description": "x"}"#,
            ),
            (
                "PUT",
                &format!("/x/v1/memory/contact/{mem}/entities"),
                r#"{"entity_type": "order"}"#,
            ),
        ],
    );

    // A merged-away id records on the survivor; erase then removes everything.
    let other = contact(&shim, ACME, "+14155550111");
    merge(&shim, &id, &other);
    let (_, v) = shim.post_json(
        &format!("/x/v1/contacts/{other}/calls"),
        ACME,
        json!({"direction": "outbound"}),
    );
    assert_eq!(v["data"]["contact_id"], id.as_str());
    let (status, v) = shim.send("DELETE", &format!("/x/v1/contacts/{id}"), Some(ACME), None);
    assert_eq!(status, 200, "{v}");
    refused(
        shim.get(&format!("/v1/contacts/{id}"), Some(ACME)),
        404,
        "NOT_FOUND",
        "Contact not found",
    );
    refused(
        shim.get(&format!("/v1/memory/contact/{mem}"), Some(ACME)),
        404,
        "NOT_FOUND",
        "Memory not found",
    );
}

#[test]
fn the_openapi_document_lists_every_route_the_server_answers() {
    let shim = Shim::start();
    let (status, doc) = shim.get("/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            // Every documented operation exists: without a key it is 401, not 404/405.
            let concrete = path
                .replace("{contact_id}", "c")
                .replace("{memory_id}", "m");
            let (status, v) = shim.send(&method.to_uppercase(), &concrete, None, None);
            assert_eq!(status, 401, "{method} {path}: {v}");
        }
    }
    assert_eq!(operations, 27, "{:?}", paths.keys().collect::<Vec<_>>());
}

#[test]
fn history_extensions_preview_unmerge_and_page_the_change_log() {
    let shim = Shim::start();
    let a = contact(&shim, ACME, "+14155550192");
    let b = contact(&shim, ACME, "+14155550100");
    let body = json!({"primary_contact_id": a, "duplicate_contact_id": b});
    let before = dump(&shim.db.path);
    let (status, preview) = shim.post_json("/x/v1/contacts/merge/preview", ACME, body.clone());
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["data"]["identifiers"].as_array().unwrap().len(), 2);
    assert_eq!(dump(&shim.db.path), before, "the preview wrote");
    merge(&shim, &a, &b);
    let (status, split) = shim.post_json(&format!("/x/v1/contacts/{b}/unmerge"), ACME, json!({}));
    assert_eq!(status, 200, "{split}");
    assert_eq!(split["data"]["restored"]["id"], b.as_str());
    assert_eq!(split["data"]["primary"]["id"], a.as_str());
    refused(
        shim.post_json(&format!("/x/v1/contacts/{b}/unmerge"), ACME, json!({})),
        404,
        "NOT_FOUND",
        "Contact not found",
    );
    // Another org's merged-away id is not found either.
    let c = contact(&shim, GLOBEX, "+14155550111");
    let d = contact(&shim, GLOBEX, "+14155550112");
    let (status, _) = shim.post_json(
        "/v1/contacts/merge",
        GLOBEX,
        json!({"primary_contact_id": c, "duplicate_contact_id": d}),
    );
    assert_eq!(status, 200);
    refused(
        shim.post_json(&format!("/x/v1/contacts/{d}/unmerge"), ACME, json!({})),
        404,
        "NOT_FOUND",
        "Contact not found",
    );
    refused(
        shim.post_json(
            "/x/v1/contacts/merge/preview",
            ACME,
            json!({"primary_contact_id": c, "duplicate_contact_id": a}),
        ),
        404,
        "NOT_FOUND",
        "Contact not found",
    );

    let (status, page) = shim.get("/x/v1/changes?limit=2", Some(ACME));
    assert_eq!(status, 200, "{page}");
    let changes = page["data"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c["org_id"] == "acme"));
    let next = page["data"]["next"].as_u64().unwrap();
    let (_, rest) = shim.get(&format!("/x/v1/changes?since={next}"), Some(ACME));
    let kinds: Vec<&str> = rest["data"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["contact.merged", "contact.unmerged", "contact.restored"]
    );
    for query in [
        "limit=0",
        "limit=10001",
        "since=-1",
        "since=x",
        "since=9223372036854775808",
    ] {
        let (status, v) = shim.get(&format!("/x/v1/changes?{query}"), Some(ACME));
        assert_eq!(status, 400, "{query}: {v}");
    }
    let (_, globex) = shim.get("/x/v1/changes", Some(GLOBEX));
    assert!(globex["data"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["org_id"] == "globex"));
}

#[test]
fn callers_resolve_as_telephony_delivers_them_and_suggestions_never_write() {
    let shim = Shim::start();
    let known = contact(&shim, ACME, "+14155550192");
    // A SIP From header reaches the contact stored from the E.164 spelling.
    let (status, v) = shim.post_json(
        "/x/v1/callers/resolve",
        ACME,
        json!({"from": "\"Sarah\" <sip:+14155550192@sip.twilio.com;user=phone>", "to": "+14155550100"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["data"]["caller"],
        json!({"kind": "number", "phone_number": "+14155550192"})
    );
    assert_eq!(v["data"]["contact"]["id"], known.as_str());
    assert_eq!(v["data"]["created"], false);
    // The same number in another org is a new contact there.
    let (_, other) = shim.post_json(
        "/x/v1/callers/resolve",
        GLOBEX,
        json!({"from": "tel:+14155550192"}),
    );
    assert_eq!(other["data"]["created"], true, "{other}");
    assert_ne!(other["data"]["contact"]["id"], known.as_str());
    // Withheld, short code and sender id: a kind, no contact, nothing written.
    let before = dump(&shim.db.path);
    for (from, kind) in [
        ("anonymous", json!({"kind": "withheld"})),
        ("+266696687", json!({"kind": "withheld"})),
        ("72975", json!({"kind": "short_code", "code": "72975"})),
        (
            "AMAZON",
            json!({"kind": "alphanumeric", "sender": "AMAZON"}),
        ),
    ] {
        let (status, v) = shim.post_json("/x/v1/callers/resolve", ACME, json!({"from": from}));
        assert_eq!(status, 200, "{from}: {v}");
        assert_eq!(v["data"]["caller"], kind, "{from}");
        assert!(v["data"]["contact"].is_null(), "{from}: {v}");
    }
    assert_eq!(
        dump(&shim.db.path),
        before,
        "a caller without a number wrote"
    );
    // An invalid caller id names the field, never the value.
    let (status, v) = shim.post_json(
        "/x/v1/callers/resolve",
        ACME,
        json!({"from": "sip:alice@example.com"}),
    );
    assert_eq!(status, 400, "{v}");
    let (code, message) = failure(&v);
    assert_eq!(code, "BAD_REQUEST");
    assert!(message.starts_with("Invalid from"), "{message}");
    assert!(!message.contains("alice"), "{message}");
    // A bad `to` is refused even when a persona scopes the memory.
    let (status, v) = shim.post_json(
        "/x/v1/callers/resolve",
        ACME,
        json!({"from": "+14155550192", "persona_id": "p-1", "to": "aaaa"}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(failure(&v).1.starts_with("Invalid to"), "{v}");
    bad_bodies_change_nothing(
        &shim,
        &[
            ("POST", "/x/v1/callers/resolve", "{}"),
            ("POST", "/x/v1/callers/resolve", r#"{"from": 14155550192}"#),
            (
                "POST",
                "/x/v1/callers/resolve",
                r#"{"from": "secret", "to": "secret"}"#,
            ),
            ("POST", "/x/v1/callers/resolve", "[secret]"),
        ],
    );

    // Two spellings of one person: suggested, with reasons; nothing written.
    let (_, a) = shim.post_json(
        "/v1/contacts/resolve",
        ACME,
        json!({"email": "sarah.chen@example.com", "name": "Sarah Chen"}),
    );
    let (_, b) = shim.post_json(
        "/v1/contacts/resolve",
        ACME,
        json!({"email": "sarah.chen@example.org", "name": "Sarah Chen"}),
    );
    let before = dump(&shim.db.path);
    let (status, v) = shim.get(
        "/x/v1/contacts/merge-suggestions?limit=10&min_score=0",
        Some(ACME),
    );
    assert_eq!(status, 200, "{v}");
    let ids = [
        a["data"]["contact"]["id"].as_str().unwrap(),
        b["data"]["contact"]["id"].as_str().unwrap(),
    ];
    let pair = v["data"]["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            ids.contains(&s["primary_id"].as_str().unwrap())
                && ids.contains(&s["duplicate_id"].as_str().unwrap())
        })
        .unwrap_or_else(|| panic!("the pair is not suggested: {v}"));
    assert!(!pair["reasons"].as_array().unwrap().is_empty());
    assert_eq!(dump(&shim.db.path), before, "suggestions wrote");
    // Another org's contacts are never suggested.
    let (_, globex) = shim.get("/x/v1/contacts/merge-suggestions", Some(GLOBEX));
    let all = globex["data"]["suggestions"].as_array().unwrap();
    assert!(all
        .iter()
        .all(|s| !ids.contains(&s["primary_id"].as_str().unwrap())));
    for query in ["limit=0", "limit=1001", "min_score=2", "min_score=x"] {
        let (status, v) = shim.get(
            &format!("/x/v1/contacts/merge-suggestions?{query}"),
            Some(ACME),
        );
        assert_eq!(status, 400, "{query}: {v}");
    }
}
