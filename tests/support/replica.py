"""The suite's hot standby: the "replica" connection on it, and fixtures to break it.

settings.DATABASES["replica"] (DATABASE_REPLICA_URL, the pair's standby when pytest started
it: tests.support.pg_pair_plugin) is a TEST MIRROR of "default", so pytest-django neither
creates nor flushes a database on it: the standby has the test database already, by
replication. Django implements the mirror by giving "replica" the settings of "default"
(the primary); point_replica_at_standby() points it back at the standby after set-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from tests.support.live import database_url

REPLICA = "replica"


def point_replica_at_standby() -> None:
    """After pytest-django created the test database on the primary: "replica" on the
    standby's copy of it, in this thread and in any other (they build their connections
    from settings.DATABASES), and in the processes the tests start (DATABASE_REPLICA_URL)."""
    if REPLICA not in settings.DATABASES:
        return
    configured = settings.DATABASES[REPLICA]  # its own, not replaced by the mirroring
    configured["NAME"] = connections["default"].settings_dict["NAME"]
    replica = connections[REPLICA]
    replica.close()
    replica.settings_dict = dict(configured)
    os.environ["DATABASE_REPLICA_URL"] = database_url(REPLICA)


def _pair_of_the_suite() -> Any:
    """The scripts.pg_pair.Pair whose standby "replica" is, or None."""
    from scripts.pg_pair import Pair

    if REPLICA not in settings.DATABASES:
        return None
    pair = Pair("pg")
    replica_host = settings.DATABASES[REPLICA].get("HOST")
    if replica_host != pair.standby_dsn("x").split()[0].removeprefix("host="):
        return None
    return pair


@pytest.fixture(scope="session")
def pg_pair() -> Any:
    """The suite's PostgreSQL pair (scripts.pg_pair.Pair): its standby is "replica"."""
    pair = _pair_of_the_suite()
    if pair is None:
        pytest.skip(
            "needs the suite's own primary and standby (scripts/pg_pair.py): run pytest "
            "without DATABASE_URL set, as make test does "
            f"(replica: {settings.DATABASES.get(REPLICA, {}).get('HOST', 'none')})"
        )
    return pair


@pytest.fixture
def standby(pg_pair: Any) -> Iterator[Any]:
    """The pair, for a test that pauses, delays or kills the standby: afterwards it runs
    again (restarted if killed or stopped), replays without delay and has caught up, and
    this process's replica connection is a new one."""
    yield pg_pair
    connections[REPLICA].close()
    pg_pair.start_standby()
    pg_pair.reset_standby()
    pg_pair.wait_caught_up(timeout=60)
