//! What telephony sends instead of a number when the caller's id is withheld: the
//! one list of those values, each with where it comes from.
//!
//! A value is recognized in the caller id itself or, for a URI, in its user part
//! (`"Anonymous" <sip:anonymous@anonymous.invalid>;tag=…` → `anonymous`). Words are
//! compared without regard to ASCII case; numbers by their digits, written with `+`
//! (`+266696687`, `+266 696 687`).
//!
//! No value of the list is a valid phone number in any region (a test checks each
//! against every region libphonenumber knows), so a withheld id is never mistaken for
//! a caller's number, nor a number for a withheld id.

use std::borrow::Cow;

use crate::limits::MAX_PHONE_URI_CHARS;
use crate::normalize::{self, Unwrapped};

/// Words that stand for a withheld caller id, and their sources.
pub(crate) const WITHHELD_WORDS: &[(&str, &str)] = &[
    (
        "anonymous",
        "RFC 3323 §4.1.1.3 (the From of a private SIP request is \"Anonymous\" \
         <sip:anonymous@anonymous.invalid>); Asterisk and FreeSWITCH set the caller \
         number to it when presentation is restricted; Twilio passes it through as \
         the alpha form of +266696687",
    ),
    (
        "anonymous@anonymous.invalid",
        "RFC 3323 §4.1.1.3: the anonymous SIP URI, sometimes delivered without its scheme",
    ),
    (
        "restricted",
        "Twilio (the alpha form of +7378742833); carriers' caller-name value for *67 calls",
    ),
    ("unavailable", "Twilio (the alpha form of +86282452253)"),
    (
        "unknown",
        "Twilio (the alpha form of +8656696); Asterisk's CALLERID(num) when none came",
    ),
    ("blocked", "Twilio (the alpha form of +2562533)"),
    (
        "private",
        "SIP trunks and PBXs (Cisco CUCM, 3CX) for a caller with presentation restricted",
    ),
    (
        "withheld",
        "UK networks' display for a withheld CLI (Ofcom's CLI guidelines)",
    ),
    (
        "private number",
        "carriers' caller-name value for a withheld id",
    ),
    (
        "unknown caller",
        "carriers' caller-name value for a missing id",
    ),
    (
        "no caller id",
        "carriers' caller-name value for a missing id",
    ),
    (
        "out of area",
        "carriers' caller-name value for an id not delivered across networks",
    ),
    (
        "o",
        "Telcordia GR-30-CORE caller-ID data: reason for absence 'O', out of area \
         (analog lines, as caller-ID modems print it)",
    ),
    (
        "p",
        "Telcordia GR-30-CORE caller-ID data: reason for absence 'P', private",
    ),
];

/// Numbers (as digits) that stand for a withheld caller id, and their sources.
pub(crate) const WITHHELD_NUMBERS: &[(&str, &str)] = &[
    (
        "266696687",
        "Twilio: ANONYMOUS spelled on a telephone keypad, the From of a call whose id is \
         withheld (Twilio support, \"Why am I getting calls from these strange numbers?\")",
    ),
    (
        "7378742833",
        "Twilio: RESTRICTED on a keypad (same article)",
    ),
    ("2562533", "Twilio: BLOCKED on a keypad (same article)"),
    ("8656696", "Twilio: UNKNOWN on a keypad (same article)"),
    (
        "86282452253",
        "Twilio: UNAVAILABLE on a keypad (same article)",
    ),
    (
        "7748283",
        "PRIVATE on a keypad: the same convention applied to another alpha value \
         carriers send for a withheld id",
    ),
];

/// Whether the caller id says the number is withheld. Empty (or blank) counts: an
/// Asterisk channel without caller id has an empty `${CALLERID(num)}`.
pub(crate) fn is_withheld(raw: &str) -> bool {
    let text = raw.trim();
    if text.is_empty() {
        return true;
    }
    if text.len() > 4 * MAX_PHONE_URI_CHARS {
        return false;
    }
    let user: Cow<'_, str> = if normalize::is_uri_form(text) {
        match normalize::unwrap_uri(text) {
            Unwrapped::Bare(inner) => Cow::Borrowed(inner),
            Unwrapped::Uri(found) => found.number,
            // A URI without a number whose display name says it is withheld: RFC 3261
            // §20.20's `"Anonymous" <sip:c8oqz84zk7z@privacy.org>`.
            Unwrapped::NotNumber(user) => {
                let shown = normalize::display_name(text);
                if shown.is_some_and(|name| is_withheld_word(name.trim())) {
                    return true;
                }
                match user {
                    Some(user) => user,
                    None => return false,
                }
            }
        }
    } else {
        Cow::Borrowed(text)
    };
    let user = user.trim();
    if user.is_empty() && !normalize::is_uri_form(text) {
        return true;
    }
    is_withheld_word(user) || withheld_digits(user)
}

fn is_withheld_word(text: &str) -> bool {
    WITHHELD_WORDS
        .iter()
        .any(|(word, _)| text.eq_ignore_ascii_case(word))
}

/// A number-shaped value that is a withheld sentinel: one of [`WITHHELD_NUMBERS`]
/// written with its `+` (as Twilio sends them — without it, `7378742833` is a number
/// in Austin, Texas), or zeros only, with or without `+`: FreeSWITCH's default
/// `caller_id_number` is `0000000000`, and PBXs and carriers zero-fill a missing
/// calling number; no real number is all zeros.
fn withheld_digits(text: &str) -> bool {
    let (plus, body) = match text.strip_prefix('+') {
        Some(body) => (true, body),
        None => (false, text),
    };
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
    {
        return false;
    }
    let digits = || body.bytes().filter(u8::is_ascii_digit);
    if digits().next().is_none() {
        return false;
    }
    digits().all(|b| b == b'0')
        || (plus && WITHHELD_NUMBERS.iter().any(|(d, _)| digits().eq(d.bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_value_is_recognized_in_every_form() {
        for (word, source) in WITHHELD_WORDS {
            assert!(!source.is_empty());
            assert!(is_withheld(word), "{word}");
            assert!(is_withheld(&word.to_uppercase()), "{word}");
            assert!(is_withheld(&format!("  {word}\t")), "{word}");
            if !word.contains(['@', ' ']) {
                assert!(
                    is_withheld(&format!("sip:{word}@pbx.example.com")),
                    "{word}"
                );
                assert!(
                    is_withheld(&format!("\"Caller\" <sip:{word}@h>;tag=1")),
                    "{word}"
                );
            }
        }
        for (digits, source) in WITHHELD_NUMBERS {
            assert!(!source.is_empty());
            assert!(!is_withheld(digits), "{digits} without + may be a number");
            assert!(is_withheld(&format!("+{digits}")), "{digits}");
            assert!(
                is_withheld(&format!("sip:+{digits}@sip.twilio.com")),
                "{digits}"
            );
            assert!(is_withheld(&format!("tel:+{digits}")), "{digits}");
        }
        for zeros in [
            "0000000000",
            "+0000000000",
            "000",
            "sip:0000000000@10.0.0.1",
        ] {
            assert!(is_withheld(zeros), "{zeros}");
        }
        assert!(is_withheld(
            "\"Anonymous\" <sip:c8oqz84zk7z@privacy.org>;tag=hyh8"
        ));
        assert!(is_withheld("Restricted <sip:x7f@privacy.example>"));
        for empty in ["", "   ", "\t"] {
            assert!(is_withheld(empty), "{empty:?}");
        }
    }

    /// Each withheld value, as it is recognized, is not a valid number under any
    /// default region: classification can try a number first or last alike.
    #[test]
    fn no_withheld_value_is_a_valid_number_in_any_region() {
        let mut values: Vec<String> = WITHHELD_WORDS
            .iter()
            .map(|(w, _)| (*w).to_owned())
            .collect();
        values.extend(WITHHELD_NUMBERS.iter().map(|(d, _)| format!("+{d}")));
        values.extend(
            [
                "0000000000",
                "+0000000000",
                "000",
                "0",
                "",
                "sip:anonymous@h",
            ]
            .map(String::from),
        );
        for code in crate::settings::PhoneRegion::SUPPORTED {
            let region: crate::settings::PhoneRegion = code.parse().unwrap();
            for v in &values {
                assert!(is_withheld(v), "{v}");
                assert!(
                    normalize::phone(v, region, "p").is_err(),
                    "{v} is a valid number under {code}"
                );
            }
        }
    }

    #[test]
    fn real_numbers_and_names_are_not_withheld() {
        for text in [
            "+14155550192",
            "sip:+14155550192@host",
            "\"Anonymous\" <sip:+14155550192@host>",
            "sip:alice@example.com",
            "anonymous caller from 415",
            "AMAZON",
            "72975",
            "+2662533",
            "<>",
            "\"Sarah\" <sip:c8oqz84zk7z@privacy.org>",
        ] {
            assert!(!is_withheld(text), "{text}");
        }
    }
}
