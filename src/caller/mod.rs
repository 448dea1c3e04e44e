//! Caller ids as telephony delivers them (contract §9): a phone number in any spelling
//! or URI form, a withheld id, an SMS short code or an alphanumeric sender id — told
//! apart by [`classify_caller`], a pure function.

mod withheld;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::normalize::{self, Unwrapped};
use crate::settings::PhoneRegion;

pub(crate) use withheld::is_withheld;

/// What a caller id is.
///
/// Serialized with its `kind`: `{"kind": "number", "phone_number": "+14155550192"}`,
/// `{"kind": "withheld"}`, `{"kind": "short_code", "code": "72975"}`,
/// `{"kind": "alphanumeric", "sender": "AMAZON"}`, `{"kind": "invalid"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Caller {
    /// A phone number, in E.164.
    Number {
        /// The number, as stored (`+14155550192`).
        phone_number: String,
    },
    /// The caller's number was withheld (`anonymous`, `+266696687`, empty, …): ask
    /// who is calling.
    Withheld,
    /// An SMS short code (`72975`) or a PBX extension: 3 to 8 digits that are not a
    /// valid number of the region.
    ShortCode {
        /// The digits.
        code: String,
    },
    /// An alphanumeric SMS sender id (`AMAZON`): up to 11 letters, digits, spaces and
    /// `-` `.` `_` `&` `'`, at least one letter.
    Alphanumeric {
        /// The sender id, trimmed.
        sender: String,
    },
    /// None of the above: garbage, an invalid number, a number with an extension, a
    /// URI without a number (`sip:alice@example.com`, `client:alice`).
    Invalid,
}

/// Shortest and longest short code, in digits. US and Canadian common short codes
/// have 5 or 6 digits (CTIA, CWTA), the UK's 5; many countries' operator and service
/// codes have 3 or 4 (`333`, `8888`), and Australia's premium SMS numbers 8
/// (`1900 1234` written `19001234`). Fewer digits are a keypad code, more a phone
/// number (valid or not).
pub(crate) const SHORT_CODE_DIGITS: std::ops::RangeInclusive<usize> = 3..=8;

/// Longest alphanumeric sender id: GSM 03.40's alphanumeric originating address holds
/// 11 characters (Twilio, Vonage and the carriers document the same limit).
pub(crate) const SENDER_ID_CHARS: usize = 11;

/// Classifies a caller id: withheld, else a phone number (normalized against `region`
/// as [`normalize::phone`] does, URI forms included), else a short code, else an
/// alphanumeric sender id, else invalid. Pure and total: any text gives an answer,
/// never a panic.
///
/// ```
/// use contactstore::{classify_caller, Caller, PhoneRegion};
/// let us = PhoneRegion::default();
/// assert_eq!(classify_caller("\"Sarah\" <sip:+14155550192@host;user=phone>", us),
///            Caller::Number { phone_number: "+14155550192".into() });
/// assert_eq!(classify_caller("+266696687", us), Caller::Withheld);
/// assert_eq!(classify_caller("anonymous", us), Caller::Withheld);
/// assert_eq!(classify_caller("72975", us), Caller::ShortCode { code: "72975".into() });
/// assert_eq!(classify_caller("AMAZON", us), Caller::Alphanumeric { sender: "AMAZON".into() });
/// assert_eq!(classify_caller("sip:alice@example.com", us), Caller::Invalid);
/// assert_eq!(
///     serde_json::to_string(&classify_caller("72975", us)).unwrap(),
///     r#"{"kind":"short_code","code":"72975"}"#,
/// );
/// ```
pub fn classify_caller(raw: &str, region: PhoneRegion) -> Caller {
    classify(raw, region).unwrap_or(Caller::Invalid)
}

/// As [`classify_caller`], with the reason an invalid caller id is none of the kinds
/// (for the error of `resolve_caller`; it never repeats the input).
pub(crate) fn classify(raw: &str, region: PhoneRegion) -> Result<Caller, &'static str> {
    if is_withheld(raw) {
        return Ok(Caller::Withheld);
    }
    match normalize::phone(raw, region, "from") {
        Ok(phone_number) => Ok(Caller::Number { phone_number }),
        Err(e) => not_a_number(raw).ok_or_else(|| reason(&e)),
    }
}

/// The kind of a caller id that is neither withheld nor a valid number: a short code
/// or a sender id, if it is one.
pub(crate) fn not_a_number(raw: &str) -> Option<Caller> {
    let text = raw.trim();
    if text.len() > 4 * crate::limits::MAX_PHONE_URI_CHARS {
        return None;
    }
    if normalize::is_uri_form(text) {
        // A short code may come as the user part of a URI (`sip:1000@pbx`, an
        // extension); a URI is never a sender id.
        return match normalize::unwrap_uri(text) {
            Unwrapped::Uri(found) if !found.extension && found.context.is_none() => {
                short_code(found.number.trim())
            }
            Unwrapped::Bare(inner) => short_code(inner.trim()),
            _ => None,
        };
    }
    short_code(text).or_else(|| sender_id(text))
}

fn short_code(text: &str) -> Option<Caller> {
    (SHORT_CODE_DIGITS.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())).then(
        || Caller::ShortCode {
            code: text.to_owned(),
        },
    )
}

fn sender_id(text: &str) -> Option<Caller> {
    let allowed =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'.' | b'_' | b'&' | b'\'');
    (text.len() <= SENDER_ID_CHARS
        && text.bytes().all(allowed)
        && text.bytes().any(|b| b.is_ascii_alphabetic()))
    .then(|| Caller::Alphanumeric {
        sender: text.to_owned(),
    })
}

/// The reason of a phone number's rejection, for an invalid caller id: a specific one
/// (an extension, too long) as is, the generic one widened to the other kinds.
fn reason(e: &Error) -> &'static str {
    match e {
        Error::InvalidField { reason, .. } if *reason != "is not a phone number" => reason,
        _ => "is not a phone number, short code or sender id",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> PhoneRegion {
        PhoneRegion::default()
    }

    #[test]
    fn kinds_serialize_as_the_contract_shows() {
        let cases = [
            (
                Caller::Number {
                    phone_number: "+14155550192".into(),
                },
                r#"{"kind":"number","phone_number":"+14155550192"}"#,
            ),
            (Caller::Withheld, r#"{"kind":"withheld"}"#),
            (
                Caller::ShortCode {
                    code: "72975".into(),
                },
                r#"{"kind":"short_code","code":"72975"}"#,
            ),
            (
                Caller::Alphanumeric {
                    sender: "AMAZON".into(),
                },
                r#"{"kind":"alphanumeric","sender":"AMAZON"}"#,
            ),
            (Caller::Invalid, r#"{"kind":"invalid"}"#),
        ];
        for (caller, json) in cases {
            assert_eq!(serde_json::to_string(&caller).unwrap(), json);
            assert_eq!(serde_json::from_str::<Caller>(json).unwrap(), caller);
        }
    }

    #[test]
    fn short_codes_and_sender_ids_are_told_apart_from_numbers() {
        let code = |c: &str| Caller::ShortCode { code: c.into() };
        let sender = |s: &str| Caller::Alphanumeric { sender: s.into() };
        for (raw, expected) in [
            ("72975", code("72975")),
            ("333", code("333")),
            ("19001234", code("19001234")),
            ("sip:1000@pbx.local", code("1000")),
            ("12", Caller::Invalid),
            ("123456789", Caller::Invalid),
            ("+72975", Caller::Invalid),
            ("AMAZON", sender("AMAZON")),
            (" Uber Eats ", sender("Uber Eats")),
            ("M&S", sender("M&S")),
            ("VERIFY-2FA", sender("VERIFY-2FA")),
            ("ABCDEFGHIJKL", Caller::Invalid),
            ("sip:alice@example.com", Caller::Invalid),
            ("client:alice", Caller::Invalid),
            ("+1 415 555 0192 ext. 12", Caller::Invalid),
            ("tel:+1-415-555-0192;ext=12", Caller::Invalid),
        ] {
            assert_eq!(classify_caller(raw, us()), expected, "{raw}");
        }
    }

    #[test]
    fn an_invalid_caller_has_a_reason_that_does_not_repeat_it() {
        assert_eq!(
            classify("+1 415 555 0192 ext. 12", us()),
            Err("must not include an extension")
        );
        assert_eq!(
            classify("sip:alice@example.com", us()),
            Err("is not a phone number, short code or sender id")
        );
        assert_eq!(
            classify("+1415555019", us()),
            Err("is not a valid phone number")
        );
    }

    proptest::proptest! {
        /// Classification takes any text, never panics, and is total: every input has
        /// exactly one kind, a number is always in E.164 and classifies as itself.
        #[test]
        fn classification_is_total(
            raw in "\\PC*|[\"<>@:;=%+() .0-9a-zA-Z-]{0,60}|sip:\\+?[0-9]{3,15}@[a-z.]{1,12}",
        ) {
            match classify_caller(&raw, us()) {
                Caller::Number { phone_number } => {
                    proptest::prop_assert!(phone_number.starts_with('+'));
                    proptest::prop_assert_eq!(
                        classify_caller(&phone_number, us()),
                        Caller::Number { phone_number: phone_number.clone() }
                    );
                }
                Caller::ShortCode { code } => {
                    proptest::prop_assert!(SHORT_CODE_DIGITS.contains(&code.len()));
                }
                Caller::Alphanumeric { sender } => {
                    proptest::prop_assert!(sender.len() <= SENDER_ID_CHARS);
                }
                Caller::Withheld | Caller::Invalid => {}
            }
        }
    }
}
