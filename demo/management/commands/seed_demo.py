"""manage.py seed_demo: demo tenants (acme, globex, ...) full of realistic ITSM data."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from demo.data import DemoSize, demo_role_users_ensure, seed_tenant_demo
from firelater import roles
from issues.models import Issue
from tenants.services import public_tenant_ensure, tenant_setup

DEMO_TENANTS = [("acme", "Acme Corporation"), ("globex", "Globex Industries")]
DEMO_ADMIN_USER = "admin"
DEMO_ADMIN_PASSWORD = "firelater-demo"
# One login per role on every demo tenant (the admin is the tenant admin), all with
# DEMO_ADMIN_PASSWORD; README's "Roles" and `make run` list them.
DEMO_ROLE_USERS = {
    "requester": roles.REQUESTER,
    "agent": roles.AGENT,
    "changemanager": roles.CHANGE_MANAGER,
    DEMO_ADMIN_USER: roles.TENANT_ADMIN,
}


def demo_tenant_names(count: int) -> list[tuple[str, str]]:
    names = DEMO_TENANTS[:count]
    names += [(f"demo{i}", f"Demo tenant {i}") for i in range(len(names) + 1, count + 1)]
    return names


class Command(BaseCommand):
    help = "Create demo tenants with a staff login and realistic issues, changes and requests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenants", type=int, default=2, help="How many demo tenants.")
        parser.add_argument("--issues", type=int, default=5_000, help="Issues per tenant.")
        parser.add_argument("--changes", type=int, help="Changes per tenant (issues / 5).")
        parser.add_argument("--requests", type=int, help="Requests per tenant (issues / 5).")
        parser.add_argument("--applications", type=int, default=30, help="Apps per tenant.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Skip tenants that already have issues."
        )
        parser.add_argument("--domain-suffix", default="localhost", help="Hosts: <slug>.SUFFIX")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tenants"] < 1 or options["issues"] < 0 or options["applications"] < 0:
            raise CommandError("--tenants must be >= 1; --issues and --applications >= 0.")
        public_tenant_ensure()
        size = DemoSize(
            issues=options["issues"],
            changes=options["changes"],
            requests=options["requests"],
            applications=options["applications"],
        )
        for slug, name in demo_tenant_names(options["tenants"]):
            domain = f"{slug}.{options['domain_suffix']}"
            setup = tenant_setup(
                slug=slug,
                name=name,
                domain=domain,
                admin_username=DEMO_ADMIN_USER,
                admin_password=DEMO_ADMIN_PASSWORD,
            )
            with tenant_context(setup.tenant):
                demo_role_users_ensure(users=DEMO_ROLE_USERS, password=DEMO_ADMIN_PASSWORD)
                if options["if_empty"] and Issue.objects.exists():
                    self.stdout.write(f"{slug}: already has data, skipped")
                    continue
                started = time.perf_counter()
                counts = seed_tenant_demo(size=size, seed=options["seed"])
            self.stdout.write(
                self.style.SUCCESS(
                    f"{slug}: {counts.issues} issues, {counts.changes} changes, "
                    f"{counts.requests} requests, {counts.applications} applications, "
                    f"{counts.health_scores} health scores, {counts.catalog_items} catalog "
                    f"items, {counts.cost_reports} cloud cost reports in "
                    f"{time.perf_counter() - started:.1f}s"
                )
            )
        logins = ", ".join(f"{name} ({role})" for name, role in DEMO_ROLE_USERS.items())
        self.stdout.write(
            f"Demo logins on every demo tenant: {logins}; password {DEMO_ADMIN_PASSWORD}"
        )
