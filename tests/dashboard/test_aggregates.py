"""The summary tables equal a full recount at every step, and so every dashboard entry
equals the old full-scan SQL (tests/dashboard/reference.py), at any moment.

Hypothesis drives random sequences of single saves, bulk creates and updates, queryset and
single deletes, raw SQL, rolled-back savepoints and forced folds over issues, changes and
requests; after each step every summary is compared with its recount and every entry with
the reference at several instants (now, quarter-hour boundaries, hours and days later:
time passing without writes, given as a parameter, never mocked). Concurrent writers on
two real connections, a fold held open by another transaction, admin actions and the
repair command are covered below.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections, transaction
from django.db.models import F
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applications.models import Application, ApplicationHealthScore
from changes import workflow
from changes.models import Change
from dashboard import selectors
from dashboard.aggregates import ALL_SUMMARIES, MEASURED_SUMMARIES, SUMMARIES_BY_SOURCE
from firelater import aggregates
from firelater.models import Priority
from issues.models import Issue
from requests_app.models import Request
from tests.dashboard import reference

# A fixed instant on a quarter hour plus 7 minutes 30 seconds: data and reads straddle
# quarter-hour boundaries on purpose.
BASE = dt.datetime(2026, 6, 10, 9, 7, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
# When the status writes happen: after every generated creation (done times follow it).
WRITTEN_AT = BASE + dt.timedelta(days=4)

# (name, selector of dashboard.selectors, its reference, whether it takes `now`)
ENTRY_PAIRS: list[tuple[str, Callable[..., Any], Callable[..., Any], dict[str, Any], bool]] = [
    ("overview", selectors.overview, reference.overview, {}, True),
    ("trends", selectors.issue_trends, reference.issue_trends, {"days": 30}, True),
    ("trends_365", selectors.issue_trends, reference.issue_trends, {"days": 365}, True),
    ("health", selectors.health_distribution, reference.health_distribution, {}, False),
    ("activity", selectors.recent_activity, reference.recent_activity, {"limit": 20}, False),
    ("by_priority", selectors.issues_by_priority, reference.issues_by_priority, {}, False),
    ("by_status", selectors.issues_by_status, reference.issues_by_status, {}, False),
    ("upcoming", selectors.upcoming_changes, reference.upcoming_changes, {}, True),
    ("requests", selectors.requests_by_status, reference.requests_by_status, {}, False),
    ("mobile", selectors.mobile_summary, reference.mobile_summary, {}, True),
]


def _as_json(value: Any) -> str:
    if hasattr(value, "expires_at"):
        value = {"value": value.value, "expires_at": value.expires_at}
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)


def assert_summaries_exact() -> None:
    with connection.cursor() as cursor:
        drifted = {s.table: aggregates.drift(cursor, s) for s in ALL_SUMMARIES}
        drifted.update({m.table: m.drift(cursor) for m in MEASURED_SUMMARIES})  # #14's
    assert {table: d for table, d in drifted.items() if d} == {}


def assert_entries_equal_reference(moments: list[dt.datetime]) -> None:
    for name, new, old, params, takes_now in ENTRY_PAIRS:
        for now in moments if takes_now else [None]:
            extra = {"now": now} if takes_now else {}
            assert _as_json(new(**params, **extra)) == _as_json(old(**params, **extra)), (
                name,
                now,
            )


def moments_around(now: dt.datetime) -> list[dt.datetime]:
    quarter = selectors._quarter_floor(now)
    return [
        now,
        quarter,  # exactly on a boundary
        quarter + dt.timedelta(minutes=15) - dt.timedelta(microseconds=1),
        now + dt.timedelta(minutes=10),
        now + dt.timedelta(hours=5, minutes=3),
        now + dt.timedelta(days=1, hours=20),  # tomorrow: "today" and SLAs moved on
        now + dt.timedelta(days=8),  # next week
    ]


# --- Random writes ------------------------------------------------------------------------

minutes = st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60)
seconds = st.integers(min_value=0, max_value=59)
issue_status = st.sampled_from(Issue.Status.values)
request_status = st.sampled_from(Request.Status.values)
change_status = st.sampled_from(Change.Status.values)
priority = st.sampled_from(Priority.values)


def _at(minute: int, second: int) -> dt.datetime:
    return BASE + minute * MINUTE + dt.timedelta(seconds=second)


@st.composite
def issue_rows(draw: Any) -> dict[str, Any]:
    created = _at(draw(minutes), draw(seconds))
    status = draw(issue_status)
    sla = draw(st.none() | st.integers(min_value=0, max_value=4 * 24 * 60))
    resolved = draw(st.integers(min_value=0, max_value=3 * 24 * 60))
    return {
        "status": status,
        "priority": draw(priority),
        "created_at": created,
        "updated_at": created + draw(st.integers(0, 600)) * dt.timedelta(seconds=1),
        "sla_due_at": None if sla is None else created + sla * MINUTE,
        "resolved_at": created + resolved * MINUTE if status in Issue.DONE_STATUSES else None,
    }


@st.composite
def request_rows(draw: Any) -> dict[str, Any]:
    created = _at(draw(minutes), draw(seconds))
    status = draw(request_status)
    due = draw(st.none() | st.integers(min_value=0, max_value=6 * 24 * 60))
    return {
        "status": status,
        "priority": draw(priority),
        "created_at": created,
        "updated_at": created,
        "due_at": None if due is None else created + due * MINUTE,
        "fulfilled_at": created + 90 * MINUTE if status == Request.Status.FULFILLED else None,
    }


@st.composite
def change_rows(draw: Any) -> dict[str, Any]:
    created = _at(draw(minutes), draw(seconds))
    start = draw(st.none() | st.integers(min_value=0, max_value=10 * 24 * 60))
    scheduled = (
        None
        if start is None
        else created + start * MINUTE + draw(seconds) * 1000 * (dt.timedelta(microseconds=1))
    )
    status = draw(change_status)
    outcome = workflow.DEFAULT_OUTCOME.get(status)  # the database requires it when ended
    return {
        "status": status,
        "outcome": outcome,
        "completed_at": created if outcome is not None else None,
        "created_at": created,
        "updated_at": created,
        "scheduled_start": scheduled,
        "scheduled_end": None if scheduled is None else scheduled + 60 * MINUTE,
    }


def _user() -> Any:
    return get_user_model().objects.get(username="admin")


def op_create_issues(rows: list[dict[str, Any]]) -> None:
    user = _user()
    if len(rows) == 1:
        Issue(title="one", reporter=user, **rows[0]).save()
    else:
        Issue.objects.bulk_create(Issue(title="bulk", reporter=user, **row) for row in rows)


def op_create_requests(rows: list[dict[str, Any]]) -> None:
    user = _user()
    Request.objects.bulk_create(Request(title="r", requester=user, **row) for row in rows)


def op_create_changes(rows: list[dict[str, Any]]) -> None:
    Change.objects.bulk_create(Change(title="c", **row) for row in rows)


def op_issue_status(status: str, modulo: int) -> None:
    Issue.objects.filter(id__in=_every(Issue, modulo)).update(
        **Issue.bulk_status_update(status, WRITTEN_AT)
    )


def op_request_status(status: str, modulo: int) -> None:
    Request.objects.filter(id__in=_every(Request, modulo)).update(
        **Request.bulk_status_update(status, WRITTEN_AT)
    )


def op_change_status(status: str, modulo: int) -> None:
    Change.objects.filter(id__in=_every(Change, modulo)).update(
        **workflow.bulk_status_update(status, WRITTEN_AT)
    )


def op_shift_times(shift: int, modulo: int) -> None:
    delta = shift * MINUTE
    Issue.objects.filter(id__in=_every(Issue, modulo), sla_due_at__isnull=False).update(
        sla_due_at=F("sla_due_at") + abs(delta)
    )
    Request.objects.filter(id__in=_every(Request, modulo), due_at__isnull=False).update(
        due_at=F("due_at") + abs(delta)
    )
    Change.objects.filter(id__in=_every(Change, modulo), scheduled_start__isnull=False).update(
        scheduled_start=F("scheduled_start") + delta, scheduled_end=F("scheduled_end") + delta
    )


def op_save_one(status: str, new_priority: str) -> None:
    issue = Issue.objects.order_by("id").first()
    if issue is not None:
        issue.status, issue.priority = status, new_priority
        issue.sync_done_at(WRITTEN_AT)
        issue.save()


def op_bulk_update(new_priority: str, modulo: int) -> None:
    issues = list(Issue.objects.filter(id__in=_every(Issue, modulo)))
    for issue in issues:
        issue.priority = new_priority
        issue.sla_due_at = None if issue.sla_due_at else issue.created_at + 30 * MINUTE
    Issue.objects.bulk_update(issues, ["priority", "sla_due_at"])


def op_delete(modulo: int) -> None:
    Issue.objects.filter(id__in=_every(Issue, modulo)).delete()
    Request.objects.filter(id__in=_every(Request, modulo + 1)).delete()
    Change.objects.filter(id__in=_every(Change, modulo + 2)).delete()
    issue = Issue.objects.order_by("-id").first()
    if issue is not None:
        issue.delete()


def op_raw_sql(status: str, modulo: int) -> None:
    """What a migration or a DBA might write, past the ORM and its signals."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE issues_issue SET status = %s, resolved_at = NULL WHERE id %% %s = 0",
            [status if status not in Issue.DONE_STATUSES else "new", modulo],
        )
        cursor.execute(
            "UPDATE changes_change SET scheduled_start = scheduled_start - interval '7 minutes',"
            " scheduled_end = scheduled_end - interval '7 minutes' WHERE id %% %s = 1",
            [modulo],
        )
        cursor.execute(
            "INSERT INTO requests_app_request (title, description, status, priority,"
            " requester_id, created_at, updated_at, due_at)"
            " SELECT 'raw', '', 'submitted', 'low', id, %s, %s, %s FROM auth_user"
            " WHERE username = 'admin'",
            [BASE, BASE, BASE + 7 * MINUTE],
        )
        cursor.execute("DELETE FROM requests_app_request WHERE id %% %s = 2", [modulo])


def op_rolled_back(rows: list[dict[str, Any]], status: str) -> None:
    try:
        with transaction.atomic():
            op_create_issues(rows)
            op_issue_status(status, 1)
            op_delete(1)
            raise _Rollback
    except _Rollback:
        pass


def op_health(scores: list[tuple[int, int, int]]) -> None:
    """Applications (created as needed) and scores; one score per application and minute
    (the latest of two equal instants is either one, in the old SQL as in the new)."""
    for index, score, minute in scores:
        app, _ = Application.objects.get_or_create(
            name=f"app {index}", defaults={"tier": 1 + index % 4}
        )
        calculated = BASE + minute * MINUTE
        if not ApplicationHealthScore.objects.filter(application=app, calculated_at=calculated):
            ApplicationHealthScore.objects.create(
                application=app, score=score, calculated_at=calculated
            )


def op_fold() -> None:
    with connection.cursor() as cursor:
        for source in SUMMARIES_BY_SOURCE:
            assert aggregates.fold(cursor, source)


class _Rollback(Exception):
    pass


def _every(model: Any, modulo: int) -> list[int]:
    ids = list(model.objects.order_by("id").values_list("id", flat=True))
    return ids[:: max(1, modulo)]


modulo = st.integers(min_value=1, max_value=4)
OPERATIONS = st.one_of(
    st.tuples(st.just(op_create_issues), st.lists(issue_rows(), min_size=1, max_size=6)),
    st.tuples(st.just(op_create_requests), st.lists(request_rows(), min_size=1, max_size=4)),
    st.tuples(st.just(op_create_changes), st.lists(change_rows(), min_size=1, max_size=4)),
    st.tuples(st.just(op_issue_status), issue_status, modulo),
    st.tuples(st.just(op_request_status), request_status, modulo),
    st.tuples(st.just(op_change_status), change_status, modulo),
    st.tuples(st.just(op_shift_times), st.integers(-600, 600), modulo),
    st.tuples(st.just(op_save_one), issue_status, priority),
    st.tuples(st.just(op_bulk_update), priority, modulo),
    st.tuples(st.just(op_delete), modulo),
    st.tuples(st.just(op_raw_sql), issue_status, modulo),
    st.tuples(
        st.just(op_rolled_back), st.lists(issue_rows(), min_size=1, max_size=3), issue_status
    ),
    st.tuples(
        st.just(op_health),
        st.lists(st.tuples(st.integers(0, 5), st.integers(0, 100), minutes), max_size=6),
    ),
    st.tuples(st.just(op_fold)),
)


def test_an_update_moves_a_record_between_groups_it_never_adds_one(in_acme):
    op_create_issues(
        [{"status": "new", "priority": "high", "created_at": BASE, "updated_at": BASE}] * 2
    )
    op_issue_status("in_progress", 2)
    assert selectors.issues_by_status()[:3] == [
        {"status": "new", "count": 1},
        {"status": "assigned", "count": 0},
        {"status": "in_progress", "count": 1},
    ]
    assert_summaries_exact()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(OPERATIONS, min_size=1, max_size=8), later=minutes)
def test_after_every_write_the_summaries_equal_a_recount_and_the_entries_the_old_sql(
    in_acme, steps, later
):
    try:
        with transaction.atomic():
            for operation, *args in steps:
                operation(*args)
                assert_summaries_exact()
                assert_entries_equal_reference(moments_around(BASE + later * MINUTE))
            raise _Rollback  # every example starts from the same empty tenant
    except _Rollback:
        pass


def test_every_delta_is_folded_into_one_row_per_group(in_acme):
    rows = [{"status": "new", "priority": "low", "created_at": BASE, "updated_at": BASE}]
    for _ in range(aggregates.FOLD_EVERY * 2):
        op_create_issues(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE compact), count(*) FILTER (WHERE NOT compact)"
            " FROM issues_summary_created"
        )
        compact, deltas = cursor.fetchone()
    assert compact == 1
    assert deltas < aggregates.FOLD_EVERY
    assert_summaries_exact()


def test_a_write_counts_in_its_own_tenants_summaries_whatever_the_sessions_path(
    in_acme, acme, globex
):
    user_id = _user().id
    with schema_context(globex.schema_name), connection.cursor() as cursor:
        # The triggers' functions run with their own schema's path, not the session's.
        cursor.execute(
            f"INSERT INTO {acme.schema_name}.issues_issue (title, description, status,"
            " priority, reporter_id, created_at, updated_at) VALUES"
            " ('from globex', '', 'new', 'high', %s, %s, %s)",
            [user_id, BASE, BASE],
        )
        cursor.execute("SELECT count(*) FROM issues_summary_counts")
        assert cursor.fetchone()[0] == 0
        assert_summaries_exact()
    assert selectors.issues_by_status()[0] == {"status": "new", "count": 1}
    assert_summaries_exact()


def test_truncating_a_source_empties_its_summaries(in_acme):
    op_create_issues(
        [{"status": "new", "priority": "high", "created_at": BASE, "updated_at": BASE}]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign key checks
        cursor.execute("TRUNCATE issues_issue CASCADE")
    assert_summaries_exact()
    assert selectors.issues_by_status() == reference.issues_by_status()


def test_an_admin_bulk_action_keeps_the_summaries_exact(in_acme, acme, acme_browser):
    op_create_issues(
        [{"status": "new", "priority": "high", "created_at": BASE, "updated_at": BASE}] * 3
    )
    ids = list(Issue.objects.values_list("id", flat=True))
    response = acme_browser.post(
        "/admin/issues/issue/", {"action": "mark_resolved", "_selected_action": ids[:2]}
    )
    assert response.status_code == 302
    connection.set_tenant(acme)
    assert Issue.objects.filter(status="resolved").count() == 2
    assert_summaries_exact()
    assert_entries_equal_reference(moments_around(BASE))


# --- Concurrent writers on real connections -------------------------------------------------

TITLE = "written concurrently by test_aggregates"


@pytest.fixture
def committed(acme, django_db_blocker) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """Run functions at once, each on a connection of its own in acme's schema, outside
    the test's transaction (their writes commit, as other clients' would); the rows they
    wrote are deleted afterwards (through the triggers, which the last check re-proves)."""
    pool = ThreadPoolExecutor(max_workers=2)

    def run_in_acme(function: Callable[..., Any], *args: Any) -> Any:
        try:
            with schema_context(acme.schema_name):
                return function(*args)
        finally:
            connections.close_all()  # this thread's connections only

    def start(function: Callable[..., Any], *args: Any) -> Any:
        return pool.submit(run_in_acme, function, *args)

    with django_db_blocker.unblock():
        yield start
        start(_delete_written).result()
        start(_assert_exact_committed).result()
    pool.shutdown()


def _delete_written() -> None:
    Issue.objects.filter(title=TITLE).delete()


def _assert_exact_committed() -> None:
    assert_summaries_exact()


def _writer(barrier: threading.Barrier, status: str, commit: bool) -> None:
    user = _user()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")  # a writer that waited would fail
        barrier.wait()
        for index in range(aggregates.FOLD_EVERY + 3):  # folds happen on both sides
            issue = Issue.objects.create(
                title=TITLE,
                reporter=user,
                status=status,
                created_at=BASE + index * MINUTE,
                sla_due_at=BASE + index * 7 * MINUTE,
            )
            Issue.objects.filter(pk=issue.pk).update(priority="critical")
            if index % 5 == 0:
                Issue.objects.filter(pk=issue.pk).delete()
        barrier.wait()
        if not commit:
            transaction.set_rollback(True)


def _fold_and_hold(held: threading.Event, release: threading.Event) -> bool:
    with transaction.atomic(), connection.cursor() as cursor:
        folded = aggregates.fold(cursor, "issues_issue")
        held.set()
        release.wait(10)
    return folded


@pytest.mark.django_db
def test_concurrent_writers_one_rolled_back_leave_the_summaries_exact(committed):
    barrier = threading.Barrier(2)
    first = committed(_writer, barrier, "new", True)
    second = committed(_writer, barrier, "in_progress", False)
    first.result(timeout=60)
    second.result(timeout=60)
    assert committed(_count_written).result() == (aggregates.FOLD_EVERY + 3) * 4 // 5
    committed(_assert_exact_committed).result()


def _count_written() -> int:
    return Issue.objects.filter(title=TITLE).count()


@pytest.mark.django_db
def test_writers_never_wait_for_a_fold_held_by_another_transaction(committed):
    held, release = threading.Event(), threading.Event()
    holder = committed(_fold_and_hold, held, release)
    assert held.wait(10)
    try:
        # 2 s lock_timeout inside: had the writes waited for the held fold, they would fail.
        committed(_writer, threading.Barrier(1), "new", True).result(timeout=60)
    finally:
        release.set()
    assert holder.result(timeout=10) is True
    committed(_assert_exact_committed).result()


# --- The repair command -----------------------------------------------------------------------


def test_the_rebuild_command_reports_and_repairs_drift(in_acme, acme, capsys):
    op_create_issues(
        [{"status": "new", "priority": "high", "created_at": BASE, "updated_at": BASE}] * 2
    )
    with connection.cursor() as cursor:  # a lost delta, as if someone edited the summary
        cursor.execute("DELETE FROM issues_summary_counts")
        cursor.execute("UPDATE changes_summary_counts SET n = n + 1")
    connection.set_schema_to_public()
    call_command("rebuild_dashboard_aggregates", "--tenant", acme.schema_name, "--json")
    report = json.loads(capsys.readouterr().out)[acme.schema_name]
    assert report["drifted_groups"]["issues_summary_counts"] == 1
    assert sum(report["drifted_groups"].values()) == 1  # changes had no rows to add to
    connection.set_tenant(acme)
    assert_summaries_exact()
    call_command("rebuild_dashboard_aggregates", "--tenant", acme.schema_name)
    assert "0 drifted group(s)" in capsys.readouterr().out


def test_the_rebuild_command_repairs_the_measured_summaries_of_14s_entries(in_acme, acme, capsys):
    op_create_issues(
        [
            {
                "status": "new",
                "priority": "high",
                "created_at": BASE,
                "updated_at": BASE,
                "sla_due_at": BASE + 60 * MINUTE,
            }
        ]
        * 3
    )
    measured = {s.table: s for s in MEASURED_SUMMARIES}
    with connection.cursor() as cursor:
        assert measured["issues_sla_hourly"].drift(cursor) == {}
        cursor.execute(  # one group drifts, as if a delta had been lost
            "UPDATE issues_sla_hourly SET unresolved = unresolved + 5 "
            "WHERE hour = date_trunc('hour', %s, 'UTC') AND priority = 'high'",
            [BASE],
        )
        assert measured["issues_sla_hourly"].drift(cursor) != {}
    connection.set_schema_to_public()
    call_command("rebuild_dashboard_aggregates", "--tenant", acme.schema_name, "--json")
    report = json.loads(capsys.readouterr().out)[acme.schema_name]
    assert report["drifted_groups"]["issues_sla_hourly"] == 1
    assert report["drifted_groups"]["changes_ended_quarterly"] == 0
    connection.set_tenant(acme)
    with connection.cursor() as cursor:
        for summary in MEASURED_SUMMARIES:
            assert summary.drift(cursor) == {}, summary.table


def test_the_rebuild_command_refuses_an_unknown_tenant(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown tenant: nobody"):
        call_command("rebuild_dashboard_aggregates", "--tenant", "nobody")


def test_an_sla_passing_inside_a_quarter_hour_is_overdue_from_that_second(in_acme):
    due = BASE + 5 * MINUTE  # 09:12:30, inside the quarter hour 09:00-09:15
    op_create_issues(
        [
            {"status": "new", "priority": "high", "created_at": BASE, "updated_at": BASE},
            {
                "status": "assigned",
                "priority": "low",
                "created_at": BASE,
                "updated_at": BASE,
                "sla_due_at": due,
            },
        ]
    )
    second = dt.timedelta(seconds=1)
    for now, overdue in ((BASE, 0), (due - second, 0), (due, 0), (due + second, 1)):
        assert selectors.overview(now=now).value["issues"]["overdue"] == overdue, now
        assert selectors.mobile_summary(now=now).value["overdue_issues"] == overdue, now
    assert_entries_equal_reference([BASE, due - second, due, due + second])


def test_a_change_enters_and_leaves_the_upcoming_window_at_its_exact_instant(in_acme):
    start = BASE + 3 * MINUTE + dt.timedelta(milliseconds=250)
    op_create_changes(
        [{"status": "scheduled", "created_at": BASE, "updated_at": BASE, "scheduled_start": start}]
    )
    week = dt.timedelta(days=7)
    tick = dt.timedelta(milliseconds=1)
    for now, upcoming in ((start - week - tick, 0), (start - week + tick, 1), (start, 1)):
        assert selectors.upcoming_changes(now=now).value["total"] == upcoming, now
        assert selectors.mobile_summary(now=now).value["upcoming_changes"] == upcoming, now
    assert selectors.upcoming_changes(now=start + tick).value["total"] == 0
    assert_entries_equal_reference([start - week - tick, start - week + tick, start, start + tick])
