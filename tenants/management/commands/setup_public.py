"""manage.py setup_public: make sure the platform's public tenant and host names exist."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.services import public_tenant_ensure


class Command(BaseCommand):
    help = "Create the public tenant row and its domains (PUBLIC_DOMAINS). Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        public_tenant_ensure()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Public host(s): {', '.join(settings.PUBLIC_DOMAINS)}")
