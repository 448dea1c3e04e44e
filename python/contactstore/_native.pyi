"""The Rust extension (PyO3): one store, its operations called by name with JSON
arguments, JSON text back. Use the :mod:`contactstore` API instead."""

from typing import Any, Optional

__version__: str
SCHEMA_VERSION: int

class Store:
    def __init__(
        self,
        path: str,
        *,
        region: str,
        recent_messages_cap: int,
        durability: str,
        busy_timeout: float,
        pool_size: int,
    ) -> None: ...
    def call(self, org_id: Optional[str], op: str, args: str) -> str: ...
    def import_jsonl(self, org_id: Optional[str], source: Any, on_conflict: str) -> str: ...
    def export_jsonl(self, org_id: Optional[str], target: Any) -> str: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
