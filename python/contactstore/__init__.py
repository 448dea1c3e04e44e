"""contactstore: contact identity resolution and per-agent memory for voice agents,
embedded — one SQLite file, no network hop.

The same person calling as ``(415) 555-0192``, texting from ``+14155550192`` and
writing from ``Sarah@Example.com`` is one contact::

    import contactstore

    store = contactstore.open("contacts.db")
    org = store.org("acme")
    call = org.resolve(phone_number="(415) 555-0192", name="Sarah Chen",
                       persona_id="persona-12345678")
    form = org.resolve(phone_number="+1 415 555 0192", email="Sarah@Example.com")
    assert form["contact"]["id"] == call["contact"]["id"]

This package is the Rust library linked into Python (a PyO3 extension): every call is
one call into it, with the GIL released while SQLite works. Keyword arguments are named
as the JSON fields of the hosted API, and results are plain ``dict``/``list`` values in
exactly its shapes (the ``data`` of its envelope): see :mod:`contactstore.types`.
Failures raise :class:`Error` subclasses (:class:`BadRequest`, :class:`NotFound`,
:class:`StorageError`). :mod:`contactstore.aio` has the same methods as coroutines.
"""

from __future__ import annotations

import datetime as _dt
import io as _io
import json as _json
import os as _os
from collections import deque as _deque
from typing import (
    IO,
    Any,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)

from . import _native
from ._errors import BadRequest, Error, NotFound, StorageError
from .types import (
    BackupSummary,
    Call,
    CallerResolved,
    ChangePage,
    CheckReport,
    Contact,
    ContactDetails,
    ContactPage,
    Direction,
    Erased,
    ExportSummary,
    IdentifierRef,
    ImportSummary,
    ListedContact,
    Memory,
    MemoryContext,
    MemoryRecord,
    Merged,
    MergeSuggestions,
    Message,
    NewMessage,
    OffsetPage,
    OpenedMemory,
    Priority,
    Resolved,
    SmsConversation,
    Success,
    Unmerged,
    EntityRef,
    IdentifierType,
)

__all__ = [
    "open",
    "Store",
    "Org",
    "ContactIterator",
    "Error",
    "BadRequest",
    "NotFound",
    "StorageError",
    "SCHEMA_VERSION",
    "__version__",
]

__version__: str = _native.__version__
SCHEMA_VERSION: int = _native.SCHEMA_VERSION
"""The schema version this build writes (``PRAGMA user_version``)."""

PathLike = Union[str, "_os.PathLike[str]"]
"""A file path: ``str`` or ``os.PathLike`` (``pathlib.Path``)."""
Timestamp = Union[str, _dt.datetime]
"""An instant: RFC 3339 text, or a timezone-aware ``datetime``."""
IdentifierSpec = Union[IdentifierRef, Tuple[IdentifierType, str]]
"""An identifier for ``update``: ``{"identifier_type": …, "identifier_value": …}`` or
a ``(type, value)`` tuple."""

_MISSING: Any = object()


def _default(value: Any) -> Any:
    """JSON for what ``json`` does not know: datetimes as RFC 3339 UTC text."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a datetime must be timezone-aware")
        utc = value.astimezone(_dt.timezone.utc)
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_encode = _json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default
).encode
_decode = _json.JSONDecoder().decode


def _dumps(args: Mapping[str, Any]) -> str:
    try:
        return _encode(args)
    except (TypeError, ValueError, RecursionError) as e:
        # Name the argument that cannot be JSON (never its value).
        for key, value in args.items():
            try:
                _encode(value)
            except (TypeError, ValueError, RecursionError) as inner:
                raise BadRequest(
                    "BAD_REQUEST", f"Invalid {key}: {_reason(inner)}"
                ) from None
        raise BadRequest("BAD_REQUEST", f"Invalid arguments: {_reason(e)}") from None


def _reason(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nests too deeply"
    text = str(e)
    if "timezone-aware" in text:
        return "a datetime must be timezone-aware"
    if "Out of range float" in text:
        return "NaN and infinite numbers are not JSON"
    if "keys must be" in text:
        return "object keys must be strings"
    if text.endswith("is not JSON"):
        return "a " + text
    return "is not JSON-serializable"


def open(  # noqa: A001 - the contract's name: contactstore.open(path, ...)
    path: PathLike,
    *,
    region: str = "US",
    recent_messages_cap: int = 50,
    durability: Literal["normal", "full"] = "normal",
    busy_timeout: float = 10.0,
    pool_size: int = 4,
) -> "Store":
    """Opens the contactstore database at ``path``, creating it (readable by its owner
    only) if missing and upgrading an older schema. ``":memory:"`` opens a private
    in-memory database (one connection).

    :param region: ISO 3166 region for phone numbers written without a country code.
    :param recent_messages_cap: how many recent messages each memory keeps (newest).
    :param durability: ``"normal"`` (a commit survives a process crash) or ``"full"``
        (every commit is on disk before it returns).
    :param busy_timeout: seconds a write waits for another process's lock.
    :param pool_size: at most this many connections serve threads at once.
    :raises BadRequest: for a bad setting (an unknown region, …).
    :raises StorageError: when the file cannot be opened, is another application's
        database or one of a newer contactstore (left untouched).
    """
    return Store(
        _native.Store(
            _os.fspath(path),
            region=region,
            recent_messages_cap=recent_messages_cap,
            durability=durability,
            busy_timeout=busy_timeout,
            pool_size=pool_size,
        )
    )


class Store:
    """An open contactstore database. Obtain one with :func:`open`.

    Thread-safe: share one store between threads; each call takes one of a small pool of
    connections to the file (readers never wait for each other). Several processes may
    open the same file. A store opened before ``os.fork()`` is refused in the child
    (:class:`StorageError`): open it again there. Use it as a context manager, or call
    :meth:`close`.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Store) -> None:
        self._native = native

    def org(self, org_id: str) -> "Org":
        """The view of one org: every contact operation runs in it.

        :raises BadRequest: when ``org_id`` is empty, longer than 128 characters or
            contains control characters.
        """
        self._native.call(None, "org", _dumps({"org_id": org_id}))
        return Org(self, org_id)

    def _call(self, op: str, args: Mapping[str, Any]) -> Any:
        return _decode(self._native.call(None, op, _dumps(args)))

    def check(self) -> CheckReport:
        """Checks the file's integrity and the store's invariants (read-only)."""
        return cast(CheckReport, self._call("check", {}))

    def backup(self, destination: PathLike, *, overwrite: bool = False) -> BackupSummary:
        """Writes a consistent copy of the store to ``destination`` while others keep
        writing (0600). An existing file is refused unless ``overwrite``."""
        return cast(
            BackupSummary,
            self._call(
                "backup", {"destination": _os.fspath(destination), "overwrite": overwrite}
            ),
        )

    def changes(self, since: int = 0, *, limit: Optional[int] = None) -> ChangePage:
        """Every org's change log after ``since`` (exclusive), oldest first."""
        return cast(ChangePage, self._call("all_orgs.changes", {"since": since, "limit": limit}))

    def import_jsonl(
        self,
        source: Union[PathLike, IO[bytes]],
        *,
        on_conflict: Literal["reject", "merge"] = "reject",
    ) -> ImportSummary:
        """Imports JSON Lines into the orgs the documents name (``org_id`` required on
        each line). See :meth:`Org.import_jsonl`."""
        return _import(self._native, None, source, on_conflict)

    def export_jsonl(self, target: Union[PathLike, IO[bytes]]) -> ExportSummary:
        """Exports every org as JSON Lines, by org and id. See :meth:`Org.export_jsonl`."""
        return _export(self._native, None, target)

    def close(self) -> None:
        """Closes the store's connections. Later calls raise :class:`StorageError`."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native.closed

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _import(
    native: _native.Store,
    org_id: Optional[str],
    source: Union[PathLike, IO[bytes]],
    on_conflict: str,
) -> ImportSummary:
    if isinstance(source, _io.TextIOBase):
        raise TypeError("source must be a binary file object: open the file with 'rb'")
    if not isinstance(source, (str, _os.PathLike)) and not hasattr(source, "read"):
        raise TypeError("source must be a path or a binary file object")
    return cast(ImportSummary, _decode(native.import_jsonl(org_id, source, on_conflict)))


def _export(
    native: _native.Store, org_id: Optional[str], target: Union[PathLike, IO[bytes]]
) -> ExportSummary:
    if isinstance(target, _io.TextIOBase):
        raise TypeError("target must be a binary file object: open the file with 'wb'")
    if not isinstance(target, (str, _os.PathLike)) and not hasattr(target, "write"):
        raise TypeError("target must be a path or a binary file object")
    return cast(ExportSummary, _decode(native.export_jsonl(org_id, target)))


class Org:
    """One org's view of the store, from :meth:`Store.org`. Contacts of other orgs are
    invisible to it. Every method is one call into the library (one transaction)."""

    __slots__ = ("_store", "_native", "_org_id")

    def __init__(self, store: Store, org_id: str) -> None:
        self._store = store
        self._native = store._native
        self._org_id = org_id

    @property
    def id(self) -> str:
        """The org's id."""
        return self._org_id

    @property
    def store(self) -> Store:
        """The store this view belongs to."""
        return self._store

    def __repr__(self) -> str:
        return f"<contactstore.Org {self._org_id!r}>"

    def _call(self, op: str, args: Mapping[str, Any]) -> Any:
        return _decode(self._native.call(self._org_id, op, _dumps(args)))

    # Contacts ---------------------------------------------------------------------

    def resolve(
        self,
        *,
        phone_number: Optional[str] = None,
        email: Optional[str] = None,
        external_id: Optional[str] = None,
        name: Optional[str] = None,
        persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Resolved:
        """Finds the contact that owns the identifiers, or creates one (contract §3).

        Never merges and never overwrites: identifiers owned by nobody are attached, an
        empty name is filled, missing metadata keys are added. Identifiers on several
        contacts: the strongest wins (external_id > phone_number > email) and the others
        are listed in ``conflicts``. With ``persona_id`` (else ``agent_number``) that
        memory exists afterwards. A resolve that changes nothing writes nothing.

        :raises BadRequest: no identifier, an invalid one, metadata not an object
            (nothing is written).
        """
        return cast(
            Resolved,
            self._call(
                "resolve",
                {
                    "phone_number": phone_number,
                    "email": email,
                    "external_id": external_id,
                    "name": name,
                    "persona_id": persona_id,
                    "agent_number": agent_number,
                    "metadata": metadata,
                },
            ),
        )

    def find(
        self,
        *,
        phone_number: Optional[str] = None,
        email: Optional[str] = None,
        external_id: Optional[str] = None,
    ) -> Optional[ContactDetails]:
        """The contact reached by the identifiers (same precedence as resolve), with
        its identifiers and memories, or ``None``. Never writes.

        :raises BadRequest: no identifier, or an invalid one.
        """
        return cast(
            Optional[ContactDetails],
            self._call(
                "find",
                {"phone_number": phone_number, "email": email, "external_id": external_id},
            ),
        )

    def get(self, contact_id: str) -> ContactDetails:
        """The contact with this id, with identifiers and memories. A merged-away id
        gives the contact it was merged into.

        :raises NotFound: unknown id, or another org's contact.
        """
        return cast(ContactDetails, self._call("get", {"contact_id": contact_id}))

    def update(
        self,
        contact_id: str,
        *,
        name: Optional[str] = _MISSING,
        metadata: Optional[Mapping[str, Any]] = None,
        add: Iterable[IdentifierSpec] = (),
        remove: Iterable[IdentifierSpec] = (),
        primary: Iterable[IdentifierSpec] = (),
    ) -> ContactDetails:
        """Corrects a contact in one transaction: ``name`` set (``None`` clears it;
        omitted keeps it), ``metadata`` patched (a key set to ``None`` is removed),
        identifiers added (one of another contact is refused, never stolen), removed (a
        contact keeps at least one) and made ``primary``. Returns the contact as get.

        :raises BadRequest: an invalid value, an identifier of another contact, removing
            one the contact lacks or its last one (nothing is written).
        :raises NotFound: unknown id.
        """
        body: Dict[str, Any] = {
            "metadata": dict(metadata) if metadata is not None else {},
            "add": list(add),
            "remove": list(remove),
            "primary": list(primary),
        }
        if name is None:
            body["name"] = "clear"
        elif name is not _MISSING:
            body["name"] = {"set": name}
        return cast(ContactDetails, self._call("update", {"contact_id": contact_id, "body": body}))

    def patch(
        self,
        contact_id: str,
        *,
        name: Optional[str] = None,
        email: Optional[str] = None,
        external_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Contact:
        """The hosted API's contact update (``PATCH /v1/contacts/{id}``): name replaced,
        an email / external id added or made primary, metadata merged (``None`` values
        stored). Returns the contact without identifiers and memories.

        :raises BadRequest: as :meth:`update`. :raises NotFound: unknown id.
        """
        return cast(
            Contact,
            self._call(
                "patch",
                {
                    "contact_id": contact_id,
                    "body": {
                        "name": name, "email": email, "external_id": external_id,
                        "metadata": metadata,
                    },
                },
            ),
        )

    def list(
        self,
        *,
        limit: int = 50,
        cursor: Optional[str] = None,
        updated_since: Optional[Timestamp] = None,
        name_prefix: Optional[str] = None,
        with_identifiers: bool = False,
    ) -> "ContactIterator":
        """Every contact of the org, by ``created_at`` then id, without memories: a lazy
        iterator that fetches a page of ``limit`` (1–1000) when it needs one.

        ``cursor`` starts after a page a previous iteration stopped at (the iterator's
        :attr:`ContactIterator.next_cursor`). Errors (a bad limit or cursor) raise
        :class:`BadRequest` when the first page is fetched.
        """
        return ContactIterator(
            self,
            {
                "limit": limit,
                "updated_since": updated_since,
                "name_prefix": name_prefix,
                "with_identifiers": with_identifiers,
            },
            cursor,
        )

    def list_page(
        self,
        *,
        limit: int = 50,
        cursor: Optional[str] = None,
        updated_since: Optional[Timestamp] = None,
        name_prefix: Optional[str] = None,
        with_identifiers: bool = False,
    ) -> ContactPage:
        """One page of :meth:`list`: ``{"contacts": […], "next_cursor": …}`` (the
        cursor is ``None`` after the last page)."""
        return cast(
            ContactPage,
            self._call(
                "list",
                {
                    "limit": limit,
                    "cursor": cursor,
                    "updated_since": updated_since,
                    "name_prefix": name_prefix,
                    "with_identifiers": with_identifiers,
                },
            ),
        )

    def contacts_at_offset(self, offset: int = 0, *, limit: Optional[int] = None) -> OffsetPage:
        """The hosted API's ``GET /v1/contacts`` page: contacts with identifiers and
        memories by offset, with ``pagination`` (limit 1–200, default 50)."""
        return cast(OffsetPage, self._call("contacts_at_offset", {"offset": offset, "limit": limit}))

    def merge(self, primary_id: str, duplicate_id: str) -> Merged:
        """Merges ``duplicate_id`` into ``primary_id`` in one transaction, by the merge
        rules (contract §3); the duplicate's id redirects to the primary afterwards.

        :raises BadRequest: ``Cannot merge a contact with itself``.
        :raises NotFound: either id unknown in this org (nothing changes).
        """
        return cast(
            Merged, self._call("merge", {"primary_id": primary_id, "duplicate_id": duplicate_id})
        )

    def erase(self, contact_id: str) -> Erased:
        """Erases a contact and everything naming it (identifiers, memories, calls, SMS,
        redirects, history), zeroing the deleted content in the file.

        :raises NotFound: unknown id (nothing is written).
        """
        return cast(Erased, self._call("erase", {"contact_id": contact_id}))

    # Callers and duplicates ----------------------------------------------------------

    def resolve_caller(
        self,
        from_: str,
        /,
        *,
        to: Optional[str] = None,
        persona_id: Optional[str] = None,
        name: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> CallerResolved:
        """Resolves a caller id as telephony delivers it (contract §9): a number in any
        spelling, a SIP/tel URI (``sip:+14155550192@host``, with a display name), a
        withheld value, a short code or a sender id. Only a number writes (as resolve,
        the memory scoped by ``persona_id``, else by ``to``, the number called).
        ``from_`` is the JSON field ``from`` (a Python keyword).

        :raises BadRequest: an invalid caller id.
        """
        return cast(
            CallerResolved,
            self._call(
                "resolve_caller",
                {"from": from_, "to": to, "persona_id": persona_id, "name": name,
                 "metadata": metadata},
            ),
        )

    def suggest_merges(self, *, limit: int = 50, min_score: float = 0.5) -> MergeSuggestions:
        """Pairs of contacts that are probably one person, highest score first, with
        the evidence. Never writes.

        :raises BadRequest: limit outside 1–1000 or min_score outside 0–1.
        """
        return cast(
            MergeSuggestions, self._call("suggest_merges", {"limit": limit, "min_score": min_score})
        )

    # History ----------------------------------------------------------------------

    def merge_preview(self, primary_id: str, duplicate_id: str) -> Merged:
        """Exactly what :meth:`merge` would return, with nothing written."""
        return cast(
            Merged,
            self._call("merge_preview", {"primary_id": primary_id, "duplicate_id": duplicate_id}),
        )

    def unmerge(self, merged_id: str) -> Unmerged:
        """Undoes the merge that took ``merged_id`` away, from the snapshot it kept.

        :raises NotFound: the id was never merged away in this org.
        :raises BadRequest: the merge cannot be undone (the reason is the message).
        """
        return cast(Unmerged, self._call("unmerge", {"merged_id": merged_id}))

    def changes(self, since: int = 0, *, limit: Optional[int] = None) -> ChangePage:
        """The org's change log after ``since`` (exclusive), oldest first, at most
        ``limit`` events (default 1,000). Resume with the page's ``next``.

        :raises BadRequest: a cursor older than retention kept, or a bad limit.
        """
        return cast(ChangePage, self._call("changes", {"since": since, "limit": limit}))

    # Memory by contact and scope -----------------------------------------------------------

    def _scoped(
        self,
        op: str,
        contact_id: str,
        persona_id: Optional[str],
        agent_number: Optional[str],
        **body: Any,
    ) -> Any:
        return self._call(
            op,
            {"contact_id": contact_id, "persona_id": persona_id, "agent_number": agent_number,
             "body": body},
        )

    def ensure_memory(
        self, contact_id: str, *, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> Memory:
        """The contact's memory of the scope (``persona_id``, else ``agent_number``),
        created empty if missing. Every memory write below works the same way: one
        transaction, the memory created if missing, a merged-away contact id followed.

        :raises BadRequest: no scope, or an invalid one. :raises NotFound: unknown contact.
        """
        return cast(Memory, self._scoped("ensure_memory", contact_id, persona_id, agent_number))

    def open_memory(
        self, contact_id: str, *, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> OpenedMemory:
        """The hosted API's ``POST /v1/memory/contact``: the memory record (created if
        missing) and whether this call created it."""
        return cast(
            OpenedMemory, self._scoped("open_memory", contact_id, persona_id, agent_number)
        )

    def memory_context(
        self, contact_id: str, *, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> MemoryContext:
        """What an agent is given at the start of a conversation (the hosted API's
        ``GET /v1/memory/context``, camelCase keys): recent messages, summary, facts,
        entities and open items. Never writes (no memory yet: an empty context)."""
        return cast(
            MemoryContext, self._scoped("memory_context", contact_id, persona_id, agent_number)
        )

    def reset_memory(
        self, contact_id: str, *, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> Success:
        """Wipes the memory of the scope irreversibly (``POST /v1/memory/reset``)."""
        return cast(Success, self._scoped("reset_memory", contact_id, persona_id, agent_number))

    def set_summary(
        self, contact_id: str, summary: str, *, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> Memory:
        """Replaces the memory's summary."""
        return cast(
            Memory,
            self._scoped("set_summary", contact_id, persona_id, agent_number, summary=summary),
        )

    def patch_facts(
        self, contact_id: str, facts: Mapping[str, Any], *, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> Memory:
        """Sets facts key by key; a key set to ``None`` is removed."""
        return cast(
            Memory,
            self._scoped("patch_facts", contact_id, persona_id, agent_number, facts=facts),
        )

    def add_messages(
        self, contact_id: str, messages: Sequence[Union[NewMessage, Message]], *,
        persona_id: Optional[str] = None, agent_number: Optional[str] = None,
    ) -> Memory:
        """Appends messages (``role``, ``content``, ``channel``, ``timestamp`` — now
        when absent). They are kept in timestamp order, the newest
        ``recent_messages_cap`` (default 50)."""
        return cast(
            Memory,
            self._scoped(
                "add_messages", contact_id, persona_id, agent_number, messages=list(messages)
            ),
        )

    def add_open_item(
        self, contact_id: str, *, type: str, description: str,
        priority: Priority = "medium", related_to: Optional[EntityRef] = None,
        created_at: Optional[Timestamp] = None, persona_id: Optional[str] = None,
        agent_number: Optional[str] = None,
    ) -> Memory:
        """Adds an open item (kept in ``created_at`` order, now when absent; an identical
        one is not added twice)."""
        return cast(
            Memory,
            self._scoped(
                "add_open_item", contact_id, persona_id, agent_number, type=type,
                description=description, priority=priority, related_to=related_to,
                created_at=created_at,
            ),
        )

    def close_open_items(
        self, contact_id: str, *, type: str, description: str,
        persona_id: Optional[str] = None, agent_number: Optional[str] = None,
    ) -> Memory:
        """Closes (removes) the open items with this type and description."""
        return cast(
            Memory,
            self._scoped(
                "close_open_items", contact_id, persona_id, agent_number, type=type,
                description=description,
            ),
        )

    def upsert_entity(
        self, contact_id: str, *, entity_type: str, entity_id: str,
        facts: Optional[Mapping[str, Any]] = None, status: Optional[str] = None,
        last_discussed_at: Optional[Timestamp] = None, notes: Optional[str] = None,
        persona_id: Optional[str] = None, agent_number: Optional[str] = None,
    ) -> Memory:
        """Creates or updates the entity (``entity_type``, ``entity_id``) of the memory:
        facts patched (``None`` removes a key); status, last_discussed_at and notes set
        when given."""
        return cast(
            Memory,
            self._scoped(
                "upsert_entity", contact_id, persona_id, agent_number,
                entity_type=entity_type, entity_id=entity_id,
                facts=dict(facts) if facts is not None else {}, status=status,
                last_discussed_at=last_discussed_at, notes=notes,
            ),
        )

    # Memory by id (the hosted API's memory calls) ------------------------------------

    def memory(self, memory_id: str) -> MemoryRecord:
        """The memory record with this id (``GET /v1/memory/contact/{id}``).

        :raises NotFound: unknown id, another org's, or one a merge combined away.
        """
        return cast(MemoryRecord, self._call("memory", {"memory_id": memory_id}))

    def recent_messages(self, memory_id: str) -> List[Message]:
        """The memory's recent messages, oldest first."""
        return cast(List[Message], self._call("recent_messages", {"memory_id": memory_id}))

    def merge_facts(self, memory_id: str, facts: Mapping[str, Any]) -> MemoryRecord:
        """The hosted API's facts merge: keys set or overwritten, none deleted (a key
        set to ``None`` is stored as null)."""
        return cast(
            MemoryRecord, self._call("merge_facts", {"memory_id": memory_id, "body": {"facts": facts}})
        )

    def replace_summary(self, memory_id: str, summary: str) -> MemoryRecord:
        """Replaces the summary of the memory with this id."""
        return cast(
            MemoryRecord,
            self._call("replace_summary", {"memory_id": memory_id, "body": {"summary": summary}}),
        )

    def add_messages_by_id(
        self, memory_id: str, messages: Sequence[Union[NewMessage, Message]]
    ) -> MemoryRecord:
        """:meth:`add_messages` to the memory with this id."""
        return cast(
            MemoryRecord,
            self._call("add_messages_by_id", {"memory_id": memory_id, "body": {"messages": list(messages)}}),
        )

    def add_open_item_by_id(
        self, memory_id: str, *, type: str, description: str,
        priority: Priority = "medium", related_to: Optional[EntityRef] = None,
        created_at: Optional[Timestamp] = None,
    ) -> MemoryRecord:
        """:meth:`add_open_item` to the memory with this id."""
        return cast(
            MemoryRecord,
            self._call(
                "add_open_item_by_id",
                {"memory_id": memory_id, "body": {"type": type, "description": description,
                 "priority": priority, "related_to": related_to, "created_at": created_at}},
            ),
        )

    def close_open_items_by_id(self, memory_id: str, *, type: str, description: str) -> MemoryRecord:
        """:meth:`close_open_items` of the memory with this id."""
        return cast(
            MemoryRecord,
            self._call(
                "close_open_items_by_id",
                {"memory_id": memory_id, "body": {"type": type, "description": description}},
            ),
        )

    def upsert_entity_by_id(
        self, memory_id: str, *, entity_type: str, entity_id: str,
        facts: Optional[Mapping[str, Any]] = None, status: Optional[str] = None,
        last_discussed_at: Optional[Timestamp] = None, notes: Optional[str] = None,
    ) -> MemoryRecord:
        """:meth:`upsert_entity` of the memory with this id."""
        return cast(
            MemoryRecord,
            self._call(
                "upsert_entity_by_id",
                {"memory_id": memory_id, "body": {"entity_type": entity_type, "entity_id": entity_id,
                 "facts": dict(facts) if facts is not None else {}, "status": status,
                 "last_discussed_at": last_discussed_at, "notes": notes}},
            ),
        )

    # Calls and SMS ----------------------------------------------------------------

    def record_call(
        self, contact_id: str, *, direction: Direction, agent_number: Optional[str] = None,
        contact_number: Optional[str] = None, started_at: Optional[Timestamp] = None,
        duration_seconds: Optional[int] = None, status: Optional[str] = None,
        summary: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None,
    ) -> Call:
        """Records a call with the contact (numbers normalized; ``started_at`` now when
        absent)."""
        return cast(
            Call,
            self._call(
                "record_call",
                {"contact_id": contact_id, "body": {"direction": direction, "agent_number": agent_number,
                 "contact_number": contact_number, "started_at": started_at,
                 "duration_seconds": duration_seconds, "status": status, "summary": summary,
                 "metadata": dict(metadata) if metadata is not None else {}}},
            ),
        )

    def record_sms(
        self, contact_id: str, *, direction: Direction, agent_number: Optional[str] = None,
        contact_number: Optional[str] = None, started_at: Optional[Timestamp] = None,
        message_count: int = 0, status: Optional[str] = None, summary: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> SmsConversation:
        """Records an SMS conversation with the contact."""
        return cast(
            SmsConversation,
            self._call(
                "record_sms",
                {"contact_id": contact_id, "body": {"direction": direction, "agent_number": agent_number,
                 "contact_number": contact_number, "started_at": started_at,
                 "message_count": message_count, "status": status, "summary": summary,
                 "metadata": dict(metadata) if metadata is not None else {}}},
            ),
        )

    def calls(self, contact_id: str) -> List[Call]:
        """The contact's calls, newest first."""
        return cast(List[Call], self._call("calls", {"contact_id": contact_id}))

    def sms_conversations(self, contact_id: str) -> List[SmsConversation]:
        """The contact's SMS conversations, newest first."""
        return cast(
            List[SmsConversation], self._call("sms_conversations", {"contact_id": contact_id})
        )

    # Import and export ------------------------------------------------------------

    def import_jsonl(
        self,
        source: Union[PathLike, IO[bytes]],
        *,
        on_conflict: Literal["reject", "merge"] = "reject",
    ) -> ImportSummary:
        """Imports JSON Lines contact documents into this org (their ``org_id`` is
        ignored) from a path or a binary file object. Each line is atomic; rejected
        lines are reported in the summary, the good ones around them land. A line whose
        content is already stored counts as ``unchanged``.

        :raises StorageError: a failure that stopped the import (reading the input,
            writing); its ``summary`` says what was committed.
        """
        return _import(self._native, self._org_id, source, on_conflict)

    def export_jsonl(self, target: Union[PathLike, IO[bytes]]) -> ExportSummary:
        """Writes the org's contacts as JSON Lines (one contact document a line, by id)
        to a path (a new file readable by its owner only, renamed into place when
        complete) or a binary file object."""
        return _export(self._native, self._org_id, target)


class ContactIterator(Iterator[ListedContact]):
    """The contacts of :meth:`Org.list`, fetched a page at a time as iteration needs
    them."""

    __slots__ = ("_org", "_options", "_cursor", "_page", "_done")

    def __init__(self, org: Org, options: Dict[str, Any], cursor: Optional[str]) -> None:
        self._org = org
        self._options = options
        self._cursor = cursor
        self._page: Deque[ListedContact] = _deque()
        self._done = False

    def __iter__(self) -> "ContactIterator":
        return self

    def __next__(self) -> ListedContact:
        while not self._page:
            if self._done:
                raise StopIteration
            page = cast(ContactPage, self._org._call("list", {**self._options, "cursor": self._cursor}))
            self._page.extend(page["contacts"])
            self._cursor = page["next_cursor"]
            self._done = self._cursor is None
        return self._page.popleft()

    @property
    def next_cursor(self) -> Optional[str]:
        """The cursor after the last page fetched (``None`` once the last page is in):
        pass it as ``list(cursor=…)`` to resume later."""
        return self._cursor
