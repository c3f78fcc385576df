"""Figures that change with the clock are cached until their next boundary, not for the TTL:
an SLA or due time passing, local midnight, a change entering or leaving the next 7 days."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

import pytest
from django.utils import timezone
from django_redis import get_redis_connection

from changes.factories import ChangeFactory
from dashboard.entries import ACTIVITY, CHANGES_UPCOMING, MOBILE, OVERVIEW, TRENDS
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from requests_app.factories import RequestFactory
from tenant_cache import value_key

SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)
# A TTL is relative: it starts when Redis runs the SET, up to a socket timeout (250 ms,
# or the store fails) after the app computed it. So a value may outlive its boundary by that.
SET_DELAY = dt.timedelta(milliseconds=250)


def stored_ttl_ms(entry) -> int:  # type: ignore[no-untyped-def]
    """Milliseconds Redis still keeps the entry's stored value (default parameters)."""
    key = value_key("acme", entry.cache.id, entry.cache.default_params)
    return int(get_redis_connection("default").pttl(key))


def stored_until(entry) -> dt.datetime:  # type: ignore[no-untyped-def]
    """When Redis drops the entry's stored value (at the latest: `now` is read first)."""
    now = timezone.now()
    return now + dt.timedelta(milliseconds=stored_ttl_ms(entry))


def assert_kept_until(entry, boundary: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """The entry's stored value is dropped by `boundary`, not later (and is stored now)."""
    assert timezone.now() < stored_until(entry) <= boundary + SET_DELAY


def read(api, entry) -> dict:  # type: ignore[no-untyped-def]
    response = api.get(entry.url)
    assert response.status_code == 200, response.content[:300]
    return {"cache": response["X-Cache"], "body": response.json()}


def next_local_midnight(zone: str) -> dt.datetime:
    tz = zoneinfo.ZoneInfo(zone)
    tomorrow = timezone.now().astimezone(tz).date() + DAY
    return dt.datetime.combine(tomorrow, dt.time.min, tzinfo=tz)


@pytest.fixture
def reporter(in_acme):  # type: ignore[no-untyped-def]
    return UserFactory()


def test_the_overview_is_kept_only_until_the_next_open_issue_breaches_its_sla(acme_api, reporter):
    sla = timezone.now() + 5 * SECOND
    IssueFactory(reporter=reporter, status="assigned", sla_due_at=sla)
    IssueFactory(reporter=reporter, status="resolved", sla_due_at=sla - 3 * SECOND)

    assert read(acme_api, OVERVIEW)["cache"] == "MISS"

    assert_kept_until(OVERVIEW, sla)  # not the 300 s TTL
    assert stored_until(OVERVIEW) > sla - 3 * SECOND  # a resolved issue's SLA is no limit


def test_the_overview_is_kept_only_until_the_next_open_request_is_due(acme_api, reporter):
    due = timezone.now() + 5 * SECOND
    RequestFactory(requester=reporter, status="approved", due_at=due)

    read(acme_api, OVERVIEW)

    assert_kept_until(OVERVIEW, due)


def test_once_the_sla_passes_the_overview_is_recomputed_and_counts_the_issue_overdue(
    acme_api, reporter
):
    IssueFactory(reporter=reporter, status="new", sla_due_at=timezone.now() + 1.5 * SECOND)
    before = read(acme_api, OVERVIEW)
    assert (before["cache"], before["body"]["issues"]["overdue"]) == ("MISS", 0)
    assert read(acme_api, OVERVIEW)["cache"] == "HIT"

    deadline = time.monotonic() + 10  # wait for the behaviour (the key's end), not a time
    while stored_ttl_ms(OVERVIEW) != -2 and time.monotonic() < deadline:
        time.sleep(0.05)

    after = read(acme_api, OVERVIEW)
    assert (after["cache"], after["body"]["issues"]["overdue"]) == ("MISS", 1)


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_daily_figures_are_kept_only_until_local_midnight(acme_api, reporter, settings, zone):
    settings.TIME_ZONE = zone
    ten_days = 10 * 86_400  # so midnight, under a day away, is what must bind
    settings.CACHE_TTL = {**settings.CACHE_TTL, "overview": ten_days, "trends": ten_days}
    midnight = next_local_midnight(zone)

    read(acme_api, OVERVIEW)  # resolvedToday, scheduledThisWeek
    read(acme_api, TRENDS)  # the last day is today

    for entry in (OVERVIEW, TRENDS):
        assert_kept_until(entry, midnight)


def test_upcoming_changes_are_kept_only_until_the_first_one_starts(acme_api, reporter):
    start = timezone.now() + 5 * SECOND
    ChangeFactory(status="scheduled", scheduled_start=start)
    ChangeFactory(status="cancelled", scheduled_start=start - 3 * SECOND)

    body = read(acme_api, CHANGES_UPCOMING)["body"]

    assert body["total"] == 1
    assert_kept_until(CHANGES_UPCOMING, start)
    assert stored_until(CHANGES_UPCOMING) > start - 3 * SECOND  # a cancelled one is no limit


def test_upcoming_changes_are_kept_only_until_the_next_one_enters_the_seven_days(
    acme_api, reporter
):
    enters = timezone.now() + 5 * SECOND
    ChangeFactory(status="scheduled", scheduled_start=enters + 7 * DAY)

    body = read(acme_api, CHANGES_UPCOMING)["body"]

    assert body["total"] == 0
    assert_kept_until(CHANGES_UPCOMING, enters)


@pytest.mark.parametrize(
    "boundary",
    ["an SLA about to pass", "a change about to leave the window", "one about to enter it"],
)
def test_the_mobile_summary_is_kept_only_until_its_next_boundary(acme_api, reporter, boundary):
    soon = timezone.now() + 5 * SECOND
    if boundary == "an SLA about to pass":
        IssueFactory(reporter=reporter, status="new", sla_due_at=soon)
    elif boundary == "a change about to leave the window":
        ChangeFactory(status="scheduled", scheduled_start=soon)
    else:
        ChangeFactory(status="scheduled", scheduled_start=soon + 7 * DAY)

    read(acme_api, MOBILE)

    assert_kept_until(MOBILE, soon)


def test_an_entry_that_does_not_depend_on_the_clock_keeps_its_ttl(acme_api, reporter):
    IssueFactory(reporter=reporter, status="new", sla_due_at=timezone.now() + 5 * SECOND)

    read(acme_api, ACTIVITY)

    assert stored_ttl_ms(ACTIVITY) > 50_000  # 60 s, jittered by up to 10 %
