//! The hosted API's memory paths.

use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::answers::Success;
use super::{ApiError, Body, Caller, MemoryId, Params, RequestBody};
use crate::{JsonObject, MemoryContext, MemoryRecord, MemoryScope, Message, OpenedMemory};

/// A contact and the scope of one of its memories: a persona, or else an agent number.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ScopedContact {
    /// The contact (a merged-away id reaches the contact it was merged into).
    contact_id: String,
    /// The persona whose memory this is.
    #[serde(default)]
    persona_id: Option<String>,
    /// The agent number whose memory this is (when no persona id is given).
    #[serde(default)]
    agent_number: Option<String>,
}

impl ScopedContact {
    fn scope(&self) -> MemoryScope {
        MemoryScope {
            persona_id: self.persona_id.clone(),
            agent_number: self.agent_number.clone(),
        }
    }
}

impl RequestBody for ScopedContact {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with a string \
        contact_id and a string persona_id or agent_number";
}

/// Get or create the memory of a contact and scope.
#[utoipa::path(
    post, path = "/v1/memory/contact", tag = "memory", operation_id = "createContactMemory",
    request_body = ScopedContact,
    responses((status = 200, description = "The memory and whether it was created", body = Success<OpenedMemory>)),
)]
pub(crate) async fn open(
    caller: Caller,
    Body(request): Body<ScopedContact>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.open_memory(&request.contact_id, &request.scope()))
        .await
}

/// One memory record.
#[utoipa::path(
    get, path = "/v1/memory/contact/{memory_id}", tag = "memory", operation_id = "getContactMemory",
    params(("memory_id" = String, Path, description = "The memory's id")),
    responses((status = 200, description = "The memory", body = Success<MemoryRecord>)),
)]
pub(crate) async fn get_memory(
    caller: Caller,
    MemoryId(id): MemoryId,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.memory(&id)).await
}

/// What an agent is given at the start of a conversation. Read-only: a contact
/// without that memory yet gets an empty context.
#[utoipa::path(
    get, path = "/v1/memory/context", tag = "memory", operation_id = "getMemoryContext",
    responses((status = 200, description = "The memory context", body = Success<MemoryContext>)),
)]
pub(crate) async fn context(
    caller: Caller,
    Params(q): Params<ScopedContact>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.memory_context(&q.contact_id, &q.scope()))
        .await
}

/// The facts patch.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct FactsPatch {
    /// Key/value pairs to merge in; none is deleted (null is stored as null).
    #[schema(value_type = Object)]
    facts: JsonObject,
}

impl RequestBody for FactsPatch {
    const EXPECTED: &'static str =
        "Invalid request body: expected a JSON object with an object facts";
}

/// Merge facts into a memory.
#[utoipa::path(
    patch, path = "/v1/memory/contact/{memory_id}/facts", tag = "memory", operation_id = "updateContactMemoryFacts",
    params(("memory_id" = String, Path, description = "The memory's id")),
    request_body = FactsPatch,
    responses((status = 200, description = "The memory after the merge", body = Success<MemoryRecord>)),
)]
pub(crate) async fn facts(
    caller: Caller,
    MemoryId(id): MemoryId,
    Body(patch): Body<FactsPatch>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.merge_facts(&id, &patch.facts))
        .await
}

/// The summary replacement.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SummaryPatch {
    /// The new summary; it replaces the old one.
    summary: String,
}

impl RequestBody for SummaryPatch {
    const EXPECTED: &'static str =
        "Invalid request body: expected a JSON object with a string summary";
}

/// Replace a memory's summary.
#[utoipa::path(
    patch, path = "/v1/memory/contact/{memory_id}/summary", tag = "memory", operation_id = "updateContactMemorySummary",
    params(("memory_id" = String, Path, description = "The memory's id")),
    request_body = SummaryPatch,
    responses((status = 200, description = "The memory after the change", body = Success<MemoryRecord>)),
)]
pub(crate) async fn summary(
    caller: Caller,
    MemoryId(id): MemoryId,
    Body(patch): Body<SummaryPatch>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.replace_summary(&id, &patch.summary))
        .await
}

/// A memory's recent-message window, oldest first.
#[utoipa::path(
    get, path = "/v1/memory/contact/{memory_id}/messages", tag = "memory", operation_id = "getContactMemoryMessages",
    params(("memory_id" = String, Path, description = "The memory's id")),
    responses((status = 200, description = "The messages, oldest first", body = Success<Vec<Message>>)),
)]
pub(crate) async fn messages(caller: Caller, MemoryId(id): MemoryId) -> Result<Response, ApiError> {
    caller.answer(move |org| org.recent_messages(&id)).await
}

/// The answer of reset.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ResetDone {
    /// Always true: the memory is wiped (or there was none).
    success: bool,
}

/// Wipe a contact's memory of one scope, irreversibly.
#[utoipa::path(
    post, path = "/v1/memory/reset", tag = "memory", operation_id = "resetContactMemory",
    request_body = ScopedContact,
    responses((status = 200, description = "The memory is wiped", body = Success<ResetDone>)),
)]
pub(crate) async fn reset(
    caller: Caller,
    Body(request): Body<ScopedContact>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| {
            org.reset_memory(&request.contact_id, &request.scope())?;
            Ok(ResetDone { success: true })
        })
        .await
}
