"""Process entry points of test_concurrency (importable by spawned processes)."""

from __future__ import annotations

import contactstore

CALLERS = [f"+1415555{n:04d}" for n in range(150, 155)]


def resolve_callers(path: str) -> list[str]:
    """Opens its own store and resolves the five new callers, each several times."""
    with contactstore.open(path) as store:
        org = store.org("acme")
        ids = []
        for _ in range(10):
            for caller in CALLERS:
                ids.append(org.resolve(phone_number=caller, persona_id="p1")["contact"]["id"])
        return ids


def use_inherited(org: contactstore.Org) -> str:
    """In a forked child: use the parent's store (must be refused)."""
    try:
        org.resolve(phone_number="+14155550192")
    except contactstore.StorageError as e:
        return e.message
    return "not refused"


INHERITED: "contactstore.Org | None" = None


def use_global(_: int) -> str:
    """In a forked pool worker: use the store the parent opened before the fork."""
    assert INHERITED is not None
    return use_inherited(INHERITED)
