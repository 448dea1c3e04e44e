//! Local extensions, under `/x/v1/` (a prefix the hosted API does not use): what a
//! test harness needs and the hosted API does from its own calls — appending
//! messages, open items and entities to a memory, recording calls and SMS
//! conversations, erasing a contact.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{delete, post, put};
use axum::Router;
use serde::Deserialize;

use super::answers::Success;
use super::{ApiError, App, Body, Caller, ContactId, MemoryId, RequestBody};
use crate::{
    Call, Channel, EntityRef, EntityUpdate, Erased, MemoryRecord, Message, NewCall,
    NewSmsConversation, OpenItem, Priority, Role, SmsConversation, Timestamp,
};

/// The extension routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/x/v1/memory/contact/{memory_id}/messages",
            post(add_messages),
        )
        .route(
            "/x/v1/memory/contact/{memory_id}/open-items",
            post(add_open_item),
        )
        .route(
            "/x/v1/memory/contact/{memory_id}/open-items/close",
            post(close_open_items),
        )
        .route(
            "/x/v1/memory/contact/{memory_id}/entities",
            put(upsert_entity),
        )
        .route(
            "/x/v1/contacts/{contact_id}/calls",
            post(record_call).get(list_calls),
        )
        .route(
            "/x/v1/contacts/{contact_id}/sms-conversations",
            post(record_sms).get(list_sms),
        )
        .route("/x/v1/contacts/{contact_id}", delete(erase))
}

/// A message to append; `timestamp` is now when absent.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewMessage {
    /// Who wrote it.
    role: Role,
    /// What was said.
    content: String,
    /// Where.
    channel: Channel,
    /// When (now when absent).
    #[serde(default)]
    timestamp: Option<Timestamp>,
}

/// Messages to append.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewMessages {
    /// In any order: they are kept in timestamp order, the newest N.
    messages: Vec<NewMessage>,
}

impl RequestBody for NewMessages {
    const EXPECTED: &'static str = "Invalid request body: expected a JSON object with an \
        array messages of {role, content, channel, timestamp}";
}

/// Append messages to a memory (extension).
#[utoipa::path(
    post, path = "/x/v1/memory/contact/{memory_id}/messages", tag = "extensions", operation_id = "addMessages",
    params(("memory_id" = String, Path, description = "The memory's id")),
    request_body = NewMessages,
    responses((status = 200, description = "The memory afterwards", body = Success<MemoryRecord>)),
)]
pub(crate) async fn add_messages(
    caller: Caller,
    MemoryId(id): MemoryId,
    Body(new): Body<NewMessages>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let messages: Vec<Message> = new
        .messages
        .into_iter()
        .map(|m| Message {
            role: m.role,
            content: m.content,
            channel: m.channel,
            timestamp: m.timestamp.unwrap_or(now),
        })
        .collect();
    caller
        .answer(move |org| org.add_messages_by_id(&id, &messages))
        .await
}

/// An open item to add; `created_at` is now and `priority` medium when absent.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewOpenItem {
    /// For example `follow_up`.
    #[serde(rename = "type")]
    item_type: String,
    /// What to do.
    description: String,
    /// When it was opened (now when absent).
    #[serde(default)]
    created_at: Option<Timestamp>,
    /// How urgent (medium when absent).
    #[serde(default)]
    priority: Option<Priority>,
    /// The entity it concerns.
    #[serde(default)]
    related_to: Option<EntityRef>,
}

impl RequestBody for NewOpenItem {
    const EXPECTED: &'static str =
        "Invalid request body: expected a JSON object with strings type and description";
}

/// Add an open item to a memory (extension).
#[utoipa::path(
    post, path = "/x/v1/memory/contact/{memory_id}/open-items", tag = "extensions", operation_id = "addOpenItem",
    params(("memory_id" = String, Path, description = "The memory's id")),
    request_body = NewOpenItem,
    responses((status = 200, description = "The memory afterwards", body = Success<MemoryRecord>)),
)]
pub(crate) async fn add_open_item(
    caller: Caller,
    MemoryId(id): MemoryId,
    Body(new): Body<NewOpenItem>,
) -> Result<Response, ApiError> {
    let item = OpenItem {
        item_type: new.item_type,
        description: new.description,
        created_at: new.created_at.unwrap_or_else(Timestamp::now),
        priority: new.priority.unwrap_or(Priority::Medium),
        related_to: new.related_to,
    };
    caller
        .answer(move |org| org.add_open_item_by_id(&id, &item))
        .await
}

/// Which open items to close.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CloseOpenItems {
    /// Their type.
    #[serde(rename = "type")]
    item_type: String,
    /// Their description, exactly.
    description: String,
}

impl RequestBody for CloseOpenItems {
    const EXPECTED: &'static str = NewOpenItem::EXPECTED;
}

impl RequestBody for EntityUpdate {
    const EXPECTED: &'static str =
        "Invalid request body: expected a JSON object with strings entity_type and entity_id";
}

/// The body of the activity records as described to a client that sent something else.
const ACTIVITY_BODY: &str =
    "Invalid request body: expected a JSON object with a direction (inbound or outbound)";

impl RequestBody for NewCall {
    const EXPECTED: &'static str = ACTIVITY_BODY;
}

impl RequestBody for NewSmsConversation {
    const EXPECTED: &'static str = ACTIVITY_BODY;
}

/// Close (remove) the open items of a type and description (extension).
#[utoipa::path(
    post, path = "/x/v1/memory/contact/{memory_id}/open-items/close", tag = "extensions", operation_id = "closeOpenItems",
    params(("memory_id" = String, Path, description = "The memory's id")),
    request_body = CloseOpenItems,
    responses((status = 200, description = "The memory afterwards", body = Success<MemoryRecord>)),
)]
pub(crate) async fn close_open_items(
    caller: Caller,
    MemoryId(id): MemoryId,
    Body(close): Body<CloseOpenItems>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.close_open_items_by_id(&id, &close.item_type, &close.description))
        .await
}

/// Create or update an entity of a memory (extension).
#[utoipa::path(
    put, path = "/x/v1/memory/contact/{memory_id}/entities", tag = "extensions", operation_id = "upsertEntity",
    params(("memory_id" = String, Path, description = "The memory's id")),
    request_body = EntityUpdate,
    responses((status = 200, description = "The memory afterwards", body = Success<MemoryRecord>)),
)]
pub(crate) async fn upsert_entity(
    caller: Caller,
    MemoryId(id): MemoryId,
    Body(update): Body<EntityUpdate>,
) -> Result<Response, ApiError> {
    caller
        .answer(move |org| org.upsert_entity_by_id(&id, &update))
        .await
}

/// Record a call with a contact (extension).
#[utoipa::path(
    post, path = "/x/v1/contacts/{contact_id}/calls", tag = "extensions", operation_id = "recordCall",
    params(("contact_id" = String, Path, description = "The contact's id")),
    request_body = NewCall,
    responses((status = 200, description = "The call recorded", body = Success<Call>)),
)]
pub(crate) async fn record_call(
    caller: Caller,
    ContactId(id): ContactId,
    Body(call): Body<NewCall>,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.record_call(&id, &call)).await
}

/// A contact's calls, newest first (extension).
#[utoipa::path(
    get, path = "/x/v1/contacts/{contact_id}/calls", tag = "extensions", operation_id = "listCalls",
    params(("contact_id" = String, Path, description = "The contact's id")),
    responses((status = 200, description = "The calls, newest first", body = Success<Vec<Call>>)),
)]
pub(crate) async fn list_calls(
    caller: Caller,
    ContactId(id): ContactId,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.calls(&id)).await
}

/// Record an SMS conversation with a contact (extension).
#[utoipa::path(
    post, path = "/x/v1/contacts/{contact_id}/sms-conversations", tag = "extensions", operation_id = "recordSmsConversation",
    params(("contact_id" = String, Path, description = "The contact's id")),
    request_body = NewSmsConversation,
    responses((status = 200, description = "The conversation recorded", body = Success<SmsConversation>)),
)]
pub(crate) async fn record_sms(
    caller: Caller,
    ContactId(id): ContactId,
    Body(sms): Body<NewSmsConversation>,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.record_sms(&id, &sms)).await
}

/// A contact's SMS conversations, newest first (extension).
#[utoipa::path(
    get, path = "/x/v1/contacts/{contact_id}/sms-conversations", tag = "extensions", operation_id = "listSmsConversations",
    params(("contact_id" = String, Path, description = "The contact's id")),
    responses((status = 200, description = "The conversations, newest first", body = Success<Vec<SmsConversation>>)),
)]
pub(crate) async fn list_sms(
    caller: Caller,
    ContactId(id): ContactId,
) -> Result<Response, ApiError> {
    caller.answer(move |org| org.sms_conversations(&id)).await
}

/// Erase a contact and everything that names it, zeroed in the file (extension).
#[utoipa::path(
    delete, path = "/x/v1/contacts/{contact_id}", tag = "extensions", operation_id = "eraseContact",
    params(("contact_id" = String, Path, description = "The contact's id")),
    responses((status = 200, description = "What was erased", body = Success<Erased>)),
)]
pub(crate) async fn erase(caller: Caller, ContactId(id): ContactId) -> Result<Response, ApiError> {
    caller.answer(move |org| org.erase(&id)).await
}
