//! The hosted API's contact paths.

use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::answers::{ListSuccess, Success};
use super::{envelope, success, ApiError, Body, Caller, ContactId, Params, RequestBody};
use crate::envelope::Envelope;
use crate::{
    Contact, ContactDetails, ContactPatch, IdentifierQuery, Merged, Pagination, ResolveRequest,
    Resolved,
};

impl RequestBody for ResolveRequest {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with \
        optional string fields phone_number, email, external_id, name, persona_id, \
        agent_number and an object metadata";
}

impl RequestBody for IdentifierQuery {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with \
        optional string fields phone_number, email, external_id";
}

impl RequestBody for ContactPatch {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with \
        optional string fields name, email, external_id and an object metadata";
}

/// Find or create the contact owning the identifiers (contract §3, resolve).
#[utoipa::path(
    post, path = "/v1/contacts/resolve", tag = "contacts", operation_id = "resolveContact",
    request_body = ResolveRequest,
    responses((status = 200, description = "The contact found or created", body = Success<Resolved>)),
)]
pub(crate) async fn resolve(
    caller: Caller,
    Body(request): Body<ResolveRequest>,
) -> Result<Response, ApiError> {
    // A known caller adding nothing is answered here; the rest may write, and wait for
    // the write lock, on the blocking pool.
    if let Some(known) = caller.read(|org| org.resolve_known(&request))? {
        return Ok(success(known));
    }
    caller.answer(move |org| org.resolve(&request)).await
}

/// The contact owning the identifiers (external_id > phone_number > email), with its
/// identifiers and memories, or `data: null`.
#[utoipa::path(
    post, path = "/v1/contacts/find", tag = "contacts", operation_id = "findContact",
    request_body = IdentifierQuery,
    responses((status = 200, description = "The contact, or null", body = Success<Option<ContactDetails>>)),
)]
pub(crate) async fn find(
    caller: Caller,
    Body(query): Body<IdentifierQuery>,
) -> Result<Response, ApiError> {
    let found = caller.read(|org| org.find(&query))?;
    Ok(envelope(StatusCode::OK, &Envelope::success_optional(found)))
}

/// One contact with identifiers and memories; a merged-away id gives the contact it
/// was merged into.
#[utoipa::path(
    get, path = "/v1/contacts/{contact_id}", tag = "contacts", operation_id = "getContact",
    params(("contact_id" = String, Path, description = "The contact's id")),
    responses((status = 200, description = "The contact", body = Success<ContactDetails>)),
)]
pub(crate) async fn get_contact(
    caller: Caller,
    ContactId(id): ContactId,
) -> Result<Response, ApiError> {
    Ok(success(caller.read(|org| org.get(&id))?))
}

/// Update a contact: name replaced, email and external_id added or updated, metadata
/// merged key by key.
#[utoipa::path(
    patch, path = "/v1/contacts/{contact_id}", tag = "contacts", operation_id = "updateContact",
    params(("contact_id" = String, Path, description = "The contact's id")),
    request_body = ContactPatch,
    responses((status = 200, description = "The contact after the update", body = Success<Contact>)),
)]
pub(crate) async fn patch_contact(
    caller: Caller,
    ContactId(id): ContactId,
    Body(patch): Body<ContactPatch>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.patch_contact(&id, &patch))
        .await
}

/// The hosted API's merge body.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct MergeRequest {
    /// The contact that remains.
    pub(crate) primary_contact_id: String,
    /// The contact merged into it and deleted.
    pub(crate) duplicate_contact_id: String,
}

impl RequestBody for MergeRequest {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with string \
        fields primary_contact_id and duplicate_contact_id";
}

/// Merge the duplicate into the primary (contract §3, merge).
#[utoipa::path(
    post, path = "/v1/contacts/merge", tag = "contacts", operation_id = "mergeContacts",
    request_body = MergeRequest,
    responses((status = 200, description = "The merged contact and what moved", body = Success<Merged>)),
)]
pub(crate) async fn merge(
    caller: Caller,
    Body(request): Body<MergeRequest>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.merge(&request.primary_contact_id, &request.duplicate_contact_id))
        .await
}

/// The query of the list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// Contacts to skip (default 0).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_u64)]
    offset: Option<u64>,
}

/// The list's answer: the contacts beside a top-level `pagination`.
#[derive(Serialize)]
struct ListAnswer {
    data: Vec<ContactDetails>,
    pagination: Pagination,
    errors: Option<()>,
}

/// The org's contacts with identifiers and memories, by creation, with offset
/// pagination.
#[utoipa::path(
    get, path = "/v1/contacts", tag = "contacts", operation_id = "listContacts",
    params(ListQuery),
    responses((status = 200, description = "One page of contacts", body = ListSuccess)),
)]
pub(crate) async fn list(
    caller: Caller,
    Params(q): Params<ListQuery>,
) -> Result<Response, ApiError> {
    let page = caller
        .call(move |org| org.contacts_at_offset(q.offset.unwrap_or(0), q.limit))
        .await?;
    let answer = ListAnswer {
        data: page.contacts,
        pagination: page.pagination,
        errors: None,
    };
    Ok(envelope(StatusCode::OK, &answer))
}
