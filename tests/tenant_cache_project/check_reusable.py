"""tenant_cache in a project that is not FireLater: get-or-set, invalidation on commit,
bulk writes, tenant isolation and the system checks (run by tests/cache/test_reusable_app.py,
as its own pytest process with --ds=tests.tenant_cache_project.settings)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_redis import get_redis_connection
from django_tenants.utils import schema_context

import tenant_cache
from tests.tenant_cache_project.customers.models import Client, Domain
from tests.tenant_cache_project.notes.apps import NOTE_COUNT
from tests.tenant_cache_project.notes.models import Note

FIRELATER_APPS = {
    "firelater", "tenants", "issues", "changes", "requests_app", "applications",
    "dashboard", "demo",
}  # fmt: skip


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        public = Client(schema_name="public", name="platform")
        public.save()
        for slug in ("alpha", "beta"):
            client = Client(schema_name=slug, name=slug)
            client.save()  # creates and migrates the schema
            Domain.objects.create(domain=f"{slug}.example", tenant=client, is_primary=True)


@pytest.fixture(autouse=True)
def _clean_state(django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Committed data survives a transactional test in tenant schemas: start each empty."""
    with django_db_blocker.unblock():
        for slug in ("alpha", "beta"):
            with schema_context(slug):
                Note.objects.all().delete()
    tenant_cache.reset_backend()
    get_redis_connection("default").flushdb()
    yield
    connection.set_schema_to_public()


def _count(slug: str) -> tenant_cache.CacheResult:
    with schema_context(slug):
        return tenant_cache.read(NOTE_COUNT)


pytestmark = pytest.mark.django_db(transaction=True)


def test_no_firelater_module_is_loaded() -> None:
    loaded = {name.split(".")[0] for name in sys.modules}
    assert not loaded & FIRELATER_APPS


def test_the_system_checks_pass_for_a_correct_declaration() -> None:
    call_command("check", fail_level="ERROR")


def test_get_or_set_computes_once_then_hits() -> None:
    with schema_context("alpha"):
        Note.objects.create(text="first")
    assert _count("alpha").status == tenant_cache.MISS
    hit = _count("alpha")
    assert hit.status == tenant_cache.HIT
    assert hit.value == {"notes": 1, "pinned": 0}
    assert hit.key == "cache:{alpha}:notes:count"


def test_a_committed_save_invalidates_and_a_rolled_back_one_does_not() -> None:
    assert _count("alpha").status == tenant_cache.MISS
    with schema_context("alpha"):
        try:
            with transaction.atomic():
                Note.objects.create(text="never")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert _count("alpha").status == tenant_cache.HIT
    with schema_context("alpha"), transaction.atomic():
        Note.objects.create(text="kept", pinned=True)
        assert _count("alpha").status == tenant_cache.HIT  # not before the commit
    after = _count("alpha")
    assert after.status == tenant_cache.MISS
    assert after.value["pinned"] == 1


def test_bulk_writes_invalidate_through_the_projects_own_signal() -> None:
    with schema_context("alpha"):
        Note.objects.bulk_create([Note(text="a"), Note(text="b")])
    assert _count("alpha").value["notes"] == 2
    with schema_context("alpha"):
        Note.objects.update(text="renamed")  # a field no entry reads: left alone
    assert _count("alpha").status == tenant_cache.HIT
    with schema_context("alpha"):
        Note.objects.update(pinned=True)
    fresh = _count("alpha")
    assert (fresh.status, fresh.value["pinned"]) == (tenant_cache.MISS, 2)
    with schema_context("alpha"):
        Note.objects.all().delete()
    assert _count("alpha").value == {"notes": 0, "pinned": 0}


def test_each_tenant_sees_only_its_own_entry() -> None:
    with schema_context("alpha"):
        Note.objects.create(text="alpha's")
    assert _count("alpha").value["notes"] == 1
    beta = _count("beta")
    assert (beta.status, beta.value["notes"]) == (tenant_cache.MISS, 0)
    with schema_context("beta"):
        Note.objects.create(text="beta's")
    assert _count("alpha").status == tenant_cache.HIT  # beta's write left alpha alone
    assert _count("beta").value["notes"] == 1


def test_outside_a_tenant_there_is_no_cache_key() -> None:
    with pytest.raises(tenant_cache.CacheContextError):
        tenant_cache.read(NOTE_COUNT)
