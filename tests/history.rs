//! History and reversible merges (issue 13, contract §10): the change log, merge
//! preview and unmerge through the library.

mod common;

use common::{dump, TempDb};
use contactstore::{
    ChangeKind, ChangeLog, ContactStore, ContactUpdate, Direction, Error, ErrorCode,
    IdentifierType, MemoryScope, NameChange, NewCall, Org, ResolveRequest, Settings,
};
use rusqlite::Connection;
use serde_json::{json, Value};

fn persona() -> MemoryScope {
    MemoryScope::persona("persona-1")
}

fn call() -> NewCall {
    NewCall {
        direction: Direction::Inbound,
        agent_number: None,
        contact_number: None,
        started_at: None,
        duration_seconds: Some(30),
        status: None,
        summary: None,
        metadata: Default::default(),
    }
}

fn kinds(org: &Org<'_>, since: u64) -> Vec<ChangeKind> {
    org.changes(since, None)
        .unwrap()
        .changes
        .into_iter()
        .map(|c| c.kind)
        .collect()
}

fn last_seq(org: &Org<'_>) -> u64 {
    org.changes(0, Some(10_000)).unwrap().next
}

/// Every export line with `updated_at` (the contact's) left out, by contact id.
fn export_lines(store: &ContactStore) -> Vec<String> {
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

#[test]
fn every_write_appends_one_event_and_a_write_that_changes_nothing_appends_none() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let mut request = ResolveRequest::phone("(415) 555-0192");
    request.persona_id = Some("persona-1".into());
    let id = org.resolve(&request).unwrap().contact.id;
    assert_eq!(kinds(&org, 0), [ChangeKind::ContactCreated]);
    let first = org.changes(0, None).unwrap().changes.remove(0);
    assert_eq!(first.contact_id, id);
    assert_eq!(
        first.detail["identifiers_added"],
        json!([{"identifier_type": "phone_number", "identifier_value": "+14155550192"}])
    );
    assert!(first.detail["memory_id"].is_string());

    let mut seq = last_seq(&org);
    let mut expect = |org: &Org<'_>, expected: &[ChangeKind], what: &str| {
        assert_eq!(kinds(org, seq), expected, "{what}");
        seq = last_seq(org);
    };
    org.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    expect(&org, &[], "a resolve that finds the caller writes nothing");
    org.resolve(&request).unwrap();
    expect(&org, &[], "nor does one whose memory exists");
    let mut more = ResolveRequest::phone("+14155550192");
    more.identifiers.email = Some("sarah@example.com".into());
    org.resolve(&more).unwrap();
    expect(
        &org,
        &[ChangeKind::ContactUpdated],
        "resolve attaching an email",
    );
    org.update(&id, &ContactUpdate::default().name("Sarah"))
        .unwrap();
    expect(&org, &[ChangeKind::ContactUpdated], "update");
    org.update(&id, &ContactUpdate::default().name("Sarah"))
        .unwrap();
    expect(&org, &[], "an update to the same name");
    org.set_summary(&id, &persona(), "Asked about an order.")
        .unwrap();
    expect(&org, &[ChangeKind::MemoryUpdated], "summary");
    org.set_summary(&id, &persona(), "Asked about an order.")
        .unwrap();
    expect(&org, &[], "the same summary again");
    org.record_call(&id, &call()).unwrap();
    expect(&org, &[ChangeKind::CallRecorded], "call");
    org.reset_memory(&id, &MemoryScope::persona("persona-none"))
        .unwrap();
    expect(&org, &[], "resetting a scope without memory");
    let other = org
        .resolve(&ResolveRequest::email("s@work.example"))
        .unwrap()
        .contact
        .id;
    expect(&org, &[ChangeKind::ContactCreated], "another contact");
    org.merge(&id, &other).unwrap();
    expect(&org, &[ChangeKind::ContactMerged], "merge");
    org.merge_preview(
        &id,
        &org.resolve(&ResolveRequest::external_id("crm-1"))
            .unwrap()
            .contact
            .id,
    )
    .unwrap();
    expect(
        &org,
        &[ChangeKind::ContactCreated],
        "a preview appends nothing",
    );
    org.unmerge(&other).unwrap();
    expect(
        &org,
        &[ChangeKind::ContactUnmerged, ChangeKind::ContactRestored],
        "an unmerge logs each side",
    );
    let merged = org.changes(0, None).unwrap().changes;
    let merged = merged
        .iter()
        .find(|c| c.kind == ChangeKind::ContactMerged)
        .unwrap();
    assert_eq!(merged.related_id.as_deref(), Some(other.as_str()));
    let line = r#"{"identifiers":[{"identifier_type":"external_id","identifier_value":"crm-9"}]}"#;
    org.import(&mut line.as_bytes(), &Default::default(), &mut |_| {})
        .unwrap();
    expect(&org, &[ChangeKind::ContactImported], "an imported line");
    org.erase(&other).unwrap();
    expect(&org, &[ChangeKind::ContactErased], "erase");

    // Seqs increase, and the memory event names what its write added.
    let all = org.changes(0, None).unwrap().changes;
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let memory = all
        .iter()
        .find(|c| c.kind == ChangeKind::MemoryUpdated)
        .unwrap();
    assert_eq!(memory.detail["history"][0]["type"], "summary_update");
    assert_eq!(
        memory.detail["history"][0]["value"],
        "Asked about an order."
    );
    // Erasing `other` took its own events; the survivor's merge and unmerge events
    // stay as its history, without `other`'s identifier.
    assert!(all
        .iter()
        .all(|c| c.contact_id != other || c.kind == ChangeKind::ContactErased));
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("s@work.example"), "{text}");
    assert!(all.iter().any(|c| c.kind == ChangeKind::ContactMerged));
}

#[test]
fn a_consumer_resuming_from_next_misses_nothing_and_sees_nothing_twice() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    for i in 0..57 {
        org.resolve(&ResolveRequest::external_id(format!("crm-{i}")))
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut since = 0;
    loop {
        let page = org.changes(since, Some(10)).unwrap();
        if page.changes.is_empty() {
            assert_eq!(page.next, since);
            break;
        }
        assert!(page.changes.len() <= 10);
        seen.extend(page.changes.iter().map(|c| c.seq));
        since = page.next;
        // Writes between pages are picked up by the next ones.
        if seen.len() == 20 {
            org.resolve(&ResolveRequest::external_id("crm-late"))
                .unwrap();
        }
    }
    assert_eq!(seen.len(), 58);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "in order, each once");
    for bad in [0, 10_001] {
        let err = org.changes(0, Some(bad)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid limit: must be between 1 and 10000"
        );
    }
}

#[test]
fn retention_compacts_the_oldest_and_a_cursor_before_them_is_refused() {
    let db = TempDb::new();
    let settings = Settings::default().change_log(ChangeLog::default().max_events(10));
    let store = ContactStore::open_with(&db.path, settings).unwrap();
    let org = store.org("acme").unwrap();
    for i in 0..25 {
        org.resolve(&ResolveRequest::external_id(format!("crm-{i}")))
            .unwrap();
    }
    let deleted = store.all_orgs().compact_changes().unwrap();
    assert!(deleted >= 15, "{deleted}");
    let err = org.changes(3, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    assert!(
        matches!(err, Error::ChangesCompacted { compacted_through } if compacted_through >= 15)
    );
    assert!(err
        .to_string()
        .starts_with("Invalid since: the change log was compacted"));
    // From the compaction point on, nothing is missing.
    let Error::ChangesCompacted { compacted_through } = err else {
        unreachable!()
    };
    let page = org.changes(compacted_through, None).unwrap();
    assert_eq!(page.changes.len() as u64, 25 - compacted_through);
    assert_eq!(page.changes[0].seq, compacted_through + 1);
    // A cursor no seq can reach is refused, naming the field.
    let err = org.changes(u64::MAX, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    assert_eq!(err.to_string(), "Invalid since: must be at most 2^63 - 1");
    let err = org.changes(0, Some(0)).unwrap_err();
    assert!(err.to_string().starts_with("Invalid limit"), "{err}");
    // A log that is off appends nothing.
    let quiet = ContactStore::open_with(
        db.dir.path().join("quiet.db"),
        Settings::default().change_log(ChangeLog::disabled()),
    )
    .unwrap();
    let q = quiet.org("acme").unwrap();
    q.resolve(&ResolveRequest::external_id("crm-1")).unwrap();
    assert!(q.changes(0, None).unwrap().changes.is_empty());
}

#[test]
fn a_seq_is_never_handed_out_twice_after_erase_or_compaction() {
    let db = TempDb::new();
    let settings = Settings::default().change_log(ChangeLog::default().max_events(1));
    let store = ContactStore::open_with(&db.path, settings).unwrap();
    let org = store.org("acme").unwrap();
    let kept = org
        .resolve(&ResolveRequest::external_id("crm-kept"))
        .unwrap();
    let gone = org
        .resolve(&ResolveRequest::external_id("crm-gone"))
        .unwrap();
    org.record_call(&gone.contact.id, &call()).unwrap();
    let seen = last_seq(&org);
    // The erased contact's events were the newest: its tombstone comes after them.
    org.erase(&gone.contact.id).unwrap();
    let after_erase = org.changes(seen, None).unwrap().changes;
    assert_eq!(after_erase.len(), 1);
    assert_eq!(after_erase[0].kind, ChangeKind::ContactErased);
    assert!(after_erase[0].seq > seen);
    // Compacting to one event keeps the newest, so the next seq is still new.
    let newest = after_erase[0].seq;
    store.all_orgs().compact_changes().unwrap();
    let retained = org.changes(newest - 1, None).unwrap().changes;
    assert_eq!(retained.iter().map(|c| c.seq).collect::<Vec<_>>(), [newest]);
    org.update(
        &kept.contact.id,
        &ContactUpdate {
            name: NameChange::Set("Kept".into()),
            ..ContactUpdate::default()
        },
    )
    .unwrap();
    let next = org.changes(newest, None).unwrap().changes;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].seq, newest + 1);
}

#[test]
fn with_the_log_off_an_erase_still_leaves_its_tombstone_and_unmerge_says_why() {
    let db = TempDb::new();
    let on = ContactStore::open(&db.path).unwrap();
    let org = on.org("acme").unwrap();
    let (a, b) = rich_pair(&org);
    org.merge(&a, &b).unwrap();
    let seen = last_seq(&org);
    drop(on);
    let off = ContactStore::open_with(
        &db.path,
        Settings::default().change_log(ChangeLog::disabled()),
    )
    .unwrap();
    let org = off.org("acme").unwrap();
    org.erase(&a).unwrap();
    // The older events of the erased contacts are gone; the tombstone is the newest
    // event, above every seq a consumer saw, so none is handed out again.
    let after = org.changes(0, None).unwrap().changes;
    assert!(after.iter().all(|c| c.contact_id != b));
    let tombstone = after.last().unwrap();
    assert_eq!(tombstone.kind, ChangeKind::ContactErased);
    assert!(tombstone.seq > seen);
    assert_eq!(tombstone.detail, json!({"merged_ids": [b.clone()]}));
    let err = org.unmerge(&b).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    assert!(err.to_string().contains("was erased"), "{err}");
    // Other writes still append nothing.
    org.resolve(&ResolveRequest::external_id("crm-new"))
        .unwrap();
    assert_eq!(org.changes(0, None).unwrap().changes.len(), after.len());
}

#[test]
fn a_merge_made_before_snapshots_were_kept_is_refused_saying_so() {
    // An SQLite fixture of schema 4.
    let db = TempDb::sqlite();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v4.db"),
        &db.path,
    )
    .unwrap();
    let store = ContactStore::open(&db.path).unwrap();
    let merged: String = Connection::open(&db.path)
        .unwrap()
        .query_row("SELECT duplicate_id FROM merge_journal", [], |r| r.get(0))
        .unwrap();
    let before = dump(&db.path);
    let err = store.org("acme").unwrap().unmerge(&merged).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (
            ErrorCode::BadRequest,
            "Cannot unmerge: the merge was made before contactstore kept what undoing it needs"
        )
    );
    assert_eq!(dump(&db.path), before);
}

#[test]
fn another_org_sees_none_of_an_orgs_events() {
    let store = common::store();
    let (a, b) = (store.org("org-a").unwrap(), store.org("org-b").unwrap());
    let id = a
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id;
    let dup = a
        .resolve(&ResolveRequest::email("s@example.com"))
        .unwrap()
        .contact
        .id;
    a.merge(&id, &dup).unwrap();
    a.unmerge(&dup).unwrap();
    b.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    let theirs = b.changes(0, None).unwrap().changes;
    assert_eq!(theirs.len(), 1);
    assert!(theirs.iter().all(|c| c.org_id == "org-b"));
    assert_eq!(a.changes(0, None).unwrap().changes.len(), 5);
    assert_eq!(store.all_orgs().changes(0, None).unwrap().changes.len(), 6);
    // Org B cannot unmerge or preview with org A's ids.
    assert_eq!(b.unmerge(&dup).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(
        b.merge_preview(&id, &dup).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn a_preview_returns_what_the_merge_returns_and_writes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let mut a = ResolveRequest::phone("+14155550192");
    a.persona_id = Some("persona-1".into());
    let a = org.resolve(&a).unwrap().contact.id;
    let mut b = ResolveRequest::email("sarah@example.com");
    b.persona_id = Some("persona-1".into());
    b.name = Some("Sarah".into());
    let b = org.resolve(&b).unwrap().contact.id;
    org.set_summary(&b, &persona(), "From the web form.")
        .unwrap();
    org.record_call(&b, &call()).unwrap();

    let watch = common::WriteWatch::new(&db.path);
    let before = dump(&db.path);
    let preview = org.merge_preview(&a, &b).unwrap();
    assert!(!watch.changed(), "the preview wrote");
    assert_eq!(dump(&db.path), before, "the preview wrote");

    let merged = org.merge(&a, &b).unwrap();
    assert!(watch.changed(), "the watcher sees real writes");
    let strip = |m: &contactstore::Merged| {
        let mut v = serde_json::to_value(m).unwrap();
        v.as_object_mut().unwrap().remove("updated_at");
        for memory in v["memories"].as_array_mut().unwrap() {
            let memory = memory.as_object_mut().unwrap();
            memory.remove("updated_at");
            memory.remove("summary_updated_at");
            memory.remove("memory_history");
        }
        v
    };
    assert_eq!(strip(&preview), strip(&merged));
    assert_eq!(merged.identifiers.len(), 2);
    assert_eq!(merged.memories[0].summary, "From the web form.");
    assert_eq!(merged.moved.calls, 1);
    // Refusals are the merge's.
    assert_eq!(
        org.merge_preview(&a, &a).unwrap_err().to_string(),
        "Cannot merge a contact with itself"
    );
    assert_eq!(
        org.merge_preview(&a, "nope").unwrap_err().code(),
        ErrorCode::NotFound
    );
}

/// Two contacts with everything a merge touches: identifiers of every type, names,
/// metadata, memories of a shared and an own scope (facts, messages, open items,
/// entities), calls.
fn rich_pair(org: &Org<'_>) -> (String, String) {
    let mut a = ResolveRequest::phone("+14155550192");
    a.persona_id = Some("persona-1".into());
    a.metadata = Some(json!({"source": "call", "tier": "gold"}));
    let a = org.resolve(&a).unwrap().contact.id;
    let mut b = ResolveRequest::email("sarah@example.com");
    b.identifiers.external_id = Some("crm-8812".into());
    b.persona_id = Some("persona-1".into());
    b.name = Some("Sarah Chen".into());
    b.metadata = Some(json!({"source": "web", "plan": "pro"}));
    let b = org.resolve(&b).unwrap().contact.id;
    for (who, text) in [
        (&a, "Called about order 8821."),
        (&b, "Filled the web form."),
    ] {
        org.set_summary(who, &persona(), text).unwrap();
        org.patch_facts(
            who,
            &persona(),
            json!({ "from": who.clone() }).as_object().unwrap(),
        )
        .unwrap();
        org.add_messages(
            who,
            &persona(),
            &[contactstore::Message::from_parts("user", text, "call", None).unwrap()],
        )
        .unwrap();
        org.record_call(who, &call()).unwrap();
    }
    org.patch_facts(
        &b,
        &MemoryScope::persona("persona-2"),
        json!({"own": true}).as_object().unwrap(),
    )
    .unwrap();
    org.upsert_entity(
        &b,
        &persona(),
        &contactstore::EntityUpdate {
            entity_type: "order".into(),
            entity_id: "order-1".into(),
            status: Some("open".into()),
            ..Default::default()
        },
    )
    .unwrap();
    (a, b)
}

#[test]
fn merge_then_unmerge_with_nothing_between_gives_back_both_exports_exactly() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let (a, b) = rich_pair(&org);
    let before = export_lines(&store);
    org.merge(&a, &b).unwrap();
    assert_ne!(export_lines(&store), before);
    let split = org.unmerge(&b).unwrap();
    assert_eq!(export_lines(&store), before);
    assert_eq!(split.restored.contact.id, b);
    assert_eq!(split.primary.contact.id, a);
    // The redirect is gone: the id reaches the restored contact; unmerging again is
    // not found.
    assert_eq!(org.get(&b).unwrap().contact.id, b);
    assert_eq!(org.unmerge(&b).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(org.unmerge(&a).unwrap_err().code(), ErrorCode::NotFound);
    // And the pair can be merged and unmerged again.
    org.merge(&b, &a).unwrap();
    org.unmerge(&a).unwrap();
    assert_eq!(export_lines(&store), before);
}

#[test]
fn with_writes_since_the_merge_nothing_is_lost_and_each_gets_its_own_back() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let (a, b) = rich_pair(&org);
    org.merge(&a, &b).unwrap();
    // Since the merge: a call and a fact on the survivor (through the old id too), a
    // new identifier, one of the merged contact's identifiers removed.
    org.record_call(&b, &call()).unwrap();
    org.patch_facts(&a, &persona(), json!({"since": 1}).as_object().unwrap())
        .unwrap();
    org.update(
        &a,
        &ContactUpdate::default()
            .add(IdentifierType::Email, "new@example.com")
            .remove(IdentifierType::ExternalId, "crm-8812"),
    )
    .unwrap();
    let split = org.unmerge(&b).unwrap();
    let restored = &split.restored;
    let survivor = &split.primary;
    let values = |d: &contactstore::ContactDetails| -> Vec<String> {
        d.identifiers
            .iter()
            .map(|i| i.identifier_value.clone())
            .collect()
    };
    assert_eq!(
        values(restored),
        ["sarah@example.com"],
        "crm-8812 stays removed"
    );
    assert_eq!(values(survivor), ["+14155550192", "new@example.com"]);
    assert_eq!(restored.contact.name.as_deref(), Some("Sarah Chen"));
    assert_eq!(survivor.contact.name, None, "the name came from the merge");
    assert_eq!(
        Value::Object(survivor.contact.metadata.clone()),
        json!({"source": "call", "tier": "gold"})
    );
    // Calls: each once; the one recorded since stays with the survivor.
    assert_eq!(org.calls(&b).unwrap().len(), 1);
    assert_eq!(org.calls(&a).unwrap().len(), 2);
    // Memory both had: the restored one as at the merge; the survivor's without what
    // the merge brought, with what was written since.
    let theirs = restored
        .memories
        .iter()
        .find(|m| m.persona_id.as_deref() == Some("persona-1"))
        .unwrap();
    assert_eq!(theirs.summary, "Filled the web form.");
    assert_eq!(theirs.entities.len(), 1);
    let mine = &survivor.memories[0];
    assert_eq!(mine.summary, "Called about order 8821.");
    assert_eq!(
        Value::Object(mine.facts.clone()),
        json!({"from": a, "since": 1})
    );
    assert_eq!(mine.recent_messages.len(), 1);
    assert!(mine.entities.is_empty());
    assert!(mine
        .memory_history
        .iter()
        .all(|h| h.kind != contactstore::HistoryKind::MergedIn));
    // The scope only the merged contact had comes back whole.
    assert!(restored
        .memories
        .iter()
        .any(|m| m.persona_id.as_deref() == Some("persona-2")));
    assert_eq!(survivor.memories.len(), 1);
}

#[test]
fn a_chain_is_undone_from_its_end_and_each_merge_of_it_stays_undoable() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let (a, b) = rich_pair(&org);
    let mut c = ResolveRequest::external_id("crm-c");
    c.persona_id = Some("persona-1".into());
    let c = org.resolve(&c).unwrap().contact.id;
    org.set_summary(&c, &persona(), "C's own.").unwrap();
    let before = export_lines(&store);
    org.merge(&a, &b).unwrap(); // B into A
    org.merge(&c, &a).unwrap(); // A into C: B's data is in C now
    let split = org.unmerge(&b).unwrap();
    assert_eq!(split.primary.contact.id, c);
    assert_eq!(split.restored.contact.id, b);
    let c_memory = &split.primary.memories[0];
    assert!(
        !c_memory.summary.contains("web form"),
        "{}",
        c_memory.summary
    );
    assert!(c_memory.facts.get("from") != Some(&json!(b)));
    // A is still merged into C, and comes out with none of B's data.
    let split = org.unmerge(&a).unwrap();
    assert_eq!(split.restored.contact.id, a);
    assert!(split
        .restored
        .identifiers
        .iter()
        .all(|i| i.identifier_value != "sarah@example.com"));
    assert_eq!(
        export_lines(&store),
        before,
        "everything is as before both merges"
    );
}

#[test]
fn an_unmerge_that_cannot_be_done_is_refused_and_changes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let (a, b) = rich_pair(&org);
    org.merge(&a, &b).unwrap();
    // The merged contact's email moves to a third contact.
    org.update(
        &a,
        &ContactUpdate::default().remove(IdentifierType::Email, "sarah@example.com"),
    )
    .unwrap();
    org.resolve(&ResolveRequest::email("sarah@example.com"))
        .unwrap();
    let before = dump(&db.path);
    let err = org.unmerge(&b).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (
            ErrorCode::BadRequest,
            "Cannot unmerge: an identifier of the merged contact now belongs to another contact"
        )
    );
    assert_eq!(dump(&db.path), before);
    // Never merged away: not found.
    for id in [a.as_str(), "no-such-id"] {
        assert_eq!(org.unmerge(id).unwrap_err().code(), ErrorCode::NotFound);
    }
    assert_eq!(dump(&db.path), before);
    // Erasing the survivor takes the snapshot with it, and unmerge says so.
    org.erase(&a).unwrap();
    let before = dump(&db.path);
    let err = org.unmerge(&b).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (
            ErrorCode::BadRequest,
            "Cannot unmerge: the contact it was merged into was erased, and what undoing needs \
             with it"
        )
    );
    assert_eq!(dump(&db.path), before);
    // In another org the id means nothing.
    let other = store.org("globex").unwrap();
    assert_eq!(other.unmerge(&b).unwrap_err().code(), ErrorCode::NotFound);
}
