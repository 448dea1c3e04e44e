//! The API's envelopes: `{"data": …, "errors": null}` on success and
//! `{"data": null, "errors": [{"error": "BAD_REQUEST", "message": "…"}]}` on failure.
//!
//! ```
//! use contactstore::{envelope::Envelope, Error};
//! let json = serde_json::to_string(&Envelope::<()>::failure(&Error::NotFound)).unwrap();
//! assert_eq!(json, r#"{"data":null,"errors":[{"error":"NOT_FOUND","message":"Contact not found"}]}"#);
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// A response envelope around data of type `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The result; null on failure (and for a find that matched nothing).
    pub data: Option<T>,
    /// Null on success; one entry per error on failure.
    pub errors: Option<Vec<ErrorBody>>,
}

/// One error of a failure envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// `BAD_REQUEST`, `NOT_FOUND` or `INTERNAL_ERROR`.
    pub error: String,
    /// What went wrong, without personal data.
    pub message: String,
}

impl<T> Envelope<T> {
    /// A success envelope.
    pub fn success(data: T) -> Self {
        Envelope {
            data: Some(data),
            errors: None,
        }
    }

    /// A success envelope whose data may be null (find without a match).
    pub fn success_optional(data: Option<T>) -> Self {
        Envelope { data, errors: None }
    }

    /// A failure envelope for an error.
    pub fn failure(error: &Error) -> Self {
        Self::failure_with(error.code(), error.to_string())
    }

    /// A failure envelope with a given code and message.
    pub fn failure_with(code: ErrorCode, message: impl Into<String>) -> Self {
        Envelope {
            data: None,
            errors: Some(vec![ErrorBody {
                error: code.as_str().to_owned(),
                message: message.into(),
            }]),
        }
    }
}
