//! Identifier normalization on arbitrary text: no panic, every rejection a
//! BAD_REQUEST whose message is made of fixed text only (it cannot repeat the input),
//! and a normalized value normalizes to itself (equivalent spellings reach one stored
//! value).

use contactstore::{normalize, Error, ErrorCode, IdentifierType, PhoneRegion};

const REGIONS: [&str; 6] = ["US", "GB", "DE", "IN", "BR", "LS"];
const KINDS: [IdentifierType; 3] = [
    IdentifierType::PhoneNumber,
    IdentifierType::Email,
    IdentifierType::ExternalId,
];

/// The property, on one input.
pub fn check(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let region: PhoneRegion = REGIONS[usize::from(selector) % REGIONS.len()]
        .parse()
        .expect("a known region");
    for kind in KINDS {
        match normalize::identifier(kind, text, region, "value") {
            Ok(value) => {
                let again = normalize::identifier(kind, &value, region, "value");
                assert_eq!(again.ok().as_deref(), Some(value.as_str()), "{kind:?}");
            }
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::BadRequest);
                // A field name and a reason, both fixed strings: never the input. (A
                // check that the message does not contain the input fails on inputs
                // that spell out a message, which the fuzzer finds at once.)
                assert!(
                    matches!(e, Error::InvalidField { .. } | Error::MissingIdentifier),
                    "{e:?}"
                );
            }
        }
    }
    let _ = text.parse::<PhoneRegion>();
    let _ = text.parse::<IdentifierType>();
}
