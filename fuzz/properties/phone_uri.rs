//! Phone normalization and caller classification of URI-like caller ids (`sip:`, `sips:`, `tel:`, display names,
//! parameters) and of arbitrary text: no panic, every rejection a BAD_REQUEST whose
//! message is fixed text (it cannot repeat the input), and every accepted value is `+`
//! and digits that normalizes to itself.
//!
//! Found by this target and fixed: libphonenumber accepts national numbers of up to
//! 17 digits and letters as vanity digits, so `+4921919TT22TTTT53` was stored as
//! `+49219198822888853` — 17 digits, where E.164 allows 15. Now refused.
//!
//! The first byte picks a region and a wrapping (scheme, display name, host,
//! parameters) around the rest, so that the fuzzer spends its time inside the URI
//! forms a SIP trunk hands over rather than rediscovering `sip:` byte by byte.

use contactstore::{classify_caller, normalize, Caller, Error, ErrorCode, PhoneRegion};

const REGIONS: [&str; 4] = ["US", "GB", "CH", "IN"];
const PREFIXES: [&str; 8] = [
    "",
    "sip:",
    "sips:",
    "tel:",
    "\"Caller\" <sip:",
    "<tel:",
    "SIP:",
    "Anonymous <sip:",
];
const SUFFIXES: [&str; 8] = [
    "",
    "@pbx.example",
    "@10.0.0.1;user=phone",
    ";phone-context=+41",
    ">",
    "@trunk.example:5060;transport=udp>",
    ";ext=12",
    ";isub=1234@h",
];

/// The property, on one input.
pub fn check(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let region: PhoneRegion = REGIONS[usize::from(selector & 3)]
        .parse()
        .expect("a known region");
    let prefix = PREFIXES[usize::from((selector >> 2) & 7)];
    let suffix = SUFFIXES[usize::from((selector >> 5) & 7)];
    let input = format!("{prefix}{text}{suffix}");
    for candidate in [input.as_str(), text] {
        // Caller classification is total, and a number it finds is the one
        // normalization gives.
        if let Caller::Number { phone_number } = classify_caller(candidate, region) {
            let normalized = normalize::phone(candidate, region, "phone_number");
            assert_eq!(
                normalized.ok(),
                Some(phone_number),
                "classify and normalize disagree"
            );
        }
        match normalize::phone(candidate, region, "phone_number") {
            Ok(e164) => {
                assert!(e164.starts_with('+'), "not E.164");
                assert!(
                    e164.len() <= 16 && e164[1..].bytes().all(|b| b.is_ascii_digit()),
                    "not + and digits"
                );
                let again = normalize::phone(&e164, region, "phone_number");
                assert_eq!(again.ok().as_deref(), Some(e164.as_str()), "not idempotent");
            }
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::BadRequest);
                assert!(matches!(e, Error::InvalidField { .. }), "{e:?}");
            }
        }
    }
}
