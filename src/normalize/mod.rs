//! Identifier normalization (contract §2): equivalent spellings of one identity map to
//! one stored value, and anything that is not an identity is rejected.
//!
//! These are pure functions. Errors name the field and the reason, never the value.

mod uri;

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rlibphonenumber::enums::Region;
use rlibphonenumber::{PhoneNumberFormat, PHONE_NUMBER_UTIL};

use crate::error::{Error, Result};
use crate::limits::{
    MAX_EMAIL_CHARS, MAX_EXTERNAL_ID_CHARS, MAX_PHONE_INPUT_CHARS, MAX_PHONE_URI_CHARS,
};
use crate::model::IdentifierType;
use crate::settings::PhoneRegion;
pub(crate) use uri::{display_name, is_uri_form, unwrap as unwrap_uri, Unwrapped};

/// Normalizes a value of the given type; `field` names it in errors.
///
/// ```
/// use contactstore::{normalize, IdentifierType, PhoneRegion};
/// let v = normalize::identifier(IdentifierType::PhoneNumber, "(415) 555-0192",
///                               PhoneRegion::default(), "phone_number").unwrap();
/// assert_eq!(v, "+14155550192");
/// ```
///
/// # Errors
/// [`Error::InvalidField`] naming `field` when the value is not a valid identifier.
pub fn identifier(
    kind: IdentifierType,
    input: &str,
    region: PhoneRegion,
    field: &'static str,
) -> Result<String> {
    match kind {
        IdentifierType::PhoneNumber => phone(input, region, field),
        IdentifierType::Email => email(input, field),
        IdentifierType::ExternalId => external_id(input, field),
    }
}

/// Parses a phone number against `region` and returns it in E.164.
///
/// Besides the usual spellings, a number may come in the URI forms telephony delivers:
/// a SIP or SIPS URI whose user part is a number, with or without a display name and
/// parameters (`sip:+14155550192@sip.twilio.com`, `"Sarah" <sip:+14155550192@host;user=phone>`,
/// `sip:%2B14155550192@host`), or a `tel:` URI (`tel:+1-415-555-0192`,
/// `tel:0791234567;phone-context=+41`). Each normalizes as the plain spelling does.
///
/// ```
/// use contactstore::{normalize, PhoneRegion};
/// let region = PhoneRegion::default();
/// for spelling in ["(415) 555-0192", "sip:+14155550192@sip.twilio.com",
///                  "\"Sarah\" <sip:+14155550192@pbx.example.com;user=phone>;tag=a73kszlfl"] {
///     assert_eq!(normalize::phone(spelling, region, "phone_number").unwrap(), "+14155550192");
/// }
/// assert!(normalize::phone("sip:alice@example.com", region, "phone_number").is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidField`] naming `field` for empty, over-long or non-numeric text,
/// numbers that are invalid for their region, numbers with an extension (`;ext=`,
/// `;postd=`, `ext. 12`), and URIs that hold no number (`sip:alice@example.com`,
/// `client:alice`).
pub fn phone(input: &str, region: PhoneRegion, field: &'static str) -> Result<String> {
    match checked(input, field)? {
        Checked::Plain(text) => parse(&text, region.0, field),
        Checked::WithContext { number, context } => {
            // libphonenumber reads RFC 3966's phone-context itself.
            parse(
                &format!("tel:{number};phone-context={context}"),
                region.0,
                field,
            )
        }
    }
}

/// A phone input that passed the checks before the parser.
enum Checked<'a> {
    /// Text for the parser as it is: a plain spelling, or the number of a URI.
    Plain(Cow<'a, str>),
    /// A local number of a URI and its `phone-context`.
    WithContext {
        number: Cow<'a, str>,
        context: Cow<'a, str>,
    },
}

/// The checks every phone input passes before it is parsed (or guessed at), and the
/// number taken out of a URI form.
fn checked<'a>(input: &'a str, field: &'static str) -> Result<Checked<'a>> {
    let text = input.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if !uri::is_uri_form(text) {
        return plain(text, field).map(|t| Checked::Plain(Cow::Borrowed(t)));
    }
    checked_uri(text, field)
}

/// [`checked`] for a trimmed input in URI form.
fn checked_uri<'a>(text: &'a str, field: &'static str) -> Result<Checked<'a>> {
    if too_long(text, MAX_PHONE_URI_CHARS) {
        return Err(Error::invalid(field, "is too long"));
    }
    if has_control(text) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    match uri::unwrap(text) {
        Unwrapped::Bare(inner) => plain(inner, field).map(|t| Checked::Plain(Cow::Borrowed(t))),
        Unwrapped::NotNumber(_) => Err(Error::invalid(field, "is not a phone number")),
        Unwrapped::Uri(found) => {
            if found.extension {
                return Err(Error::invalid(field, "must not include an extension"));
            }
            // Percent-decoding may have made any character: the number is checked as
            // a plain spelling is.
            let number = match found.number {
                Cow::Borrowed(n) => Cow::Borrowed(plain(n, field)?),
                Cow::Owned(n) => Cow::Owned(plain(&n, field)?.to_owned()),
            };
            match found.context {
                None => Ok(Checked::Plain(number)),
                Some(context) => {
                    plain(&context, field)?;
                    Ok(Checked::WithContext { number, context })
                }
            }
        }
    }
}

/// The checks on a plain spelling: not empty, not too long, no control characters,
/// ASCII only.
fn plain<'a>(input: &'a str, field: &'static str) -> Result<&'a str> {
    // A plain spelling comes trimmed; the number of a URI may carry `%20`s.
    let text = input.trim_ascii();
    if text.is_empty() {
        return Err(Error::invalid(field, "is not a phone number"));
    }
    if too_long(text, MAX_PHONE_INPUT_CHARS) {
        return Err(Error::invalid(field, "is too long"));
    }
    if has_control(text) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    // Phone numbers are written in ASCII. Refusing anything else before the parser sees
    // it also means no string slicing inside the parser can split a character: such a
    // panic is caught below, but its message — printed by the panic hook — would quote
    // the input.
    if !text.is_ascii() {
        return Err(Error::invalid(field, "is not a phone number"));
    }
    Ok(text)
}

/// More than `max` characters (counted only when the bytes are more).
fn too_long(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().count() > max
}

/// Whether the text holds a control character (`char::is_control`: U+0000–U+001F and
/// U+007F–U+009F; the second range only outside ASCII).
fn has_control(text: &str) -> bool {
    // Without a short cut, so that the common case (none) compiles to a vector loop.
    let c0 = text
        .bytes()
        .fold(false, |found, b| found | (b < 0x20) | (b == 0x7f));
    c0 || (!text.is_ascii() && text.chars().any(char::is_control))
}

/// A cheap guess at the normalized form of a phone number, without libphonenumber:
/// input already in E.164 (`+14155550192`), or — in a region of the North American
/// Numbering Plan (US, CA) — ten digits, or eleven starting with 1, written with only
/// spaces, dots, dashes and parentheses (`(415) 555-0192`, `+1 415 555 0192`). A URI
/// form is unwrapped first (`sip:+14155550192@host`, `tel:+1-415-555-0192`), so a
/// known caller arriving over SIP costs no parse either.
///
/// The guess is only trusted when an identifier with exactly that value is already
/// stored: stored values come out of [`phone`], which maps each of them to itself, and a
/// property test shows that whenever the guess is a valid number, [`phone`] gives the
/// same answer for the input. When the guess is not stored, callers must run [`phone`].
pub(crate) fn phone_candidate(input: &str, region: PhoneRegion) -> Option<String> {
    let text = input.trim();
    if !uri::is_uri_form(text) {
        return guess(text, region);
    }
    match checked_uri(text, "phone_number").ok()? {
        Checked::Plain(number) => guess(&number, region),
        Checked::WithContext { .. } => None,
    }
}

/// The guess of [`phone_candidate`] for a plain spelling, trimmed.
fn guess(text: &str, region: PhoneRegion) -> Option<String> {
    if text.len() > MAX_PHONE_INPUT_CHARS {
        return None;
    }
    if let Some(digits) = text.strip_prefix('+') {
        if (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
        {
            return Some(text.to_owned());
        }
    }
    if !matches!(region.0, Region::US | Region::CA) {
        return None;
    }
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if !rest
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'.' | b'-' | b'(' | b')'))
    {
        return None;
    }
    let digits = rest.bytes().filter(u8::is_ascii_digit);
    let count = digits.clone().count();
    let mut e164 = String::with_capacity(12);
    match (plus, count) {
        (false, 10) => e164.push_str("+1"),
        (_, 11) if digits.clone().next() == Some(b'1') => e164.push('+'),
        _ => return None,
    }
    e164.extend(digits.map(char::from));
    Some(e164)
}

/// Most digits of an E.164 number, country code included (ITU-T E.164, section 6).
const MAX_E164_DIGITS: usize = 15;

/// Parses with libphonenumber (the `rlibphonenumber` port and its metadata),
/// validates, and formats in E.164. A number written with its country code (`+`,
/// `00`, `011`, or the region's international prefix) is read as such: the default
/// region only applies to numbers written without one.
fn parse(text: &str, region: Region, field: &'static str) -> Result<String> {
    // A panic in the parser on malformed input must become a rejection, never a crash
    // of the caller's process.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let number = PHONE_NUMBER_UTIL.parse(text, Some(region)).ok()?;
        if number.extension.as_deref().is_some_and(|e| !e.is_empty()) {
            return Some(Err("must not include an extension"));
        }
        if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
            return Some(Err("is not a valid phone number"));
        }
        let e164 = PHONE_NUMBER_UTIL
            .format(&number, PhoneNumberFormat::E164)
            .into_owned();
        // libphonenumber accepts national numbers of up to 17 digits (and letters as
        // vanity digits), so some region patterns pass numbers E.164 itself forbids.
        if e164.len() > 1 + MAX_E164_DIGITS {
            return Some(Err("is not a valid phone number"));
        }
        Some(Ok(e164))
    }));
    match parsed {
        Ok(Some(Ok(e164))) => Ok(e164),
        Ok(Some(Err(reason))) => Err(Error::invalid(field, reason)),
        Ok(None) | Err(_) => Err(Error::invalid(field, "is not a phone number")),
    }
}

/// Lowercases an email address, converts its domain to ASCII (IDNA) and checks that
/// it is a syntactically valid address of at most 254 characters.
///
/// # Errors
/// [`Error::InvalidField`] naming `field` when the address is not valid.
pub fn email(input: &str, field: &'static str) -> Result<String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    // Generous bound before any work: IDNA can shrink input, but not by this much.
    if text.len() > 4 * MAX_EMAIL_CHARS {
        return Err(Error::invalid(field, "is too long"));
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err(Error::invalid(field, "is not a valid email address"));
    };
    let domain = idna::domain_to_ascii_strict(domain)
        .map_err(|_| Error::invalid(field, "has an invalid domain"))?;
    let address = format!("{}@{}", local.to_lowercase(), domain);
    if address.chars().count() > MAX_EMAIL_CHARS {
        return Err(Error::invalid(field, "is too long"));
    }
    let options = email_address::Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        ..email_address::Options::default()
    };
    email_address::EmailAddress::parse_with_options(&address, options)
        .map_err(|_| Error::invalid(field, "is not a valid email address"))?;
    Ok(address)
}

/// Trims an external id and checks it is non-empty, at most 256 characters and free of
/// control characters. Comparison is exact: case is kept.
///
/// # Errors
/// [`Error::InvalidField`] naming `field` when the id is rejected.
pub fn external_id(input: &str, field: &'static str) -> Result<String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(Error::invalid(field, "is too long"));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> PhoneRegion {
        PhoneRegion::default()
    }

    #[test]
    fn a_number_longer_than_e164_allows_is_refused() {
        // The fuzzer's find: valid for libphonenumber's DE pattern, 17 digits.
        for input in ["+4921919TT22TTTT53", "+49219198822888853"] {
            let err = phone(input, us(), "phone_number").unwrap_err();
            assert_eq!(
                err.to_string(),
                "Invalid phone_number: is not a valid phone number"
            );
        }
        // Fifteen digits are still a number where the region has them.
        assert!(phone("+4930123456", us(), "phone_number").is_ok());
    }

    /// The URI forms a number arrives in (`{}` is the number), and the plain spelling.
    const WRAPPERS: [&str; 12] = [
        "{}",
        "sip:{}@sip.twilio.com",
        "sips:{}@example.com;user=phone",
        "<sip:{}@10.0.0.7:5060;transport=udp>",
        "\"Sarah Chen\" <sip:{}@pbx.example.com;user=phone>;tag=as6f0c2a1b",
        "Sarah <sip:{}@pbx.example.com>",
        "sip:{}:secret@gateway.example.com",
        "sip:{};isub=12@gw.example.com;user=phone",
        "tel:{}",
        "TEL:{};tgrp=tg7;trunk-context=example.com",
        "<tel:{}>",
        "sip:{}@host?subject=call",
    ];

    #[test]
    fn accepts_the_usual_phone_forms() {
        let cases = [
            ("(415) 555-0192", "US", "+14155550192"),
            ("415.555.0192", "US", "+14155550192"),
            ("415-555-0192", "US", "+14155550192"),
            ("4155550192", "US", "+14155550192"),
            ("1 415 555 0192", "US", "+14155550192"),
            ("+1 415 555 0192", "US", "+14155550192"),
            ("+14155550192", "US", "+14155550192"),
            ("  +14155550192  ", "US", "+14155550192"),
            ("tel:+1-415-555-0192", "US", "+14155550192"),
            ("011 44 20 7946 0958", "US", "+442079460958"),
            ("+44 20 7946 0958", "US", "+442079460958"),
            ("020 7946 0958", "GB", "+442079460958"),
            ("+14155550192", "GB", "+14155550192"),
            // A country code is never shortened by the default region's national prefix.
            ("+33 1 42 68 53 00", "US", "+33142685300"),
            ("+44 113 496 0000", "US", "+441134960000"),
            ("+31 10 123 4567", "US", "+31101234567"),
            ("+86 10 6552 9988", "US", "+861065529988"),
            ("00 33 1 42 68 53 00", "FR", "+33142685300"),
            ("01 42 68 53 00", "FR", "+33142685300"),
            ("tel:0791234567;phone-context=+41", "US", "+41791234567"),
            // URI forms, as telephony delivers them.
            ("sip:+14155550192@sip.twilio.com", "US", "+14155550192"),
            ("<sip:+14155550192@host>", "US", "+14155550192"),
            (
                "sips:+14155550192@example.com;user=phone",
                "US",
                "+14155550192",
            ),
            (
                "\"Sarah\" <sip:+14155550192@host;user=phone>;tag=9fxced76sl",
                "US",
                "+14155550192",
            ),
            (
                "\"Zoë Brontë\" <sip:+14155550192@host>",
                "US",
                "+14155550192",
            ),
            ("sip:%2B14155550192@host", "US", "+14155550192"),
            (
                "sip:4155550192@10.0.0.5:5060;transport=udp",
                "US",
                "+14155550192",
            ),
            (
                "SIP:+442079460958@trunk.example.co.uk",
                "US",
                "+442079460958",
            ),
            ("sip:02079460958@pbx.example.co.uk", "GB", "+442079460958"),
            ("TEL:+1-415-555-0192", "US", "+14155550192"),
            ("tel:0791234567;phone-context=%2B41", "US", "+41791234567"),
            (
                "sip:0791234567;phone-context=+41@gw.example.ch;user=phone",
                "US",
                "+41791234567",
            ),
            ("tel:+1-415-555-0192;isub=1411", "US", "+14155550192"),
        ];
        for (input, region, expected) in cases {
            let region: PhoneRegion = region.parse().unwrap();
            assert_eq!(
                phone(input, region, "phone_number").unwrap(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_phone_identity() {
        let long = "1".repeat(MAX_PHONE_INPUT_CHARS + 1);
        let long_uri = format!("sip:+14155550192@{}.example.com", "h".repeat(250));
        let cases: [(&str, &str); 24] = [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("anonymous", "is not a phone number"),
            ("unknown", "is not a phone number"),
            ("Restricted", "is not a phone number"),
            ("12345", "is not a valid phone number"),
            ("+266696687", "is not a valid phone number"),
            ("+1 415 555 0192 ext. 12", "must not include an extension"),
            ("415-555-0192 x12", "must not include an extension"),
            (
                "tel:+1-415-555-0192;ext=12",
                "must not include an extension",
            ),
            (&long, "is too long"),
            ("+1415555\u{0}0192", "contains control characters"),
            ("+0123456789", "is not a phone number"),
            ("+", "is not a phone number"),
            ("+1 415 555 ０１９２", "is not a phone number"),
            ("sip:alice@example.com", "is not a phone number"),
            ("client:alice", "is not a phone number"),
            ("client:4155550192", "is not a phone number"),
            (
                "sip:+14155550192;ext=12@host",
                "must not include an extension",
            ),
            (
                "sip:+358-555-1234567;postd=pp22@foo.com",
                "must not include an extension",
            ),
            ("\"Sarah\" <sip:+14155550192@host", "is not a phone number"),
            ("sip:%2B1415555%000192@host", "is not a phone number"),
            (&long_uri, "is too long"),
            ("sip:+1415555\u{0}0192@host", "contains control characters"),
        ];
        for (input, reason) in cases {
            match phone(input, us(), "phone_number") {
                Err(Error::InvalidField { field, reason: got }) => {
                    assert_eq!(field, "phone_number", "{input}");
                    assert_eq!(got, reason, "{input}");
                }
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn phone_errors_never_carry_the_number() {
        for input in ["+266696687", "415555019", "+1 415 555 0192 ext. 12"] {
            let message = phone(input, us(), "phone_number").unwrap_err().to_string();
            assert!(!message.contains("555"), "{message}");
            assert!(!message.contains("6696687"), "{message}");
        }
    }

    #[test]
    fn accepts_and_canonicalizes_emails() {
        let cases = [
            ("Sarah@Example.com", "sarah@example.com"),
            ("  sarah@example.com\t", "sarah@example.com"),
            ("sarah.chen+tag@example.com", "sarah.chen+tag@example.com"),
            ("s@bücher.example", "s@xn--bcher-kva.example"),
            ("S@BÜCHER.example", "s@xn--bcher-kva.example"),
            ("o'neil@sub.example.co.uk", "o'neil@sub.example.co.uk"),
        ];
        for (input, expected) in cases {
            assert_eq!(email(input, "email").unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn rejects_invalid_emails() {
        let long_local = format!("{}@example.com", "a".repeat(250));
        for input in [
            "",
            "sarah",
            "sarah@",
            "@example.com",
            "sarah@localhost",
            "sarah chen@example.com",
            "sarah@exa mple.com",
            "Sarah <sarah@example.com>",
            "sarah@[127.0.0.1]",
            "sarah..chen@example.com",
            "sarah@-example.com",
            long_local.as_str(),
        ] {
            let err = email(input, "email").unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_REQUEST", "{input}");
            assert!(!err.to_string().contains("sarah"), "{input}");
        }
    }

    #[test]
    fn external_ids_are_trimmed_and_exact() {
        assert_eq!(
            external_id("  crm-8812 ", "external_id").unwrap(),
            "crm-8812"
        );
        assert_eq!(external_id("CRM-8812", "external_id").unwrap(), "CRM-8812");
        assert_eq!(
            external_id(&"é".repeat(256), "external_id")
                .unwrap()
                .chars()
                .count(),
            256
        );
        for input in [
            String::new(),
            " \t ".into(),
            "x".repeat(257),
            "crm\u{0}1".into(),
        ] {
            assert!(external_id(&input, "external_id").is_err(), "{input:?}");
        }
    }

    #[test]
    fn phone_candidates_are_guessed_only_for_plain_spellings() {
        let ca: PhoneRegion = "CA".parse().unwrap();
        let gb: PhoneRegion = "GB".parse().unwrap();
        for (input, region, expected) in [
            ("+14155550192", us(), Some("+14155550192")),
            ("+442079460958", gb, Some("+442079460958")),
            ("(415) 555-0192", us(), Some("+14155550192")),
            ("1-415-555-0192", us(), Some("+14155550192")),
            ("+1 415 555 0192", ca, Some("+14155550192")),
            ("020 7946 0958", gb, None),
            ("415 555 0192 x12", us(), None),
            ("tel:+1-415-555-0192", us(), Some("+14155550192")),
            (
                "sip:+14155550192@host;user=phone",
                us(),
                Some("+14155550192"),
            ),
            ("\"Sarah\" <sip:4155550192@pbx>", us(), Some("+14155550192")),
            ("tel:4155550192;phone-context=+1", us(), None),
            ("sip:+14155550192;ext=1@host", us(), None),
            ("sip:alice@host", us(), None),
            ("555-0192", us(), None),
            ("+0123456789", us(), None),
        ] {
            assert_eq!(
                phone_candidate(input, region).as_deref(),
                expected,
                "{input}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The byte test finds exactly the characters `char::is_control` does.
        #[test]
        fn the_control_character_test_agrees_with_the_standard_one(text in "\\PC*|[\\x00-\\x{ff}]{0,20}|.{0,5}") {
            proptest::prop_assert_eq!(has_control(&text), text.chars().any(char::is_control));
        }

        /// No input crashes normalization.
        #[test]
        fn any_text_is_accepted_or_rejected_without_panic(input in "\\PC*|[0-9+() .x-]{0,40}") {
            for kind in IdentifierType::ALL {
                let _ = identifier(kind, &input, us(), "field");
            }
        }

        /// A stored value normalizes to itself, so a lookup by it finds it again.
        #[test]
        fn normalization_is_idempotent(
            text in "\\+[1-9][0-9]{7,14}|\\+[1-9] ?[0-9]{2,4} ?[0-9]{3,8}|[0-9 ().-]{6,18}|0[0-9]{9,11}",
            region in proptest::sample::select(vec!["US", "GB", "IN", "DE", "FR", "BR", "AU", "CA"]),
        ) {
            let region: PhoneRegion = region.parse().unwrap();
            if let Ok(e164) = phone(&text, region, "phone_number") {
                proptest::prop_assert_eq!(phone(&e164, region, "phone_number").ok(), Some(e164.clone()));
            }
        }

        /// Any valid number's E.164 is accepted, unchanged, under any default region.
        #[test]
        fn a_valid_numbers_e164_is_accepted_under_any_default_region(
            text in "\\+[1-9][0-9]{6,14}",
            region in proptest::sample::select(PhoneRegion::SUPPORTED.to_vec()),
        ) {
            if let Ok(e164) = phone(&text, us(), "p") {
                let region: PhoneRegion = region.parse().unwrap();
                proptest::prop_assert_eq!(phone(&e164, region, "p").ok(), Some(e164));
            }
        }

        /// Whenever the cheap guess is a valid stored form, the full parse of the input
        /// gives exactly it — so finding the guess stored proves the answer. Plain
        /// spellings and the same wrapped in the URI forms telephony sends.
        #[test]
        fn phone_candidate_agrees_with_the_full_parse(
            number in "[+]?[0-9 ().-]{0,20}|\\(?[2-9][0-9]{2}\\)? ?[2-9][0-9]{2}[-. ]?[0-9]{4}|\\+1 ?[2-9][0-9]{2} ?[0-9]{3} ?[0-9]{4}|\\+[1-9][0-9]{7,14}",
            wrapper in proptest::sample::select(WRAPPERS.to_vec()),
            canada in proptest::bool::ANY,
        ) {
            let region: PhoneRegion = if canada { "CA" } else { "US" }.parse().unwrap();
            let text = wrapper.replace("{}", &number);
            if let Some(candidate) = phone_candidate(&text, region) {
                if phone(&candidate, region, "p").ok().as_deref() == Some(candidate.as_str()) {
                    proptest::prop_assert_eq!(phone(&text, region, "p").ok(), Some(candidate), "{}", text);
                }
            }
        }

        /// A URI-wrapped spelling of any valid number normalizes like the bare number.
        #[test]
        fn a_uri_wrapped_number_normalizes_like_the_bare_number(
            number in "\\+[1-9][0-9]{6,14}|\\(?[2-9][0-9]{2}\\)? ?[2-9][0-9]{2}[-.]?[0-9]{4}|0[1-9][0-9]{8,10}",
            wrapper in proptest::sample::select(WRAPPERS.to_vec()),
            region in proptest::sample::select(vec!["US", "GB", "DE", "FR", "IN", "BR", "AU", "CH"]),
        ) {
            let region: PhoneRegion = region.parse().unwrap();
            if let Ok(bare) = phone(&number, region, "p") {
                // Inside a URI a space is written %20.
                let written = if wrapper == "{}" { number.clone() } else { number.replace(' ', "%20") };
                let text = wrapper.replace("{}", &written);
                proptest::prop_assert_eq!(phone(&text, region, "p").ok(), Some(bare), "{}", text);
            }
        }

        /// Valid numbers in any common US spelling normalize to one value.
        #[test]
        fn us_spellings_agree(area in 201u32..990, exchange in 200u32..999, line in 0u32..9999) {
            let e164 = format!("+1{area}{exchange}{line:04}");
            if let Ok(canonical) = phone(&e164, us(), "phone_number") {
                for spelling in [
                    format!("({area}) {exchange}-{line:04}"),
                    format!("{area}.{exchange}.{line:04}"),
                    format!("+1 {area} {exchange} {line:04}"),
                    format!("tel:+1-{area}-{exchange}-{line:04}"),
                ] {
                    proptest::prop_assert_eq!(phone(&spelling, us(), "phone_number").ok(), Some(canonical.clone()));
                }
            }
        }
    }
}
