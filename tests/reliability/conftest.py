"""Real processes for the reliability suite: committed tenants and a gunicorn server.

These tests need committed data (the server is another process), so they do not use the
`db` fixture's rolled-back transaction: they create their own tenants, commit, and drop
them (schemas included) at the end.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
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
from tests.cache.conftest import PrivateRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "stress-pass-123"  # test-only
LIVE_APP_NAME = "firelater-live-test"


@dataclass
class LiveTenant:
    slug: str
    tenant: Tenant
    token: str

    @property
    def host(self) -> str:
        return f"{self.slug}.localhost"


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


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


@contextlib.contextmanager
def gunicorn(redis_url: str, *, workers: int = 2, cooldown: float = 0.5) -> Iterator[str]:
    """A real server on the test database; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": "reliability-suite-secret-key-" + "x" * 30,
        "CACHE_BREAKER_COOLDOWN": str(cooldown),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "firelater.settings",
        "PGAPPNAME": LIVE_APP_NAME,  # lets a test find (and kill) the server's connections
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "firelater.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def shared_redis_url() -> str:
    """The suite's own Redis database, emptied: the server and this process share it."""
    reset_backend()
    get_redis_connection("default").flushdb()
    return str(settings.CACHES["default"]["LOCATION"])


@pytest.fixture
def private_redis_server(settings, tmp_path):  # type: ignore[no-untyped-def]
    from tests.cache.conftest import point_cache_at

    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHE_BREAKER_COOLDOWN = 0.5
    point_cache_at(settings, server.url)
    yield server
    server.stop()
