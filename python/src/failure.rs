//! Every failure of a call, and how it reaches Python: as an instance of the package's
//! `contactstore.BadRequest`, `NotFound` or `StorageError` (all `contactstore.Error`),
//! built with the contract's code and the library's message. Messages never carry a
//! value from the request: the library's name the field, and argument errors here
//! keep only the field's path and what was expected.

use contactstore::{Error, ErrorCode, ImportSummary};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Why a call produced no result.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The library refused or failed.
    Library(Error),
    /// An argument could not become the request type (a wrong type, an unknown
    /// enumeration value, a malformed timestamp).
    Argument { field: String, reason: String },
    /// An import stopped by a failure, with what it committed.
    Import {
        error: Error,
        summary: ImportSummary,
    },
    /// The store was closed.
    Closed,
    /// The store was opened by another process (this one was forked from it).
    Forked,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Library(e)
    }
}

impl Failure {
    /// A bad argument of the binding itself (`pool_size`, `durability`, …).
    pub(crate) fn invalid(field: &str, reason: &str) -> Self {
        Failure::Argument {
            field: field.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// An argument serde refused. serde's message may quote the value (`invalid type:
    /// string "+1415…"`): only the part after "expected" is kept, which names types
    /// and accepted values, never the input.
    pub(crate) fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        // The nesting of a call's arguments is the binding's, not the caller's.
        let path = path.strip_prefix("body.").unwrap_or(&path).to_owned();
        let inner = e.into_inner().to_string();
        let reason = match inner.find("expected ") {
            Some(at) => inner[at..]
                .split(" at line ")
                .next()
                .unwrap_or("is invalid")
                .to_owned(),
            None if inner.starts_with("missing field") => inner
                .split(" at line ")
                .next()
                .unwrap_or("is missing")
                .to_owned(),
            // A message of the library's own deserializers ("invalid RFC 3339
            // timestamp"): kept when it quotes nothing.
            None => {
                let text = inner.split(" at line ").next().unwrap_or_default();
                if text.is_empty() || text.contains(['`', '"', '\'']) {
                    "is invalid".to_owned()
                } else {
                    text.to_owned()
                }
            }
        };
        let field = if path.is_empty() || path == "." || path == "?" {
            "arguments".to_owned()
        } else {
            path
        };
        Failure::Argument { field, reason }
    }

    fn code_and_message(&self) -> (ErrorCode, String) {
        match self {
            Failure::Library(e) => (e.code(), e.to_string()),
            Failure::Argument { field, reason } => {
                (ErrorCode::BadRequest, format!("Invalid {field}: {reason}"))
            }
            Failure::Import { error, summary } => (
                error.code(),
                format!("import stopped after line {}: {error}", summary.lines),
            ),
            Failure::Closed => (ErrorCode::InternalError, "The store is closed".to_owned()),
            Failure::Forked => (
                ErrorCode::InternalError,
                "The store was opened in another process (this one was forked from it \
                 after the store was opened): open the store again in this process"
                    .to_owned(),
            ),
        }
    }

    /// The Python exception.
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        let (code, message) = self.code_and_message();
        let class = match code {
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::InternalError => "StorageError",
        };
        let summary = match &self {
            Failure::Import { summary, .. } => serde_json::to_string(summary).ok(),
            _ => None,
        };
        let build = || -> PyResult<PyErr> {
            let errors = py.import("contactstore._errors")?;
            let exception = errors
                .getattr(class)?
                .call1((code.as_str(), message.as_str()))?;
            if let Some(summary) = summary {
                let summary = py.import("json")?.call_method1("loads", (summary,))?;
                exception.setattr("summary", summary)?;
            }
            Ok(PyErr::from_value(exception))
        };
        build().unwrap_or_else(|e| {
            PyRuntimeError::new_err(format!("contactstore: {class} ({e}): {message}"))
        })
    }
}
