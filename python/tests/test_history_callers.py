"""merge_preview, unmerge, changes (contract §10); resolve_caller and suggest_merges (§9)."""

from __future__ import annotations

import pytest

import contactstore
from contactstore import BadRequest, NotFound


def test_merge_preview_is_merge_without_writing(org: contactstore.Org) -> None:
    a = org.resolve(phone_number="+14155550192")["contact"]["id"]
    b = org.resolve(email="sarah@example.com")["contact"]["id"]
    before = org.changes()["next"]
    preview = org.merge_preview(a, b)
    assert org.changes()["next"] == before
    assert org.get(b)["id"] == b
    merged = org.merge(a, b)
    for key in ("id", "identifiers", "moved", "name", "metadata"):
        if key == "identifiers":
            assert [i["identifier_value"] for i in preview[key]] == [i["identifier_value"] for i in merged[key]]
        else:
            assert preview[key] == merged[key]  # type: ignore[literal-required]
    with pytest.raises(BadRequest):
        org.merge_preview(a, a)


def test_unmerge_restores_both(org: contactstore.Org) -> None:
    a = org.resolve(phone_number="+14155550192")["contact"]["id"]
    b = org.resolve(email="sarah@example.com")["contact"]["id"]
    org.merge(a, b)
    split = org.unmerge(b)
    assert split["restored"]["id"] == b and split["primary"]["id"] == a
    assert len(split["primary"]["identifiers"]) == 1
    with pytest.raises(NotFound):
        org.unmerge(b)  # undone already
    with pytest.raises(NotFound):
        org.unmerge(a)  # never merged away


def test_changes_pages_in_order(org: contactstore.Org) -> None:
    for i in range(3):
        org.resolve(email=f"u{i}@example.com")
    page = org.changes(0, limit=2)
    assert [c["kind"] for c in page["changes"]] == ["contact.created"] * 2
    rest = org.changes(page["next"])
    assert len(rest["changes"]) == 1
    assert org.changes(rest["next"])["changes"] == []
    with pytest.raises(BadRequest):
        org.changes(0, limit=0)


def test_store_changes_cover_every_org(store: contactstore.Store) -> None:
    store.org("a").resolve(email="x@example.com")
    store.org("b").resolve(email="x@example.com")
    assert {c["org_id"] for c in store.changes()["changes"]} == {"a", "b"}


@pytest.mark.parametrize(
    "caller_id, kind",
    [
        ("sip:+14155550192@sip.twilio.com", "number"),
        ('"Sarah" <sip:+14155550192@host;user=phone>', "number"),
        ("tel:+1-415-555-0192", "number"),
        ("anonymous", "withheld"),
        ("22395", "short_code"),
        ("ACME", "alphanumeric"),
    ],
)
def test_resolve_caller_kinds(org: contactstore.Org, caller_id: str, kind: str) -> None:
    got = org.resolve_caller(caller_id, to="+14155550100", persona_id="p1")
    assert got["caller"]["kind"] == kind
    if kind == "number":
        assert got["caller"]["phone_number"] == "+14155550192"
        assert got["contact"] is not None
        assert org.find(phone_number="+14155550192") is not None
    else:
        assert got["contact"] is None and got["created"] is False
        assert list(org.list()) == []


def test_resolve_caller_scopes_memory_by_the_number_called(org: contactstore.Org) -> None:
    got = org.resolve_caller("+14155550192", to="(415) 555-0100")
    assert got["contact"] is not None
    memories = org.get(got["contact"]["id"])["memories"]
    assert [m["agent_number"] for m in memories] == ["+14155550100"]


def test_resolve_caller_refuses_invalid(org: contactstore.Org) -> None:
    with pytest.raises(BadRequest) as caught:
        org.resolve_caller("sip:+14155550192;ext=12@host")
    assert "from" in caught.value.message


def test_suggest_merges(org: contactstore.Org) -> None:
    call = org.resolve(email="sarah.chen@gmail.com", name="Sarah Chen")["contact"]["id"]
    form = org.resolve(email="SarahChen+orders@gmail.com")["contact"]["id"]
    found = org.suggest_merges()
    assert [(s["primary_id"], s["duplicate_id"]) for s in found["suggestions"]] == [(call, form)]
    assert 0 <= found["suggestions"][0]["score"] <= 1 and found["suggestions"][0]["reasons"]
    with pytest.raises(BadRequest):
        org.suggest_merges(min_score=2)
    with pytest.raises(BadRequest):
        org.suggest_merges(limit=0)
