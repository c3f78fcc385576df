"""manage.py warm_cache: fill every registered entry of every (or the named) tenant."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection
from tqdm import tqdm

from tenant_cache.invalidation import invalidate_entries
from tenant_cache.management.base import TenantCommand
from tenant_cache.reads import BYPASS, MISS, read
from tenant_cache.registry import CacheEntry, registry


@dataclass
class TenantWarmth:
    slug: str
    computed: int = 0
    already_cached: int = 0
    bypassed: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def warm_tenant(tenant: Any, entries: list[CacheEntry], *, refresh: bool) -> TenantWarmth:
    """Fill the tenant's entries (default parameters) on this thread's connection."""
    result = TenantWarmth(tenant.schema_name)
    started = time.perf_counter()
    connection.set_tenant(tenant)  # type: ignore[attr-defined]  # django-tenants' backend
    try:
        if refresh:
            invalidate_entries(tenant.schema_name, entries)
        for entry in entries:
            try:
                status = read(entry).status
            except Exception as error:  # one entry's failure is reported, not fatal
                result.failed.append(f"{entry.id}: {type(error).__name__}: {error}")
                continue
            if status == MISS:
                result.computed += 1
            elif status == BYPASS:
                result.bypassed += 1
            else:
                result.already_cached += 1
    finally:
        connection.set_schema_to_public()  # type: ignore[attr-defined]
    result.seconds = time.perf_counter() - started
    return result


class Command(TenantCommand):
    help = "Fill every registered cache entry for every active tenant (or --tenant ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--entries",
            nargs="+",
            metavar="NAME",
            help="Only these entries (e.g. overview trends). Default: all.",
        )
        parser.add_argument("--parallel", type=int, default=1, help="Tenants warmed at once.")
        parser.add_argument(
            "--refresh", action="store_true", help="Recompute entries that are already cached."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["parallel"] < 1:
            raise CommandError("--parallel must be at least 1.")
        entries = self._entries(options["entries"])
        tenants = self.selected_tenants(options)
        started = time.perf_counter()
        results = self._run(tenants, entries, options)
        failed = [r for r in results if r.failed]
        bypassed = sum(r.bypassed for r in results)
        self.stdout.write(
            f"Warmed {len(results)} tenant(s) x {len(entries)} entries in "
            f"{time.perf_counter() - started:.2f}s: "
            f"{sum(r.computed for r in results)} computed, "
            f"{sum(r.already_cached for r in results)} already cached, "
            f"{bypassed} not stored (Redis unavailable)"
        )
        if failed:
            for result in failed:
                for message in result.failed:
                    self.stderr.write(f"{result.slug}: {message}")
            count = sum(len(r.failed) for r in failed)
            raise CommandError(f"{count} entr{'y' if count == 1 else 'ies'} failed to warm.")

    def _entries(self, names: list[str] | None) -> list[CacheEntry]:
        warmable = [e for e in registry if e.fetch is not None]
        if not names:
            return warmable
        by_name = {e.name: e for e in warmable}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise CommandError(
                f"Unknown entry: {', '.join(unknown)}. Known: {', '.join(sorted(by_name))}"
            )
        return [by_name[n] for n in names]

    def _run(
        self, tenants: list[Any], entries: list[CacheEntry], options: dict[str, Any]
    ) -> list[TenantWarmth]:
        verbose = options["verbosity"] >= 1
        stdout: Any = self.stdout._out  # the real streams: tqdm writes to them directly
        stderr: Any = self.stderr._out
        progress = tqdm(
            total=len(tenants),
            unit="tenant",
            file=stderr,
            disable=not verbose or len(tenants) < 2,
        )
        results: list[TenantWarmth] = []

        def job(tenant: Any) -> TenantWarmth:
            try:
                return warm_tenant(tenant, entries, refresh=options["refresh"])
            finally:
                if options["parallel"] > 1:
                    connection.close()  # each worker thread has its own connection

        with progress, ThreadPoolExecutor(options["parallel"]) as pool:
            for result in pool.map(job, tenants):
                results.append(result)
                progress.update()
                if verbose:
                    progress.write(
                        f"{result.slug}: {result.computed} computed, "
                        f"{result.already_cached} cached, {len(result.failed)} failed "
                        f"in {result.seconds * 1000:.0f} ms",
                        file=stdout,
                    )
        return results
