//! Local extensions for callers (contract §9): resolve-caller, and duplicate
//! suggestions.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::answers::Success;
use super::{ApiError, App, Body, Caller, Params, RequestBody};
use crate::{CallerRequest, CallerResolved, MergeSuggestions, SuggestOptions};

/// The caller routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/x/v1/callers/resolve", post(resolve_caller))
        .route("/x/v1/contacts/merge-suggestions", get(merge_suggestions))
}

impl RequestBody for CallerRequest {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with a \
        string field from, optional string fields to, persona_id, name and an object \
        metadata";
}

/// Find or create the contact of a caller id as telephony delivers it (extension).
#[utoipa::path(
    post, path = "/x/v1/callers/resolve", tag = "extensions", operation_id = "resolveCaller",
    request_body = CallerRequest,
    responses((status = 200, description = "What the caller id is, and the contact of a number", body = Success<CallerResolved>)),
)]
pub(crate) async fn resolve_caller(
    caller: Caller,
    Body(request): Body<CallerRequest>,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.resolve_caller(&request)).await
}

/// The query of the duplicate suggestions.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SuggestionsQuery {
    /// Most suggestions listed, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1_000)]
    limit: Option<usize>,
    /// Lowest score listed, 0 to 1 (default 0.5).
    #[param(minimum = 0.0, maximum = 1.0)]
    min_score: Option<f64>,
}

/// Pairs of the org's contacts that are probably one person, with the evidence;
/// nothing is written (extension).
#[utoipa::path(
    get, path = "/x/v1/contacts/merge-suggestions", tag = "extensions", operation_id = "suggestMerges",
    params(SuggestionsQuery),
    responses((status = 200, description = "The suggestions, highest score first", body = Success<MergeSuggestions>)),
)]
pub(crate) async fn merge_suggestions(
    caller: Caller,
    Params(q): Params<SuggestionsQuery>,
) -> Result<Response, ApiError> {
    let defaults = SuggestOptions::default();
    let options = SuggestOptions {
        limit: q.limit.unwrap_or(defaults.limit),
        min_score: q.min_score.unwrap_or(defaults.min_score),
    };
    caller.answer(move |org| org.suggest_merges(&options)).await
}
