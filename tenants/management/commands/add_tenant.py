"""manage.py add_tenant: create a ready tenant (schema, domain, staff user), idempotently."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.services import tenant_setup


class Command(BaseCommand):
    help = "Create a tenant with its schema, domain and a staff user. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="Schema name and cache-key prefix.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument(
            "--domain",
            required=True,
            help="Host name, e.g. acme.localhost (stored in lower case; no leading www.).",
        )
        parser.add_argument("--admin-user", help="Username of the tenant's staff user.")
        parser.add_argument("--admin-password", help="Password of that user.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = tenant_setup(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                admin_username=options["admin_user"],
                admin_password=options["admin_password"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        verb = "Created" if result.tenant_created else "Tenant already existed; ensured"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} tenant {result.tenant.slug} at {result.domain}")
        )
        if options["verbosity"] >= 2:
            self.stdout.write(
                f"domain created: {result.domain_created}, user created: {result.user_created}"
            )
