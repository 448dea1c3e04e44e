"""The Python package against its floors, ratios measured in one run.

    cargo build --release --features serve                       # the shim
    (cd python && maturin develop --release)                     # the extension, optimized
    pip install -r python/requirements-bench.txt                 # httpx
    python python/bench.py --shim target/release/contactstore

Three comparisons, each on the same file:

- resolve of a known caller (E.164 input) from Python, against a floor written with
  Python's own ``sqlite3``: the same indexed identifier → contact lookup, building the
  same dict (``{"contact": {...}, "created": False}``, timestamps formatted, metadata
  decoded). Target: at most 2x the floor.
- find with full hydration (1 memory, 20 messages, 5 entities, 2 identifiers), against
  ``sqlite3`` doing the same four statements in one read transaction and building the
  same dict (checked equal to the library's). Target: at most 1.5x the floor.
- the same resolve through ``httpx`` (one keep-alive connection) to the shim
  (``contactstore serve``) on loopback. Target: the library at least 20x faster.

Each figure is the median of ``--repeat`` batches of ``--number`` calls, per call.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import contactstore

ORG = "bench"
PHONE = "+14155550192"
TYPES = {1: "phone_number", 2: "email", 3: "external_id"}

LOOKUP = (
    "SELECT c.id, c.org_id, c.name, c.metadata, c.created_at, c.updated_at "
    "FROM identifier i JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id "
    "WHERE i.org_id = ? AND i.identifier_type = ? AND i.identifier_value = ?"
)
IDENTIFIERS = (
    "SELECT id, identifier_type, identifier_value, is_primary FROM identifier "
    "WHERE org_id = ? AND contact_id = ? ORDER BY identifier_type, is_primary DESC, identifier_value"
)
MEMORIES = (
    "SELECT id, persona_id, agent_number, summary, facts, recent_messages, open_items, "
    "created_at, updated_at, summary_updated_at, history "
    "FROM memory WHERE org_id = ? AND contact_id = ? ORDER BY created_at, id"
)
ENTITIES = (
    "SELECT e.memory_id, e.entity_type, e.entity_id, e.facts, e.status, e.last_discussed_at, e.notes "
    "FROM memory m JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id "
    "WHERE m.org_id = ? AND m.contact_id = ? "
    "ORDER BY e.memory_id, e.last_discussed_at DESC NULLS LAST, e.entity_type, e.entity_id"
)


def ts(millis: Optional[int]) -> Optional[str]:
    """Milliseconds since the epoch as the library writes them (RFC 3339, ms, Z)."""
    if millis is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + ".%03dZ" % (millis % 1000)


def contact_dict(row: Tuple[Any, ...]) -> Dict[str, Any]:
    return {
        "id": row[0], "org_id": row[1], "name": row[2], "metadata": json.loads(row[3]),
        "created_at": ts(row[4]), "updated_at": ts(row[5]),
    }


def floor_resolve(conn: sqlite3.Connection, phone: str) -> Dict[str, Any]:
    row = conn.execute(LOOKUP, (ORG, 1, phone)).fetchone()
    return {"contact": contact_dict(row), "created": False}


def floor_find(conn: sqlite3.Connection, phone: str) -> Optional[Dict[str, Any]]:
    conn.execute("BEGIN")
    try:
        row = conn.execute(LOOKUP, (ORG, 1, phone)).fetchone()
        if row is None:
            return None
        contact = contact_dict(row)
        cid = contact["id"]
        contact["identifiers"] = [
            {"id": i, "contact_id": cid, "identifier_type": TYPES[t], "identifier_value": v,
             "is_primary": bool(p)}
            for i, t, v, p in conn.execute(IDENTIFIERS, (ORG, cid))
        ]
        memories: List[Dict[str, Any]] = []
        by_id: Dict[str, Dict[str, Any]] = {}
        for m in conn.execute(MEMORIES, (ORG, cid)):
            memory = {
                "id": m[0], "contact_id": cid, "persona_id": m[1], "agent_number": m[2],
                "summary": m[3], "facts": json.loads(m[4]), "recent_messages": json.loads(m[5]),
                "open_items": json.loads(m[6]), "entities": [], "created_at": ts(m[7]),
                "updated_at": ts(m[8]), "summary_updated_at": ts(m[9]),
                "memory_history": json.loads(m[10]),
            }
            memories.append(memory)
            by_id[m[0]] = memory
        if memories:
            for e in conn.execute(ENTITIES, (ORG, cid)):
                by_id[e[0]]["entities"].append({
                    "entity_type": e[1], "entity_id": e[2], "facts": json.loads(e[3]),
                    "status": e[4], "last_discussed_at": ts(e[5]), "notes": e[6],
                })
        contact["memories"] = memories
        return contact
    finally:
        conn.execute("COMMIT")


def per_call(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    for _ in range(max(number // 10, 10)):
        fn()
    batches = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        batches.append((time.perf_counter() - started) / number)
    return statistics.median(batches)


def populate(store: contactstore.Store, contacts: int) -> str:
    org = store.org(ORG)
    lines = io.BytesIO()
    for i in range(contacts):
        doc = {"name": f"Contact {i}", "identifiers": [
            {"identifier_type": "phone_number", "identifier_value": f"+1415{2000000 + i:07d}"},
            {"identifier_type": "email", "identifier_value": f"contact{i}@example.com"}]}
        lines.write(json.dumps(doc).encode() + b"\n")
    lines.seek(0)
    summary = org.import_jsonl(lines)
    assert summary["rejected"] == 0, summary["errors"][:3]
    cid = org.resolve(phone_number=PHONE, email="sarah@example.com", name="Sarah Chen",
                      persona_id="persona-bench", metadata={"tier": "gold"})["contact"]["id"]
    org.add_messages(cid, [
        {"role": "user" if n % 2 else "assistant", "content": f"Message {n} about order 8821.",
         "channel": "call", "timestamp": f"2025-07-23T09:{n:02d}:00Z"} for n in range(20)
    ], persona_id="persona-bench")
    for n in range(5):
        org.upsert_entity(cid, entity_type="order", entity_id=f"order-{n}", facts={"n": n},
                          status="open", last_discussed_at=f"2025-07-2{n}T10:00:00Z",
                          persona_id="persona-bench")
    org.set_summary(cid, "Sarah asked about order 8821.", persona_id="persona-bench")
    return cid


def start_shim(binary: str, path: str, key: str) -> Tuple[subprocess.Popen[bytes], str]:
    ready = tempfile.NamedTemporaryFile(delete=False)
    proc = subprocess.Popen(
        [binary, "--db", path, "serve", "--listen", "127.0.0.1:0", "--api-key", f"{key}={ORG}"],
        stdout=ready, stderr=subprocess.DEVNULL, env={k: v for k, v in os.environ.items()
                                                       if k != "CONTACTSTORE_API_KEYS"})
    for _ in range(200):
        if os.path.getsize(ready.name) > 0:
            break
        time.sleep(0.05)
    with open(ready.name) as f:
        base_url = json.load(f)["data"]["base_url"]
    os.unlink(ready.name)
    return proc, base_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--shim", help="the contactstore binary built with --features serve")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench.db")
        store = contactstore.open(path)
        populate(store, args.contacts)
        org = store.org(ORG)
        conn = sqlite3.connect(path, isolation_level=None, cached_statements=64)

        lib = org.resolve(phone_number=PHONE)
        assert floor_resolve(conn, PHONE) == lib, "the resolve floor builds another dict"
        assert floor_find(conn, PHONE) == org.find(phone_number=PHONE), "the find floor differs"

        rows: List[Tuple[str, float, float, str]] = []
        resolve_lib = per_call(lambda: org.resolve(phone_number=PHONE), args.number, args.repeat)
        resolve_floor = per_call(lambda: floor_resolve(conn, PHONE), args.number, args.repeat)
        find_n = max(args.number // 4, 100)
        find_lib = per_call(lambda: org.find(phone_number=PHONE), find_n, args.repeat)
        find_floor = per_call(lambda: floor_find(conn, PHONE), find_n, args.repeat)

        print(f"contactstore {contactstore.__version__}, Python {platform.python_version()}, "
              f"SQLite {sqlite3.sqlite_version} (Python's sqlite3), {args.contacts:,} contacts, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
        print(f"{'':52} {'library':>10} {'floor':>10} {'ratio':>8}  target")
        print(f"{'resolve, known caller (E.164), vs sqlite3':52} {resolve_lib * 1e6:8.2f}µs "
              f"{resolve_floor * 1e6:8.2f}µs {resolve_lib / resolve_floor:7.2f}×  ≤ 2×")
        print(f"{'find, full hydration (20 messages, 5 entities)':52} {find_lib * 1e6:8.2f}µs "
              f"{find_floor * 1e6:8.2f}µs {find_lib / find_floor:7.2f}×  ≤ 1.5×")

        if args.shim:
            import httpx

            key = "bench-key-" + os.urandom(8).hex()
            proc, base_url = start_shim(args.shim, path, key)
            try:
                with httpx.Client(base_url=base_url, headers={"authorization": key}) as client:
                    def over_http() -> Any:
                        return client.post("/v1/contacts/resolve", json={"phone_number": PHONE}).json()["data"]

                    assert over_http()["contact"] == lib["contact"]
                    http = per_call(over_http, max(args.number // 20, 200), args.repeat)
            finally:
                proc.terminate()
                proc.wait()
            print(f"{'resolve through httpx to the shim, vs the library':52} {http * 1e6:8.2f}µs "
                  f"{resolve_lib * 1e6:8.2f}µs {http / resolve_lib:7.1f}×  ≥ 20× (library faster)")
        conn.close()
        store.close()


if __name__ == "__main__":
    sys.exit(main())
