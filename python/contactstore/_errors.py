"""The exceptions of contactstore: one base class, one subclass per contract code."""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = ["Error", "BadRequest", "NotFound", "StorageError"]


class Error(Exception):
    """A contactstore failure, with the contract's ``code`` and a ``message``.

    Messages name the field that is wrong, never its value: they never contain a phone
    number or an email, so they are safe to log.
    """

    code: str
    """``BAD_REQUEST``, ``NOT_FOUND`` or ``INTERNAL_ERROR``."""
    message: str
    """What went wrong, in words."""
    summary: Optional[Dict[str, Any]]
    """For an import stopped by a failure: what the committed lines did (the
    ``ImportSummary`` shape; ``summary["lines"]`` is the last line committed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.summary = None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"

    def __reduce__(self) -> Any:
        # Picklable (multiprocessing sends exceptions between processes).
        return (type(self), (self.code, self.message))


class BadRequest(Error):
    """``BAD_REQUEST``: the request is malformed (an invalid identifier, no identifier,
    a wrong argument type) or refused (a merge of a contact with itself, an identifier
    that belongs to another contact). Nothing was written."""


class NotFound(Error):
    """``NOT_FOUND``: no such contact (or memory) in this org."""


class StorageError(Error):
    """``INTERNAL_ERROR``: storage failed (busy past the busy timeout, I/O, a full disk,
    corruption, a file of a newer contactstore), or the store cannot be used here (it
    is closed, or this process was forked after it was opened)."""
