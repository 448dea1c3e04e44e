//! Phone numbers in URI form, as telephony delivers them: SIP and SIPS URIs whose user
//! part is a number (RFC 3261 §19.1; with `user=phone` the user part is an RFC 3966
//! number, parameters included), `tel:` URIs (RFC 3966, `;phone-context=` for a local
//! number), either one inside a name-addr with a display name
//! (`"Sarah" <sip:+14155550192@host;user=phone>;tag=9fxced76sl`), and Twilio's
//! `client:` identities, which are never numbers.
//!
//! This is string work only, cheap enough to run before the lookup-first guess of a
//! known caller: the number found is handed to libphonenumber by [`super::phone`].
//! Every index used to slice is the position of an ASCII delimiter, so no slice can
//! split a character.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// What a phone input holds once the URI around it is taken off.
pub(crate) enum Unwrapped<'a> {
    /// Not a URI (or a bare number in angle brackets): the text to parse as is.
    Bare(&'a str),
    /// The number of a SIP or tel URI, with what its parameters say.
    Uri(UriNumber<'a>),
    /// A URI that holds no number (`sip:alice@example.com`, `client:alice`): its user
    /// part, decoded, when it has one — a withheld caller is recognized by it
    /// (`sip:anonymous@anonymous.invalid`).
    NotNumber(Option<Cow<'a, str>>),
}

/// The number of a SIP or tel URI.
pub(crate) struct UriNumber<'a> {
    /// The digits as written, with `+` and visual separators (`+1-415-555-0192`),
    /// percent-decoded.
    pub number: Cow<'a, str>,
    /// The `phone-context` parameter of a local number (`+41`, or a domain).
    pub context: Option<Cow<'a, str>>,
    /// An `ext` or `postd` (post-dial digits) parameter: an extension, which is not an
    /// identity of its own here.
    pub extension: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sip,
    Tel,
    Client,
}

/// The schemes that are unwrapped, matched without regard to case (RFC 3986 §3.1).
const SCHEMES: [(&str, Scheme); 4] = [
    ("sip:", Scheme::Sip),
    ("sips:", Scheme::Sip),
    ("tel:", Scheme::Tel),
    ("client:", Scheme::Client),
];

/// Whether the input is written as a URI or a name-addr, and so is unwrapped. Any
/// other text goes to libphonenumber as it is, as before URIs were understood.
pub(crate) fn is_uri_form(text: &str) -> bool {
    text.starts_with('"') || position(text, b'<').is_some() || scheme(text).is_some()
}

/// The position of the first `byte` (an ASCII delimiter): a plain loop, cheaper than a
/// string search on the short parts of a caller id.
fn position(text: &str, byte: u8) -> Option<usize> {
    text.bytes().position(|b| b == byte)
}

fn scheme(text: &str) -> Option<(Scheme, &str)> {
    let bytes = text.as_bytes();
    // Most input is a number: no scheme starts with a digit or `+`.
    if !bytes
        .first()
        .is_some_and(|b| matches!(b | 0x20, b's' | b't' | b'c'))
    {
        return None;
    }
    SCHEMES.iter().find_map(|(prefix, scheme)| {
        let head = bytes.get(..prefix.len())?;
        // The prefix ends with `:`, so the rest starts on a character boundary.
        head.eq_ignore_ascii_case(prefix.as_bytes())
            .then(|| (*scheme, &text[prefix.len()..]))
    })
}

/// Takes the URI (and any name-addr) off a trimmed phone input.
pub(crate) fn unwrap(text: &str) -> Unwrapped<'_> {
    let Some(spec) = addr_spec(text) else {
        return Unwrapped::NotNumber(None);
    };
    let Some((scheme, body)) = scheme(spec) else {
        return Unwrapped::Bare(spec);
    };
    let user = match scheme {
        Scheme::Tel => body.trim_ascii(),
        Scheme::Client => return Unwrapped::NotNumber(decoded(body.trim_ascii())),
        Scheme::Sip => sip_user(body),
    };
    let (number, parameters) = match position(user, b';') {
        Some(at) => (&user[..at], &user[at + 1..]),
        None => (user, ""),
    };
    let Some(number) = decoded(number) else {
        return Unwrapped::NotNumber(None);
    };
    if !is_numeric(&number) {
        return Unwrapped::NotNumber(Some(number));
    }
    let mut found = UriNumber {
        number,
        context: None,
        extension: false,
    };
    for parameter in parameters.split(';').filter(|p| !p.is_empty()) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let name = name.trim_ascii();
        if name.eq_ignore_ascii_case("phone-context") {
            match decoded(value.trim_ascii()) {
                Some(context) => found.context = Some(context),
                None => return Unwrapped::NotNumber(None),
            }
        } else if name.eq_ignore_ascii_case("ext") || name.eq_ignore_ascii_case("postd") {
            found.extension = true;
        }
        // Anything else (`isub`, trunk groups, `npdi`, `rn`, …) does not change whose
        // number it is.
    }
    Unwrapped::Uri(found)
}

/// The addr-spec of a name-addr (`"Sarah" <sip:…>;tag=…` → `sip:…`), or the text
/// itself when it has no angle brackets. `None` for a display name without an address
/// or an unclosed bracket.
fn addr_spec(text: &str) -> Option<&str> {
    let rest = match text.strip_prefix('"') {
        Some(quoted) => {
            let end = closing_quote(quoted)?;
            quoted[end + 1..].trim_ascii_start()
        }
        None => text,
    };
    match position(rest, b'<') {
        Some(open) => {
            let inside = &rest[open + 1..];
            let close = position(inside, b'>')?;
            Some(inside[..close].trim_ascii())
        }
        None if rest.len() == text.len() => Some(text),
        None => None,
    }
}

/// The display name of a name-addr (`"Anonymous" <sip:…>` → `Anonymous`), quotes and
/// escapes removed; `None` without one.
pub(crate) fn display_name(text: &str) -> Option<Cow<'_, str>> {
    if let Some(quoted) = text.strip_prefix('"') {
        let end = closing_quote(quoted)?;
        let inner = &quoted[..end];
        return Some(if inner.contains('\\') {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if escaped || c != '\\' {
                    out.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            Cow::Owned(out)
        } else {
            Cow::Borrowed(inner)
        });
    }
    let before = text.split_once('<')?.0.trim();
    (!before.is_empty()).then_some(Cow::Borrowed(before))
}

/// The position of the `"` that ends a quoted string (after its opening quote),
/// skipping `\`-escaped characters (RFC 3261 quoted-pair).
fn closing_quote(quoted: &str) -> Option<usize> {
    let bytes = quoted.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The user part of a SIP URI's body: before the host (`@`) and without a password
/// (`userinfo = user [":" password]`, RFC 3261 §25.1; the user part keeps its
/// telephone-subscriber parameters). Headers (`?subject=…`) are dropped. A URI
/// without `@` (`sip:+14155550192;user=phone`, seen from gateways) is read as a user
/// part up to its URI parameters.
fn sip_user(body: &str) -> &str {
    match position(body, b'@') {
        // Headers come after the host.
        Some(at) => {
            let userinfo = &body[..at];
            &userinfo[..position(userinfo, b':').unwrap_or(userinfo.len())]
        }
        None => body.split([';', '?']).next().unwrap_or(""),
    }
}

/// Percent-decodes (RFC 3986 §2.1: `%2B14155550192` is `+14155550192`); `None` when
/// the bytes are not UTF-8.
fn decoded(text: &str) -> Option<Cow<'_, str>> {
    if position(text, b'%').is_none() {
        return Some(Cow::Borrowed(text));
    }
    percent_decode_str(text).decode_utf8().ok()
}

/// A number as a URI writes it: an optional leading `+`, digits and the visual
/// separators of RFC 3966 (`-`, `.`, `(`, `)`; spaces when percent-encoded), at least
/// one digit.
fn is_numeric(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'(' | b')' | b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Option<(String, Option<String>, bool)> {
        match unwrap(text) {
            Unwrapped::Uri(n) => Some((
                n.number.into_owned(),
                n.context.map(Cow::into_owned),
                n.extension,
            )),
            _ => None,
        }
    }

    #[test]
    fn unwraps_the_number_of_sip_and_tel_uris() {
        let plain = |n: &str| Some((n.to_owned(), None, false));
        assert_eq!(
            number("sip:+14155550192@sip.twilio.com"),
            plain("+14155550192")
        );
        assert_eq!(
            number("SIPS:+14155550192@example.com;user=phone"),
            plain("+14155550192")
        );
        assert_eq!(number("<sip:+14155550192@host>"), plain("+14155550192"));
        assert_eq!(
            number("\"Sarah \\\"S\\\" Chen\" <sip:+14155550192@host;user=phone>;tag=1928301774"),
            plain("+14155550192")
        );
        assert_eq!(
            number("Sarah Chen <sip:4155550192@pbx.local>"),
            plain("4155550192")
        );
        assert_eq!(number("sip:%2B14155550192@host"), plain("+14155550192"));
        assert_eq!(
            number("sip:+1-212-555-1212:1234@gateway.com;user=phone"),
            plain("+1-212-555-1212")
        );
        assert_eq!(number("sip:+14155550192;user=phone"), plain("+14155550192"));
        assert_eq!(
            number("sip:+14155550192@host?subject=x"),
            plain("+14155550192")
        );
        assert_eq!(number("Tel:+1-415-555-0192"), plain("+1-415-555-0192"));
        assert_eq!(
            number("tel:0791234567;phone-context=+41"),
            Some(("0791234567".into(), Some("+41".into()), false))
        );
        assert_eq!(
            number("sip:0791234567;phone-context=%2B41@example.ch;user=phone"),
            Some(("0791234567".into(), Some("+41".into()), false))
        );
        assert_eq!(
            number("tel:+1-415-555-0192;EXT=12"),
            Some(("+1-415-555-0192".into(), None, true))
        );
        assert_eq!(
            number("sip:+358-555-1234567;postd=pp22@foo.com;user=phone"),
            Some(("+358-555-1234567".into(), None, true))
        );
        assert_eq!(
            number("tel:+1-415-555-0192;isub=1411;tgrp=tg1;trunk-context=example.com"),
            plain("+1-415-555-0192")
        );
    }

    #[test]
    fn uris_without_a_number_hold_none() {
        for text in [
            "sip:alice@example.com",
            "client:alice",
            "sip:anonymous@anonymous.invalid",
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1",
            "sip:atlanta.com;method=REGISTER",
            "\"Sarah\"",
            "<sip:+14155550192@host",
            "sip:%FF@host",
            "tel:",
            "sip:@host",
        ] {
            assert!(number(text).is_none(), "{text}");
            assert!(is_uri_form(text), "{text}");
        }
        assert!(matches!(
            unwrap("sip:Anonymous@anonymous.invalid"),
            Unwrapped::NotNumber(Some(user)) if user == "Anonymous"
        ));
        assert!(matches!(
            unwrap("<+14155550192>"),
            Unwrapped::Bare("+14155550192")
        ));
    }

    #[test]
    fn display_names_are_read_without_quotes() {
        assert_eq!(
            display_name("\"Anonymous\" <sip:x@h>").as_deref(),
            Some("Anonymous")
        );
        assert_eq!(
            display_name("\"A \\\"B\\\" C\" <sip:x@h>").as_deref(),
            Some("A \"B\" C")
        );
        assert_eq!(
            display_name("Anonymous <sip:x@h>").as_deref(),
            Some("Anonymous")
        );
        assert_eq!(display_name("<sip:x@h>"), None);
        assert_eq!(display_name("sip:x@h"), None);
    }

    #[test]
    fn plain_spellings_are_not_uri_forms() {
        for text in [
            "+14155550192",
            "(415) 555-0192",
            "011 44 20 7946 0958",
            "anonymous",
        ] {
            assert!(!is_uri_form(text), "{text}");
        }
    }

    proptest::proptest! {
        /// Unwrapping takes any text without panicking.
        #[test]
        fn any_text_unwraps_without_panic(text in "\\PC*|[\"<>@:;=%+0-9a-z]{0,40}") {
            let _ = unwrap(&text);
            let _ = is_uri_form(&text);
        }
    }
}
