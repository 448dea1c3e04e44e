//! The lookup-first phone fast path gives the same answers as parsing every input with
//! libphonenumber: for find (which contact, or none, or BAD_REQUEST) and for resolve —
//! for plain spellings and for the URI forms the guess unwraps.

mod common;

use std::collections::BTreeMap;

use contactstore::{normalize, ErrorCode, IdentifierQuery, PhoneRegion, ResolveRequest, Settings};
use proptest::prelude::*;

fn plain_spellings() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+1[2-9][0-9]{2}[2-9][0-9]{6}",
        "\\+[1-9][0-9]{7,14}",
        "\\(?[2-9][0-9]{2}\\)? ?[2-9][0-9]{2}[-. ]?[0-9]{4}",
        "1[-. ]?[2-9][0-9]{2}[-. ]?[0-9]{3}[-. ]?[0-9]{4}",
        "\\+1 ?[0-9]{3} ?[0-9]{3} ?[0-9]{4}",
        "[+]?[0-9 ().-]{0,16}",
    ]
}

/// Plain spellings, and the same in the URI forms telephony delivers (SIP with and
/// without a display name, percent-encoded, tel), which the guess unwraps too.
fn spellings() -> impl Strategy<Value = String> {
    let wrappers = vec![
        "{}",
        "{}",
        "sip:{}@sip.twilio.com",
        "\"Sarah\" <sip:{}@pbx.example.com;user=phone>;tag=1a2b",
        "<sip:{}@10.0.0.7:5060>",
        "sips:{}:pw@gw.example.com;transport=tls",
        "tel:{}",
        "tel:{};phone-context=+1",
        "sip:{};ext=12@pbx",
    ];
    (plain_spellings(), proptest::sample::select(wrappers)).prop_map(|(number, wrapper)| {
        if wrapper == "{}" {
            number
        } else {
            wrapper.replace("{}", &number.replace(' ', "%20"))
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fast_path_answers_like_the_full_parse(
        stored in proptest::collection::vec(spellings(), 0..6),
        queries in proptest::collection::vec(spellings(), 1..8),
        canada in proptest::bool::ANY,
    ) {
        let region: PhoneRegion = if canada { "CA" } else { "US" }.parse().unwrap();
        let store = common::store_with(Settings::default().region(region));
        let org = store.org("acme").unwrap();
        // The oracle: normalized value → contact, built with the full parse only.
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        for text in &stored {
            if let Ok(value) = normalize::phone(text, region, "phone_number") {
                let id = org.resolve(&ResolveRequest::phone(value.clone())).unwrap().contact.id;
                known.insert(value, id);
            }
        }
        for text in &queries {
            let expected = normalize::phone(text, region, "phone_number").map(|v| known.get(&v).cloned());
            let got = org.find(&IdentifierQuery::phone(text.clone()));
            match (&expected, &got) {
                (Ok(id), Ok(found)) => prop_assert_eq!(id.as_ref(), found.as_ref().map(|c| &c.contact.id), "{}", text),
                (Err(_), Err(e)) => prop_assert_eq!(e.code(), ErrorCode::BadRequest),
                _ => prop_assert!(false, "{}: full parse {:?}, store {:?}", text, expected.is_ok(), got.is_ok()),
            }
            let resolved = org.resolve(&ResolveRequest::phone(text.clone()));
            match expected {
                Ok(Some(id)) => prop_assert_eq!(resolved.unwrap().contact.id, id),
                Ok(None) => {
                    let r = resolved.unwrap();
                    prop_assert!(r.created);
                    let value = normalize::phone(text, region, "phone_number").unwrap();
                    known.insert(value, r.contact.id);
                }
                Err(_) => prop_assert_eq!(resolved.unwrap_err().code(), ErrorCode::BadRequest),
            }
        }
    }
}
