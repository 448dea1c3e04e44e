//! Local extensions for history (contract §10): the change log, merge preview and
//! unmerge.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::answers::Success;
use super::contacts::MergeRequest;
use super::{ApiError, App, Body, Caller, ContactId, Params};
use crate::{ChangePage, Merged, Unmerged};

/// The history routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/x/v1/changes", get(changes))
        .route("/x/v1/contacts/merge/preview", post(merge_preview))
        .route("/x/v1/contacts/{contact_id}/unmerge", post(unmerge))
}

/// The query of the change log.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChangesQuery {
    /// Resume after this seq (exclusive); 0 or absent starts at the beginning.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_u64)]
    since: Option<u64>,
    /// Most events on the page, 1 to 10,000 (default 1,000).
    #[param(minimum = 1, maximum = 10_000)]
    limit: Option<usize>,
}

/// The org's change log after `since`, oldest first (extension).
#[utoipa::path(
    get, path = "/x/v1/changes", tag = "extensions", operation_id = "listChanges",
    params(ChangesQuery),
    responses((status = 200, description = "One page of events, and where to resume", body = Success<ChangePage>)),
)]
pub(crate) async fn changes(
    caller: Caller,
    Params(q): Params<ChangesQuery>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.changes(q.since.unwrap_or(0), q.limit))
        .await
}

/// What merging the duplicate into the primary would give; nothing is written
/// (extension).
#[utoipa::path(
    post, path = "/x/v1/contacts/merge/preview", tag = "extensions", operation_id = "previewMerge",
    request_body = MergeRequest,
    responses((status = 200, description = "The merge as it would be", body = Success<Merged>)),
)]
pub(crate) async fn merge_preview(
    caller: Caller,
    Body(request): Body<MergeRequest>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| {
            org.merge_preview(&request.primary_contact_id, &request.duplicate_contact_id)
        })
        .await
}

/// Undo the merge that took this contact id away (extension).
#[utoipa::path(
    post, path = "/x/v1/contacts/{contact_id}/unmerge", tag = "extensions", operation_id = "unmergeContact",
    params(("contact_id" = String, Path, description = "The id of the contact that was merged away")),
    responses((status = 200, description = "The restored contact and the survivor", body = Success<Unmerged>)),
)]
pub(crate) async fn unmerge(
    caller: Caller,
    ContactId(id): ContactId,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.unmerge(&id)).await
}
