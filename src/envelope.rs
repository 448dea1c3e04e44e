//! The API's envelopes: `{"data": …, "errors": null}` on success and
//! `{"data": null, "errors": [{"error": "BAD_REQUEST", "message": "…"}]}` on failure.
//!
//! ```
//! use contactstore::{envelope, Error};
//! let json = envelope::failure(&Error::NotFound).to_string();
//! assert_eq!(json, r#"{"data":null,"errors":[{"error":"NOT_FOUND","message":"Contact not found"}]}"#);
//! ```

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, ErrorCode};

/// A success envelope around `data`.
///
/// # Errors
/// Fails only if `data` cannot be represented as JSON (never for this crate's types).
pub fn success<T: Serialize>(data: &T) -> serde_json::Result<Value> {
    Ok(json!({ "data": serde_json::to_value(data)?, "errors": Value::Null }))
}

/// A failure envelope for an error.
pub fn failure(error: &Error) -> Value {
    failure_with(error.code(), &error.to_string())
}

/// A failure envelope with a given code and message.
pub fn failure_with(code: ErrorCode, message: &str) -> Value {
    json!({
        "data": Value::Null,
        "errors": [{ "error": code.as_str(), "message": message }],
    })
}
