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
