"""Cache entries declared as data: what each caches, for how long, and what it depends on.

An entry is registered once (the dashboard declares its own in dashboard/entries.py); the
viewsets, the signal invalidation, warm_cache and the stats all read the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from firelater.cache.keys import check_name

DEFAULT_TTL = 300


@dataclass(frozen=True)
class CacheEntry:
    """One cached thing, e.g. the dashboard overview.

    category/subcategory name its keys (cache:{tenant}:<category>:<subcategory>);
    depends_on lists the data categories (issues, changes, ...) whose writes invalidate
    it; fields optionally narrows that to the model fields it reads, per category.
    """

    category: str
    subcategory: str
    depends_on: frozenset[str]
    ttl_name: str | None = None
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    fetch: Callable[..., Any] | None = None
    default_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("category", self.category)
        check_name("subcategory", self.subcategory)
        for category in self.depends_on:
            check_name("dependency category", category)

    @property
    def id(self) -> str:
        return f"{self.category}:{self.subcategory}"

    @property
    def name(self) -> str:
        return self.subcategory

    @property
    def ttl(self) -> int:
        ttls = getattr(settings, "CACHE_TTL", {})
        return int(ttls.get(self.ttl_name or self.subcategory, ttls.get("default", DEFAULT_TTL)))

    def affected_by(self, category: str, changed_fields: frozenset[str] | None = None) -> bool:
        """Does a write to `category` (touching `changed_fields`; None = unknown/all) matter?"""
        if category not in self.depends_on:
            return False
        watched = self.fields.get(category)
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

    def __iter__(self) -> Iterator[CacheEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> CacheEntry:
        return self._entries[entry_id]

    def by_name(self, name: str) -> CacheEntry:
        for entry in self._entries.values():
            if entry.subcategory == name or entry.id == name:
                return entry
        raise KeyError(name)

    def categories(self) -> frozenset[str]:
        return frozenset(c for entry in self for c in entry.depends_on)

    def affected(
        self, category: str, changed_fields: frozenset[str] | None = None
    ) -> list[CacheEntry]:
        return [e for e in self if e.affected_by(category, changed_fields)]


registry = EntryRegistry()
