"""Cache entries declared as data: what each caches, for how long, and what it depends on.

An entry is registered once (a project declares its own, e.g. FireLater's dashboard/
entries.py); reads, invalidation, warm_cache, the stats and the system checks all read
the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tenant_cache.conf import ttl_for
from tenant_cache.keys import check_name


@dataclass(frozen=True)
class CacheEntry:
    """One cached thing, e.g. the dashboard overview.

    namespace and name make its keys (cache:{tenant}:<namespace>:<name>[:params]);
    depends_on lists the data categories (issues, changes, ...) whose writes invalidate
    it; fields narrows that to the model fields (attnames) it reads, per data category.
    """

    namespace: str
    name: str
    depends_on: frozenset[str]
    ttl_name: str | None = None
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    fetch: Callable[..., Any] | None = None
    default_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("namespace", self.namespace)
        check_name("name", self.name)
        for data_category in self.depends_on:
            check_name("data category", data_category)

    @property
    def id(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def ttl(self) -> int:
        return ttl_for(self.ttl_name or self.name)

    def affected_by(self, data_category: str, changed_fields: frozenset[str] | None = None) -> bool:
        """Does a write to `data_category` (touching `changed_fields`; None = unknown/all)
        matter to this entry?"""
        if data_category not in self.depends_on:
            return False
        watched = self.fields.get(data_category)
        if changed_fields is None or watched is None:
            return True
        return bool(watched & changed_fields)


class EntryRegistry:
    def __init__(self) -> None:
        self._entries: dict[str, CacheEntry] = {}

    def register(self, entry: CacheEntry) -> CacheEntry:
        if entry.id in self._entries and self._entries[entry.id] != entry:
            raise ValueError(f"Cache entry {entry.id} is already registered")
        self._entries[entry.id] = entry
        return entry

    def unregister(self, entry: CacheEntry) -> None:
        self._entries.pop(entry.id, None)

    def get(self, entry_id: str) -> CacheEntry | None:
        return self._entries.get(entry_id)

    def __iter__(self) -> Iterator[CacheEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def data_categories(self) -> frozenset[str]:
        return frozenset(c for entry in self for c in entry.depends_on)

    def affected(
        self, data_category: str, changed_fields: frozenset[str] | None = None
    ) -> list[CacheEntry]:
        return [e for e in self if e.affected_by(data_category, changed_fields)]


registry = EntryRegistry()
