"""tenant_cache's system checks: declarations that would leave an entry silently stale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import checks
from django.core.management import call_command

from issues.models import Issue
from tenant_cache import CacheEntry, registry, watch
from tenant_cache.checks import check_bulk_writes_signal, check_entry_fields
from tenant_cache.receivers import unwatch
from tenants.models import Domain


@pytest.fixture
def declared() -> Iterator[list[CacheEntry]]:
    """Entries registered by a test, unregistered after it."""
    entries: list[CacheEntry] = []
    yield entries
    for entry in entries:
        registry.unregister(entry)


def _ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages if m.id]


def test_the_project_as_declared_passes_every_check() -> None:
    assert check_entry_fields() == []
    assert check_bulk_writes_signal() == []
    call_command("check", fail_level="ERROR")  # and so does manage.py check


def test_a_field_list_naming_a_field_the_model_lacks_is_an_error(declared) -> None:  # type: ignore[no-untyped-def]
    # As if `sla_due_at` had been renamed: the entry would never be invalidated by it.
    entry = CacheEntry(
        "checks", "renamed", frozenset({"issues"}), fields={"issues": frozenset({"sla_due"})}
    )
    declared.append(registry.register(entry))
    errors = check_entry_fields()
    assert _ids(errors) == ["tenant_cache.E001"]
    assert "'sla_due'" in errors[0].msg
    assert "checks:renamed" in errors[0].msg


def test_a_field_list_naming_a_relation_instead_of_its_attname_is_an_error(declared) -> None:  # type: ignore[no-untyped-def]
    entry = CacheEntry(
        "checks", "relation", frozenset({"issues"}), fields={"issues": frozenset({"application"})}
    )
    declared.append(registry.register(entry))
    assert _ids(check_entry_fields()) == ["tenant_cache.E001"]


def test_an_entry_depending_on_a_data_category_nobody_writes_is_an_error(declared) -> None:  # type: ignore[no-untyped-def]
    declared.append(registry.register(CacheEntry("checks", "orphan", frozenset({"nothing"}))))
    assert _ids(check_entry_fields()) == ["tenant_cache.E003"]


def test_a_watched_model_whose_bulk_writes_send_no_signal_is_an_error() -> None:
    # Domain's manager is Django's plain one: QuerySet.update would invalidate nothing.
    watch(Domain, "issues")
    try:
        errors = check_bulk_writes_signal()
    finally:
        unwatch(Domain)
    assert _ids(errors) == ["tenant_cache.E002"]
    assert errors[0].obj is Domain
    assert check_bulk_writes_signal() == []


def test_the_domain_models_queryset_is_what_satisfies_the_bulk_write_check() -> None:
    from tenant_cache.receivers import bulk_write_signal

    assert bulk_write_signal(Issue) is not None
    assert bulk_write_signal(Domain) is None
