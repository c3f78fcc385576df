"""Real processes for the reliability suite: committed tenants and a gunicorn server.

These tests need committed data (the server is another process), so they do not use the
`db` fixture's rolled-back transaction: they create their own tenants, commit, and drop
them (schemas included) at the end. The server itself is tests.support.live.serve_project.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from changes.models import Change
from demo.data import DemoSize, seed_tenant_demo
from issues.models import Issue
from tenant_cache import reset_backend
from tenants.models import Tenant
from tenants.services import tenant_setup
from tests.support.live import LiveTenant

PASSWORD = "stress-pass-123"  # test-only


def _make_time_stable(now=None) -> None:  # type: ignore[no-untyped-def]
    """Move deadlines away from 'now' so no number changes by the clock during a test."""
    now = now or timezone.now()
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    Issue.objects.filter(sla_due_at__range=window).update(sla_due_at=now + timedelta(days=30))
    Change.objects.filter(scheduled_start__range=window).update(
        scheduled_start=now + timedelta(days=2), scheduled_end=now + timedelta(days=2, hours=1)
    )
    Change.objects.filter(
        scheduled_start__range=(now + timedelta(days=7, hours=-1), now + timedelta(days=7, hours=1))
    ).update(
        scheduled_start=now + timedelta(days=3), scheduled_end=now + timedelta(days=3, hours=1)
    )


@pytest.fixture(scope="module")
def live_tenants(django_db_setup, django_db_blocker) -> Iterator[list[LiveTenant]]:  # type: ignore[no-untyped-def]
    created: list[LiveTenant] = []
    assert connection.settings_dict["NAME"].startswith("test_"), "never the real database"
    with django_db_blocker.unblock():
        try:
            for slug in ("stressa", "stressb"):
                setup = tenant_setup(
                    slug=slug,
                    name=slug,
                    domain=f"{slug}.localhost",
                    admin_username="admin",
                    admin_password=PASSWORD,
                )
                with tenant_context(setup.tenant):
                    seed_tenant_demo(size=DemoSize(issues=150, applications=6, agents=3))
                    _make_time_stable()
                    from django.contrib.auth import get_user_model

                    user = get_user_model().objects.get(username="admin")
                    token, _ = Token.objects.get_or_create(user=user)
                created.append(LiveTenant(slug, setup.tenant, token.key))
            connection.set_schema_to_public()
            yield created
        finally:
            connection.set_schema_to_public()
            for live in created:
                live.tenant.delete(force_drop=True)
            Tenant.objects.filter(slug__in=["stressa", "stressb"]).delete()


@pytest.fixture
def shared_redis_url() -> str:
    """The suite's own Redis database, emptied: the server and this process share it."""
    reset_backend()
    get_redis_connection("default").flushdb()
    return str(settings.CACHES["default"]["LOCATION"])
