"""Fixtures: a fresh store file per test, and its org ``acme``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

import contactstore

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return os.path.join(tmp_path, "contacts.db")


@pytest.fixture
def store(db_path: str) -> Iterator[contactstore.Store]:
    with contactstore.open(db_path) as s:
        yield s


@pytest.fixture
def org(store: contactstore.Store) -> contactstore.Org:
    return store.org("acme")
