//! PostgreSQL schema versions (issue 17, deliverable 4), on the server named by
//! `CONTACTSTORE_TEST_POSTGRES` (`tests/postgres/run`; on a run without it these
//! tests say so and pass, as every PostgreSQL test of an SQLite run).
//!
//! Each released PostgreSQL schema version has fixtures: the schema file as it was
//! (`tests/fixtures/postgres-v{N}-schema.sql`), rows written by that version
//! (`postgres-v{N}-data.sql`, from pg_dump) and their export
//! (`postgres-v{N}-export.jsonl`). A database built from them must open, upgrade to
//! the schema a new database gets, and export exactly what it held. A database of a
//! newer version, or another application's, is refused untouched; hosts opening a new
//! database at once create its schema once.

mod common;

use std::path::Path;

use contactstore::{ContactStore, Error, ExportSummary, IdentifierQuery, POSTGRES_SCHEMA_VERSION};

fn server() -> Option<String> {
    let url = common::postgres_url();
    if url.is_none() {
        println!("PostgreSQL migration tests skipped: not the PostgreSQL run (tests/postgres/run)");
    }
    url
}

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect")
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).expect("fixture")
}

/// Every column of every table of the URL's schema, with its type, nullability,
/// default and collation; and every index and constraint definition.
fn shape(url: &str) -> Vec<String> {
    let mut c = client(url);
    let mut out: Vec<String> = c
        .query(
            "SELECT table_name || '.' || column_name || ' ' || data_type || \
                 coalesce('(' || datetime_precision || ')', '') || ' ' || is_nullable || ' ' || \
                 coalesce(column_default, '-') || ' ' || coalesce(collation_name, '-') \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    // Index definitions without the schema's name (it differs between databases).
    out.extend(
        c.query(
            "SELECT replace(indexdef, schemaname || '.', '') FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0)),
    );
    out.extend(
        c.query(
            "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) \
             FROM pg_constraint WHERE connamespace = current_schema()::regnamespace \
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0)),
    );
    out
}

/// How many tables the URL's schema holds.
fn tables_in(url: &str) -> i64 {
    client(url)
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .unwrap()
        .get(0)
}

fn version(url: &str) -> i64 {
    client(url)
        .query_one("SELECT version FROM contactstore_schema", &[])
        .unwrap()
        .get(0)
}

fn export(store: &ContactStore) -> String {
    let mut out = Vec::new();
    let _: ExportSummary = store.all_orgs().export(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_new_database_gets_the_current_schema() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    let store = ContactStore::open(&url).unwrap();
    assert_eq!(version(&url), POSTGRES_SCHEMA_VERSION);
    let tables: Vec<&str> = vec![
        "activity",
        "change_event",
        "change_log",
        "contact",
        "contactstore_schema",
        "identifier",
        "memory",
        "memory_entity",
        "merge_journal",
        "merge_redirect",
        "migration_finding",
    ];
    let found: Vec<String> = client(&url)
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(found, tables);
    // org_id leads every primary key and unique constraint (sharding by org_id), but
    // the two one-row tables'.
    let keys: Vec<(String, String)> = client(&url)
        .query(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE connamespace = current_schema()::regnamespace AND contype IN ('p', 'u')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(keys.len() >= 10, "{keys:?}");
    for (table, def) in &keys {
        if table == "change_log" || table == "contactstore_schema" {
            continue;
        }
        assert!(def.contains("(org_id, "), "{table}: {def}");
    }
    // So do unique indexes (the one-primary-per-type rule among them).
    let unique: Vec<String> = shape(&url)
        .into_iter()
        .filter(|d| d.starts_with("CREATE UNIQUE INDEX"))
        .collect();
    assert!(unique.len() >= 11, "{unique:?} of {:?}", shape(&url));
    for def in &unique {
        if def.contains(" ON change_log ") || def.contains(" ON contactstore_schema ") {
            continue;
        }
        assert!(def.contains("USING btree (org_id, "), "{def}");
    }
    drop(store);
    // Opening again changes nothing.
    let before = shape(&url);
    ContactStore::open(&url).unwrap();
    assert_eq!(shape(&url), before);
}

#[test]
fn each_released_version_opens_upgrades_and_keeps_its_data() {
    let Some(base) = server() else { return };
    for v in 1..=POSTGRES_SCHEMA_VERSION {
        let url = common::fresh_postgres_url(&base);
        let mut c = client(&url);
        c.batch_execute(&fixture(&format!("postgres-v{v}-schema.sql")))
            .unwrap();
        c.batch_execute(&fixture(&format!("postgres-v{v}-data.sql")))
            .unwrap();
        drop(c);
        assert_eq!(version(&url), v);

        let store = ContactStore::open(&url).unwrap();
        assert_eq!(version(&url), POSTGRES_SCHEMA_VERSION, "v{v} upgraded");
        let fresh = common::fresh_postgres_url(&base);
        ContactStore::open(&fresh).unwrap();
        assert_eq!(
            shape(&url),
            shape(&fresh),
            "v{v}: the schema a new database gets"
        );
        assert_eq!(
            export(&store),
            fixture(&format!("postgres-v{v}-export.jsonl")),
            "v{v}: the data, exactly"
        );
        // And it works: the fixture's caller is found, a new one is created.
        let acme = store.org("acme").unwrap();
        assert!(acme
            .find(&IdentifierQuery::phone("+14155550192"))
            .unwrap()
            .is_some());
        let created = acme
            .resolve(&contactstore::ResolveRequest::phone("+14155550177"))
            .unwrap();
        assert!(created.created);
    }
}

#[test]
fn a_newer_version_is_refused_and_left_untouched() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    ContactStore::open(&url)
        .unwrap()
        .org("acme")
        .unwrap()
        .resolve(&contactstore::ResolveRequest::phone("+14155550192"))
        .unwrap();
    client(&url)
        .execute(
            "UPDATE contactstore_schema SET version = $1",
            &[&(POSTGRES_SCHEMA_VERSION + 1)],
        )
        .unwrap();
    let before = common::dump_postgres(&url);
    match ContactStore::open(&url) {
        Err(Error::IncompatibleVersion { found, supported }) => {
            assert_eq!(found, POSTGRES_SCHEMA_VERSION + 1);
            assert_eq!(supported, POSTGRES_SCHEMA_VERSION);
        }
        other => panic!("expected IncompatibleVersion, got {other:?}"),
    }
    assert_eq!(common::dump_postgres(&url), before);
}

#[test]
fn check_file_creates_nothing_in_an_empty_database_and_checks_a_store() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    let error = ContactStore::check_file(&url).expect_err("nothing to check");
    assert_eq!(error.code(), contactstore::ErrorCode::BadRequest);
    assert!(
        error.to_string().contains("no contactstore tables"),
        "{error}"
    );
    let tables = tables_in(&url);
    assert_eq!(tables, 0, "check_file created tables");

    ContactStore::open(&url)
        .unwrap()
        .org("acme")
        .unwrap()
        .resolve(&contactstore::ResolveRequest::phone("+14155550192"))
        .unwrap();
    let before = common::dump_postgres(&url);
    let report = ContactStore::check_file(&url).unwrap();
    assert!(report.healthy, "{report:?}");
    assert_eq!(common::dump_postgres(&url), before);

    client(&url)
        .execute(
            "UPDATE contactstore_schema SET version = $1",
            &[&(POSTGRES_SCHEMA_VERSION + 1)],
        )
        .unwrap();
    assert!(matches!(
        ContactStore::check_file(&url),
        Err(Error::IncompatibleVersion { .. })
    ));
}

#[test]
fn a_version_table_without_its_row_is_not_upgraded_blindly_and_check_names_it() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    drop(ContactStore::open(&url).unwrap());
    client(&url)
        .execute("DELETE FROM contactstore_schema", &[])
        .unwrap();
    let before = common::dump_postgres(&url);
    assert!(matches!(
        ContactStore::open(&url),
        Err(Error::ForeignDatabase(_))
    ));
    let report = ContactStore::check_file(&url).expect("checked, not refused");
    assert!(!report.healthy);
    assert!(
        format!("{report:?}").contains("contactstore_schema has no row"),
        "{report:?}"
    );
    assert_eq!(common::dump_postgres(&url), before);
}

#[test]
fn another_applications_tables_are_refused() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    client(&url)
        .batch_execute("CREATE TABLE contact (id integer PRIMARY KEY)")
        .unwrap();
    assert!(matches!(
        ContactStore::open(&url),
        Err(Error::ForeignDatabase(_))
    ));
    let tables = tables_in(&url);
    assert_eq!(tables, 1, "nothing was created beside it");
}

#[test]
fn hosts_opening_a_new_database_at_once_create_it_once() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = ContactStore::open(&url).expect("open");
                store
                    .org("acme")
                    .unwrap()
                    .resolve(&contactstore::ResolveRequest::phone(format!(
                        "+1415555{:04}",
                        i
                    )))
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(version(&url), POSTGRES_SCHEMA_VERSION);
    let contacts: i64 = client(&url)
        .query_one("SELECT count(*) FROM contact", &[])
        .unwrap()
        .get(0);
    assert_eq!(contacts, 8);
}

#[test]
fn backup_is_refused_on_postgresql_naming_pg_dump_and_writes_no_file() {
    let Some(base) = server() else { return };
    let url = common::fresh_postgres_url(&base);
    let store = ContactStore::open(&url).unwrap();
    store
        .org("acme")
        .unwrap()
        .resolve(&contactstore::ResolveRequest::phone("+14155550192"))
        .unwrap();
    let before = export(&store);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy.db");
    for result in [store.backup_to(&dest), store.backup_replacing(&dest)] {
        let err = result.unwrap_err();
        assert_eq!(err.code(), contactstore::ErrorCode::BadRequest);
        assert!(err.to_string().contains("pg_dump"), "{err}");
    }
    assert!(!dest.exists(), "a refused backup wrote a file");
    assert_eq!(export(&store), before);
}
