"""Stale-read stress: writers (API, ORM, bulk) and readers race across two tenants on a
real gunicorn; after every write, every dependent endpoint already reflects it, and at the
end every cached entry equals a fresh computation. Run twice: on the primary alone, and
with the server recomputing on the suite's hot standby lagging 200 ms behind (#15)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import requests
from django.db import connection
from django_redis import get_redis_connection
from djangorestframework_camel_case.util import camelize

from dashboard.entries import DASHBOARD_ENTRIES, ENTRIES
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.models import Request
from tenant_cache import Expiring
from tenant_cache.keys import value_key
from tests.support.live import LiveTenant, replica_outcomes
from tests.support.live import serve_project as gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

DURATION = 20.0  # seconds of racing
ENDPOINT_BY_ENTRY = {e.name: e.path + "/" for e in ENTRIES}
VOLATILE = {"generatedAt"}  # the mobile summary's own timestamp


def _stable(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _stable(v) for k, v in body.items() if k not in VOLATILE}
    if isinstance(body, list):
        return [_stable(v) for v in body]
    return body


def fresh(entry) -> Any:  # type: ignore[no-untyped-def]
    """What the entry is right now, straight from PostgreSQL (this thread's connection)."""
    params = dict(entry.default_params)
    value = entry.fetch(**params)
    value = value.value if isinstance(value, Expiring) else value  # the stored part
    return _stable(orjson.loads(orjson.dumps(camelize(value))))


class Client:
    def __init__(self, base: str, live: LiveTenant) -> None:
        self.base = base
        self.live = live
        self.session = requests.Session()
        self.session.headers.update({"Host": live.host, "Authorization": f"Token {live.token}"})

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base}/api/v1/dashboard/{path}", timeout=10)

    def api(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        return self.session.request(method, f"{self.base}/api/v1/{path}", json=body, timeout=10)


def _writes(client: Client) -> list[Callable[[], None]]:
    """The write paths: API create/update/delete, ORM save, QuerySet.update, bulk_create."""
    rng = random.Random()

    def api_create() -> None:
        response = client.api(
            "POST",
            "issues/",
            {"title": "stress", "priority": "high", "slaDueAt": "2099-01-01T00:00:00Z"},
        )
        assert response.status_code == 201, response.text

    def api_update() -> None:
        issue = Issue.objects.order_by("?").first()
        response = client.api(
            "PATCH",
            f"issues/{issue.id}/",
            {
                "status": rng.choice(Issue.Status.values),
                "priority": rng.choice(["low", "high"]),
            },
        )
        assert response.status_code == 200, response.text

    def api_request() -> None:
        response = client.api("POST", "requests/", {"title": "stress request"})
        assert response.status_code == 201, response.text

    def orm_save() -> None:
        issue = Issue.objects.order_by("?").first()
        issue.status = rng.choice(Issue.Status.values)
        issue.save()

    def bulk_update() -> None:
        ids = list(Issue.objects.order_by("?").values_list("id", flat=True)[:5])
        Issue.objects.filter(id__in=ids).update(priority=rng.choice(["critical", "medium"]))

    def bulk_create() -> None:
        reporter = UserFactory()
        Issue.objects.bulk_create(IssueFactory.build_batch(3, reporter=reporter))

    def bulk_requests() -> None:
        Request.objects.filter(
            id__in=list(Request.objects.order_by("?").values_list("id", flat=True)[:3])
        ).update(status=rng.choice(Request.Status.values))

    return [api_create, api_update, api_request, orm_save, bulk_update, bulk_create, bulk_requests]


@pytest.fixture(params=["primary", "lagging standby"])
def database_setup(request, settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Everything on the primary, or recomputations and lists on the suite's standby with
    200 ms of apply lag (recovery_min_apply_delay): the server's env."""
    if request.param == "primary":
        return {}
    standby = request.getfixturevalue("standby")
    standby.set_apply_delay(200)
    settings.CACHE_REPLICA_ALIAS = "replica"  # this process's ORM writes record positions
    return {"DATABASE_REPLICA_READS": "1"}


def test_no_read_after_a_write_is_ever_stale(live_tenants, shared_redis_url, database_setup):
    stale: list[str] = []
    errors: list[str] = []
    writes_done = [0]
    stop = threading.Event()
    locks = {live.slug: threading.Lock() for live in live_tenants}

    with gunicorn(shared_redis_url, **database_setup) as base:

        def reader(live: LiveTenant) -> None:
            client = Client(base, live)
            while not stop.is_set():
                response = client.get(random.choice(list(ENDPOINT_BY_ENTRY.values())))
                if response.status_code != 200:
                    errors.append(f"read {response.status_code}")

        def writer(live: LiveTenant) -> None:
            connection.set_tenant(live.tenant)
            client = Client(base, live)
            writes = _writes(client)
            try:
                while not stop.is_set():
                    with locks[live.slug]:  # one writer per tenant at a time: a known truth
                        random.choice(writes)()
                        writes_done[0] += 1
                        for entry in DASHBOARD_ENTRIES:
                            served = _stable(client.get(ENDPOINT_BY_ENTRY[entry.name]).json())
                            if served != fresh(entry):
                                stale.append(f"{live.slug} {entry.name} after a write")
            except Exception as error:  # reported below, never swallowed
                errors.append(f"writer {live.slug}: {type(error).__name__}: {error}")
            finally:
                connection.close()

        threads = [threading.Thread(target=reader, args=(live,)) for live in live_tenants * 2]
        threads += [threading.Thread(target=writer, args=(live,)) for live in live_tenants * 2]
        for thread in threads:
            thread.start()
        time.sleep(DURATION)
        stop.set()
        for thread in threads:
            thread.join(30)
        where = replica_outcomes(base)
    if database_setup:  # the standby was asked before every recomputation
        assert sum(where.values()) > 0, where

    assert errors == []
    assert writes_done[0] > 20  # the race really ran
    assert stale == []
    # Finally: every entry still in Redis equals a fresh computation.
    redis = get_redis_connection("default")
    from tenant_cache import codec

    checked = 0
    for live in live_tenants:
        connection.set_tenant(live.tenant)
        try:
            for entry in DASHBOARD_ENTRIES:
                stored = redis.hget(
                    value_key(live.slug, entry.id, entry.default_params or None), "v"
                )
                if stored is None:
                    continue
                checked += 1
                cached = _stable(orjson.loads(codec.unpack(stored)))
                assert cached == fresh(entry), f"{live.slug} {entry.id} cached stale"
        finally:
            connection.set_schema_to_public()
    assert checked > 0
