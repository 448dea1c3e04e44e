//! The endpoints: the hosted API's paths (`contacts.rs`, `memory.rs`), the local
//! extensions under `/x/v1/` (`extensions.rs`), the API-key check, request bodies,
//! and the mapping of every outcome to a status code and an envelope.

pub(crate) mod answers;
pub(crate) mod callers;
pub(crate) mod contacts;
pub(crate) mod extensions;
pub(crate) mod history;
pub(crate) mod memory;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State,
};
use axum::http::header::{
    ALLOW, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::keys::Keys;
use super::pool::{CallError, Stores};
use super::{RequestLog, RequestLogger};
use crate::envelope::{Envelope, ErrorBody};
use crate::limits::MAX_BODY_BYTES;
use crate::{Error, ErrorCode, Org};

/// What every handler shares.
pub(crate) struct App {
    pub(crate) keys: Keys,
    pub(crate) stores: Arc<Stores>,
    pub(crate) log: Option<RequestLogger>,
}

/// The routes of the shim and `extra` ones (the OpenAPI document, which describes
/// these), with the body limit and the request log.
pub(crate) fn router(app: Arc<App>, extra: Router<Arc<App>>) -> Router {
    Router::new()
        .route("/v1/contacts", get(contacts::list))
        .route("/v1/contacts/resolve", post(contacts::resolve))
        .route("/v1/contacts/find", post(contacts::find))
        .route("/v1/contacts/merge", post(contacts::merge))
        .route(
            "/v1/contacts/{contact_id}",
            get(contacts::get_contact).patch(contacts::patch_contact),
        )
        .route("/v1/memory/contact", post(memory::open))
        .route("/v1/memory/context", get(memory::context))
        .route("/v1/memory/reset", post(memory::reset))
        .route("/v1/memory/contact/{memory_id}", get(memory::get_memory))
        .route("/v1/memory/contact/{memory_id}/facts", patch(memory::facts))
        .route(
            "/v1/memory/contact/{memory_id}/summary",
            patch(memory::summary),
        )
        .route(
            "/v1/memory/contact/{memory_id}/messages",
            get(memory::messages),
        )
        .merge(extensions::routes())
        .merge(history::routes())
        .merge(callers::routes())
        .merge(extra)
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(allow_header))
        .layer(middleware::from_fn(close_after_unread_body))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            log_request,
        ))
        .with_state(app)
}

async fn unknown_path() -> ApiError {
    ApiError::UnknownPath
}

/// A 405 carries the methods the path takes (RFC 9110), as a JSON envelope.
async fn allow_header(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let mut answer = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(ALLOW, allow);
    }
    answer
}

/// A request refused before its body was read (no key, an unknown path, method or id,
/// a body over the limit) leaves the rest of the body on the connection, and hyper then
/// closes the connection after the answer. Saying so in the answer
/// (`connection: close`) keeps a client that pools connections from sending its next
/// request down one that is closing.
async fn close_after_unread_body(request: Request, next: Next) -> Response {
    let has_body = request.headers().contains_key(TRANSFER_ENCODING)
        || request
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    let mut response = next.run(request).await;
    let refused_early = matches!(
        response.status(),
        StatusCode::UNAUTHORIZED
            | StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::PAYLOAD_TOO_LARGE
    ) || is_too_large(&response);
    if has_body && refused_early {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether the answer is the body-limit refusal (a 400 whose body was not all read).
fn is_too_large(response: &Response) -> bool {
    response.extensions().get::<BodyTooLarge>().is_some()
}

/// Marks the answer to a body over [`MAX_BODY_BYTES`].
#[derive(Clone, Copy)]
struct BodyTooLarge;

// ---- authorization ----------------------------------------------------------------------

/// The org of the request's API key, with the app to run calls in it: the
/// `authorization` header holds the key, bare or as `Bearer KEY`.
pub(crate) struct Caller {
    app: Arc<App>,
    org: Arc<str>,
}

impl Caller {
    /// Runs `op` in the caller's org on a store of the pool.
    pub(crate) async fn call<T, F>(&self, op: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Org<'_>) -> crate::Result<T> + Send + 'static,
    {
        Ok(self.app.stores.call(Arc::clone(&self.org), op).await?)
    }

    /// Runs the quick read `op` in the caller's org on this thread (see
    /// [`Stores::read_here`]).
    pub(crate) fn read<T>(
        &self,
        op: impl FnOnce(&Org<'_>) -> crate::Result<T>,
    ) -> Result<T, ApiError> {
        Ok(self.app.stores.read_here(&self.org, op)?)
    }

    /// Runs `op` and answers its result in a success envelope.
    pub(crate) async fn answer<T, F>(&self, op: F) -> Result<Response, ApiError>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Org<'_>) -> crate::Result<T> + Send + 'static,
    {
        Ok(success(self.call(op).await?))
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("Missing authorization header"))?;
        let text = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("Invalid API key"))?
            .trim();
        let key = match text.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => text,
        };
        let org = app
            .keys
            .org_of(key.as_bytes())
            .ok_or(ApiError::Unauthorized("Invalid API key"))?;
        Ok(Caller {
            app: Arc::clone(app),
            org,
        })
    }
}

// ---- request parts ------------------------------------------------------------------------

/// The `{contact_id}` of the path. A segment that does not decode (bad
/// percent-encoding) names no contact.
pub(crate) struct ContactId(pub(crate) String);

/// The `{memory_id}` of the path; as [`ContactId`].
pub(crate) struct MemoryId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for ContactId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Store(Error::NotFound))?;
        Ok(ContactId(id))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MemoryId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Store(Error::MemoryNotFound))?;
        Ok(MemoryId(id))
    }
}

/// A type an endpoint takes as its JSON body.
pub(crate) trait RequestBody: DeserializeOwned {
    /// The body as described to a client that sent something else.
    const EXPECTED: &'static str;
}

/// A JSON object body decoded into `T`. An empty body is an empty object (so a request
/// without identifiers gets the API's own message for that). Failures are described
/// in general terms: serde's messages quote the offending values.
pub(crate) struct Body<T>(pub(crate) T);

impl<T: RequestBody, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BadBody(TOO_LARGE)
                } else {
                    ApiError::BadBody("Invalid request body: it could not be read")
                }
            })?;
        // JSON's own whitespace (RFC 8259), not Rust's ASCII whitespace, which also
        // counts the form feed: a body of one form feed is not JSON, nor empty.
        if bytes
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            return T::deserialize(Value::Object(Default::default()))
                .map(Body)
                .map_err(|_| ApiError::BadBody(T::EXPECTED));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::BadBody("Invalid request body: not valid JSON"))?;
        if !value.is_object() {
            return Err(ApiError::BadBody(T::EXPECTED));
        }
        T::deserialize(value)
            .map(Body)
            .map_err(|_| ApiError::BadBody(T::EXPECTED))
    }
}

/// The message for a body over [`MAX_BODY_BYTES`].
const TOO_LARGE: &str = "Invalid request body: larger than 1 MiB";

/// The query parameters as `T`; a malformed query is a 400 in general terms.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadBody("Invalid query parameters"))?;
        Ok(Params(q))
    }
}

// ---- responses --------------------------------------------------------------------------

/// Every way a request can fail, each answered with an envelope.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The library refused or failed: status from its code, its own message.
    Store(Error),
    /// No key or an unknown key: 401 `UNAUTHORIZED`.
    Unauthorized(&'static str),
    /// The body or query is not what the endpoint takes: 400 `BAD_REQUEST`.
    BadBody(&'static str),
    /// No endpoint at this path: 404 `NOT_FOUND`.
    UnknownPath,
    /// The path exists but not with this method: 405 `METHOD_NOT_ALLOWED`.
    MethodNotAllowed,
    /// A worker failed without an error of its own: 500 `INTERNAL_ERROR`.
    Internal,
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Store(e) => ApiError::Store(e),
            CallError::Lost => ApiError::Internal,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Store(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let too_large = matches!(self, ApiError::BadBody(TOO_LARGE));
        let (status, code, message) = match self {
            ApiError::Store(e) => {
                let code = e.code();
                let status = if e.is_conflict() {
                    StatusCode::CONFLICT
                } else {
                    status_of(code)
                };
                (status, code.as_str(), e.to_string())
            }
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", m.into()),
            ApiError::BadBody(m) => (StatusCode::BAD_REQUEST, "BAD_REQUEST", m.into()),
            ApiError::UnknownPath => (StatusCode::NOT_FOUND, "NOT_FOUND", "Unknown path".into()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "Method not allowed for this path".into(),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError.as_str(),
                "Internal error".into(),
            ),
        };
        let failure = Envelope::<()> {
            data: None,
            errors: Some(vec![ErrorBody {
                error: code.to_owned(),
                message,
            }]),
        };
        let mut response = envelope(status, &failure);
        if too_large {
            response.extensions_mut().insert(BodyTooLarge);
        }
        response
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A success envelope, as compact JSON.
pub(crate) fn success<T: Serialize>(data: T) -> Response {
    envelope(StatusCode::OK, &Envelope::success(data))
}

/// Any serializable body as compact JSON, as the command line prints it.
pub(crate) fn envelope<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let json = HeaderValue::from_static("application/json");
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(CONTENT_TYPE, json)], bytes).into_response(),
        // The model serializes to JSON by construction; this is only a safe fallback.
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(CONTENT_TYPE, json)],
            r#"{"data":null,"errors":[{"error":"INTERNAL_ERROR","message":"Internal error"}]}"#,
        )
            .into_response(),
    }
}

// ---- request log ------------------------------------------------------------------------

/// Reports each request to the logger: method, route template, status, latency. Never
/// the concrete path (it may hold a contact id), a header or a body.
async fn log_request(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(log) = app.log.clone() else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let method = loggable_method(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| Arc::<str>::from(p.as_str()));
    let response = next.run(request).await;
    log(&RequestLog {
        method,
        route: route.as_deref(),
        status: response.status().as_u16(),
        latency: started.elapsed(),
    });
    response
}

/// The method's name if it is a standard one: an extension method is free text.
fn loggable_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}
