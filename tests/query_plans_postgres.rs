//! Every SQL statement of the PostgreSQL engine can reach its rows through an index
//! (the SQLite engine's are checked by tests/query_plans.rs).
//!
//! A test table is small, and the planner rightly scans a small table; what this test
//! asks is whether an index *could* serve each statement. Each statement is prepared
//! on the real schema and explained as the generic plan a prepared statement gets
//! (`plan_cache_mode = force_generic_plan`: no parameter value is known), with
//! sequential scans priced out (`enable_seqscan = off`: the planner still chooses one
//! when no index applies). A `Seq Scan` is then a statement no index serves. Runs in
//! the PostgreSQL run (`tests/postgres/run`); elsewhere it says so and passes.

mod common;
mod sql_statements;

use contactstore::ContactStore;

/// Statements about one contact that walk the org's rows by design.
const ORG_WALKS: &[&str] = &[
    // The findings an upgrade left (an empty table otherwise), naming the contact on
    // either side.
    "DELETE_FINDINGS_NAMING",
];

#[test]
fn every_statement_can_use_an_index() {
    let Some(base) = common::postgres_url() else {
        println!("PostgreSQL query plans skipped: not the PostgreSQL run (tests/postgres/run)");
        return;
    };
    let url = common::fresh_postgres_url(&base);
    drop(ContactStore::open(&url).expect("create the schema"));
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .batch_execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")
        .unwrap();

    let statements = sql_statements::statements(|path| path.starts_with("storage/postgres"));
    assert!(
        statements.len() > 60,
        "found only {} statements",
        statements.len()
    );
    let mut problems = Vec::new();
    for (file, name, sql) in &statements {
        let prepared = match client.prepare(sql) {
            Ok(prepared) => prepared,
            Err(e) => {
                problems.push(format!("{file} {name}: does not prepare: {e}"));
                continue;
            }
        };
        // EXPLAIN EXECUTE of a named prepared statement, its parameters all NULL (the
        // generic plan does not look at them); inside a transaction rolled back, so
        // an explained write changes nothing.
        let nulls = vec!["NULL"; prepared.params().len()].join(", ");
        let args = if nulls.is_empty() {
            String::new()
        } else {
            format!("({nulls})")
        };
        let plan = (|| -> Result<Vec<String>, postgres::Error> {
            // PREPARE is not undone by a rollback.
            client.batch_execute("DEALLOCATE ALL")?;
            let mut tx = client.transaction()?;
            tx.batch_execute(&format!("PREPARE plan_of AS {sql}"))?;
            let rows = tx.query(&format!("EXPLAIN EXECUTE plan_of{args}"), &[])?;
            tx.rollback()?;
            Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect())
        })();
        let plan = match plan {
            Ok(plan) => plan.join(" | "),
            Err(e) => {
                let why = e.as_db_error().map(|d| d.message().to_owned());
                problems.push(format!("{file} {name}: cannot be explained: {e} {why:?}"));
                continue;
            }
        };
        if std::env::var_os("SHOW_PLANS").is_some() {
            eprintln!("{name}: {plan}");
        }
        let by_design = sql_statements::FULL_SCANS_OF_BOTH.contains(&name.as_str());
        if plan.contains("Seq Scan") && !by_design {
            problems.push(format!("{file} {name}: no index serves it: {plan}"));
        }
        // A statement about one contact must not walk the org through an index's first
        // column, filtering for the contact.
        let condition = sql.rsplit_once("WHERE").map_or("", |(_, after)| after);
        let per_contact =
            condition.contains("contact_id = $") || condition.contains("memory_id = $");
        if per_contact
            && plan.contains("Index Cond: (org_id = $1)")
            && !ORG_WALKS.contains(&name.as_str())
        {
            problems.push(format!("{file} {name}: walks the org: {plan}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
