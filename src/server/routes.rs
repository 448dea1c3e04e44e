//! The endpoints, the API-key check, request bodies, and the mapping of every outcome
//! to a status code and an envelope.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::pool::{CallError, Stores};
use super::{RequestLog, RequestLogger};
use crate::envelope::{Envelope, ErrorBody};
use crate::limits::MAX_BODY_BYTES;
use crate::{Error, ErrorCode, IdentifierQuery, ResolveRequest};

/// What every handler shares.
pub(crate) struct App {
    /// API key → org id.
    pub(crate) keys: HashMap<String, Arc<str>>,
    pub(crate) stores: Arc<Stores>,
    pub(crate) log: Option<RequestLogger>,
}

/// The routes of the shim, with the body limit and the request log.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/contacts/resolve", post(resolve))
        .route("/v1/contacts/find", post(find))
        .route("/v1/contacts/{contact_id}", get(get_contact))
        .route("/v1/contacts/merge", post(merge))
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            log_request,
        ))
        .with_state(app)
}

// ---- endpoints ------------------------------------------------------------------------

/// The body of resolve as described to a client that sent something else.
const RESOLVE_BODY: &str = "Invalid request body: expected a JSON object with optional string \
     fields phone_number, email, external_id, name, persona_id, agent_number and an object \
     metadata";

/// The body of find as described to a client that sent something else.
const FIND_BODY: &str = "Invalid request body: expected a JSON object with optional string \
     fields phone_number, email, external_id";

/// `POST /v1/contacts/resolve`: find or create (contract §3, resolve).
async fn resolve(
    State(app): State<Arc<App>>,
    Caller(org_id): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: ResolveRequest = parse_body(body, RESOLVE_BODY)?;
    let resolved = app
        .stores
        .call(org_id, move |org| org.resolve(&request))
        .await?;
    Ok(envelope(StatusCode::OK, &Envelope::success(resolved)))
}

/// `POST /v1/contacts/find`: the contact reached by the identifiers, or `data: null`.
async fn find(
    State(app): State<Arc<App>>,
    Caller(org_id): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let query: IdentifierQuery = parse_body(body, FIND_BODY)?;
    let found = app.stores.call(org_id, move |org| org.find(&query)).await?;
    Ok(envelope(StatusCode::OK, &Envelope::success_optional(found)))
}

/// The body of merge as described to a client that sent something else.
const MERGE_BODY: &str = "Invalid request body: expected a JSON object with string fields \
     primary_contact_id and duplicate_contact_id";

/// The hosted API's merge body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeRequest {
    primary_contact_id: String,
    duplicate_contact_id: String,
}

/// `POST /v1/contacts/merge`: merge the duplicate into the primary (contract §3, merge).
async fn merge(
    State(app): State<Arc<App>>,
    Caller(org_id): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: MergeRequest = parse_body(body, MERGE_BODY)?;
    let merged = app
        .stores
        .call(org_id, move |org| {
            org.merge(&request.primary_contact_id, &request.duplicate_contact_id)
        })
        .await?;
    Ok(envelope(StatusCode::OK, &Envelope::success(merged)))
}

/// `GET /v1/contacts/{contact_id}`: one contact with identifiers and memories.
async fn get_contact(
    State(app): State<Arc<App>>,
    Caller(org_id): Caller,
    contact_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    // A segment that does not decode (bad percent-encoding) names no contact.
    let Path(contact_id) = contact_id.map_err(|_| ApiError::Store(Error::NotFound))?;
    let details = app
        .stores
        .call(org_id, move |org| org.get(&contact_id))
        .await?;
    Ok(envelope(StatusCode::OK, &Envelope::success(details)))
}

async fn unknown_path() -> ApiError {
    ApiError::UnknownPath
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

// ---- authorization ----------------------------------------------------------------------

/// The org of the request's API key: the `authorization` header holds the key, bare or
/// as `Bearer KEY`.
struct Caller(Arc<str>);

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
        app.keys
            .get(key)
            .map(|org| Caller(Arc::clone(org)))
            .ok_or(ApiError::Unauthorized("Invalid API key"))
    }
}

// ---- bodies -----------------------------------------------------------------------------

/// Decodes a JSON object body into `T`. An empty body is an empty object (so a request
/// without identifiers gets the API's own message for that). Failures are described
/// in general terms: serde's messages quote the offending values.
fn parse_body<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    expected: &'static str,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BadBody(TOO_LARGE)
        } else {
            ApiError::BadBody("Invalid request body: it could not be read")
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return T::deserialize(Value::Object(Default::default()))
            .map_err(|_| ApiError::BadBody(expected));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::BadBody("Invalid request body: not valid JSON"))?;
    if !value.is_object() {
        return Err(ApiError::BadBody(expected));
    }
    T::deserialize(value).map_err(|_| ApiError::BadBody(expected))
}

/// The message for a body over [`MAX_BODY_BYTES`].
const TOO_LARGE: &str = "Invalid request body: larger than 128 KiB";

// ---- responses --------------------------------------------------------------------------

/// Every way a request can fail, each answered with an envelope.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The library refused or failed: status from its code, its own message.
    Store(Error),
    /// No key or an unknown key: 401 `UNAUTHORIZED`.
    Unauthorized(&'static str),
    /// The body is not the JSON the endpoint takes: 400 `BAD_REQUEST`.
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Store(e) => {
                let code = e.code();
                (status_of(code), code.as_str(), e.to_string())
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
        envelope(status, &failure)
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An envelope as compact JSON, as the command line prints it.
fn envelope<T: Serialize>(status: StatusCode, body: &Envelope<T>) -> Response {
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
