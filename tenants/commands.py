"""Base for tenant-aware management commands: --tenant SLUG (repeatable), all by default."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Tenant


class TenantCommand(BaseCommand):
    """Adds `--tenant SLUG` (repeatable); `self.selected_tenants(options)` resolves them.

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

    def selected_tenants(self, options: dict[str, Any]) -> list[Tenant]:
        tenants = Tenant.objects.exclude(schema_name="public").order_by("slug")
        slugs = options.get("tenants")
        if not slugs:
            return list(tenants.filter(is_active=True))
        found = {t.slug: t for t in tenants.filter(slug__in=slugs)}
        unknown = [slug for slug in slugs if slug not in found]
        if unknown:
            raise CommandError(f"Unknown tenant: {', '.join(unknown)}")
        inactive = [slug for slug in slugs if not found[slug].is_active]
        if inactive:
            raise CommandError(f"Inactive tenant: {', '.join(inactive)}")
        return [found[slug] for slug in dict.fromkeys(slugs)]
