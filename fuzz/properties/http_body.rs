//! Request bodies as the HTTP shim receives them: arbitrary bytes through
//! `serde_json::from_slice` into the library's request types (`ResolveRequest`,
//! `IdentifierQuery`, `ContactUpdate`, `ListOptions`, `NewCall`, `MemoryScope` with
//! `EntityUpdate`, `CallerRequest`), then the library call on an in-memory store kept across runs (so
//! requests meet earlier contacts). No panic; every refusal is a BAD_REQUEST or
//! NOT_FOUND with a message of fixed text (it cannot repeat the request), never a
//! storage failure; whatever a call returns can be read back.

use std::cell::RefCell;

use contactstore::{
    Caller, CallerRequest, ContactStore, ContactUpdate, EntityUpdate, Error, ErrorCode,
    IdentifierQuery, ListOptions, MemoryScope, NewCall, ResolveRequest,
};
use serde::Deserialize;

/// Runs on one store before it is replaced, so memory stays bounded.
const RUNS_PER_STORE: u32 = 5_000;

struct Fixture {
    store: ContactStore,
    /// A contact every run can update, write memory for and record calls against.
    contact: String,
    runs: u32,
}

impl Fixture {
    fn new() -> Self {
        let store = ContactStore::open_in_memory().expect("in-memory store");
        let contact = store
            .org("fuzz")
            .and_then(|org| org.resolve(&ResolveRequest::external_id("fuzz-contact")))
            .expect("a contact")
            .contact
            .id;
        Fixture {
            store,
            contact,
            runs: 0,
        }
    }
}

thread_local! {
    static FIXTURE: RefCell<Fixture> = RefCell::new(Fixture::new());
}

/// A memory write's body: the scope and the entity.
#[derive(Deserialize)]
struct EntityBody {
    #[serde(flatten)]
    scope: MemoryScope,
    #[serde(flatten)]
    entity: EntityUpdate,
}

/// A refusal: a request error, whose message is built of fixed text only.
fn refused(error: &Error) {
    assert!(
        matches!(error.code(), ErrorCode::BadRequest | ErrorCode::NotFound),
        "{error:?}"
    );
    assert!(
        matches!(
            error,
            Error::InvalidField { .. }
                | Error::MissingIdentifier
                | Error::MissingScope
                | Error::IdentifierTaken { .. }
                | Error::Refused(_)
                | Error::NotFound
        ),
        "{error:?}"
    );
}

/// The property, on one input.
pub fn check(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    FIXTURE.with(|cell| {
        let mut fixture = cell.borrow_mut();
        fixture.runs += 1;
        if fixture.runs > RUNS_PER_STORE {
            *fixture = Fixture::new();
        }
        let org = fixture.store.org("fuzz").expect("a valid org id");
        let contact = fixture.contact.as_str();
        match selector % 7 {
            0 => {
                let Ok(request) = serde_json::from_slice::<ResolveRequest>(body) else {
                    return;
                };
                match org.resolve(&request) {
                    Ok(resolved) => {
                        let got = org.get(&resolved.contact.id).expect("a resolved contact");
                        assert_eq!(got.contact.id, resolved.contact.id);
                        let found = org
                            .find(&request.identifiers)
                            .expect("the identifiers just resolved")
                            .expect("a match");
                        // find follows the same precedence as resolve.
                        assert_eq!(found.contact.id, resolved.contact.id);
                    }
                    Err(e) => refused(&e),
                }
            }
            1 => {
                let Ok(query) = serde_json::from_slice::<IdentifierQuery>(body) else {
                    return;
                };
                if let Err(e) = org.find(&query) {
                    refused(&e);
                }
            }
            2 => {
                let Ok(update) = serde_json::from_slice::<ContactUpdate>(body) else {
                    return;
                };
                match org.update(contact, &update) {
                    Ok(got) => {
                        assert!(!got.identifiers.is_empty(), "a contact keeps an identifier");
                        // Applying the same update again changes nothing.
                        let again = org.update(contact, &update).expect("the same update");
                        assert_eq!(again.contact.updated_at, got.contact.updated_at);
                    }
                    Err(e) => refused(&e),
                }
            }
            3 => {
                let Ok(options) = serde_json::from_slice::<ListOptions>(body) else {
                    return;
                };
                if let Err(e) = org.list(&options) {
                    refused(&e);
                }
            }
            4 => {
                let Ok(call) = serde_json::from_slice::<NewCall>(body) else {
                    return;
                };
                match org.record_call(contact, &call) {
                    Ok(recorded) => {
                        let calls = org.calls(contact).expect("the contact's calls");
                        assert!(calls.iter().any(|c| c.id == recorded.id));
                    }
                    Err(e) => refused(&e),
                }
            }
            6 => {
                let Ok(request) = serde_json::from_slice::<CallerRequest>(body) else {
                    return;
                };
                match org.resolve_caller(&request) {
                    // A number has its contact, and every other kind has none.
                    Ok(resolved) => match resolved.caller {
                        Caller::Number { phone_number } => {
                            let contact = resolved.contact.expect("a number's contact");
                            let found = org
                                .find(&IdentifierQuery::phone(phone_number))
                                .expect("the number just resolved")
                                .expect("a match");
                            assert_eq!(found.contact.id, contact.id);
                        }
                        _ => assert!(resolved.contact.is_none()),
                    },
                    Err(e) => refused(&e),
                }
            }
            _ => {
                let Ok(write) = serde_json::from_slice::<EntityBody>(body) else {
                    return;
                };
                if let Err(e) = org.upsert_entity(contact, &write.scope, &write.entity) {
                    refused(&e);
                }
            }
        }
    });
}
