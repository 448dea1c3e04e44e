//! TLS to PostgreSQL (issue 17: "TLS optional behind its own feature"), on the server
//! of the PostgreSQL run when it serves TLS: `.ci/run` starts it with a certificate
//! for `localhost` (only) signed by a throwaway authority, whose certificate file
//! `CONTACTSTORE_TEST_POSTGRES_TLS_ROOT` names. Without that variable these tests say
//! so and pass — unless `CONTACTSTORE_REQUIRE_POSTGRES=1`, which makes the skip a
//! failure in the PostgreSQL run.
//!
//! libpq's meaning of each `sslmode` is kept: `prefer` (the default) and `require`
//! encrypt without checking the certificate (`require` checks it when a root
//! certificate is given), `verify-ca` checks the chain, `verify-full` also the name.

mod common;

use contactstore::{ContactStore, ErrorCode, IdentifierQuery, ResolveRequest};

/// The server's URL (a fresh schema of its own) and the authority's certificate.
fn server() -> Option<(String, String)> {
    let url = common::postgres_url()?;
    match std::env::var("CONTACTSTORE_TEST_POSTGRES_TLS_ROOT") {
        Ok(root) if !root.is_empty() => Some((common::fresh_postgres_url(&url), root)),
        _ => {
            assert!(
                std::env::var("CONTACTSTORE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CONTACTSTORE_TEST_POSTGRES_TLS_ROOT is not set: the TLS tests cannot run"
            );
            println!("PostgreSQL TLS tests skipped: the server's root certificate is not named");
            None
        }
    }
}

/// `url` with `parameters` added and, with `by_name`, the host written `localhost`
/// (the name the certificate holds) while the address stays 127.0.0.1.
fn with(url: &str, by_name: bool, parameters: &str) -> String {
    assert!(
        url.contains("@127.0.0.1:"),
        "the TLS tests expect the server at 127.0.0.1: {url}"
    );
    let mut url = if by_name {
        url.replace("@127.0.0.1:", "@localhost:") + "&hostaddr=127.0.0.1"
    } else {
        url.to_owned()
    };
    url.push('&');
    url.push_str(parameters);
    url
}

/// Whether the store's session reached the server over TLS, asked by another
/// connection (in the clear) through the session's application name.
fn over_tls(base: &str, application: &str) -> bool {
    let mut admin = postgres::Client::connect(base, postgres::NoTls).expect("connect");
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .expect("pg_stat_ssl");
    assert!(!rows.is_empty(), "no session named {application}");
    rows.iter().all(|row| row.get::<_, bool>(0))
}

/// Opens a store on `url` with `parameters` (see [`with`]), resolves and finds a caller
/// through it, and tells whether its session reached the server over TLS. Panics,
/// naming `parameters`, when the store does not open.
fn works_and_is_encrypted(url: &str, by_name: bool, parameters: &str) -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let application = format!(
        "cs_tls_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let store = ContactStore::open(with(
        url,
        by_name,
        &format!("{parameters}&application_name={application}"),
    ))
    .unwrap_or_else(|e| panic!("{parameters}: {e}"));
    resolve_and_find(&store);
    over_tls(url, &application)
}

fn resolve_and_find(store: &ContactStore) {
    let org = store.org("org_tls").unwrap();
    let resolved = org
        .resolve(&ResolveRequest::phone("+14155550192"))
        .expect("resolve over TLS");
    let found = org
        .find(&IdentifierQuery {
            phone_number: Some("(415) 555-0192".into()),
            email: None,
            external_id: None,
        })
        .expect("find over TLS")
        .expect("found");
    assert_eq!(found.contact.id, resolved.contact.id);
}

#[test]
fn verify_full_connects_to_a_server_whose_certificate_names_the_host() {
    let Some((url, root)) = server() else { return };
    let parameters = format!("sslmode=verify-full&sslrootcert={root}");
    assert!(works_and_is_encrypted(&url, true, &parameters));
}

#[test]
fn verify_full_refuses_a_certificate_that_does_not_name_the_host_and_verify_ca_accepts_it() {
    let Some((url, root)) = server() else { return };
    // The certificate names localhost only; 127.0.0.1 is not in it.
    let by_address = with(
        &url.replace("postgres@", "postgres:hunter2secret@"),
        false,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let error = ContactStore::open(&by_address).expect_err("refused");
    assert_eq!(error.code(), ErrorCode::InternalError);
    let message = error.to_string();
    assert!(message.contains("TLS handshake"), "{message}");
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(!message.contains("127.0.0.1"), "{message}");

    // verify-ca does not check the name.
    let parameters = format!("sslmode=verify-ca&sslrootcert={root}");
    assert!(works_and_is_encrypted(&url, false, &parameters));
}

#[test]
fn chains_are_checked_only_against_the_roots_libpq_would_use() {
    let Some((url, _)) = server() else { return };
    // The system's roots do not hold the test authority.
    let error = ContactStore::open(with(&url, true, "sslmode=verify-full"))
        .expect_err("untrusted chain refused");
    assert!(error.to_string().contains("TLS handshake"), "{error}");
    // verify-ca against the system's roots is refused before connecting: with no name
    // check, any certificate a public authority issued would pass.
    let error = ContactStore::open(with(&url, true, "sslmode=verify-ca"))
        .expect_err("verify-ca without a root file refused");
    assert_eq!(error.code(), ErrorCode::BadRequest);
    assert!(error.to_string().contains("sslrootcert"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-root.pem");
    std::fs::write(&other, OTHER_AUTHORITY).unwrap();
    let error = ContactStore::open(with(
        &url,
        true,
        &format!("sslmode=require&sslrootcert={}", other.display()),
    ))
    .expect_err("require with a root checks the chain");
    assert!(error.to_string().contains("TLS handshake"), "{error}");
}

#[test]
fn require_and_prefer_encrypt_without_checking_and_disable_does_not() {
    let Some((url, _)) = server() else { return };
    for (mode, encrypted) in [("require", true), ("prefer", true), ("disable", false)] {
        let parameters = format!("sslmode={mode}");
        assert_eq!(
            works_and_is_encrypted(&url, false, &parameters),
            encrypted,
            "{parameters}"
        );
    }
}

/// A self-signed authority that signed nothing the server holds.
const OTHER_AUTHORITY: &str = "-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIURGqRpu4Hv00DO0TtvdLXHEtjr5YwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNb3RoZXIgcm9vdCBDQTAeFw0yNjEyMDExODU1MTZaFw0zNjEx
MjgxODU1MTZaMBgxFjAUBgNVBAMMDW90aGVyIHJvb3QgQ0EwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARn5TaBUERszkNy7GUzd6/q/4N+WJhbNgXHp+sUcgCBZaBf
cX2Iw8eexFDrMcAWRZ7HyRJO/jUB3QuD9CF9nq2ro1MwUTAdBgNVHQ4EFgQUYrPL
YrqfuiOui5xrGxLZiQJ/X9YwHwYDVR0jBBgwFoAUYrPLYrqfuiOui5xrGxLZiQJ/
X9YwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiA0NRDjNkD16B3I
kGdLECjHxLDHJAk6S7Yvyvm0jZCzuAIhANcRgz56h1Ur9phf3Tj626JmrZ204aO/
3XLlukPbq4zy
-----END CERTIFICATE-----
";
