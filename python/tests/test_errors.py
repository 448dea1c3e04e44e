"""The error classes, settings, closing, and the absence of personal data in messages."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import contactstore
from contactstore import BadRequest, Error, NotFound, StorageError


def test_error_classes() -> None:
    for cls, code in [(BadRequest, "BAD_REQUEST"), (NotFound, "NOT_FOUND"), (StorageError, "INTERNAL_ERROR")]:
        assert issubclass(cls, Error) and issubclass(cls, Exception)
        e = cls(code, "message")
        assert (e.code, e.message, str(e)) == (code, "message", "message")
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is cls and again.code == code


def test_open_settings(tmp_path: Path) -> None:
    with contactstore.open(tmp_path / "gb.db", region="gb", durability="full", busy_timeout=1.5) as store:
        got = store.org("acme").resolve(phone_number="020 7946 0958")
        found = store.org("acme").get(got["contact"]["id"])
        assert found["identifiers"][0]["identifier_value"] == "+442079460958"
    for kwargs, field in [({"region": "XX"}, "region"), ({"durability": "fast"}, "durability"),
                          ({"busy_timeout": -1.0}, "busy_timeout"),
                          ({"recent_messages_cap": 0}, "recent_messages_cap"),
                          ({"pool_size": 0}, "pool_size")]:
        with pytest.raises(BadRequest) as caught:
            contactstore.open(tmp_path / "x.db", **kwargs)  # type: ignore[arg-type]
        assert field in caught.value.message


def test_unopenable_files_are_storage_errors(tmp_path: Path) -> None:
    (tmp_path / "foreign.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError):
        contactstore.open(tmp_path / "foreign.db")
    with pytest.raises(StorageError):
        contactstore.open(tmp_path / "no" / "such" / "dir" / "x.db")


def test_org_ids_are_checked(store: contactstore.Store) -> None:
    for bad in ["", "x" * 129, "a\nb"]:
        with pytest.raises(BadRequest) as caught:
            store.org(bad)
        assert "org_id" in caught.value.message


def test_a_closed_store_refuses_calls(db_path: str) -> None:
    store = contactstore.open(db_path)
    org = store.org("acme")
    store.close()
    assert store.closed
    with pytest.raises(StorageError) as caught:
        org.resolve(phone_number="+14155550192")
    assert "closed" in caught.value.message
    store.close()  # twice is fine


def test_in_memory_store(tmp_path: Path) -> None:
    with contactstore.open(":memory:") as store:
        org = store.org("acme")
        cid = org.resolve(email="a@example.com")["contact"]["id"]
        assert org.get(cid)["id"] == cid
    assert not (Path(":memory:")).exists()


def test_messages_never_echo_phone_numbers_or_emails(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    other = org.resolve(email="sarah@example.com")["contact"]["id"]
    attempts = [
        lambda: org.resolve(phone_number="+1 415 555 01"),
        lambda: org.resolve(email="sarah@@example.com"),
        lambda: org.resolve(phone_number=14155550192),  # type: ignore[arg-type]
        lambda: org.update(cid, add=[("email", "sarah@example.com")]),
        lambda: org.update(other, remove=[("phone_number", "+14155550192")]),
        lambda: org.record_call(cid, direction="inbound", contact_number="+1415555019"),
        lambda: org.resolve_caller("sip:+14155550192;ext=12@host"),
    ]
    for attempt in attempts:
        with pytest.raises(Error) as caught:
            attempt()
        message = caught.value.message
        for secret in ["415555", "4155550", "sarah@", "example.com"]:
            assert secret not in message, message
