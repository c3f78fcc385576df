"""Write storm on a real gunicorn (sync and gthread workers), bounded staleness on: one
user writes continuously (API POSTs and status PATCHes) and reads the overview after each
write; another user's readers poll it meanwhile.

The writer must see every one of its writes on its very next read (read-your-writes across
workers), and no other reader may be served a value that lacks a write which committed
CACHE_MAX_STALE or more before its request was sent.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connections
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from firelater import roles
from firelater.roles import user_roles_set
from tests.support.live import LiveTenant
from tests.support.live import serve_project as gunicorn

# django_db: so that pytest-django creates the test database; the colleague's account is
# committed from a thread of its own (outside the test's transaction), as a client's is.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

MAX_STALE = 1.0
DURATION = 8.0  # seconds of storm per worker kind
WRITE_INTERVAL = 0.05  # the writer's pause between a read and its next write
READERS = 4
OVERVIEW = "/api/v1/dashboard/overview/"


@dataclass
class Timeline:
    """The overview's (total, open) after each write, and when that write's response came
    back (its commit happened before)."""

    states: dict[tuple[int, int], int] = field(default_factory=dict)
    committed_by: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, state: tuple[int, int], responded_at: float) -> None:
        with self.lock:
            self.states[state] = len(self.committed_by)
            self.committed_by.append(responded_at)


def _session(base: str, host: str, token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Host": host, "Authorization": f"Token {token}"})
    session.base = base  # type: ignore[attr-defined]
    return session


def _state(body: dict) -> tuple[int, int]:
    return body["issues"]["total"], body["issues"]["open"]


@pytest.fixture
def colleague_token(live_tenants, django_db_blocker) -> str:  # type: ignore[no-untyped-def]
    def create() -> str:
        try:
            with tenant_context(live_tenants[0].tenant):
                user, _ = get_user_model().objects.get_or_create(username="storm-colleague")
                user_roles_set(user=user, roles=[roles.AGENT])  # the dashboard needs a role
                token, _ = Token.objects.get_or_create(user=user)
                return str(token.key)
        finally:
            connections.close_all()  # this thread's connections only

    with django_db_blocker.unblock(), ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(create).result()


@pytest.mark.parametrize("threads", [1, 4], ids=["sync", "gthread"])
def test_in_a_write_storm_the_writer_reads_its_writes_and_others_are_late_by_less_than_the_bound(
    live_tenants: list[LiveTenant], shared_redis_url: str, colleague_token: str, threads: int
) -> None:
    live = live_tenants[0]
    with gunicorn(
        shared_redis_url, workers=2, threads=threads, CACHE_MAX_STALE=str(MAX_STALE)
    ) as base:
        writer = _session(base, live.host, live.token)

        def get(session: requests.Session) -> requests.Response:
            return session.get(base + OVERVIEW, timeout=10)

        timeline = Timeline()
        first = get(writer)
        assert first.status_code == 200
        timeline.record(_state(first.json()), time.monotonic())
        own_misses: list[str] = []
        late: list[float] = []
        served: list[int] = [0]
        ahead: list[tuple[int, int]] = []  # states seen before the writer recorded them
        stop = threading.Event()

        def read_as_colleague() -> None:
            reader = _session(base, live.host, colleague_token)
            while not stop.is_set():
                sent = time.monotonic()
                response = get(reader)
                assert response.status_code == 200
                state = _state(response.json())
                with timeline.lock:
                    index = timeline.states.get(state)
                    newer = timeline.committed_by[index + 1 :] if index is not None else []
                served[0] += 1
                if index is None:  # a write whose response the writer has not had yet
                    ahead.append(state)
                    continue
                if newer:  # it lacks these writes: how long had the oldest been committed?
                    late.append(sent - newer[0])

        readers = [threading.Thread(target=read_as_colleague) for _ in range(READERS)]
        for thread in readers:
            thread.start()
        total, open_ = _state(first.json())
        created: list[int] = []
        deadline = time.monotonic() + DURATION
        try:
            while time.monotonic() < deadline:
                if created and len(created) % 2 == 0:
                    issue = created.pop(0)
                    path, body, method = f"/api/v1/issues/{issue}/", {"status": "resolved"}, "PATCH"
                    open_ -= 1
                else:
                    path, body, method = (
                        "/api/v1/issues/",
                        {"title": "storm", "priority": "high"},
                        "POST",
                    )
                    total, open_ = total + 1, open_ + 1
                response = writer.request(method, base + path, json=body, timeout=10)
                assert response.status_code in (200, 201), response.text
                if method == "POST":
                    created.append(response.json()["id"])
                timeline.record((total, open_), time.monotonic())
                mine = get(writer)
                if _state(mine.json()) != (total, open_):
                    own_misses.append(
                        f"{mine['X-Cache']} {_state(mine.json())} != {(total, open_)}"
                    )
                time.sleep(WRITE_INTERVAL)
        finally:
            stop.set()
            for thread in readers:
                thread.join(15)
    writes = len(timeline.committed_by) - 1
    assert writes > 20  # the storm really ran
    assert served[0] > 100
    assert own_misses == []
    assert [state for state in ahead if state not in timeline.states] == []  # no made-up figure
    assert late, "no reader was ever served a previous value: the storm did not overlap"
    assert max(late) < MAX_STALE, f"a reader was served a value {max(late):.3f} s late"
