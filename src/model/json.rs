//! JSON values as the store keeps them.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON object: contact metadata, memory facts, entity facts.
pub type JsonObject = Map<String, Value>;

/// Compact JSON text of a value, as stored: keys sorted (serde_json's maps are ordered
/// by key), no spaces. Every JSON column is written through this, so equal values are
/// equal text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing maps, vectors and strings to a String cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("null"))
}

/// A JSON column's text exactly as stored (canonical: see [`to_json`]). Documents
/// carry it through export verbatim instead of parsing every message only to write it
/// again, and two documents compare equal when their text is equal.
#[derive(Debug, Clone)]
pub(crate) struct StoredJson(Box<RawValue>);

impl StoredJson {
    /// The canonical text of a value.
    pub(crate) fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::from_text(to_json(value)).unwrap_or_else(|_| Self::null())
    }

    /// Stored text, checked to be JSON but not parsed into values.
    pub(crate) fn from_text(text: String) -> serde_json::Result<Self> {
        RawValue::from_string(text).map(StoredJson)
    }

    fn null() -> Self {
        StoredJson(Box::<RawValue>::default())
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Parses the text into a value.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for StoredJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for StoredJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Whole numbers as JSON writes them: `60`, and also `60.0` (what a JavaScript or
/// Python client may send, and what JSON Schema's `integer` admits). A fraction, or a
/// number past `i64`, is refused.
pub(crate) mod whole_number {
    use serde::de::{self, Deserializer, Visitor};
    use std::fmt;

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("a whole number past 2^63 - 1"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            // 2^63 is exactly representable; every float below it with no fraction
            // converts without loss.
            if v.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v)
            {
                Ok(v as i64)
            } else {
                Err(E::custom("a number with a fraction, or out of range"))
            }
        }
    }

    /// For an `i64` field.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Whole)
    }

    /// For an `Option<i64>` field (null is `None`).
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer};

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<i64>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(deserialize_with = "super::deserialize")] i64);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(v)| v))
        }
    }

    #[cfg(test)]
    mod tests {
        use serde::Deserialize;

        #[derive(Deserialize, Debug, PartialEq)]
        struct Count {
            #[serde(deserialize_with = "super::deserialize")]
            n: i64,
            #[serde(default, deserialize_with = "super::option::deserialize")]
            m: Option<i64>,
        }

        fn parse(json: &str) -> Result<Count, serde_json::Error> {
            serde_json::from_str(json)
        }

        #[test]
        fn whole_floats_are_whole_numbers_and_fractions_are_refused() {
            assert_eq!(parse(r#"{"n": 60}"#).unwrap(), Count { n: 60, m: None });
            assert_eq!(
                parse(r#"{"n": 60.0, "m": 2.0}"#).unwrap(),
                Count { n: 60, m: Some(2) }
            );
            assert_eq!(
                parse(r#"{"n": -1, "m": null}"#).unwrap(),
                Count { n: -1, m: None }
            );
            assert_eq!(parse(r#"{"n": 9223372036854775807}"#).unwrap().n, i64::MAX);
            for bad in [
                r#"{"n": 1.5}"#,
                r#"{"n": 9223372036854775808}"#,
                r#"{"n": 1e300}"#,
                r#"{"n": "1"}"#,
                r#"{"n": 1, "m": 0.5}"#,
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
        }
    }
}
