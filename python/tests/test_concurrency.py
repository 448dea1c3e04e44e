"""Threads, processes, asyncio, and the fork guard."""

from __future__ import annotations

import asyncio
import gc
import inspect
import multiprocessing
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest

import contactstore
from contactstore import aio

import _workers


def test_eight_threads_two_hundred_resolves_each(store: contactstore.Store) -> None:
    org = store.org("acme")
    known = [f"+1415555{n:04d}" for n in range(100, 120)]
    for number in known:
        org.resolve(phone_number=number)
    errors: List[BaseException] = []
    ids: List[str] = []
    numbers: set[str] = set()
    lock = threading.Lock()

    def work(t: int) -> None:
        try:
            for i in range(200):
                if i % 4 == 0:  # every thread also creates the same new callers
                    number = f"+1212555{(i // 4) % 50 + 100:04d}"
                else:
                    number = known[(t * 200 + i) % len(known)]
                got = org.resolve(phone_number=number, persona_id="p1")["contact"]["id"]
                with lock:
                    ids.append(got)
                    numbers.add(number)
        except BaseException as e:  # noqa: BLE001 - counted below
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 1600
    assert len(set(ids)) == len(numbers)  # one contact a number, however many threads
    assert sum(1 for _ in org.list(limit=1000)) == 70


def test_the_gil_is_released_while_sqlite_works(store: contactstore.Store) -> None:
    org = store.org("acme")
    lines = b"".join(
        b'{"identifiers":[{"identifier_type":"email","identifier_value":"u%d@example.com"}]}\n' % i
        for i in range(3000)
    )
    import io

    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.perf_counter()
    org.import_jsonl(io.BytesIO(lines))
    elapsed = time.perf_counter() - started
    done.set()
    counter.join()
    # A held GIL would leave the counter a handful of switch intervals (5 ms each).
    assert ticks > 100, (ticks, elapsed)


def test_eight_processes_resolving_the_same_new_callers_make_five_contacts(db_path: str) -> None:
    contactstore.open(db_path).close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        results = pool.map(_workers.resolve_callers, [db_path] * 8)
    ids = {i for r in results for i in r}
    assert len(ids) == 5
    with contactstore.open(db_path) as store:
        org = store.org("acme")
        assert sum(1 for _ in org.list()) == 5
        for caller in _workers.CALLERS:
            found = org.find(phone_number=caller)
            assert found is not None and len(found["memories"]) == 1
        assert store.check()["healthy"]


def test_async_api_under_gather(db_path: str) -> None:
    async def main() -> None:
        store = await aio.open(db_path)
        org = store.org("acme")
        results = await asyncio.gather(
            *[org.resolve(phone_number=f"+1415555{n % 25 + 100:04d}", persona_id="p1") for n in range(200)]
        )
        assert len({r["contact"]["id"] for r in results}) == 25
        cid = results[0]["contact"]["id"]
        await asyncio.gather(*[
            org.add_messages(cid, [{"role": "user", "content": f"m{i}", "channel": "call"}], persona_id="p1")
            for i in range(20)
        ])
        context = await org.memory_context(cid, persona_id="p1")
        assert len(context["recentMessages"]) == 20
        listed = [c async for c in org.list(limit=7)]
        assert len(listed) == 25
        with pytest.raises(aio.NotFound):
            await org.get("00000000-0000-0000-0000-000000000000")
        with pytest.raises(aio.BadRequest):
            await org.resolve()
        await store.close()  # type: ignore[attr-defined]

    asyncio.run(main())


def test_async_api_with_an_executor_and_as_context_manager(db_path: str) -> None:
    async def main() -> None:
        with ThreadPoolExecutor(2) as executor:
            async with await aio.open(db_path, executor=executor, pool_size=2) as store:
                org = store.org("acme")
                got = await org.resolve_caller("sip:+14155550192@sip.example.com")
                assert got["created"] is True
                assert (await org.find(phone_number="+14155550192")) is not None
            assert store.closed

    asyncio.run(main())


def test_aio_offers_every_sync_method_as_a_coroutine() -> None:
    def public(cls: type) -> set[str]:
        return {n for n, v in vars(cls).items() if not n.startswith("_") and inspect.isfunction(v)}

    assert public(contactstore.Org) - {"list"} == set(aio.ORG_METHODS)
    assert public(contactstore.Store) - {"org"} == set(aio.STORE_METHODS)
    for name in aio.ORG_METHODS:
        assert inspect.iscoroutinefunction(getattr(aio.Org, name)), name
        assert getattr(aio.Org, name).__doc__ == getattr(contactstore.Org, name).__doc__


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_store_opened_before_fork_is_refused_in_the_child(db_path: str) -> None:
    store = contactstore.open(db_path)
    org = store.org("acme")
    cid = org.resolve(phone_number="+14155550192")["contact"]["id"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            message = _workers.use_inherited(org)
            # Dropping the inherited store must not close the parent's connections.
            del org, store
            gc.collect()
            # A store opened here works.
            with contactstore.open(db_path) as mine:
                mine.org("acme").resolve(email="child@example.com")
            os.write(write, message.encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    message = os.read(read, 1000).decode()
    os.close(read)
    assert status == 0
    assert "forked" in message and "open the store again" in message
    # The parent's store is untouched and the file is healthy.
    assert org.get(cid)["id"] == cid
    assert org.find(email="child@example.com") is not None
    assert store.check()["healthy"]
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_multiprocessing_fork_workers_get_a_clear_error(db_path: str) -> None:
    with contactstore.open(db_path) as store:
        org = store.org("acme")
        _workers.INHERITED = org
        with multiprocessing.get_context("fork").Pool(2) as pool:
            messages = pool.map(_workers.use_global, [0, 1])
        _workers.INHERITED = None
        assert all("open the store again" in m for m in messages)
        assert store.check()["healthy"]
