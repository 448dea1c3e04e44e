"""resolve, find, get, update, patch, list, merge, erase: success and error cases, as
the Rust library defines them (contract §3)."""

from __future__ import annotations

import re

import pytest

import contactstore
from contactstore import BadRequest, NotFound

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_resolve_creates_then_finds_with_any_spelling(org: contactstore.Org) -> None:
    first = org.resolve(phone_number="(415) 555-0192", name="Sarah Chen")
    assert first["created"] is True
    contact = first["contact"]
    assert set(contact) == {"id", "org_id", "name", "metadata", "created_at", "updated_at"}
    assert contact["org_id"] == "acme" and contact["name"] == "Sarah Chen"
    assert contact["metadata"] == {}
    assert TIMESTAMP.match(contact["created_at"])
    assert "conflicts" not in first
    for spelling in ["+14155550192", "+1 415 555 0192", "415.555.0192", "tel:+1-415-555-0192"]:
        again = org.resolve(phone_number=spelling)
        assert again["created"] is False
        assert again["contact"]["id"] == contact["id"]


def test_resolve_attaches_fills_and_never_overwrites(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192", metadata={"tier": "gold"})["contact"]["id"]
    got = org.resolve(phone_number="+14155550192", email="Sarah@Example.com", name="Sarah",
                      metadata={"tier": "silver", "source": "form"})
    assert got["contact"]["id"] == cid
    assert got["contact"]["name"] == "Sarah"  # an empty name is filled
    assert got["contact"]["metadata"] == {"tier": "gold", "source": "form"}  # existing wins
    renamed = org.resolve(email="sarah@example.com", name="Someone Else")
    assert renamed["contact"]["name"] == "Sarah"  # never replaced
    found = org.find(email="SARAH@example.com")
    assert found is not None
    values = {(i["identifier_type"], i["identifier_value"], i["is_primary"]) for i in found["identifiers"]}
    assert values == {("phone_number", "+14155550192", True), ("email", "sarah@example.com", True)}


def test_resolve_that_changes_nothing_writes_nothing(org: contactstore.Org) -> None:
    first = org.resolve(phone_number="+14155550192", name="Sarah")
    before = org.changes()["next"]
    again = org.resolve(phone_number="+14155550192", name="Sarah")
    assert again["contact"]["updated_at"] == first["contact"]["updated_at"]
    assert org.changes()["next"] == before


def test_resolve_precedence_and_conflicts(org: contactstore.Org) -> None:
    by_phone = org.resolve(phone_number="+14155550192")["contact"]["id"]
    by_email = org.resolve(email="sarah@example.com")["contact"]["id"]
    by_external = org.resolve(external_id="crm-1")["contact"]["id"]
    # phone beats email
    got = org.resolve(phone_number="+14155550192", email="sarah@example.com")
    assert got["contact"]["id"] == by_phone
    assert got["conflicts"] == [{"identifier_type": "email", "contact_id": by_email}]
    # external_id beats both; nothing moves
    got = org.resolve(phone_number="+14155550192", email="sarah@example.com", external_id="crm-1")
    assert got["contact"]["id"] == by_external
    assert {c["identifier_type"] for c in got["conflicts"]} == {"phone_number", "email"}
    assert len(org.get(by_phone)["identifiers"]) == 1
    # find follows the same precedence
    found = org.find(phone_number="+14155550192", external_id="crm-1")
    assert found is not None and found["id"] == by_external


def test_resolve_ensures_the_scoped_memory(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192", persona_id="persona-1")["contact"]["id"]
    memories = org.get(cid)["memories"]
    assert [m["persona_id"] for m in memories] == ["persona-1"]
    org.resolve(phone_number="+14155550192", agent_number="(415) 555-0100")
    agents = [m["agent_number"] for m in org.get(cid)["memories"]]
    assert "+14155550100" in agents


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({}, "identifier"),
        ({"phone_number": "anonymous"}, "phone_number"),
        ({"phone_number": "12345"}, "phone_number"),
        ({"phone_number": "+1 415 555 0192 ext. 12"}, "phone_number"),
        ({"email": "not an email"}, "email"),
        ({"external_id": "   "}, "external_id"),
        ({"email": "a@example.com", "metadata": [1, 2]}, "metadata"),
        ({"email": "a@example.com", "metadata": {"x": float("nan")}}, "metadata"),
        ({"email": "a@example.com", "metadata": {"x": object()}}, "metadata"),
        ({"phone_number": 4155550192}, "phone_number"),
        ({"email": "a@example.com", "name": 7}, "name"),
    ],
)
def test_resolve_refuses_bad_input_naming_the_field(
    org: contactstore.Org, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        org.resolve(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "BAD_REQUEST"
    assert field in caught.value.message
    assert "4155550192" not in caught.value.message and "a@example.com" not in caught.value.message
    assert list(org.list()) == []


def test_unknown_keyword_is_a_type_error(org: contactstore.Org) -> None:
    with pytest.raises(TypeError):
        org.resolve(phone="+14155550192")  # type: ignore[call-arg]


def test_find_returns_none_and_needs_an_identifier(org: contactstore.Org) -> None:
    assert org.find(email="nobody@example.com") is None
    with pytest.raises(BadRequest):
        org.find()
    with pytest.raises(BadRequest):
        org.find(phone_number="anonymous")


def test_get_follows_merges_and_hides_other_orgs(store: contactstore.Store, org: contactstore.Org) -> None:
    a = org.resolve(phone_number="+14155550192")["contact"]["id"]
    b = org.resolve(email="sarah@example.com")["contact"]["id"]
    org.merge(a, b)
    assert org.get(b)["id"] == a
    with pytest.raises(NotFound) as caught:
        store.org("other").get(a)
    assert caught.value.message == "Contact not found"
    with pytest.raises(NotFound):
        org.get("00000000-0000-0000-0000-000000000000")


def test_update_sets_clears_adds_removes_and_refuses(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192", metadata={"a": 1, "b": 2})["contact"]["id"]
    other = org.resolve(email="taken@example.com")["contact"]["id"]
    got = org.update(cid, name="Sarah Chen", metadata={"a": None, "c": 3},
                     add=[("email", "Sarah@Example.com"),
                          {"identifier_type": "external_id", "identifier_value": "crm-9"}])
    assert got["name"] == "Sarah Chen" and got["metadata"] == {"b": 2, "c": 3}
    assert len(got["identifiers"]) == 3
    got = org.update(cid, name=None, remove=[("external_id", "crm-9")])
    assert got["name"] is None and len(got["identifiers"]) == 2
    assert org.update(cid)["name"] is None  # omitted name: kept
    with pytest.raises(BadRequest):
        org.update(cid, add=[("email", "taken@example.com")])  # never stolen
    assert org.get(other)["identifiers"][0]["identifier_value"] == "taken@example.com"
    with pytest.raises(BadRequest):
        org.update(other, remove=[("email", "taken@example.com")])  # its last one
    with pytest.raises(BadRequest):
        org.update(cid, add=[("fax", "123")])  # type: ignore[list-item]
    with pytest.raises(NotFound):
        org.update("00000000-0000-0000-0000-000000000000", name="x")


def test_patch_is_the_hosted_update(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    got = org.patch(cid, name="Sarah", email="s@example.com", metadata={"k": None})
    assert set(got) == {"id", "org_id", "name", "metadata", "created_at", "updated_at"}
    assert got["metadata"] == {"k": None} and got["name"] == "Sarah"
    assert len(org.get(cid)["identifiers"]) == 2


def test_list_is_a_lazy_iterator_over_pages(org: contactstore.Org) -> None:
    ids = [org.resolve(email=f"user{i}@example.com", name=f"User {i}")["contact"]["id"] for i in range(7)]
    it = org.list(limit=3)
    assert it.next_cursor is None
    first = next(it)
    assert first["id"] == ids[0] and "identifiers" not in first
    rest = list(it)
    assert [c["id"] for c in [first, *rest]] == ids
    assert it.next_cursor is None
    with_ids = list(org.list(limit=2, with_identifiers=True, name_prefix="user 1"))
    assert [c["identifiers"][0]["identifier_value"] for c in with_ids] == ["user1@example.com"]
    page = org.list_page(limit=5)
    assert len(page["contacts"]) == 5 and page["next_cursor"] is not None
    resumed = list(org.list(limit=5, cursor=page["next_cursor"]))
    assert [c["id"] for c in resumed] == ids[5:]
    with pytest.raises(BadRequest):
        list(org.list(limit=0))
    with pytest.raises(BadRequest):
        list(org.list(cursor="not-a-cursor"))
    offset = org.contacts_at_offset(5, limit=10)
    assert offset["pagination"] == {"total": 7, "limit": 10, "offset": 5, "has_more": False}
    assert "memories" in offset["contacts"][0]


def test_merge_follows_the_rules(org: contactstore.Org) -> None:
    primary = org.resolve(phone_number="+14155550192", metadata={"tier": "gold"},
                          persona_id="p1")["contact"]["id"]
    duplicate = org.resolve(email="sarah@example.com", name="Sarah",
                            metadata={"tier": "silver", "city": "SF"}, persona_id="p1")["contact"]["id"]
    org.set_summary(primary, "Primary summary.", persona_id="p1")
    org.set_summary(duplicate, "Duplicate summary.", persona_id="p1")
    org.patch_facts(primary, {"a": 1, "shared": "primary"}, persona_id="p1")
    org.patch_facts(duplicate, {"b": 2, "shared": "duplicate"}, persona_id="p1")
    org.record_call(duplicate, direction="inbound", duration_seconds=30)
    merged = org.merge(primary, duplicate)
    assert merged["id"] == primary
    assert merged["name"] == "Sarah"  # the primary had none
    assert merged["metadata"] == {"tier": "gold", "city": "SF"}
    assert merged["moved"]["identifiers"] == 1 and merged["moved"]["calls"] == 1
    memory = merged["memories"][0]
    assert memory["summary"] == "Primary summary.\n\nDuplicate summary."
    assert memory["facts"] == {"a": 1, "b": 2, "shared": "primary"}
    assert len(org.calls(primary)) == 1
    with pytest.raises(BadRequest) as caught:
        org.merge(primary, primary)
    assert caught.value.message == "Cannot merge a contact with itself"
    with pytest.raises(NotFound):
        org.merge(primary, "00000000-0000-0000-0000-000000000000")


def test_erase_removes_everything_and_then_not_found(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192", persona_id="p1")["contact"]["id"]
    erased = org.erase(cid)
    assert erased["contact_id"] == cid and erased["identifiers"] == 1 and erased["memories"] == 1
    with pytest.raises(NotFound):
        org.get(cid)
    with pytest.raises(NotFound):
        org.erase(cid)
    assert org.find(phone_number="+14155550192") is None
