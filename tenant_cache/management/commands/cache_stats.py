"""manage.py cache_stats: hit rate, keys, memory and top keys per tenant, and Redis's figures."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from redis.exceptions import RedisError

from tenant_cache.management.base import TenantCommand
from tenant_cache.stats import redis_stats, tenant_stats


class Command(TenantCommand):
    help = "Show cache figures per tenant (hits, misses, hit rate, keys, memory, top keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")
        parser.add_argument("--top", type=int, default=5, help="How many top keys (default 5).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = self.selected_tenants(options)
        try:
            server = redis_stats()
            figures = [tenant_stats(t.schema_name, top=options["top"]) for t in tenants]
        except RedisError as error:
            # Not a failure of this command: it reports what it can see.
            self.stdout.write(f"Redis is unavailable ({type(error).__name__}: {error}).")
            return
        if options["json"]:
            self.stdout.write(json.dumps({"redis": server, "tenants": figures}, indent=2))
            return
        self._table(server, figures)

    def _table(self, server: dict[str, Any], figures: list[dict[str, Any]]) -> None:
        self.stdout.write(
            f"Redis {server['redisVersion']}: {server['usedMemory']} used, "
            f"{server['evictedKeys']} evicted keys, {server['connectedClients']} clients"
        )
        header = (
            f"{'tenant':<16} {'hit rate':>8} {'hits':>9} {'misses':>9} {'keys':>6} {'memory':>9}"
        )
        self.stdout.write(self.style.MIGRATE_HEADING(header))
        for stats in figures:
            self.stdout.write(
                f"{stats['tenant']:<16} {stats['hitRate']:>7.1f}% {stats['hits']:>9} "
                f"{stats['misses']:>9} {stats['totalKeys']:>6} {stats['memoryUsed']:>9}"
            )
            for top in stats["topKeys"]:
                self.stdout.write(f"    {top['hits']:>9}  {top['key']}")
