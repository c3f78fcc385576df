"""Smoke test of the bench's bookkeeping: the headline and the report (no servers run).

The bench itself (`make bench`, minutes) is not part of the test suite; this checks in a
second that a run's figures become exactly the headline keys issue #7 names, that the
targets are judged the right way round, and that a report is written even when phases
are missing.
"""

from __future__ import annotations

import json
import math

import pytest

from bench.run import HEADLINE_DEFINITIONS, TARGETS, headline, judge, target_met

pytestmark = pytest.mark.slow

HEADLINE_KEYS = {
    "warm_over_cold_speedup",
    "warm_vs_trivial_ratio",
    "warm_data_queries",
    "warm_total_queries",
    "throughput_vs_cachalot",
    "invalidation_1m_vs_10k",
    "stampede_computations",
    "redis_down_errors",
    "redis_down_vs_cold",
    "stale_reads",
    "storm_rps_vs_quiet",
    "storm_p99_vs_quiet",
    "storm_own_stale_reads",
    "storm_others_staleness_max_s",
    "storm_computations_per_write",
    "storm_write_p50_vs_quiet",
    "warm_rps_vs_floor",
    # issue #13's
    "overview_cold_ms_1m",
    "trends_cold_ms_1m",
    "slowest_entry_cold_ms_1m",
    "write_cost_vs_plain",
    # issue #15's
    "replica_primary_queries_saved",
    "replica_stale_reads",
    "replica_lag_p99_vs_nolag",
}


def _results() -> dict:  # type: ignore[type-arg]
    """The figures the headline reads, as the phases write them."""
    warm = {
        "server_ms": {"p50": 2.5},
        "queries": {"p50": 1.0, "max": 2.0},
        "data_queries": {"p50": 0.0, "max": 0.0},
    }
    return {
        "endpoints": {
            "endpoints": {"overview": {"warm": warm}},
            "baselines": {
                "nocache_overview": {"server_ms": {"p50": 120.0}},
                "warm_overview": {"server_ms": {"p50": 2.0}},
                "trivial": {"server_ms": {"p50": 1.6}},
            },
        },
        "load": {
            "overview_vs_floor": {"median_ratio": 0.4},
            "mixed_writes": {"16": {"staleness": {"stale": 0}}, "64": {"staleness": {"stale": 1}}},
        },
        "compare": {
            "throughput": {"ours": {"16": {"rps": 600.0}}, "cachalot": {"16": {"rps": 120.0}}},
            "freshness": {"ours": {"stale_reads": 0}},
        },
        "faults": {
            "redis": {
                "killed": {"errors": 0, "probe_non_200": 0, "during_vs_cold_baseline_p50": 1.05},
                "hung": {"errors": 2, "probe_non_200": 0},
            },
            "stampede": {
                "sync_2_workers": {"max_computations": 1},
                "gthread_2x32": {"max_computations": 2},
            },
        },
        "cache_core": {"invalidation": {"ours_large_over_small": 1.04}},
        "scale": {
            "entries_largest": {
                "issues": 1_000_000,
                "cold_http": {
                    "overview": {"server_ms": {"p50": 8.0}},
                    "trends": {"server_ms": {"p50": 6.0}},
                    "activity": {"server_ms": {"p50": 12.0}},
                },
            },
            "write_cost": {"ratio": 1.1},
        },
        "storm": {
            "headline": {
                "rps_vs_quiet": 0.7,
                "p99_vs_quiet": 1.5,
                "own_stale_reads": 0,
                "others_staleness_max_s": 0.2,
                "computations_per_write": 1.0,
                "write_p50_vs_quiet": 1.4,
            }
        },
        "replica": {
            "headline": {"primary_queries_saved": 0.8, "stale_reads": 0, "lag_p99_vs_nolag": 1.7}
        },
    }


def test_a_run_becomes_exactly_the_headline_keys_of_issue_7() -> None:
    values = headline(_results())

    assert set(values) == HEADLINE_KEYS == set(TARGETS) == set(HEADLINE_DEFINITIONS)
    assert values == {
        "warm_over_cold_speedup": 60.0,
        "warm_vs_trivial_ratio": 1.25,
        "warm_data_queries": 0.0,
        "warm_total_queries": 1.0,
        "throughput_vs_cachalot": 5.0,
        "invalidation_1m_vs_10k": 1.04,
        "stampede_computations": 2,
        "redis_down_errors": 2,
        "redis_down_vs_cold": 1.05,
        "stale_reads": 1,
        "warm_rps_vs_floor": 0.4,
        "overview_cold_ms_1m": 8.0,
        "trends_cold_ms_1m": 6.0,
        "slowest_entry_cold_ms_1m": 12.0,
        "write_cost_vs_plain": 1.1,
        "storm_rps_vs_quiet": 0.7,
        "storm_p99_vs_quiet": 1.5,
        "storm_own_stale_reads": 0,
        "storm_others_staleness_max_s": 0.2,
        "storm_computations_per_write": 1.0,
        "storm_write_p50_vs_quiet": 1.4,
        "replica_primary_queries_saved": 0.8,
        "replica_stale_reads": 0,
        "replica_lag_p99_vs_nolag": 1.7,
    }
    verdicts = {key: target_met(key, value) for key, value in values.items()}
    assert [k for k, met in verdicts.items() if not met] == [
        "stampede_computations",
        "redis_down_errors",
        "stale_reads",
        "warm_rps_vs_floor",
        "storm_rps_vs_quiet",
        "replica_lag_p99_vs_nolag",
    ]


def test_the_1m_figures_are_left_out_when_the_largest_tenant_is_smaller() -> None:
    results = _results()
    results["scale"]["entries_largest"]["issues"] = 10_000  # a --quick run
    values = headline(results)
    assert all(
        math.isnan(values[key])
        for key in (
            "overview_cold_ms_1m",
            "trends_cold_ms_1m",
            "slowest_entry_cold_ms_1m",
            "write_cost_vs_plain",
        )
    )


def _storm_run(
    rate: int, rps: float, p99: float, write_ms: float | None, others: float = 0.5
) -> dict:
    return {
        "rate": rate,
        "wrk": {"rps": rps, "p50_ms": 10.0, "p99_ms": p99, "requests": 1000, "seconds": 10.0},
        "writes_per_second": float(rate),
        "own_stale_reads": 0,
        "others_staleness_s": {"p50": 0.1, "p99": 0.2, "max": 0.3 if rate else None},
        "others_never_saw": 0,
        "overview_computations_per_write": 1.0 if rate else None,
        "write_p50_ms": write_ms,
        "computed_ms": {"dashboard:overview": 50.0},
        "cpu_cores": {
            "gunicorn_workers": 1.0,
            "postgres_backends": 0.1,
            "wrk": 0.05,
            "writer_and_poller": 0.01,
            "everything_else": others,
        },
    }


def test_the_storm_headline_is_its_least_disturbed_pair_and_the_report_shows_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench import report
    from bench.storm import _headline

    pairs = [
        _storm_run(0, 500.0, 40.0, None, others=1.4),  # other work starved the quiet run
        _storm_run(10, 450.0, 50.0, 40.0, others=0.6),
        _storm_run(0, 1000.0, 20.0, None, others=0.1),
        _storm_run(10, 600.0, 36.0, 60.0, others=0.3),
        _storm_run(0, 1000.0, 20.0, None, others=0.2),
        _storm_run(10, 900.0, 30.0, 50.0, others=0.9),
    ]
    head = _headline(pairs, quiet_write_ms=25.0)
    assert (head["rps_vs_quiet"], head["p99_vs_quiet"]) == (0.6, 1.8)  # the quietest pair
    assert [p["rps_vs_quiet"] for p in head["pairs"]] == [0.9, 0.6, 0.9]
    assert (head["write_p50_vs_quiet"], head["others_staleness_max_s"]) == (2.0, 0.3)
    results = {
        "storm": {
            "connections": 16,
            "quiet_writes": {"p50_ms": 25.0},
            "contenders": {"ours": pairs[:2], "ours_pairs": pairs},
            "headline": head,
        }
    }
    text = "\n".join(report._storm_section(results))
    assert "## Write storms" in text
    assert "ours, overview (2 sync workers)" in text


def _replica_run(name: str, lag: int | None, p99: float, readers_q: float, others: float) -> dict:
    return {
        "name": name,
        "apply_delay_ms": lag,
        "wrk": {"rps": 300.0, "p50_ms": 20.0, "p99_ms": p99, "requests": 6000},
        "writes_per_second": 10.0,
        "write_p50_ms": 30.0,
        "stale_reads": 1 if name == "lag500-2" else 0,
        "poller_worst_staleness_s": 0.2,
        "readers_primary_queries_per_request": readers_q,
        "primary_queries_per_s": 100.0,
        "standby_queries_per_s": 200.0 if lag is not None else 0.0,
        "primary_rows_read_per_s": 5000,
        "cpu_cores": {
            "gunicorn_workers": 1.0,
            "primary": 0.1 if lag is None else 0.04,
            "standby": 0.0 if lag is None else 0.08,
            "machine": 1.2 + others,
        },
        "replica_outcomes": {"readers": {"replica": 9} if lag is not None else {}},
    }


def test_the_replica_headline_saves_against_the_primary_runs_and_the_report_shows_it() -> None:
    from bench import report
    from bench.replica import _headline

    runs = [
        _replica_run("primary", None, 50.0, 0.8, 0.1),
        _replica_run("lag0-1", 0, 40.0, 0.1, 0.9),  # disturbed by other work
        _replica_run("lag500-1", 500, 80.0, 0.3, 0.1),
        _replica_run("lag0-2", 0, 40.0, 0.2, 0.1),
        _replica_run("lag500-2", 500, 48.0, 0.4, 0.2),
        _replica_run("primary-2", None, 50.0, 0.8, 0.1),
    ]
    head = _headline(runs)
    assert head["primary_queries_saved"] == 0.81  # 1 - median(0.1, 0.2) / 0.8
    assert head["primary_queries_saved_with_lag"] == 0.56
    assert head["primary_cpu_saved"] == 0.6
    assert head["stale_reads"] == 1  # every run counts
    assert head["lag_p99_vs_nolag"] == 1.2  # the quieter pair: 48 / 40
    assert [p["ratio"] for p in head["lag_pairs"]] == [2.0, 1.2]
    results = {
        "replica": {
            "connections": 16,
            "write_rate": 10,
            "list_paths": ["/api/v1/issues/"],
            "runs": runs,
            "headline": head,
        }
    }
    text = "\n".join(report._replica_section(results))
    assert "## Reads from a hot standby" in text
    assert "| lag500-2 |" in text


def test_missing_phases_give_nan_not_a_crash_and_the_report_still_renders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench import report

    values = headline({})
    assert all(math.isnan(v) for v in values.values())
    document = {
        "headline": values,
        "targets": judge(values),
        "definitions": HEADLINE_DEFINITIONS,
        "run": {
            "command": "make bench",
            "finished_at": "2026-11-25T00:00:00+00:00",
            "commit": "abc1234",
            "cpus": 2,
            "load_average_before": [0.1, 0.1, 0.1],
            "load_average_after": [0.2, 0.2, 0.2],
            "seconds_total": 1.0,
            "seconds_prepare": 0.5,
            "seconds_by_phase": {},
            "seeded_this_run": False,
            "seed_seconds": 0.0,
            "profile": {
                "issues": 10,
                "changes": 2,
                "requests": 2,
                "applications": 1,
                "database_url": "postgres://x/firelater_bench",
                "redis_url": "redis://127.0.0.1:6379/14",
                "load_seconds": 1,
                "peer_seconds": 1,
                "mixed_seconds": 1,
            },
            "versions": {"django": "5.2"},
            "errors": {"load": "boom"},
        },
        "results": {},
    }
    json.dumps(document)  # NaN is what json writes for a missing figure

    report.write(document, tmp_path)

    text = (tmp_path / "latest.md").read_text()
    assert all(f"`{key}`" in text for key in HEADLINE_KEYS)
    assert "Phases that failed:** load" in text
