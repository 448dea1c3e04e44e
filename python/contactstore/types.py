"""The result shapes, as ``TypedDict``s: exactly the ``data`` of contract §5 (the
hosted API's ``response.json()["data"]``). Every result is a plain ``dict``/``list``;
these only describe them to a type checker. Extra keys may appear in later versions.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

__all__ = [
    "JsonObject", "IdentifierType", "Role", "Channel", "Priority", "Direction",
    "Contact", "Identifier", "Message", "EntityRef", "OpenItem", "Entity",
    "HistoryEntry", "Memory", "ContactDetails", "Conflict", "Resolved", "MoveCounts",
    "Merged", "Unmerged", "ListedContact", "ContactPage", "Pagination", "OffsetPage",
    "Erased", "Caller", "CallerResolved", "MergeSuggestion", "MergeSuggestions",
    "Change", "ChangePage", "MemoryRecord", "OpenedMemory", "MemoryContext", "Success",
    "Call", "SmsConversation", "LineError", "ImportSummary", "ExportSummary",
    "CheckOutcome", "CheckWarning", "CheckReport", "BackupSummary",
    "NewMessage", "IdentifierRef",
]

JsonObject = Dict[str, Any]
IdentifierType = Literal["phone_number", "email", "external_id"]
Role = Literal["user", "assistant", "system"]
Channel = Literal["voice", "call", "sms", "email", "chat"]
Priority = Literal["low", "medium", "high", "urgent"]
Direction = Literal["inbound", "outbound"]


class Contact(TypedDict):
    """A contact's own fields. Timestamps are UTC RFC 3339 with milliseconds and Z."""

    id: str
    org_id: str
    name: Optional[str]
    metadata: JsonObject
    created_at: str
    updated_at: str


class Identifier(TypedDict):
    id: str
    contact_id: str
    identifier_type: IdentifierType
    identifier_value: str
    is_primary: bool


class Message(TypedDict):
    role: Role
    content: str
    channel: Channel
    timestamp: str


class _NewMessageOptional(TypedDict, total=False):
    timestamp: str


class NewMessage(_NewMessageOptional):
    """A message to append (``timestamp`` defaults to now; a ``datetime`` is accepted)."""

    role: Role
    content: str
    channel: Channel


class IdentifierRef(TypedDict):
    """An identifier named by type and value, for ``update(add=…, remove=…, primary=…)``
    (a ``(type, value)`` tuple is accepted too)."""

    identifier_type: IdentifierType
    identifier_value: str


class EntityRef(TypedDict):
    entity_type: str
    entity_id: str


# "type" shadows a builtin: the functional syntax keeps the JSON field name exact.
OpenItem = TypedDict(
    "OpenItem",
    {
        "type": str,
        "description": str,
        "created_at": str,
        "priority": Priority,
        "related_to": Optional[EntityRef],
    },
)


class Entity(TypedDict):
    entity_type: str
    entity_id: str
    facts: JsonObject
    status: Optional[str]
    last_discussed_at: Optional[str]
    notes: Optional[str]


HistoryEntry = TypedDict(
    "HistoryEntry",
    {"timestamp": str, "type": str, "value": Any},
)


class Memory(TypedDict):
    """One memory of a contact (one per persona id, else agent number)."""

    id: str
    contact_id: str
    persona_id: Optional[str]
    agent_number: Optional[str]
    summary: str
    facts: JsonObject
    recent_messages: List[Message]
    open_items: List[OpenItem]
    entities: List[Entity]
    created_at: str
    updated_at: str
    summary_updated_at: Optional[str]
    memory_history: List[HistoryEntry]


class ContactDetails(Contact):
    """find / get: the contact with its identifiers and memories."""

    identifiers: List[Identifier]
    memories: List[Memory]


class Conflict(TypedDict):
    identifier_type: IdentifierType
    contact_id: str


class _ResolvedOptional(TypedDict, total=False):
    conflicts: List[Conflict]


class Resolved(_ResolvedOptional):
    """resolve: ``conflicts`` is present only when some identifier belongs to another
    contact."""

    contact: Contact
    created: bool


class MoveCounts(TypedDict):
    identifiers: int
    memories_moved: int
    memories_combined: int
    entities: int
    calls: int
    sms_conversations: int
    redirects: int


class Merged(ContactDetails):
    """merge / merge_preview: the surviving contact afterwards, and what moved."""

    moved: MoveCounts


class Unmerged(TypedDict):
    restored: ContactDetails
    primary: ContactDetails


class _ListedContactOptional(TypedDict, total=False):
    identifiers: List[Identifier]


class ListedContact(Contact, _ListedContactOptional):
    """A contact of ``list`` (``identifiers`` with ``with_identifiers=True``)."""


class ContactPage(TypedDict):
    contacts: List[ListedContact]
    next_cursor: Optional[str]


class Pagination(TypedDict):
    total: int
    limit: int
    offset: int
    has_more: bool


class OffsetPage(TypedDict):
    contacts: List[ContactDetails]
    pagination: Pagination


class Erased(TypedDict):
    contact_id: str
    merged_ids: List[str]
    identifiers: int
    memories: int
    entities: int
    calls: int
    sms_conversations: int
    redirects: int
    journal_rows: int
    changes: int
    wal_truncated: bool


class _CallerOptional(TypedDict, total=False):
    phone_number: str
    code: str
    sender: str


class Caller(_CallerOptional):
    """What a caller id is: ``kind`` is ``number`` (with ``phone_number``, E.164),
    ``withheld``, ``short_code`` (with ``code``), ``alphanumeric`` (with ``sender``) or
    ``invalid``."""

    kind: Literal["number", "withheld", "short_code", "alphanumeric", "invalid"]


class _CallerResolvedOptional(TypedDict, total=False):
    conflicts: List[Conflict]


class CallerResolved(_CallerResolvedOptional):
    caller: Caller
    contact: Optional[Contact]
    created: bool


class MergeSuggestion(TypedDict):
    primary_id: str
    duplicate_id: str
    score: float
    reasons: List[str]


class MergeSuggestions(TypedDict):
    suggestions: List[MergeSuggestion]


class _ChangeOptional(TypedDict, total=False):
    related_id: str


class Change(_ChangeOptional):
    seq: int
    at: str
    org_id: str
    kind: str
    contact_id: str
    detail: Any


class ChangePage(TypedDict):
    changes: List[Change]
    next: int


class MemoryRecord(TypedDict):
    """A memory as the hosted memory calls return it (with ``org_id``; ``summary`` null
    while empty)."""

    id: str
    org_id: str
    contact_id: str
    persona_id: Optional[str]
    agent_number: Optional[str]
    summary: Optional[str]
    facts: JsonObject
    recent_messages: List[Message]
    open_items: List[OpenItem]
    entities: List[Entity]
    memory_history: List[HistoryEntry]
    summary_updated_at: Optional[str]
    created_at: str
    updated_at: str


class OpenedMemory(TypedDict):
    memory: MemoryRecord
    created: bool


class MemoryContext(TypedDict):
    """What an agent is given at the start of a conversation (the hosted API's
    ``GET /v1/memory/context``, camelCase as there)."""

    contact_id: str
    recentMessages: List[Message]
    summary: Optional[str]
    contactFacts: JsonObject
    entities: List[Entity]
    openItems: List[OpenItem]


class Success(TypedDict):
    success: bool


class Call(TypedDict):
    id: str
    contact_id: str
    direction: Direction
    agent_number: Optional[str]
    contact_number: Optional[str]
    started_at: str
    duration_seconds: Optional[int]
    status: Optional[str]
    summary: Optional[str]
    metadata: JsonObject


class SmsConversation(TypedDict):
    id: str
    contact_id: str
    direction: Direction
    agent_number: Optional[str]
    contact_number: Optional[str]
    started_at: str
    message_count: int
    status: Optional[str]
    summary: Optional[str]
    metadata: JsonObject


class LineError(TypedDict):
    line: int
    error: str
    message: str


class ImportSummary(TypedDict):
    lines: int
    imported: int
    merged: int
    unchanged: int
    rejected: int
    errors: List[LineError]


class ExportSummary(TypedDict):
    exported: int


class CheckOutcome(TypedDict):
    check: str
    description: str
    ok: bool
    problems: int
    details: List[str]


class CheckWarning(TypedDict):
    warning: str
    message: str


class CheckReport(TypedDict):
    healthy: bool
    schema_version: int
    checks: List[CheckOutcome]
    warnings: List[CheckWarning]


class BackupSummary(TypedDict):
    bytes: int
