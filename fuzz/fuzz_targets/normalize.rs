//! Identifier normalization on arbitrary text: no panic, every rejection a
//! BAD_REQUEST that does not repeat the input, and a normalized value normalizes to
//! itself (equivalent spellings reach one stored value).
#![no_main]

use contactstore::{normalize, ErrorCode, IdentifierType, PhoneRegion};
use libfuzzer_sys::fuzz_target;

const REGIONS: [&str; 6] = ["US", "GB", "DE", "IN", "BR", "LS"];
const KINDS: [IdentifierType; 3] = [
    IdentifierType::PhoneNumber,
    IdentifierType::Email,
    IdentifierType::ExternalId,
];

fuzz_target!(|data: &[u8]| {
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
                let input = text.trim();
                assert!(input.chars().count() < 8 || !e.to_string().contains(input));
            }
        }
    }
    let _ = text.parse::<PhoneRegion>();
    let _ = text.parse::<IdentifierType>();
});
