//! Every size limit of the crate, and the checks that apply them.
//!
//! A limit exists so that hostile or mistaken input is refused with a
//! `BAD_REQUEST` naming the field before it costs anything: before it is parsed,
//! copied, serialized or stored. Checks never repeat the value in their errors.

use serde_json::Value;

use crate::error::{Error, Result};

type JsonObject = serde_json::Map<String, Value>;

/// Longest org id accepted, in characters.
pub const MAX_ORG_ID_CHARS: usize = 128;
/// Longest contact name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 1_000;
/// Longest persona id accepted, in characters.
pub const MAX_PERSONA_ID_CHARS: usize = 256;
/// Largest metadata object accepted, as compact JSON.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Longest free text accepted (summary, message content, description, notes), in
/// characters (Unicode scalar values, as JSON Schema's `maxLength` counts them).
pub const MAX_TEXT_CHARS: usize = 65_536;
/// Longest short key accepted (entity type and id, open item type, status), in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// Largest facts object accepted, as compact JSON.
pub const MAX_FACTS_BYTES: usize = 64 * 1024;
/// Deepest nesting accepted in stored JSON (metadata, facts), the object itself
/// counting as one level. Deeper values could not be read back (serde_json parses 128
/// levels, and an exported document adds a few), and are refused before they are
/// copied or serialized, both of which recurse.
pub const MAX_JSON_DEPTH: usize = 64;
/// Longest phone input looked at. Real numbers with formatting fit in well under this;
/// anything longer is refused before the (comparatively slow) parser sees it.
pub const MAX_PHONE_INPUT_CHARS: usize = 64;
/// Longest phone input in URI form looked at, display name and parameters included
/// (`"Sarah Chen" <sip:+14155550192@pbx.example.com;user=phone>;tag=…`). The number
/// inside it is held to [`MAX_PHONE_INPUT_CHARS`].
pub const MAX_PHONE_URI_CHARS: usize = 256;
/// Longest email address kept (RFC 5321's path limit, as the contract says).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest external id, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;
/// Longest record id (of a contact's identifier, memory, call or conversation) an
/// import may give, and longest id inside a list cursor, in characters.
pub const MAX_RECORD_ID_CHARS: usize = 128;
/// Page size of `list` when none is asked for.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page size of `list`.
pub const MAX_PAGE_SIZE: usize = 1_000;
/// Page size of the hosted API's list (`GET /v1/contacts`) when none is asked for.
pub const DEFAULT_OFFSET_PAGE_SIZE: usize = 50;
/// Largest page size of the hosted API's list.
pub const MAX_OFFSET_PAGE_SIZE: usize = 200;
/// Page size of the change log when none is asked for.
pub const DEFAULT_CHANGES_PAGE_SIZE: usize = 1_000;
/// Largest page of the change log.
pub const MAX_CHANGES_PAGE_SIZE: usize = 10_000;
/// Suggestions listed by `suggest_merges` when no limit is asked for.
pub const DEFAULT_SUGGESTIONS: usize = 50;
/// Most suggestions `suggest_merges` lists.
pub const MAX_SUGGESTIONS: usize = 1_000;
/// Largest group of contacts sharing one blocking key that `suggest_merges` compares
/// pair by pair (a larger group is a key too common to tell people apart, and would
/// cost its size squared).
pub const MAX_SUGGESTION_BLOCK: usize = 200;
/// Contacts `suggest_merges` reads in one statement while it streams an org.
pub const SUGGESTION_READ_PAGE: usize = 10_000;
/// At most this many line errors are kept in an import summary (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1_000;
/// At most this many details (SQLite's messages, or the records breaking an invariant)
/// are listed for each check of `check` (all are counted).
pub const MAX_CHECK_DETAILS: usize = 20;
/// Longest import line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;
/// Most identifiers one imported document may carry.
pub const MAX_IDENTIFIERS: usize = 100;
/// Most memories, open items per memory or entities per memory one document may carry.
pub const MAX_LIST_ITEMS: usize = 1_000;
/// Most entries a memory's `memory_history` keeps (the oldest are dropped).
pub const MAX_MEMORY_HISTORY: usize = 20;
/// Most entries an imported memory's `memory_history` may carry.
pub const MAX_IMPORTED_HISTORY: usize = 1_000;
/// Largest HTTP request body the shim accepts (1 MiB): room for any one field at its
/// limit — a [`MAX_TEXT_CHARS`] text of four-byte characters, or JSON-escaped control
/// characters, the largest metadata object ([`MAX_METADATA_BYTES`]) — beside the others.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Checks a short free-form key such as an org id or persona id: trimmed text,
/// non-empty, at most `max_chars` characters, no control characters.
pub(crate) fn key(input: &str, max_chars: usize, field: &'static str) -> Result<String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max_chars {
        return Err(Error::invalid(field, "is too long"));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(text.to_owned())
}

/// Checks an org id.
pub(crate) fn org_id(input: &str) -> Result<String> {
    key(input, MAX_ORG_ID_CHARS, "org_id")
}

/// Checks a persona id.
pub(crate) fn persona_id(input: &str) -> Result<String> {
    key(input, MAX_PERSONA_ID_CHARS, "persona_id")
}

/// Checks a record id given by an import.
pub(crate) fn record_id(input: &str, field: &'static str) -> Result<String> {
    key(input, MAX_RECORD_ID_CHARS, field)
}

/// Checks a short key (entity type and id, open item type, status) against
/// [`MAX_KEY_CHARS`].
pub(crate) fn short_key(text: &str, field: &'static str) -> Result<String> {
    key(text, MAX_KEY_CHARS, field)
}

/// Checks free text against [`MAX_TEXT_CHARS`].
pub(crate) fn text(text: &str, field: &'static str) -> Result<()> {
    // A text of at most that many bytes has at most that many characters: most texts
    // are never counted.
    if text.len() > MAX_TEXT_CHARS && text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(field, "is too long"));
    }
    Ok(())
}

/// Validates a contact name: `None` for absent or blank.
pub(crate) fn name(name: Option<&str>) -> Result<Option<String>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid("name", "is too long"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "contains control characters"));
    }
    Ok(Some(name.to_owned()))
}

/// Checks a name prefix of `list`.
pub(crate) fn name_prefix(prefix: &str) -> Result<()> {
    if prefix.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid("name_prefix", "is too long"));
    }
    Ok(())
}

/// Validates metadata: absent, null, or a JSON object of bounded depth and size.
pub(crate) fn metadata(metadata: Option<&Value>) -> Result<JsonObject> {
    match metadata {
        None | Some(Value::Null) => Ok(JsonObject::new()),
        Some(Value::Object(map)) => {
            metadata_object(map)?;
            Ok(map.clone())
        }
        Some(_) => Err(Error::invalid("metadata", "must be a JSON object")),
    }
}

/// Checks a metadata object against [`MAX_JSON_DEPTH`] and [`MAX_METADATA_BYTES`].
pub(crate) fn metadata_object(map: &JsonObject) -> Result<()> {
    nesting(map, "metadata")?;
    if compact_len(map) > MAX_METADATA_BYTES {
        return Err(Error::invalid("metadata", "is too large"));
    }
    Ok(())
}

/// Checks that a JSON object nests at most [`MAX_JSON_DEPTH`] levels, without
/// recursing (the value may be arbitrarily deep).
pub(crate) fn nesting(object: &JsonObject, field: &'static str) -> Result<()> {
    values_nest(object.values().map(|v| (v, 2)).collect(), field)
}

/// Checks that a JSON value nests at most [`MAX_JSON_DEPTH`] levels.
pub(crate) fn value_nesting(value: &Value, field: &'static str) -> Result<()> {
    values_nest(vec![(value, 1)], field)
}

fn values_nest(mut pending: Vec<(&Value, usize)>, field: &'static str) -> Result<()> {
    while let Some((value, depth)) = pending.pop() {
        let children: &mut dyn Iterator<Item = &Value> = match value {
            Value::Array(items) => &mut items.iter(),
            Value::Object(map) => &mut map.values(),
            _ => continue,
        };
        if depth > MAX_JSON_DEPTH {
            return Err(Error::invalid(field, "is nested too deeply"));
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// Checks a facts object against [`MAX_JSON_DEPTH`] and [`MAX_FACTS_BYTES`].
pub(crate) fn facts(facts: &JsonObject, field: &'static str) -> Result<()> {
    nesting(facts, field)?;
    if compact_len(facts) > MAX_FACTS_BYTES {
        return Err(Error::invalid(field, "is too large"));
    }
    Ok(())
}

/// Checks a count (a duration, a number of messages) is not negative.
pub(crate) fn count(value: i64, field: &'static str) -> Result<i64> {
    if value < 0 {
        return Err(Error::invalid(field, "must not be negative"));
    }
    Ok(value)
}

/// Checks a list of a document holds at most `max` entries.
pub(crate) fn entries(n: usize, max: usize, field: &'static str) -> Result<()> {
    if n > max {
        return Err(Error::invalid(field, "has too many entries"));
    }
    Ok(())
}

/// Checks a page size of `list`.
pub(crate) fn page_size(limit: usize) -> Result<usize> {
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(limit)
}

/// Checks a page size of the change log.
pub(crate) fn changes_page_size(limit: usize) -> Result<usize> {
    if limit == 0 || limit > MAX_CHANGES_PAGE_SIZE {
        return Err(Error::invalid("limit", "must be between 1 and 10000"));
    }
    Ok(limit)
}

/// Checks a page size of the hosted API's list.
pub(crate) fn offset_page_size(limit: usize) -> Result<usize> {
    if limit == 0 || limit > MAX_OFFSET_PAGE_SIZE {
        return Err(Error::invalid("limit", "must be between 1 and 200"));
    }
    Ok(limit)
}

/// Largest offset of the hosted API's list: SQLite counts rows in signed 64 bits.
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// Checks an offset of the hosted API's list.
pub(crate) fn offset(offset: u64) -> Result<u64> {
    if offset > MAX_OFFSET {
        return Err(Error::invalid("offset", "must be at most 2^63 - 1"));
    }
    Ok(offset)
}

/// Checks a change-log cursor: seqs are SQLite rowids, signed 64 bits.
pub(crate) fn change_cursor(since: u64) -> Result<u64> {
    if since > MAX_OFFSET {
        return Err(Error::invalid("since", "must be at most 2^63 - 1"));
    }
    Ok(since)
}

/// The length of a value's compact JSON, without building the text.
fn compact_len(value: &JsonObject) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a map of JSON values to a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Checks the number of suggestions asked for.
pub(crate) fn suggestion_limit(limit: usize) -> Result<usize> {
    if limit == 0 || limit > MAX_SUGGESTIONS {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(limit)
}

/// Checks a lowest score: a number in 0..=1.
pub(crate) fn score(score: f64, field: &'static str) -> Result<f64> {
    if !(0.0..=1.0).contains(&score) {
        return Err(Error::invalid(field, "must be between 0 and 1"));
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_are_bounded_in_characters_not_bytes() {
        let four_byte = "\u{1F600}";
        assert!(text(&four_byte.repeat(MAX_TEXT_CHARS), "summary").is_ok());
        assert!(text(&"x".repeat(MAX_TEXT_CHARS), "summary").is_ok());
        for long in [
            four_byte.repeat(MAX_TEXT_CHARS + 1),
            "x".repeat(MAX_TEXT_CHARS + 1),
        ] {
            let err = text(&long, "summary").unwrap_err();
            assert_eq!(err.to_string(), "Invalid summary: is too long");
        }
    }

    #[test]
    fn offsets_fit_sqlite() {
        assert_eq!(offset(MAX_OFFSET).unwrap(), MAX_OFFSET);
        assert_eq!(offset(0).unwrap(), 0);
        let err = offset(MAX_OFFSET + 1).unwrap_err();
        assert_eq!(err.code().as_str(), "BAD_REQUEST");
    }

    #[test]
    fn keys_are_trimmed_bounded_and_printable() {
        assert_eq!(key("  acme ", 10, "org_id").unwrap(), "acme");
        for bad in ["", "   ", "abcdefghijk", "a\u{0}b"] {
            assert_eq!(
                key(bad, 10, "org_id").unwrap_err().code().as_str(),
                "BAD_REQUEST"
            );
        }
    }

    #[test]
    fn nesting_is_counted_without_recursion() {
        let mut deep = json!(1);
        for _ in 0..MAX_JSON_DEPTH - 1 {
            deep = json!([deep]);
        }
        let ok = json!({ "k": deep }).as_object().unwrap().clone();
        assert!(nesting(&ok, "facts").is_ok());
        let too_deep = json!({ "k": [deep] }).as_object().unwrap().clone();
        assert!(nesting(&too_deep, "facts").is_err());
    }

    #[test]
    fn sizes_are_measured_as_compact_json() {
        let object = json!({"a": [1, 2], "b": "x"}).as_object().unwrap().clone();
        assert_eq!(
            compact_len(&object),
            serde_json::to_string(&object).unwrap().len()
        );
        let big = json!({ "k": "y".repeat(MAX_METADATA_BYTES) });
        assert!(metadata(Some(&big)).is_err());
        assert!(metadata(Some(&json!([1]))).is_err());
        assert!(metadata(None).unwrap().is_empty());
    }

    #[test]
    fn names_blank_to_none_and_bounded() {
        assert_eq!(name(Some("  ")).unwrap(), None);
        assert_eq!(name(Some(" Sarah ")).unwrap().as_deref(), Some("Sarah"));
        assert!(name(Some(&"x".repeat(MAX_NAME_CHARS + 1))).is_err());
        assert!(name(Some("a\nb")).is_err());
    }
}
