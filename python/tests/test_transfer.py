"""import_jsonl / export_jsonl from paths and binary file objects; store-level calls."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

import contactstore
from contactstore import BadRequest, StorageError

LINES = (
    b'{"name":"Sarah","identifiers":[{"identifier_type":"phone_number","identifier_value":"(415) 555-0192"}]}\n'
    b"not json\n"
    b'{"name":"Bob","identifiers":[{"identifier_type":"email","identifier_value":"Bob@Example.com"}]}\n'
)


def test_import_from_a_file_object_reports_rejected_lines(org: contactstore.Org) -> None:
    summary = org.import_jsonl(io.BytesIO(LINES))
    assert summary["imported"] == 2 and summary["rejected"] == 1
    assert summary["errors"][0]["line"] == 2 and summary["errors"][0]["error"] == "BAD_REQUEST"
    assert org.find(phone_number="+14155550192") is not None
    again = org.import_jsonl(io.BytesIO(LINES))
    assert again["unchanged"] == 2 and again["imported"] == 0


def test_export_import_round_trip_is_byte_identical(tmp_path: Path, org: contactstore.Org) -> None:
    org.import_jsonl(io.BytesIO(LINES))
    path = tmp_path / "out.jsonl"
    assert org.export_jsonl(path) == {"exported": 2}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with contactstore.open(tmp_path / "copy.db") as copy:
        with open(path, "rb") as f:
            assert copy.org("acme").import_jsonl(f)["imported"] == 2
        out = io.BytesIO()
        copy.org("acme").export_jsonl(out)
    assert out.getvalue() == path.read_bytes()
    # a str path works too, and all orgs at once
    org.store.export_jsonl(str(tmp_path / "all.jsonl"))
    assert (tmp_path / "all.jsonl").read_bytes() == path.read_bytes()


def test_import_on_conflict_merge(org: contactstore.Org) -> None:
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    line = b'{"name":"Sarah","identifiers":[{"identifier_type":"phone_number","identifier_value":"+14155550192"},{"identifier_type":"email","identifier_value":"s@example.com"}]}\n'
    assert org.import_jsonl(io.BytesIO(line))["rejected"] == 1
    assert org.import_jsonl(io.BytesIO(line), on_conflict="merge")["merged"] == 1
    assert len(org.get(cid)["identifiers"]) == 2
    with pytest.raises(BadRequest):
        org.import_jsonl(io.BytesIO(line), on_conflict="overwrite")  # type: ignore[arg-type]


def test_text_files_and_other_objects_are_refused(tmp_path: Path, org: contactstore.Org) -> None:
    with pytest.raises(TypeError):
        org.import_jsonl(io.StringIO("{}"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        org.export_jsonl(io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        org.import_jsonl(42)  # type: ignore[arg-type]


def test_failures_of_the_source_are_storage_errors(tmp_path: Path, org: contactstore.Org) -> None:
    with pytest.raises(StorageError):
        org.import_jsonl(tmp_path / "missing.jsonl")

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            raise OSError("disk on fire")

    with pytest.raises(StorageError) as caught:
        org.import_jsonl(Broken())
    assert caught.value.summary is not None and caught.value.summary["lines"] == 0


def test_store_check_and_backup(tmp_path: Path, store: contactstore.Store) -> None:
    store.org("acme").resolve(phone_number="+14155550192")
    report = store.check()
    assert report["healthy"] is True and report["checks"]
    backup = tmp_path / "backup.db"
    assert store.backup(backup)["bytes"] > 0
    with pytest.raises(BadRequest):
        store.backup(backup)
    store.backup(backup, overwrite=True)
    with contactstore.open(backup) as copy:
        assert copy.org("acme").find(phone_number="+14155550192") is not None


def test_threads_exporting_to_one_path_each_succeed_and_leave_one_whole_file(
    tmp_path: Path, org: contactstore.Org
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    org.import_jsonl(io.BytesIO(LINES))
    path = tmp_path / "out.jsonl"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: org.export_jsonl(path), range(8)))
    assert results == [{"exported": 2}] * 8
    assert len(path.read_bytes().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
