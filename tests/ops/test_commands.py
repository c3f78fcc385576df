"""cache_stats and warm_cache: output, exit codes, and their effect on the cache."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from dashboard.entries import DASHBOARD_ENTRIES, OVERVIEW
from tenant_cache import HIT, MISS, read
from tests.support.fixtures import point_cache_at


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_warm_cache_fills_every_entry_so_the_next_read_is_a_hit(acme, globex):
    output = run("warm_cache")
    assert f"{2 * len(DASHBOARD_ENTRIES)} computed" in output
    assert "acme:" in output
    assert "globex:" in output
    connection.set_tenant(acme)
    assert all(read(entry).status == HIT for entry in DASHBOARD_ENTRIES)


def test_warm_cache_for_one_tenant_and_some_entries(acme, globex):
    output = run("warm_cache", "--tenant", "acme", "--entries", "overview", "trends")
    assert "Warmed 1 tenant(s) x 2 entries" in output
    connection.set_tenant(globex)
    assert read(OVERVIEW.cache).status == MISS
    connection.set_tenant(acme)
    assert read(OVERVIEW.cache).status == HIT


def test_warm_cache_twice_computes_nothing_the_second_time(acme, globex):
    run("warm_cache", "--tenant", "acme")
    assert "0 computed" in run("warm_cache", "--tenant", "acme")
    assert f"{len(DASHBOARD_ENTRIES)} computed" in run(
        "warm_cache", "--tenant", "acme", "--refresh"
    )


def test_warm_cache_in_parallel_warms_every_tenant(acme, globex):
    output = run("warm_cache", "--parallel", "2")
    assert f"{2 * len(DASHBOARD_ENTRIES)} computed" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope"], "Unknown tenant: nope"),
        (["--entries", "nope"], "Unknown entry: nope"),
        (["--parallel", "0"], "--parallel must be at least 1"),
    ],
)
def test_warm_cache_refuses_bad_input_with_one_line(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("warm_cache", *args)


def test_cache_stats_prints_a_table_per_tenant(acme, globex):
    run("warm_cache", "--tenant", "acme")
    connection.set_tenant(acme)
    read(OVERVIEW.cache)
    output = run("cache_stats", "--tenant", "acme")
    assert "hit rate" in output
    assert "cache:{acme}:dashboard:overview" in output
    assert "globex" not in output


def test_cache_stats_json_is_machine_readable(acme, globex):
    run("warm_cache")
    data = json.loads(run("cache_stats", "--json", "--top", "2"))
    assert {t["tenant"] for t in data["tenants"]} == {"acme", "globex"}
    acme_stats = next(t for t in data["tenants"] if t["tenant"] == "acme")
    assert acme_stats["misses"] == len(DASHBOARD_ENTRIES)
    assert acme_stats["totalKeys"] == len(DASHBOARD_ENTRIES)
    assert "usedMemory" in data["redis"]
    assert len(acme_stats["topKeys"]) <= 2


def test_cache_stats_with_redis_down_says_so_and_exits_zero(db, settings):
    from tests.support.processes import free_port

    point_cache_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    output = run("cache_stats")
    assert output.startswith("Redis is unavailable")
    assert len(output.strip().splitlines()) == 1


def test_an_unknown_tenant_is_a_command_error(db):
    with pytest.raises(CommandError, match="Unknown tenant: ghost"):
        run("cache_stats", "--tenant", "ghost")
