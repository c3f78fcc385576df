"""Points the test suite at the private PostgreSQL pair before anything reads the settings.

Registered in pyproject's addopts (`-p tests.support.pg_pair_plugin`), so a hand-run
`pytest` gets the same databases as `make test`. Its pytest_load_initial_conftests is a
wrapper: it runs before pytest-env fills in the ini's defaults and before pytest-django
imports the settings (both implement that hook without wrapping it).

Unless the environment sets DATABASE_URL itself, it starts the pair (scripts/pg_pair.py:
.data/pg/primary and .data/pg/standby, in about a second when they already run) and sets
    DATABASE_URL          = the primary, database firelater (the suite's is test_firelater)
    DATABASE_REPLICA_URL  = the standby, same database
A DATABASE_URL of the caller's wins, and then so does their DATABASE_REPLICA_URL or its
absence: no replica (the tests of the pair then skip, saying why).

The pair keeps running after the run (the next one starts in a fraction of a second),
except in CI: with CI=true (scripts.pg_pair.stops_after_tests) the run that started it
stops it at its end, whether the tests passed or failed, so a CI clone leaves no postmaster
behind. A run that was given DATABASE_URL stops nothing.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

DATABASE = "firelater"  # pytest-django makes test_firelater of it, on the pair only

# The pair this run started (None when the caller chose the databases).
pair: Any = None


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None]:
    global pair
    if not os.environ.get("DATABASE_URL"):
        from scripts.pg_pair import PairError, ensure_pair

        try:
            pair = ensure_pair("pg")
        except PairError as exc:
            raise pytest.UsageError(f"the test suite's PostgreSQL pair: {exc}") from exc
        os.environ["DATABASE_URL"] = pair.primary_url(DATABASE)
        os.environ.setdefault("DATABASE_REPLICA_URL", pair.standby_url(DATABASE))
    try:
        return (yield)
    except BaseException:  # a conftest failed to load: pytest_unconfigure will not run
        _stop_in_ci()
        raise


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_in_ci()  # after the session's teardown (the test database is dropped by then)


def _stop_in_ci() -> None:
    global pair
    from scripts.pg_pair import stops_after_tests

    if pair is not None and stops_after_tests():
        pair.stop()
        pair = None
