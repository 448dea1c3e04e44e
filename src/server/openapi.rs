//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated from the
//! handlers' `#[utoipa::path]` attributes and the request and response types, then
//! completed with what the types cannot say: the API-key scheme, the failure answers
//! every operation shares, and the rules of the request bodies (at least one
//! identifier, a persona or an agent number, the lengths and characters the library
//! accepts — from [`crate::limits`], so the document and the checks cannot drift).

use std::sync::OnceLock;

use std::sync::Arc;

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::routes::{self, answers::Failure, App};
use crate::limits;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "contactstore shim",
        description = "The hosted Contacts and Contact-Memory API, served offline from a local \
            contactstore file; local extensions live under /x/v1/.",
    ),
    paths(
        routes::contacts::list,
        routes::contacts::resolve,
        routes::contacts::find,
        routes::contacts::get_contact,
        routes::contacts::patch_contact,
        routes::contacts::merge,
        routes::memory::open,
        routes::memory::get_memory,
        routes::memory::context,
        routes::memory::facts,
        routes::memory::summary,
        routes::memory::messages,
        routes::memory::reset,
        routes::extensions::add_messages,
        routes::extensions::add_open_item,
        routes::extensions::close_open_items,
        routes::extensions::upsert_entity,
        routes::extensions::record_call,
        routes::extensions::list_calls,
        routes::extensions::record_sms,
        routes::extensions::list_sms,
        routes::extensions::erase,
        routes::history::changes,
        routes::history::merge_preview,
        routes::history::unmerge,
        routes::callers::resolve_caller,
        routes::callers::merge_suggestions,
    ),
    components(schemas(Failure))
)]
struct Document;

/// The document as JSON, built once.
pub(crate) fn json() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(Document::openapi()).unwrap_or(Value::Null);
        complete(&mut doc);
        doc
    })
}

/// `GET /openapi.json` (no key needed: the document holds no data).
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Response {
    routes::envelope(axum::http::StatusCode::OK, json())
}

/// Statuses every operation may answer with a failure envelope.
const FAILURES: [(&str, &str); 5] = [
    (
        "400",
        "BAD_REQUEST: a body, query or field the endpoint does not take",
    ),
    ("401", "UNAUTHORIZED: no API key, or an unknown one"),
    (
        "404",
        "NOT_FOUND: an unknown contact or memory, or one of another org",
    ),
    (
        "409",
        "BAD_REQUEST, with 409: an identifier to add belongs to another contact",
    ),
    ("500", "INTERNAL_ERROR: storage failed"),
];

/// What the derived document cannot say (see the module's documentation).
fn complete(doc: &mut Value) {
    doc["openapi"] = json!("3.1.0");
    doc["components"]["securitySchemes"] = json!({
        "api_key": {"type": "apiKey", "in": "header", "name": "authorization",
                    "description": "An API key (bare, or as `Bearer KEY`); it decides the org."}
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                operation["security"] = json!([{"api_key": []}]);
                for (status, description) in FAILURES {
                    operation["responses"][status] = json!({
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Failure"}}}
                    });
                }
            }
        }
    }
    constrain_requests(&mut doc["components"]["schemas"]);
    doc["paths"]["/v1/memory/context"]["get"]["parameters"] = json!([{
        "name": "scope",
        "in": "query",
        "required": true,
        "style": "form",
        "explode": true,
        "description": "contact_id, and persona_id or agent_number",
        "schema": scoped_contact(false)
    }]);
    // An empty patch is a patch that changes nothing.
    doc["paths"]["/v1/contacts/{contact_id}"]["patch"]["requestBody"]["required"] = json!(false);
}

/// A phone number in any usual spelling (validated with libphonenumber; the format
/// names it for generators).
fn phone() -> Value {
    json!({"type": "string", "format": "phone-number", "maxLength": limits::MAX_PHONE_URI_CHARS})
}

/// Text the library keeps as a key: not blank, no control characters, bounded.
fn key(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max,
           "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"})
}

/// An email address.
fn email() -> Value {
    json!({"type": "string", "format": "email", "maxLength": limits::MAX_EMAIL_CHARS})
}

/// A contact's name: no control characters (blank clears it).
fn name() -> Value {
    json!({"type": ["string", "null"], "maxLength": limits::MAX_NAME_CHARS,
           "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*$"})
}

/// Free text of at most [`limits::MAX_TEXT_CHARS`] characters.
fn text() -> Value {
    json!({"type": "string", "maxLength": limits::MAX_TEXT_CHARS})
}

/// The identifiers of resolve and find, at least one of them a string.
fn identifiers() -> Value {
    json!([
        {"required": ["phone_number"], "properties": {"phone_number": phone()}},
        {"required": ["email"], "properties": {"email": email()}},
        {"required": ["external_id"], "properties": {"external_id": key(limits::MAX_EXTERNAL_ID_CHARS)}}
    ])
}

/// A contact id with a persona id or an agent number. In a body either may be null
/// (not both); a query string has no null.
fn scoped_contact(in_body: bool) -> Value {
    let maybe_null = |schema| if in_body { nullable(schema) } else { schema };
    json!({
        "type": "object",
        "required": ["contact_id"],
        "properties": {
            "contact_id": {"type": "string"},
            "persona_id": maybe_null(key(limits::MAX_PERSONA_ID_CHARS)),
            "agent_number": maybe_null(phone())
        },
        "anyOf": [
            {"required": ["persona_id"], "properties": {"persona_id": {"type": "string"}}},
            {"required": ["agent_number"], "properties": {"agent_number": {"type": "string"}}}
        ]
    })
}

/// A JSON object of at most `max_bytes` bytes as compact JSON: a bound JSON Schema
/// cannot state, so it is only described.
fn bounded_object(max_bytes: usize, nullable: bool) -> Value {
    let kind = if nullable {
        json!(["object", "null"])
    } else {
        json!("object")
    };
    json!({"type": kind, "description": format!("At most {} KiB as compact JSON.", max_bytes / 1024)})
}

/// `schema` or null.
fn nullable(mut schema: Value) -> Value {
    schema["type"] = json!([schema["type"].clone(), "null"]);
    schema
}

/// Sets the library's rules on the request schemas.
fn constrain_requests(schemas: &mut Value) {
    let identifier_fields = json!({
        "phone_number": nullable(phone()),
        "email": nullable(email()),
        "external_id": nullable(key(limits::MAX_EXTERNAL_ID_CHARS))
    });
    schemas["IdentifierQuery"] = json!({
        "type": "object",
        "description": "At least one identifier (phone_number, email, or external_id).",
        "properties": identifier_fields,
        "anyOf": identifiers()
    });
    let mut resolve = identifier_fields.clone();
    resolve["name"] = name();
    resolve["persona_id"] = nullable(key(limits::MAX_PERSONA_ID_CHARS));
    resolve["agent_number"] = nullable(phone());
    resolve["metadata"] = bounded_object(limits::MAX_METADATA_BYTES, true);
    schemas["ResolveRequest"] = json!({
        "type": "object",
        "description": "At least one identifier; name, memory scope and metadata to fill in.",
        "properties": resolve,
        "anyOf": identifiers()
    });
    schemas["ContactPatch"] = json!({
        "type": "object",
        "properties": {
            "name": name(),
            "email": nullable(email()),
            "external_id": nullable(key(limits::MAX_EXTERNAL_ID_CHARS)),
            "metadata": bounded_object(limits::MAX_METADATA_BYTES, true)
        }
    });
    schemas["ScopedContact"] = scoped_contact(true);
    schemas["SummaryPatch"]["properties"]["summary"] = text();
    schemas["FactsPatch"]["properties"]["facts"] = bounded_object(limits::MAX_FACTS_BYTES, false);
    schemas["NewMessage"]["properties"]["content"] = text();
    schemas["NewOpenItem"]["properties"]["type"] = key(limits::MAX_KEY_CHARS);
    schemas["NewOpenItem"]["properties"]["description"] = text();
    schemas["CloseOpenItems"]["properties"]["type"] = key(limits::MAX_KEY_CHARS);
    schemas["EntityRef"]["properties"]["entity_type"] = key(limits::MAX_KEY_CHARS);
    schemas["EntityRef"]["properties"]["entity_id"] = key(limits::MAX_KEY_CHARS);
    let entity = &mut schemas["EntityUpdate"]["properties"];
    entity["entity_type"] = key(limits::MAX_KEY_CHARS);
    entity["entity_id"] = key(limits::MAX_KEY_CHARS);
    entity["status"] = nullable(key(limits::MAX_KEY_CHARS));
    entity["notes"] = nullable(text());
    for schema in ["NewCall", "NewSmsConversation"] {
        let p = &mut schemas[schema]["properties"];
        p["agent_number"] = nullable(phone());
        p["contact_number"] = nullable(phone());
        p["status"] = nullable(key(limits::MAX_KEY_CHARS));
        p["summary"] = nullable(text());
        p["metadata"] = bounded_object(limits::MAX_METADATA_BYTES, false);
    }
    let caller = &mut schemas["CallerRequest"]["properties"];
    caller["from"] = json!({"type": "string", "format": "phone-number",
        "maxLength": limits::MAX_PHONE_URI_CHARS,
        "description": "The caller id as delivered: a number in any spelling, a SIP or tel URI, a withheld value, a short code or a sender id."});
    caller["to"] = nullable(phone());
    caller["persona_id"] = nullable(key(limits::MAX_PERSONA_ID_CHARS));
    caller["name"] = name();
    caller["metadata"] = bounded_object(limits::MAX_METADATA_BYTES, true);
    schemas["NewCall"]["properties"]["duration_seconds"] =
        json!({"type": ["integer", "null"], "minimum": 0, "maximum": i64::MAX});
    schemas["NewSmsConversation"]["properties"]["message_count"] =
        json!({"type": "integer", "minimum": 0, "maximum": i64::MAX});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_router_is_in_the_document() {
        let doc = json();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/v1/contacts",
            "/v1/contacts/resolve",
            "/v1/contacts/find",
            "/v1/contacts/merge",
            "/v1/contacts/{contact_id}",
            "/v1/memory/contact",
            "/v1/memory/context",
            "/v1/memory/reset",
            "/v1/memory/contact/{memory_id}",
            "/v1/memory/contact/{memory_id}/facts",
            "/v1/memory/contact/{memory_id}/summary",
            "/v1/memory/contact/{memory_id}/messages",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert!(paths.keys().filter(|p| p.starts_with("/x/v1/")).count() >= 7);
        assert_eq!(doc["openapi"], "3.1.0");
    }

    #[test]
    fn the_request_rules_land_on_schemas_the_document_has() {
        let schemas = &json()["components"]["schemas"];
        for name in [
            "IdentifierQuery",
            "ResolveRequest",
            "ContactPatch",
            "ScopedContact",
            "SummaryPatch",
            "FactsPatch",
            "NewMessage",
            "NewOpenItem",
            "CloseOpenItems",
            "EntityRef",
            "EntityUpdate",
            "NewCall",
            "NewSmsConversation",
            "Failure",
        ] {
            assert!(
                schemas[name].is_object(),
                "{name} is not a schema of the document"
            );
            assert!(
                schemas[name]["properties"].is_object() || name == "Failure",
                "{name}"
            );
        }
        // Every property patched exists in the derived schema too (renamed fields
        // would otherwise gain a second, stray property).
        let derived = serde_json::to_value(Document::openapi()).unwrap();
        let derived = &derived["components"]["schemas"];
        for name in [
            "SummaryPatch",
            "FactsPatch",
            "NewMessage",
            "NewOpenItem",
            "EntityUpdate",
            "NewCall",
            "NewSmsConversation",
            "ContactPatch",
            "ResolveRequest",
            "IdentifierQuery",
        ] {
            let ours = schemas[name]["properties"].as_object().unwrap();
            let theirs = derived[name]["properties"].as_object();
            if let Some(theirs) = theirs {
                for field in ours.keys() {
                    assert!(
                        theirs.contains_key(field),
                        "{name}.{field} is not a field of the type"
                    );
                }
            }
        }
    }
}
