"""manage.py cache_purge NAME...: delete every cache key left under the names of deleted
tenants (deleting a tenant does it by itself; this is for keys it could not reach)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenant_cache.invalidation import pending_purges, purge_tenant
from tenant_cache.keys import CacheContextError, check_tenant
from tenant_cache.stats import status
from tenant_cache.tenants import tenant_queryset


class Command(BaseCommand):
    help = (
        "Delete every cache key (values and _meta) of these tenant names, which no tenant "
        "uses: what a former tenant of that name left. A live tenant's entries are dropped "
        "with the cache admin's invalidate instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="+", metavar="NAME", help="A tenant schema name.")

    def handle(self, *args: Any, **options: Any) -> None:
        names = list(dict.fromkeys(options["names"]))
        try:
            names = [check_tenant(name) for name in names]
        except CacheContextError as error:
            raise CommandError(str(error)) from error
        live = sorted(
            tenant_queryset().filter(schema_name__in=names).values_list("schema_name", flat=True)
        )
        if live:
            raise CommandError(f"A tenant uses {', '.join(live)}: invalidate its cache instead.")
        if not status()["available"]:
            raise CommandError("Redis is unavailable: nothing was purged.")
        for name in names:
            deleted = purge_tenant(name)
            if name in pending_purges():
                raise CommandError(f"Redis failed while purging {name}: it will be retried.")
            self.stdout.write(self.style.SUCCESS(f"Purged {name}: {deleted} key(s) deleted"))
