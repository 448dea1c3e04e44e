"""contactstore for asyncio: the same stores and methods, as coroutines.

Each call runs the library in a worker thread (``loop.run_in_executor``, the loop's
default executor unless ``open(..., executor=…)`` names one), so the event loop keeps
serving audio and other calls while SQLite works; the GIL is released meanwhile. Calls
from many tasks at once (``asyncio.gather``) run on the store's pool of connections::

    from contactstore import aio

    store = await aio.open("contacts.db")
    org = store.org("acme")
    found = await org.resolve(phone_number="+14155550192")
    async for contact in org.list():
        ...

The signatures, arguments, results and errors are those of :mod:`contactstore`
(``aio.pyi`` types every method).
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import Executor
from typing import Any, AsyncIterator, Callable, Optional

import contactstore as _sync
from contactstore import BadRequest, Error, NotFound, StorageError

__all__ = ["open", "Store", "Org", "ContactIterator", "Error", "BadRequest", "NotFound",
           "StorageError"]

# The methods of contactstore.Org offered here as coroutines: every public method but
# list (an async iterator here) and the properties.
ORG_METHODS = (
    "resolve", "find", "get", "update", "patch", "list_page", "contacts_at_offset", "merge",
    "erase", "resolve_caller", "suggest_merges", "merge_preview", "unmerge", "changes",
    "ensure_memory", "open_memory", "memory_context", "reset_memory", "set_summary",
    "patch_facts", "add_messages", "add_open_item", "close_open_items", "upsert_entity",
    "memory", "recent_messages", "merge_facts", "replace_summary", "add_messages_by_id",
    "add_open_item_by_id", "close_open_items_by_id", "upsert_entity_by_id", "record_call",
    "record_sms", "calls", "sms_conversations", "import_jsonl", "export_jsonl",
)
STORE_METHODS = ("check", "backup", "changes", "import_jsonl", "export_jsonl", "close")


async def open(path: Any, *, executor: Optional[Executor] = None, **settings: Any) -> "Store":  # noqa: A001
    """Opens a store as :func:`contactstore.open` does (the same keyword arguments),
    in a worker thread."""
    loop = asyncio.get_running_loop()
    store = await loop.run_in_executor(executor, functools.partial(_sync.open, path, **settings))
    return Store(store, executor)


def _coroutine(name: str, doc: Optional[str]) -> Callable[..., Any]:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        call = functools.partial(getattr(self._sync, name), *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


class Store:
    """A :class:`contactstore.Store` whose methods are coroutines."""

    def __init__(self, store: _sync.Store, executor: Optional[Executor] = None) -> None:
        self._sync = store
        self._executor = executor

    @property
    def sync(self) -> _sync.Store:
        """The same store, with blocking methods."""
        return self._sync

    @property
    def closed(self) -> bool:
        return self._sync.closed

    def org(self, org_id: str) -> "Org":
        """The view of one org (see :meth:`contactstore.Store.org`)."""
        return Org(self._sync.org(org_id), self._executor)

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()  # type: ignore[attr-defined]


class Org:
    """A :class:`contactstore.Org` whose methods are coroutines."""

    def __init__(self, org: _sync.Org, executor: Optional[Executor] = None) -> None:
        self._sync = org
        self._executor = executor

    @property
    def id(self) -> str:
        return self._sync.id

    @property
    def sync(self) -> _sync.Org:
        """The same org, with blocking methods."""
        return self._sync

    def list(self, **options: Any) -> "ContactIterator":
        """Every contact of the org, an async iterator fetching a page at a time (the
        options of :meth:`contactstore.Org.list`)."""
        return ContactIterator(self._sync.list(**options), self._executor)


class ContactIterator(AsyncIterator[Any]):
    """The contacts of :meth:`Org.list`, a page fetched in a worker thread as needed."""

    def __init__(self, pages: _sync.ContactIterator, executor: Optional[Executor]) -> None:
        self._pages = pages
        self._executor = executor

    def __aiter__(self) -> "ContactIterator":
        return self

    async def __anext__(self) -> Any:
        if self._pages._page:  # the rest of a page already fetched: no thread hop
            return self._pages._page.popleft()
        loop = asyncio.get_running_loop()
        done = object()
        item = await loop.run_in_executor(self._executor, next, self._pages, done)
        if item is done:
            raise StopAsyncIteration
        return item

    @property
    def next_cursor(self) -> Optional[str]:
        return self._pages.next_cursor


for _name in ORG_METHODS:
    setattr(Org, _name, _coroutine(_name, getattr(_sync.Org, _name).__doc__))
for _name in STORE_METHODS:
    setattr(Store, _name, _coroutine(_name, getattr(_sync.Store, _name).__doc__))
del _name
