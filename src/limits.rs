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
/// Longest free text accepted (summary, message content, description, notes), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
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
/// Largest HTTP request body the shim accepts (128 KiB): room for the largest
/// metadata object ([`MAX_METADATA_BYTES`]) and every other field.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

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

/// Checks free text against [`MAX_TEXT_BYTES`].
pub(crate) fn text(text: &str, field: &'static str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
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
    let mut pending: Vec<(&Value, usize)> = object.values().map(|v| (v, 2)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
