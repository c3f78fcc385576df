"""Recount the dashboard's summary tables from the records, and say what had drifted."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django_tenants.utils import schema_context

from dashboard.aggregates import MEASURED_SUMMARIES, SUMMARIES_BY_SOURCE
from firelater import aggregates
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Recompute every dashboard summary table from scratch (per tenant, one transaction "
        "each; writers to the source tables wait meanwhile) and report the groups that "
        "disagreed with a full recount. Nothing should ever drift: a non-zero count is a bug."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant",
            action="append",
            dest="tenants",
            metavar="SLUG",
            help="Only this tenant (repeatable). Default: every active tenant.",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = {tenant.schema_name: self.rebuild(tenant) for tenant in self.tenants(options)}
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        for slug, result in report.items():
            drifted = sum(result["drifted_groups"].values())
            style = self.style.WARNING if drifted else self.style.SUCCESS
            self.stdout.write(
                style(f"{slug}: rebuilt in {result['seconds']:.2f}s, {drifted} drifted group(s)")
            )
            if options["verbosity"] >= 2 or drifted:
                for table, count in sorted(result["drifted_groups"].items()):
                    self.stdout.write(f"  {table}: {count}")

    def tenants(self, options: dict[str, Any]) -> list[Tenant]:
        tenants = Tenant.objects.exclude(schema_name="public")
        slugs = options.get("tenants")
        if not slugs:
            return list(tenants.filter(is_active=True).order_by("schema_name"))
        found = {t.schema_name: t for t in tenants.filter(schema_name__in=slugs)}
        unknown = [slug for slug in slugs if slug not in found]
        if unknown:
            raise CommandError(f"Unknown tenant: {', '.join(unknown)}")
        return [found[slug] for slug in dict.fromkeys(slugs)]

    def vacuum(self) -> None:
        """The replaced rows are dead now: out of the reads' way at once (the reads' index
        scans would visit them until autovacuum came by)."""
        with connection.cursor() as cursor:
            for summaries in SUMMARIES_BY_SOURCE.values():
                for summary in summaries:
                    cursor.execute(f"VACUUM ANALYZE {summary.table}")
            for measured in MEASURED_SUMMARIES:
                cursor.execute(f"VACUUM ANALYZE {measured.table}")

    def rebuild(self, tenant: Tenant) -> dict[str, Any]:
        started = time.perf_counter()
        drifted: dict[str, int] = {}
        with schema_context(tenant.schema_name):
            with transaction.atomic(), connection.cursor() as cursor:
                for summaries in SUMMARIES_BY_SOURCE.values():
                    drifted.update(aggregates.rebuild(cursor, summaries))
                for measured in MEASURED_SUMMARIES:
                    drifted[measured.table] = measured.rebuild(cursor)
            if not connection.in_atomic_block:  # VACUUM cannot run in a transaction
                self.vacuum()
        return {"drifted_groups": drifted, "seconds": round(time.perf_counter() - started, 3)}
