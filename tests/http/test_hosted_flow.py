"""A harness written against the hosted Contacts + Memory API, pointed at the shim.

It walks the hosted flow of a voice agent — resolve the caller with a persona, create
the memory, patch facts and summary, append the call's messages (extension), read the
context the next call starts with, list and patch the contact, merge a duplicate and
read the combined memory, reset — asserting the JSON shapes of the reference.
"""

import re
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PERSONA = "persona-12345678"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

CONTACT_KEYS = {"id", "org_id", "name", "metadata", "created_at", "updated_at"}
MEMORY_KEYS = {
    "id", "org_id", "contact_id", "persona_id", "agent_number", "summary", "facts",
    "recent_messages", "open_items", "entities", "memory_history", "summary_updated_at",
    "created_at", "updated_at",
}
CONTEXT_KEYS = {"contact_id", "recentMessages", "summary", "contactFacts", "entities", "openItems"}


def ok(response):
    """The data of a success envelope."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["errors"] is None, body
    return body["data"]


def failure(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert set(error) == {"error", "message"}
    return error["error"], error["message"]


def unique_phone():
    return f"+1415555{uuid.uuid4().int % 10000:04d}"


def test_a_voice_agent_flow_against_the_shim(acme, globex):
    # The call comes in: resolve the caller, as telephony spells the number.
    resolved = ok(acme.post("/v1/contacts/resolve", json={
        "phone_number": "(415) 555-0192", "name": "Sarah Chen", "persona_id": PERSONA,
        "metadata": {"source": "inbound_call"},
    }))
    assert set(resolved) == {"contact", "created"} and resolved["created"] is True
    contact = resolved["contact"]
    assert set(contact) == CONTACT_KEYS  # the basic contact form
    assert contact["org_id"] == "acme" and ISO.match(contact["created_at"])
    contact_id = contact["id"]
    # Get expands it: identifiers (normalized) and memories.
    expanded = ok(acme.get(f"/v1/contacts/{contact_id}"))
    assert set(expanded) == CONTACT_KEYS | {"identifiers", "memories"}
    [phone] = expanded["identifiers"]
    assert phone["identifier_type"] == "phone_number"
    assert phone["identifier_value"] == "+14155550192" and phone["is_primary"] is True
    again = ok(acme.post("/v1/contacts/resolve", json={"phone_number": "+1 415 555 0192"}))
    assert again["created"] is False and again["contact"]["id"] == contact_id

    # The memory of this persona.
    opened = ok(acme.post("/v1/memory/contact", json={"contact_id": contact_id, "persona_id": PERSONA}))
    assert set(opened) == {"memory", "created"}
    memory = opened["memory"]
    assert set(memory) == MEMORY_KEYS
    assert memory["persona_id"] == PERSONA and memory["agent_number"] is None
    memory_id = memory["id"]
    assert ok(acme.post("/v1/memory/contact", json={"contact_id": contact_id, "persona_id": PERSONA}))["memory"]["id"] == memory_id

    # What the agent learnt.
    facts = ok(acme.patch(f"/v1/memory/contact/{memory_id}/facts", json={
        "facts": {"timezone": "America/Los_Angeles", "preferred_contact": "sms"}}))
    assert facts["facts"] == {"timezone": "America/Los_Angeles", "preferred_contact": "sms"}
    summary = ok(acme.patch(f"/v1/memory/contact/{memory_id}/summary", json={
        "summary": "Customer called about order #8821, which was delayed."}))
    assert summary["summary"].startswith("Customer called")
    assert ISO.match(summary["summary_updated_at"])

    # The call's messages, through the extension, with the hosted API's channel.
    ok(acme.post(f"/x/v1/memory/contact/{memory_id}/messages", json={"messages": [
        {"role": "user", "content": "Hi, I'm calling about my order", "channel": "call",
         "timestamp": "2025-07-22T10:30:00.000Z"},
        {"role": "assistant", "content": "Can you give me the order number?", "channel": "call",
         "timestamp": "2025-07-22T10:30:05.000Z"},
    ]}))
    messages = ok(acme.get(f"/v1/memory/contact/{memory_id}/messages"))
    assert [m["channel"] for m in messages] == ["call", "call"]
    assert all(set(m) == {"role", "content", "channel", "timestamp"} for m in messages)

    # The next call starts from the context.
    context = ok(acme.get("/v1/memory/context", params={"contact_id": contact_id, "persona_id": PERSONA}))
    assert set(context) == CONTEXT_KEYS
    assert context["contact_id"] == contact_id
    assert context["contactFacts"]["preferred_contact"] == "sms"
    assert [m["content"] for m in context["recentMessages"]][0] == "Hi, I'm calling about my order"
    assert context["summary"].startswith("Customer called")

    # The history of the record.
    record = ok(acme.get(f"/v1/memory/contact/{memory_id}"))
    kinds = [h["type"] for h in record["memory_history"]]
    assert kinds[0] == "created" and "facts_update" in kinds and "summary_update" in kinds
    # The hosted shape; summary and facts changes also carry the value before.
    for entry in record["memory_history"]:
        assert {"timestamp", "type", "value"} <= set(entry) <= {"timestamp", "type", "value", "previous"}
        assert ISO.match(entry["timestamp"])

    # The CRM knows her too: list, then patch.
    listed = acme.get("/v1/contacts", params={"limit": 10, "offset": 0})
    assert listed.status_code == 200
    body = listed.json()
    assert set(body) == {"data", "pagination", "errors"}
    assert set(body["pagination"]) == {"total", "limit", "offset", "has_more"}
    assert body["pagination"]["limit"] == 10
    assert contact_id in [c["id"] for c in body["data"]]
    patched = ok(acme.patch(f"/v1/contacts/{contact_id}", json={
        "email": "Sarah@Example.com", "external_id": "crm-8812", "metadata": {"tier": "gold"}}))
    assert set(patched) == CONTACT_KEYS
    assert patched["metadata"] == {"source": "inbound_call", "tier": "gold"}

    # A web form created a duplicate with its own memory; merge it in.
    duplicate = ok(acme.post("/v1/contacts/resolve", json={
        "email": "sarah.chen@work.example", "persona_id": PERSONA}))["contact"]["id"]
    dup_memory = ok(acme.post("/v1/memory/contact", json={"contact_id": duplicate, "persona_id": PERSONA}))["memory"]["id"]
    ok(acme.patch(f"/v1/memory/contact/{dup_memory}/facts", json={"facts": {"employer": "Acme Corp"}}))
    merged = ok(acme.post("/v1/contacts/merge", json={
        "primary_contact_id": contact_id, "duplicate_contact_id": duplicate}))
    assert merged["id"] == contact_id
    combined = ok(acme.get(f"/v1/memory/contact/{memory_id}"))
    assert combined["facts"]["employer"] == "Acme Corp"
    assert combined["facts"]["timezone"] == "America/Los_Angeles"
    assert failure(acme.get(f"/v1/memory/contact/{dup_memory}"), 404) == ("NOT_FOUND", "Memory not found")
    # The duplicate's id still reaches her.
    assert ok(acme.get(f"/v1/contacts/{duplicate}"))["id"] == contact_id
    found = ok(acme.post("/v1/contacts/find", json={"email": "SARAH.CHEN@work.example"}))
    assert found["id"] == contact_id

    # Another org sees none of it.
    assert failure(globex.get(f"/v1/contacts/{contact_id}"), 404) == ("NOT_FOUND", "Contact not found")
    assert failure(globex.get(f"/v1/memory/contact/{memory_id}"), 404) == ("NOT_FOUND", "Memory not found")

    # Reset: irreversible, and the context is empty afterwards.
    assert ok(acme.post("/v1/memory/reset", json={"contact_id": contact_id, "persona_id": PERSONA})) == {"success": True}
    empty = ok(acme.get("/v1/memory/context", params={"contact_id": contact_id, "persona_id": PERSONA}))
    assert empty["recentMessages"] == [] and empty["contactFacts"] == {} and empty["summary"] is None


def test_documented_errors_come_as_envelopes(acme, shim):
    import httpx

    assert failure(httpx.get(f"{shim}/v1/contacts"), 401)[0] == "UNAUTHORIZED"
    assert failure(acme.post("/v1/contacts/resolve", json={}), 400) == (
        "BAD_REQUEST", "At least one identifier (phone_number, email, or external_id) is required")
    contact_id = ok(acme.post("/v1/contacts/resolve", json={"phone_number": unique_phone()}))["contact"]["id"]
    assert failure(acme.post("/v1/memory/reset", json={"contact_id": contact_id}), 400) == (
        "BAD_REQUEST", "persona_id or agent_number is required")
    assert failure(acme.post("/v1/contacts/merge", json={
        "primary_contact_id": contact_id, "duplicate_contact_id": contact_id}), 400) == (
        "BAD_REQUEST", "Cannot merge a contact with itself")
    code, message = failure(acme.post("/v1/contacts/resolve", json={"phone_number": "555-CALL-ME-NOW-12345"}), 400)
    assert code == "BAD_REQUEST" and "555" not in message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patches=st.lists(
    st.dictionaries(
        st.sampled_from(["tier", "timezone", "language", "vip", "notes"]),
        st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=20)),
        max_size=4),
    min_size=1, max_size=5))
def test_facts_patches_merge_like_dict_update_and_never_delete(acme, patches):
    contact_id = ok(acme.post("/v1/contacts/resolve", json={"external_id": f"crm-{uuid.uuid4()}"}))["contact"]["id"]
    memory_id = ok(acme.post("/v1/memory/contact", json={"contact_id": contact_id, "persona_id": PERSONA}))["memory"]["id"]
    expected = {}
    for patch in patches:
        expected.update(patch)
        got = ok(acme.patch(f"/v1/memory/contact/{memory_id}/facts", json={"facts": patch}))["facts"]
        assert got == expected
    context = ok(acme.get("/v1/memory/context", params={"contact_id": contact_id, "persona_id": PERSONA}))
    assert context["contactFacts"] == expected
