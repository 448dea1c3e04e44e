"""The memory calls, by contact and scope and by memory id; calls and SMS."""

from __future__ import annotations

import datetime as dt
import os

import pytest

import contactstore
from contactstore import BadRequest, NotFound


def test_memory_writes_by_scope(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    memory = org.ensure_memory(cid, persona_id="p1")
    assert memory["summary"] == "" and memory["persona_id"] == "p1"
    assert memory["id"].startswith("mem-")
    memory = org.set_summary(cid, "Asked about order 8821.", persona_id="p1")
    assert memory["summary"] == "Asked about order 8821."
    memory = org.patch_facts(cid, {"timezone": "America/Los_Angeles", "x": 1}, persona_id="p1")
    memory = org.patch_facts(cid, {"x": None}, persona_id="p1")
    assert memory["facts"] == {"timezone": "America/Los_Angeles"}
    memory = org.add_messages(cid, [
        {"role": "assistant", "content": "Thursday.", "channel": "call",
         "timestamp": "2025-07-23T09:11:00Z"},
        {"role": "user", "content": "When?", "channel": "call",
         "timestamp": dt.datetime(2025, 7, 23, 9, 10, tzinfo=dt.timezone.utc)},
    ], persona_id="p1")
    assert [m["content"] for m in memory["recent_messages"]] == ["When?", "Thursday."]
    assert memory["recent_messages"][0]["timestamp"] == "2025-07-23T09:10:00.000Z"
    memory = org.add_open_item(cid, type="follow_up", description="Call back", priority="high",
                               related_to={"entity_type": "order", "entity_id": "order-8821"},
                               persona_id="p1")
    item = memory["open_items"][0]
    assert item["type"] == "follow_up" and item["priority"] == "high"
    assert item["related_to"] == {"entity_type": "order", "entity_id": "order-8821"}
    again = org.add_open_item(cid, type="follow_up", description="Call back", priority="high",
                              related_to={"entity_type": "order", "entity_id": "order-8821"},
                              created_at=item["created_at"], persona_id="p1")
    assert len(again["open_items"]) == 1  # an identical item is not added twice
    memory = org.upsert_entity(cid, entity_type="order", entity_id="order-8821",
                               facts={"carrier": "UPS"}, status="in_transit", persona_id="p1")
    assert memory["entities"][0]["status"] == "in_transit"
    memory = org.close_open_items(cid, type="follow_up", description="Call back", persona_id="p1")
    assert memory["open_items"] == []
    assert [h["type"] for h in memory["memory_history"]][:2] == ["created", "summary_update"]
    context = org.memory_context(cid, persona_id="p1")
    assert set(context) == {"contact_id", "recentMessages", "summary", "contactFacts",
                            "entities", "openItems"}
    assert context["summary"] == "Asked about order 8821."
    assert org.reset_memory(cid, persona_id="p1") == {"success": True}
    assert org.memory_context(cid, persona_id="p1")["recentMessages"] == []


def test_recent_messages_are_capped(db_path: str) -> None:
    with contactstore.open(db_path, recent_messages_cap=3) as store:
        org = store.org("acme")
        cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
        for i in range(5):
            memory = org.add_messages(cid, [{"role": "user", "content": f"m{i}", "channel": "sms",
                                             "timestamp": f"2025-07-23T09:1{i}:00Z"}], persona_id="p1")
        assert [m["content"] for m in memory["recent_messages"]] == ["m2", "m3", "m4"]


def test_memory_errors(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    with pytest.raises(BadRequest) as caught:
        org.ensure_memory(cid)
    assert caught.value.message == "persona_id or agent_number is required"
    with pytest.raises(NotFound):
        org.ensure_memory("00000000-0000-0000-0000-000000000000", persona_id="p1")
    with pytest.raises(BadRequest) as caught:
        org.add_messages(cid, [{"role": "robot", "content": "x", "channel": "sms"}],  # type: ignore[list-item]
                         persona_id="p1")
    assert "role" in caught.value.message
    with pytest.raises(BadRequest):
        org.add_messages(cid, [{"role": "user", "content": "x", "channel": "sms",
                                "timestamp": dt.datetime(2025, 1, 1)}], persona_id="p1")
    with pytest.raises(BadRequest):
        org.add_messages(cid, [{"role": "user", "content": "x" * 100_000, "channel": "sms"}],
                         persona_id="p1")
    with pytest.raises(BadRequest):
        org.add_open_item(cid, type="", description="x", persona_id="p1")
    assert org.memory_context(cid, persona_id="p1")["recentMessages"] == []


def test_hosted_memory_calls_by_id(store: contactstore.Store, org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    opened = org.open_memory(cid, persona_id="p1")
    assert opened["created"] is True and opened["memory"]["summary"] is None
    mid = opened["memory"]["id"]
    assert org.open_memory(cid, persona_id="p1")["created"] is False
    record = org.merge_facts(mid, {"k": None})
    assert record["facts"] == {"k": None} and record["org_id"] == "acme"
    assert org.replace_summary(mid, "S.")["summary"] == "S."
    org.add_messages_by_id(mid, [{"role": "user", "content": "hi", "channel": "call"}])
    assert [m["content"] for m in org.recent_messages(mid)] == ["hi"]
    org.add_open_item_by_id(mid, type="todo", description="d")
    assert org.close_open_items_by_id(mid, type="todo", description="d")["open_items"] == []
    assert org.upsert_entity_by_id(mid, entity_type="order", entity_id="o1")["entities"][0]["entity_id"] == "o1"
    assert org.memory(mid)["id"] == mid
    with pytest.raises(NotFound) as caught:
        store.org("other").memory(mid)
    assert caught.value.message == "Memory not found"


def test_calls_and_sms(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    call = org.record_call(cid, direction="inbound", agent_number="(415) 555-0100",
                           contact_number="415.555.0192", duration_seconds=42, summary="Order",
                           started_at="2025-07-23T09:10:00Z", metadata={"sid": "CA1"})
    assert call["agent_number"] == "+14155550100" and call["duration_seconds"] == 42
    sms = org.record_sms(cid, direction="outbound", message_count=3)
    assert sms["message_count"] == 3
    assert [c["id"] for c in org.calls(cid)] == [call["id"]]
    assert [s["id"] for s in org.sms_conversations(cid)] == [sms["id"]]
    with pytest.raises(BadRequest):
        org.record_call(cid, direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(BadRequest):
        org.record_call(cid, direction="inbound", duration_seconds=-1)
    with pytest.raises(NotFound):
        org.record_sms("00000000-0000-0000-0000-000000000000", direction="inbound")
