"""Base for the cache's tenant-aware commands: --tenant SCHEMA (repeatable), all by default."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenant_cache.tenants import tenant_queryset


class TenantCommand(BaseCommand):
    """Adds `--tenant SLUG` (repeatable; a tenant's schema name); `self.selected_tenants(options)`
    resolves them.

    Without --tenant: every active tenant. An unknown or inactive slug is a CommandError
    (one line, non-zero exit), never a silent skip.
    """

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant",
            action="append",
            dest="tenants",
            metavar="SLUG",
            help="Only this tenant (repeatable). Default: every active tenant.",
        )

    def selected_tenants(self, options: dict[str, Any]) -> list[Any]:
        slugs = options.get("tenants")
        if not slugs:
            return list(tenant_queryset(active_only=True))
        found = {t.schema_name: t for t in tenant_queryset().filter(schema_name__in=slugs)}
        unknown = [slug for slug in slugs if slug not in found]
        if unknown:
            raise CommandError(f"Unknown tenant: {', '.join(unknown)}")
        inactive = [slug for slug in slugs if not getattr(found[slug], "is_active", True)]
        if inactive:
            raise CommandError(f"Inactive tenant: {', '.join(inactive)}")
        return [found[slug] for slug in dict.fromkeys(slugs)]
