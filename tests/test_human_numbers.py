"""Human record numbers (ISS-000123) come from a per-tenant PostgreSQL sequence."""

from __future__ import annotations

import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from changes.factories import ChangeFactory
from changes.models import Change
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from issues.services import issue_create
from requests_app.factories import RequestFactory
from requests_app.models import Request
from tenants.models import Tenant


@pytest.mark.parametrize(
    ("make", "prefix"),
    [
        (lambda user: IssueFactory(reporter=user), "ISS"),
        (lambda user: RequestFactory(requester=user), "REQ"),
        (lambda user: ChangeFactory(), "CHG"),
    ],
)
def test_a_new_record_gets_a_prefixed_six_digit_number(acme_admin, make, prefix):
    record = make(acme_admin)

    assert isinstance(record.number, int)
    assert re.fullmatch(rf"{prefix}-\d{{6}}", record.display_number)
    assert record.display_number == f"{prefix}-{record.number:06d}"
    assert str(record).startswith(record.display_number)


def test_each_new_issue_gets_the_next_number(acme_admin):
    first, second, third = IssueFactory.create_batch(3, reporter=acme_admin)

    assert second.number == first.number + 1
    assert third.number == second.number + 1


def test_bulk_created_records_get_distinct_numbers(acme_admin):
    issues = Issue.objects.bulk_create(IssueFactory.build_batch(5, reporter=acme_admin))
    requests = Request.objects.bulk_create(RequestFactory.build_batch(5, requester=acme_admin))
    changes = Change.objects.bulk_create(ChangeFactory.build_batch(5))

    for records in (issues, requests, changes):
        numbers = [record.number for record in records]
        assert all(isinstance(number, int) for number in numbers)
        assert len(set(numbers)) == 5
    stored = set(Issue.objects.values_list("number", flat=True))
    assert {issue.number for issue in issues} <= stored


def test_a_number_cannot_be_used_twice_in_one_tenant(acme_admin):
    issue = IssueFactory(reporter=acme_admin)

    with pytest.raises(IntegrityError), transaction.atomic():
        IssueFactory(reporter=acme_admin, number=issue.number)


def test_numbers_of_acme_and_globex_come_from_separate_sequences(acme, globex):
    with tenant_context(globex):
        globex_user = UserFactory()
        globex_before = IssueFactory(reporter=globex_user)
    with tenant_context(acme):
        acme_user = UserFactory()
        acme_issue = IssueFactory(reporter=acme_user)
        IssueFactory.create_batch(4, reporter=acme_user)
    with tenant_context(globex):
        globex_after = IssueFactory(reporter=globex_user)
        # The same number may exist in both tenants: uniqueness is per schema.
        IssueFactory(reporter=globex_user, number=acme_issue.number + 1_000_000)
    with tenant_context(acme):
        IssueFactory(reporter=acme_user, number=acme_issue.number + 1_000_000)

    assert globex_after.number == globex_before.number + 1


THREADS = 6
ISSUES_PER_THREAD = 10


def _in_own_connection(tenant: Tenant, work) -> threading.Thread:  # type: ignore[no-untyped-def]
    """A thread with its own database connection (autocommit: its writes are real commits)."""

    def run() -> None:
        try:
            connection.set_tenant(tenant)
            work()
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_concurrent_creates_in_separate_connections_get_distinct_numbers(acme):
    """Each thread has its own connection, so these issues are committed for real (the test's
    transaction cannot roll them back); they are deleted, by a committed delete, at the end."""
    with tenant_context(acme):
        reporter = get_user_model().objects.get(username="admin")  # committed at session start
    start = threading.Barrier(THREADS)
    created: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def create_issues() -> None:
        try:
            start.wait(timeout=10)
            for i in range(ISSUES_PER_THREAD):
                issue = issue_create(reporter=reporter, title=f"Concurrent issue {i}")
                created.append((issue.pk, issue.number))
        except BaseException as exc:
            errors.append(exc)

    def delete_created() -> None:
        Issue.objects.filter(pk__in=[pk for pk, _ in created]).delete()

    try:
        threads = [_in_own_connection(acme, create_issues) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert not errors, errors
        numbers = [number for _, number in created]
        assert len(numbers) == THREADS * ISSUES_PER_THREAD
        assert len(set(numbers)) == len(numbers)
        with tenant_context(acme):  # committed, so visible to the test's own connection
            stored = Issue.objects.filter(pk__in=[pk for pk, _ in created])
            assert sorted(stored.values_list("number", flat=True)) == sorted(numbers)
    finally:
        cleanup = _in_own_connection(acme, delete_created)
        cleanup.start()
        cleanup.join(timeout=30)
    with tenant_context(acme):
        assert not Issue.objects.filter(pk__in=[pk for pk, _ in created]).exists()
