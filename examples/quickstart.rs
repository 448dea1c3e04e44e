//! A short session on `./contacts.db` (or the path given as the first argument):
//! a call comes in, the caller is resolved; a web form brings an email; the contact is
//! found by that email and fetched by id. Each step prints its JSON envelope.
//!
//! ```text
//! cargo run --example quickstart [PATH]
//! ```

use contactstore::envelope::Envelope;
use contactstore::{ContactStore, IdentifierQuery, ResolveRequest};
use serde_json::json;

fn main() -> Result<(), contactstore::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "contacts.db".into());
    let store = ContactStore::open(&path)?;
    let org = store.org("default")?;

    println!("# resolve: an inbound call from (415) 555-0192");
    let call = org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("(415) 555-0192".into()),
            ..Default::default()
        },
        name: Some("Sarah Chen".into()),
        persona_id: Some("persona-12345678".into()),
        metadata: Some(json!({"source": "inbound_call"})),
        ..Default::default()
    })?;
    print(&call);

    println!("# resolve: a web form with the same phone and a new email");
    let form = org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("+1 415 555 0192".into()),
            email: Some("Sarah@Example.com".into()),
            ..Default::default()
        },
        ..Default::default()
    })?;
    print(&form);

    println!("# find by email");
    print(&org.find(&IdentifierQuery::email("sarah@example.com"))?);

    println!("# get by id");
    print(&org.get(&call.contact.id)?);
    Ok(())
}

fn print<T: serde::Serialize>(data: &T) {
    match serde_json::to_string_pretty(&Envelope::success(data)) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("cannot print: {e}"),
    }
}
