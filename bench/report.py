"""latest.md (Markdown tables) and PNG plots from a bench run's latest.json.

python -m bench.report [--quick]     # redraw from bench/results/latest.json
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from bench.common import results_dir

TARGET_WORDS = {True: "met", False: "**missed**", None: "n/a"}


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.{digits}f}"
    return str(value)


def _get(data: Any, *path: str, default: Any = None) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return default
        data = data[part]
    return data


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += [
        "| " + " | ".join(_num(c) if not isinstance(c, str) else c for c in row) + " |"
        for row in rows
    ]
    return [*lines, ""]


# --- Markdown ------------------------------------------------------------------------------


def _headline_section(doc: dict[str, Any]) -> list[str]:
    rows = []
    for key, target in doc["targets"].items():
        rows.append(
            [
                f"`{key}`",
                _num(target["value"]),
                target["target"],
                TARGET_WORDS[target["met"]],
                doc["definitions"][key],
            ]
        )
    return ["## Headline", "", *_table(["key", "value", "target", "", "definition"], rows)]


def _run_section(doc: dict[str, Any]) -> list[str]:
    run = doc["run"]
    prof = run["profile"]
    versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items())
    phase_times = ", ".join(f"{k} {v:.0f}s" for k, v in run["seconds_by_phase"].items())
    lines = [
        f"Produced by `{run['command']}` at {run['finished_at']} on commit {run['commit']}; "
        f"{run['cpus']} cores, load average {run['load_average_before']} before and "
        f"{run['load_average_after']} after (the machine is shared: other work ran beside "
        "the bench).",
        "",
        f"Total {run['seconds_total']:.0f} s (preparation {run['seconds_prepare']:.0f} s"
        + (
            f", of which seeding {run['seed_seconds']:.0f} s"
            if run["seeded_this_run"]
            else ", data already seeded"
        )
        + f"; {phase_times}).",
        "",
        f"Data: 2 tenants x {prof['issues']:,} issues, {prof['changes']:,} changes, "
        f"{prof['requests']:,} requests, {prof['applications']} applications with 30 days "
        "of health "
        f"scores (seed_demo), database `{prof['database_url'].rsplit('/', 1)[1]}`, Redis "
        f"`{prof['redis_url']}` "
        "(faults and micro-benchmarks use private redis-servers). Server: gunicorn, 2 sync "
        "workers, "
        "DEBUG off, persistent connections (CONN_MAX_AGE=600), production middleware. "
        f"wrk runs: the overview {prof['load_seconds']} s and with 1 % writes "
        f"{prof['mixed_seconds']} s at each concurrency; the peers and baselines "
        f"{prof['peer_seconds']} s each (shorter than 30 s, to fit the run in 20 minutes).",
        "",
        f"Versions: {versions}.",
        "",
    ]
    if run.get("code_changed_during_run"):
        lines += [
            "**The product's code changed while this run was under way** (a commit or an "
            "edit landed): phases after the change ran newer code than those before it.",
            "",
        ]
    if run["errors"]:
        lines += ["**Phases that failed:** " + ", ".join(run["errors"]), ""]
    return lines


BASELINE_LABELS = (
    ("warm overview (cache hit)", "warm_overview"),
    ("no cache: the selector on every request", "nocache_overview"),
    ("trivial DRF endpoint, token auth", "trivial"),
    ("DRF endpoint, no auth", "drf_anonymous"),
    ("JsonResponse through the tenant middleware", "tenant_json"),
    ("floor: JsonResponse, no tenant, no auth", "floor"),
)


def _ladder(results: dict[str, Any]) -> dict[str, float] | None:
    base = _get(results, "endpoints", "baselines") or {}
    keys = ("floor", "tenant_json", "drf_anonymous", "trivial", "warm_overview", "nocache_overview")
    if not all(k in base for k in keys):
        return None
    return {k: base[k]["server_ms"]["p50"] for k in keys}


def _why_section(doc: dict[str, Any]) -> list[str]:
    """Where a warm request's time goes, and why each missed target was missed."""
    ladder = _ladder(doc["results"])
    if ladder is None:
        return []
    floor, tenant, drf, trivial, warm, cold = (
        ladder[k]
        for k in (
            "floor",
            "tenant_json",
            "drf_anonymous",
            "trivial",
            "warm_overview",
            "nocache_overview",
        )
    )
    token = trivial - drf
    hit = warm - trivial
    token_sql = (
        _get(doc["results"], "endpoints", "baselines", "trivial", "queries", "p50") or 0
    ) >= 1
    auth = (
        "token authentication (one SQL query per request)"
        if token_sql
        else "token authentication (the token -> user lookup cached in the process, no SQL)"
    )
    lines = [
        "## Where a warm request's time goes, and the missed targets",
        "",
        f"Server-side p50, measured interleaved: the floor {floor:.3f} ms; + django-tenants' "
        f"middleware (host -> tenant from its in-process cache) {tenant - floor:+.3f} ms; + a DRF "
        f"view {drf - tenant:+.3f} ms; + {auth} "
        f"{token:+.3f} ms; + the cache hit (one Redis round trip through a Lua script, the "
        f"stored bytes sent as they are) {hit:+.3f} ms = {warm:.3f} ms for a warm overview. "
        f"Authentication is {100 * token / warm:.0f} % of it.",
        "",
    ]
    missed = {k for k, t in doc["targets"].items() if t["met"] is False}
    if "warm_over_cold_speedup" in missed:
        lines.append(
            f"- `warm_over_cold_speedup`: the uncached overview is one SQL query ({cold:.1f} ms "
            f"here), and no cache can take a request below the authenticated DRF stack "
            f"({trivial:.3f} ms): {cold:.1f} / {trivial:.3f} = {cold / trivial:.0f}x is the "
            f"ceiling with this stack; the hit's own {hit:.3f} ms over the trivial endpoint "
            f"(almost all of it the Redis round trip through redis-py) brings it to "
            f"{cold / warm:.0f}x"
            + (
                f", and authentication's {token:.2f} ms per request is in both."
                if token_sql
                else "."
            )
        )
    if "warm_rps_vs_floor" in missed:
        lines.append(
            f"- `warm_rps_vs_floor`: the floor does no tenant lookup, no DRF, no authentication "
            f"and no Redis call; the warm overview costs {warm - floor:.2f} ms more per request, "
            f"{token:.2f} ms of it authentication. By server time alone it would reach "
            f"{floor / warm:.2f} of the floor's requests/s; gunicorn's own work per request, the "
            "same for both, brings the measured ratio to "
            f"{_num(doc['headline']['warm_rps_vs_floor'])}."
        )
    if "warm_vs_trivial_ratio" in missed:
        lines.append(
            f"- `warm_vs_trivial_ratio`: the hit adds {hit:.3f} ms to the trivial endpoint: one "
            "Redis round trip (EVALSHA of the READ script through redis-py, most of it) and the "
            "cache's bookkeeping; see the micro-benchmarks. The trivial endpoint is itself only "
            f"{trivial - floor:.3f} ms above the floor, so any round trip weighs heavily."
        )
    for key in sorted(
        missed - {"warm_over_cold_speedup", "warm_rps_vs_floor", "warm_vs_trivial_ratio"}
    ):
        lines.append(f"- `{key}`: see its section below.")
    return [*lines, ""]


def _endpoint_section(results: dict[str, Any]) -> list[str]:
    ep = results.get("endpoints")
    if not ep:
        return []
    rows = []
    for name, r in ep["endpoints"].items():
        cold, warm = r["cold"], r["warm"]
        rows.append(
            [
                f"`{name}`",
                f"{_num(cold['server_ms']['p50'])} / {_num(cold['server_ms']['p95'])}",
                f"{_num(warm['server_ms']['p50'], 3)} / {_num(warm['server_ms']['p95'], 3)}",
                f"{_num(warm['client_ms']['p50'])}",
                _num(ratio_or_dash(cold["server_ms"]["p50"], warm["server_ms"]["p50"]), 1),
                f"{cold['queries']['p50']:.0f} ({cold['data_queries']['p50']:.0f})",
                f"{warm['queries']['p50']:.0f} ({warm['data_queries']['p50']:.0f})",
                warm["bytes"],
            ]
        )
    base = ep["baselines"]
    for label, key in BASELINE_LABELS:
        if key not in base:
            continue
        b = base[key]
        rows.append(
            [
                label,
                "",
                f"{_num(b['server_ms']['p50'], 3)} / {_num(b['server_ms']['p95'], 3)}",
                _num(b["client_ms"]["p50"]),
                "",
                "",
                f"{b['queries']['p50']:.0f} ({b['data_queries']['p50']:.0f})",
                b["bytes"],
            ]
        )
    full = ep["full_load"]
    return [
        "## Per endpoint: cold (miss) vs warm (hit)",
        "",
        f"The last {len(BASELINE_LABELS)} rows were measured interleaved, request by request "
        "(a ladder: each row adds one layer to the one below), and the headline's latency "
        "ratios use them. "
        "Server-side ms (inside Django, outermost middleware to response) p50 / p95; client ms is "
        "the loopback round trip through gunicorn. Queries: all SQL statements per request "
        "(in brackets those on the ITSM tables).",
        "",
        *_table(
            [
                "endpoint",
                "cold ms p50 / p95",
                "warm ms p50 / p95",
                "warm client ms",
                "cold/warm",
                "cold queries",
                "warm queries",
                "bytes",
            ],
            rows,
        ),
        f"**Full dashboard load** (the {full['endpoints']} dashboard endpoints once each): "
        f"the original FireLater's {full['original_queries']} queries (uncached) vs ours "
        f"{full['cold']['queries']} cold ({full['cold']['data_queries']} on data tables) and "
        f"{full['warm']['queries']} warm ({full['warm']['data_queries']} on data tables); "
        f"{_num(full['cold']['server_ms'])} ms vs "
        f"{_num(full['warm']['server_ms'])} ms "
        "server-side in total.",
        "",
    ]


def ratio_or_dash(a: Any, b: Any) -> float:
    try:
        return a / b if b else math.nan
    except TypeError:
        return math.nan


def _wrk_cells(r: dict[str, Any] | None) -> list[Any]:
    if not r:
        return ["-"] * 4
    return [r["rps"], r["p50_ms"], r["p99_ms"], r["errors"]]


def _load_section(results: dict[str, Any]) -> list[str]:
    ld = results.get("load")
    if not ld:
        return []
    rows = []
    for label, key in (
        ("warm overview (ours)", "overview"),
        ("trivial authenticated DRF", "trivial"),
        ("floor (no tenant, no auth)", "floor"),
    ):
        for c in ("16", "64"):
            rows.append([label, c, *_wrk_cells(ld[key].get(c))])
    pairs = ld.get("overview_vs_floor", {})
    pair_text = ", ".join(
        f"{p['overview_rps']:,.0f} / {p['floor_rps']:,.0f} = {p['ratio']}"
        for p in pairs.get("pairs", [])
    )
    mixed_rows = []
    for c, r in ld["mixed_writes"].items():
        st = r["staleness"]
        mixed_rows.append(
            [
                c,
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["errors"],
                st["checks"],
                st["stale"],
                ", ".join(f"{k} {v}" for k, v in st["x_cache_after_write"].items()),
            ]
        )
    return [
        "## Throughput (wrk, 2 threads)",
        "",
        "Single runs on this shared machine can be disturbed (compare the floor's single run "
        "with its alternating pairs below); the headline uses the pairs. "
        "The floor (`/bench/floor/`) is a plain JsonResponse that bench/wsgi.py routes, in the "
        "same gunicorn process and with the same settings, through a second Django handler "
        "whose middleware chain lacks django-tenants' (no host lookup, no search_path, no "
        "auth, no cache). The trivial endpoint is an authenticated DRF view returning a constant.",
        "",
        *_table(["endpoint", "connections", "req/s", "p50 ms", "p99 ms", "errors"], rows),
        f"Overview vs floor in alternating {pairs.get('seconds_each', '-')} s runs at 16 "
        f"connections (req/s overview / floor): {pair_text}; median "
        f"**{_num(pairs.get('median_ratio'))}** (the headline's warm_rps_vs_floor).",
        "",
        "With 1 % writes (every 100th request a POST of an issue), while a checker writes an issue "
        "through the API and reads the overview straight after, counting reads that miss "
        "the write:",
        "",
        *_table(
            [
                "connections",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "checks",
                "stale reads",
                "X-Cache of the read after a write",
            ],
            mixed_rows,
        ),
    ]


def _compare_section(results: dict[str, Any]) -> list[str]:
    cp = results.get("compare")
    if not cp:
        return []
    rows = []
    for name, label in cp["contenders"].items():
        lat, thr, fr = (
            cp["warm_latency"][name],
            cp["throughput"].get(name, {}),
            cp["freshness"][name],
        )
        stale = fr.get("stale_seconds_expected", fr["stale_seconds"])
        stale_text = f"{_num(fr['stale_seconds'])}" + (
            f" (capped; TTL {stale} s)" if fr["capped"] else ""
        )
        ratios = cp["ratios"].get(name, {})
        rows.append(
            [
                label,
                _num(lat["server_ms"]["p50"], 3),
                _num(lat["client_ms"]["p50"]),
                f"{lat['queries']['p50']:.0f} ({lat['data_queries']['p50']:.0f})",
                _num(_get(thr, "16", "rps"), 1),
                _num(_get(thr, "64", "rps"), 1),
                stale_text,
                _num(ratios.get("warm_latency_ours_over_peer")) if ratios else "-",
                _num(_get(ratios, "throughput_ours_over_peer", "16")) if ratios else "-",
            ]
        )
    leak = cp["cachalot_out_of_the_box"]
    leak_verdict = (
        "serves one tenant another tenant's cached rows"
        if leak["leaks_across_tenants"]
        else "did not leak in this run"
    )
    check = cp["orm_overview_cross_check"]
    check_verdict = (
        "same numbers"
        if check["same_numbers"]
        else "differences " + json.dumps(check["differences"])
    )
    return [
        "## Side by side: no cache, cache_page, cachalot, ours",
        "",
        "Same data, same gunicorn settings, same token auth; warm = after the first read. "
        "Stale s: how long the endpoint kept serving the old total after a committed write "
        "(polled every 50 ms). Ratios are ours / peer (latency: lower is better for ours; "
        "throughput: higher is better).",
        "",
        *_table(
            [
                "contender",
                "warm server ms",
                "warm client ms",
                "queries (data)",
                "req/s c=16",
                "req/s c=64",
                "stale s after a write",
                "latency ours/peer",
                "req/s ours/peer",
            ],
            rows,
        ),
        f"- django-cachalot out of the box under django-tenants: **{leak_verdict}** "
        f"(globex has {leak['globex_issues_true']:,} issues, was served "
        f"{leak['globex_issues_served']:,}, "
        f"acme's cached figure {leak['acme_issues_cached']:,}). {leak['note']}",
        "- cachalot caches ORM querysets only, and our selectors are raw SQL, so cachalot runs an "
        "ORM version of the overview (bench/views.py, 4 aggregate queries; cross-checked: "
        f"{check_verdict}); "
        "its `now` is the database's statement time, else every request would be a new cache key. "
        "It caches only the four data apps here, so the tenant lookup and authentication cost "
        "what they cost the others.",
        "- cache_page is keyed per tenant by the default cache's key function "
        "(django_tenants.cache.make_key) and varies on Authorization (without it, "
        "cache_page, which "
        "runs before DRF authenticates, would serve an authenticated page to an anonymous "
        "request).",
        "",
    ]


def _entries_largest(sc: dict[str, Any]) -> list[str]:
    """Every entry at the largest size, before (the former full-scan SQL) and after (the
    summaries), and what the summaries' triggers cost a write (issue #13)."""
    largest = sc.get("entries_largest")
    if not largest:
        return []
    rows = []
    for name, cold in largest["cold_http"].items():
        calls = largest["in_process"].get(name, {})
        before, after = calls.get("before", {}), calls.get("after", {})
        rows.append(
            [
                name,
                before.get("call_ms", {}).get("p50", "-"),
                before.get("call_ms", {}).get("p95", "-"),
                before.get("postgres_ms", "-"),
                after.get("call_ms", {}).get("p50", "-"),
                after.get("call_ms", {}).get("p95", "-"),
                after.get("postgres_ms", "-"),
                cold["server_ms"]["p50"],
                cold["server_ms"]["p95"],
            ]
        )
    lines = [
        f"Every entry at {largest['issues']:,} issues ({largest['tenant']}). Before: the "
        "former full-scan SQL (tests/dashboard/reference.py), called in the bench process; "
        "after: the summaries, called the same way, and cold over HTTP (server-side, the "
        "entry invalidated before each request). PostgreSQL ms: planning + execution of "
        "the entry's statements (EXPLAIN ANALYZE, best of 3).",
        "",
        *_table(
            [
                "entry",
                "before p50 ms",
                "before p95",
                "before PostgreSQL",
                "after p50 ms",
                "after p95",
                "after PostgreSQL",
                "cold HTTP p50",
                "cold HTTP p95",
            ],
            rows,
        ),
    ]
    cost = sc.get("write_cost")
    if cost:
        lines += [
            "A single issue create and update (issue_create, issue_update; each committed, "
            "its invalidation sent), p50 ms, with the summaries' triggers and without them "
            "(ALTER TABLE ... DISABLE TRIGGER), alternating blocks:",
            "",
            *_table(
                ["", "create", "update", "create + update"],
                [
                    [
                        label.replace("_", " "),
                        cost[label]["create"]["p50"],
                        cost[label]["update"]["p50"],
                        round(cost["create_plus_update_ms"][label], 3),
                    ]
                    for label in ("with_triggers", "without_triggers")
                ],
            ),
            f"Ratio (median over neighbouring with/without block pairs, the headline) "
            f"{cost['ratio']}; of the pooled p50s {cost.get('ratio_of_pooled_p50s')}; "
            "the summaries' drift after the probe: "
            f"{cost['summary_drift_after']} groups.",
            "",
        ]
    return lines


def _scale_section(results: dict[str, Any]) -> list[str]:
    sc = results.get("scale")
    if not sc:
        return []
    rows = [
        [
            f"{r['issues']:,}",
            r["overview"]["cold"]["server_ms"]["p50"],
            r["trends"]["cold"]["server_ms"]["p50"],
            r["overview"]["warm"]["server_ms"]["p50"],
            r["trends"]["warm"]["server_ms"]["p50"],
        ]
        for r in sc["by_size"].values()
    ]
    plan_rows = [
        [
            f"{sc['by_size'][slug]['issues']:,}",
            *[
                f"{p[q]['jit_on_ms']} ({p[q]['jit_ms']} JIT) / {p[q]['jit_off_ms']}"
                for q in ("overview", "trends")
            ],
        ]
        for slug, p in sc.get("query_plans", {}).items()
    ]
    small = sc["small_tenants"]
    creation = small["creation"]
    small_rows = [
        [
            w["tenants"],
            w["seconds"],
            w["ms_per_tenant"],
            w["wall_seconds_with_startup"],
            w["redis_keys"],
            f"{w['redis_key_bytes'] / 1024:,.0f} KB",
            f"{w['redis_key_bytes_per_tenant'] / 1024:,.1f} KB",
        ]
        for w in small["warm_cache"]
    ]
    return [
        "## Scale",
        "",
        "Cold (miss) and warm server-side ms, p50, by the tenant's issue count (changes and "
        "requests "
        "a fifth of that each; generated in SQL).",
        "",
        *_table(
            ["issues", "cold overview ms", "cold trends ms", "warm overview ms", "warm trends ms"],
            rows,
        ),
        "PostgreSQL's own execution time of the two queries (EXPLAIN ANALYZE, best of 2, ms), "
        "with the server's JIT setting (of which JIT compilation) / with `jit = off`:",
        "",
        *_table(["issues", "overview query", "trends query"], plan_rows),
        *_entries_largest(sc),
        "`manage.py warm_cache` for N small tenants (each "
        f"{creation['volume_per_tenant']['issues']} issues, "
        f"{creation['volume_per_tenant']['changes']} changes, "
        f"{creation['volume_per_tenant']['requests']} requests, "
        f"{creation['volume_per_tenant']['applications']} "
        "applications) into an empty private Redis; memory is the sum of MEMORY USAGE over "
        "its keys.",
        "",
        *_table(
            [
                "tenants",
                "warm_cache s",
                "ms / tenant",
                "s incl. start-up",
                "Redis keys",
                "Redis memory",
                "per tenant",
            ],
            small_rows,
        ),
        "The small tenants are schema copies holding the dashboard's five tables (CREATE TABLE ... "
        "(LIKE template INCLUDING ALL) + INSERT ... SELECT) with their Tenant and Domain "
        "rows, made "
        "once and reused"
        + (
            f" ({creation['copy_ms_per_tenant']} ms each when made)"
            if creation.get("copy_ms_per_tenant")
            else ""
        )
        + ": django-tenants' clone_schema of a full tenant takes "
        f"{creation['django_tenants_clone_schema_seconds']} s "
        "here and a migrated tenant most of a second, so 1,000 real ones would take 10-15 minutes "
        "of the 20.",
        "",
    ]


FAULT_LABELS = {
    "killed": "Redis killed (SIGKILL), restarted",
    "hung": "Redis hung (SIGSTOP), continued",
}


def _faults_section(results: dict[str, Any]) -> list[str]:
    ft = results.get("faults")
    if not ft:
        return []
    redis = ft["redis"]
    base = redis["cold_baseline_under_load"]
    rows = []
    for mode in ("killed", "hung"):
        r = redis[mode]
        rows.append(
            [
                FAULT_LABELS[mode],
                r["errors"] + r["probe_non_200"],
                r["wrk"]["rps"],
                r["probe_before"]["server_ms"]["p50"],
                r["probe_during"]["server_ms"]["p50"],
                base["server_ms"]["p50"],
                r["during_vs_cold_baseline_p50"],
                ", ".join(f"{k} {v}" for k, v in r["probe_during"]["x_cache"].items()),
                r["resumed_caching_after_s"],
            ]
        )
    st = ft["stampede"]
    st_rows = [
        [
            name.replace("_", " "),
            ", ".join(str(x["computations"]) for x in v["rounds"]),
            ", ".join(f"{k} {n}" for k, n in v["rounds"][-1]["x_cache"].items()),
            v["rounds"][-1]["max_ms"],
        ]
        for name, v in st.items()
    ]
    killed = redis["killed"]
    return [
        "## Faults under load",
        "",
        f"wrk, 16 connections, {killed['seconds']:.0f} s on the warm overview; Redis (a private "
        f"redis-server) fails at {killed['redis_down_at_s']} s and comes back at "
        f"{killed['redis_back_at_s']} s. "
        "A probe reads the overview every 25 ms beside wrk (each read filed by when its answer "
        "came back); ms are server-side p50. The cold baseline is "
        "the same probe beside the same wrk load on the uncached selector "
        f"({base['wrk']['rps']} req/s).",
        "",
        *_table(
            [
                "fault",
                "errors",
                "req/s",
                "ms before",
                "ms during",
                "cold baseline ms",
                "during / cold",
                "X-Cache during",
                "caching resumed s after return",
            ],
            rows,
        ),
        "Stampede: 64 concurrent cold requests for the overview, computations counted from the "
        "servers' `Cache miss` log lines (one per computation) plus BYPASS answers.",
        "",
        *_table(
            ["server", "computations per round", "X-Cache (last round)", "slowest ms"], st_rows
        ),
    ]


def _micro_section(results: dict[str, Any]) -> list[str]:
    cc = results.get("cache_core")
    if not cc:
        return []
    hit_rows = [
        [
            name,
            r["payload_bytes"],
            r["us_per_call"]["get_or_set_hit"],
            r["us_per_call"]["django_redis_get"],
            r["us_per_call"]["redis_py_get"],
            r["us_per_call"].get("read_script_evalsha"),
            r.get("hit_minus_django_redis_get_us"),
            r["hit_over_django_redis_get"],
            "met" if r["hit_over_django_redis_get"] <= 1.3 else "**missed**",
        ]
        for name, r in cc["hit"].items()
    ]
    inv = cc["invalidation"]
    sizes = [k for k in inv if k.isdigit()]
    inv_rows = [
        [
            f"{int(k):,}",
            inv[k]["ours_ms"],
            inv[k]["delete_pattern_ms"],
            inv[k]["delete_pattern_itersize_1000_ms"],
        ]
        for k in sizes
    ]
    inv_rows.append(
        [
            "ratio large / small",
            inv["ours_large_over_small"],
            inv["delete_pattern_large_over_small"],
            inv["delete_pattern_itersize_1000_large_over_small"],
        ]
    )
    dead_rows = [
        [
            name.replace("_", " "),
            r["first_call_ms"],
            r["breaker_open_ms_per_call"],
            "met" if r["breaker_open_ms_per_call"] <= 0.2 else "**missed**",
            r["django_redis_ignore_exceptions_ms_per_call"],
        ]
        for name, r in cc["redis_dead"].items()
    ]
    return [
        "## Cache core micro-benchmarks (#3)",
        "",
        "HIT: µs per call in one process against a private redis-server, best of 9 "
        "interleaved rounds. Payloads over 10 KB are stored zlib-compressed by ours (so a hit "
        "decompresses them) and as plain bytes by the raw GETs. The loopback round trip itself "
        "varies on this VM from about 30 µs (busy CPUs) to 100 µs (idle CPUs waking up), and the "
        "ratio with it; the difference (HIT - GET) is the cache's own cost.",
        "",
        *_table(
            [
                "entry",
                "bytes",
                "get_or_set HIT µs",
                "django-redis GET µs",
                "redis-py GET µs",
                "its Lua READ script alone µs",
                "HIT - GET µs",
                "HIT / django-redis GET",
                "target <= 1.3",
            ],
            hit_rows,
        ),
        "Invalidation of a tenant's `issues` category "
        f"({inv[sizes[0]]['ours_value_keys_dropped']} value "
        "keys) with unrelated keys in Redis, "
        "ms (median); django-redis delete_pattern on the same keys, default SCAN count and 1000:",
        "",
        *_table(
            ["unrelated keys", "ours ms", "delete_pattern ms", "delete_pattern itersize 1000 ms"],
            inv_rows,
        ),
        "Redis dead: per-call cost of get_or_set once the breaker is open, vs django-redis with "
        "IGNORE_EXCEPTIONS and no breaker (settings' 250 ms timeouts, no retries):",
        "",
        *_table(
            [
                "Redis",
                "first call ms",
                "breaker open ms / call",
                "target <= 0.2 ms",
                "django-redis, no breaker, ms / call",
            ],
            dead_rows,
        ),
    ]


STORM_LABELS = {
    "ours": "ours, overview (2 sync workers)",
    "ours_gthread": "ours, overview (2 gthread workers x 4)",
    "ours_dashboard_mix": "ours, full dashboard mix (sync)",
    "nocache": "no cache (selector)",
    "cache_page": "cache_page (per tenant)",
    "cachalot": "django-cachalot (per tenant)",
    "ours_pairs": "ours, overview, back-to-back pairs for the headline",
}


def _storm_section(results: dict[str, Any]) -> list[str]:
    st = results.get("storm")
    if not st:
        return []
    lines = [
        "## Write storms",
        "",
        f"One user writes (API POSTs of issues and PATCHes of their status, in turn) while "
        f"wrk reads as another ({st['connections']} connections) and a third user polls the "
        "overview every 20 ms. *Late* is from a write's response (after its commit) until "
        "the poller first saw it; *own stale* counts the writer's reads, right after each "
        "write, that lacked it. Quiet writer POST/PATCH p50 (nothing else running): "
        f"{_num(_get(st, 'quiet_writes', 'p50_ms'))} ms.",
        "",
    ]
    header = [
        "contender",
        "writes/s",
        "req/s",
        "vs quiet",
        "p50 ms",
        "p99 ms",
        "p99 vs quiet",
        "own stale",
        "late p50 s",
        "late p99 s",
        "late max s",
        "never seen",
        "comp./write",
        "write p50 ms",
    ]
    rows = []
    for name, runs in st["contenders"].items():
        for r in runs:
            late = r["others_staleness_s"]
            rows.append(
                [
                    STORM_LABELS.get(name, name),
                    r["writes_per_second"],
                    r["wrk"]["rps"],
                    r.get("rps_vs_quiet"),
                    r["wrk"]["p50_ms"],
                    r["wrk"]["p99_ms"],
                    r.get("p99_vs_quiet"),
                    r["own_stale_reads"],
                    late["p50"],
                    late["p99"],
                    late["max"],
                    r["others_never_saw"],
                    r["overview_computations_per_write"],
                    r["write_p50_ms"],
                ]
            )
    lines += _table(header, rows)
    cpu_rows = []
    for name, runs in st["contenders"].items():
        for r in runs:
            cpu = r["cpu_cores"]
            requests = max(1, r["wrk"]["requests"])
            computed = sum(r.get("computed_ms", {}).values())
            cpu_rows.append(
                [
                    STORM_LABELS.get(name, name),
                    r["rate"],
                    cpu["gunicorn_workers"],
                    cpu["postgres_backends"],
                    cpu["wrk"],
                    cpu["writer_and_poller"],
                    cpu.get("everything_else"),
                    round(cpu["gunicorn_workers"] * r["wrk"]["seconds"] * 1e6 / requests),
                    round(computed / max(1.0, r["wrk"]["seconds"]) / 1000, 3),
                ]
            )
    lines += [
        "Where the CPU went (cores busy on average; the machine has "
        f"{os.cpu_count()}): gunicorn workers, their PostgreSQL backends, wrk, this "
        "process's writer and poller, and everything else the machine ran meanwhile (other "
        "engineers' work: the figures are only as quiet as that); µs of worker CPU per wrk "
        "request; recomputation wall "
        "time per second (from the servers' 'computed in' log lines).",
        "",
    ]
    lines += _table(
        [
            "contender",
            "writes/s",
            "workers",
            "postgres",
            "wrk",
            "writer+poller",
            "everything else",
            "worker µs/request",
            "recompute s/s",
        ],
        cpu_rows,
    )
    return lines


def _replica_section(results: dict[str, Any]) -> list[str]:
    rp = results.get("replica")
    if not rp:
        return []
    head = rp.get("headline", {})
    lines = [
        "## Reads from a hot standby",
        "",
        "The same data (the two main tenants, copied into a private primary whose hot "
        "standby streams it) and the same load in every run: wrk reads every dashboard "
        f"endpoint and the lists ({', '.join(rp['list_paths'])}) in turn as the admin "
        f"({rp['connections']} connections), one user writes {rp['write_rate']}/s and reads "
        "the overview after each write, another polls it every 20 ms (both through a second "
        "server on the same database and Redis, which connects as its own role so that the "
        "readers' queries are told apart). *primary*: no "
        "standby configured; *lagN*: DATABASE_REPLICA_URL set, the standby's "
        "recovery_min_apply_delay at N ms. Queries and rows from pg_stat_statements and "
        "pg_stat_database of each cluster; CPU is every process of each cluster. *Stale* "
        "adds the writer's reads lacking its own write, polls lacking a write older than "
        "CACHE_MAX_STALE (or showing figures no write produced), and the entries that, "
        "after the load, differed from a computation on the primary with an empty cache. "
        f"The readers' primary queries saved: {_num(head.get('primary_queries_saved'))} "
        f"(with lag: {_num(head.get('primary_queries_saved_with_lag'))}); the primary's CPU "
        f"saved: {_num(head.get('primary_cpu_saved'))}; p99 with lag / without: "
        f"{_num(head.get('lag_p99_vs_nolag'))}.",
        "",
    ]
    rows = []
    for r in rp["runs"]:
        cpu = r["cpu_cores"]
        outcomes = ", ".join(
            f"{k} {v}" for k, v in sorted(r["replica_outcomes"].get("readers", {}).items())
        )
        rows.append(
            [
                r["name"],
                r["wrk"]["rps"],
                r["wrk"]["p50_ms"],
                r["wrk"]["p99_ms"],
                r["writes_per_second"],
                r["write_p50_ms"],
                r["stale_reads"],
                r["poller_worst_staleness_s"],
                r["readers_primary_queries_per_request"],
                r["primary_queries_per_s"],
                r["standby_queries_per_s"],
                r["primary_rows_read_per_s"],
                cpu["primary"],
                cpu["standby"],
                outcomes or "-",
            ]
        )
    lines += _table(
        [
            "run",
            "req/s",
            "p50 ms",
            "p99 ms",
            "writes/s",
            "write p50 ms",
            "stale",
            "poll late max s",
            "readers' primary queries/request",
            "primary queries/s",
            "standby queries/s",
            "primary rows read/s",
            "primary cores",
            "standby cores",
            "readers' replica outcomes",
        ],
        rows,
    )
    return lines


def _plots_section(plots: list[str]) -> list[str]:
    return ["## Plots", "", *[f"![{p}]({p})" for p in plots], ""]


def markdown(doc: dict[str, Any], plots: list[str]) -> str:
    results = doc["results"]
    lines = ["# FireLater benchmarks", ""]
    lines += _run_section(doc)
    lines += _headline_section(doc)
    lines += _why_section(doc)
    lines += _endpoint_section(results)
    lines += _load_section(results)
    lines += _compare_section(results)
    lines += _scale_section(results)
    lines += _faults_section(results)
    lines += _micro_section(results)
    lines += _storm_section(results)
    lines += _replica_section(results)
    lines += _plots_section(plots)
    return "\n".join(lines)


# --- Plots ---------------------------------------------------------------------------------


def plots(doc: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = doc["results"]
    made: list[str] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made.append(name)

    ep = results.get("endpoints")
    if ep:
        names = list(ep["endpoints"])
        cold = [ep["endpoints"][n]["cold"]["server_ms"]["p50"] for n in names]
        warm = [ep["endpoints"][n]["warm"]["server_ms"]["p50"] for n in names]
        fig, ax = plt.subplots(figsize=(9, 4.5))
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], cold, 0.4, label="cold (miss)")
        ax.bar([x + 0.2 for x in xs], warm, 0.4, label="warm (hit)")
        ax.set_yscale("log")
        ax.set_xticks(list(xs), names, rotation=30, ha="right")
        ax.set_ylabel("server-side ms, p50 (log)")
        ax.set_title("Dashboard endpoints: cold vs warm")
        ax.legend()
        save(fig, "endpoints_cold_warm.png")

    ld, cp = results.get("load"), results.get("compare")
    if ld or cp:
        bars: list[tuple[str, float, float]] = []
        if ld:
            for label, key in (
                ("ours (overview)", "overview"),
                ("trivial DRF", "trivial"),
                ("floor", "floor"),
            ):
                bars.append((label, ld[key]["16"]["rps"], ld[key]["64"]["rps"]))
        if cp:
            for key in ("nocache", "cache_page", "cachalot"):
                thr = cp["throughput"][key]
                bars.append((key.replace("_", " "), thr["16"]["rps"], thr["64"]["rps"]))
        fig, ax = plt.subplots(figsize=(9, 4.5))
        xs = range(len(bars))
        ax.bar([x - 0.2 for x in xs], [b[1] for b in bars], 0.4, label="16 connections")
        ax.bar([x + 0.2 for x in xs], [b[2] for b in bars], 0.4, label="64 connections")
        ax.set_xticks(list(xs), [b[0] for b in bars], rotation=20, ha="right")
        ax.set_ylabel("requests/s (wrk)")
        ax.set_title("Throughput: overview, baselines and peers")
        ax.legend()
        save(fig, "throughput.png")

    sc = results.get("scale")
    if sc:
        sizes = [r["issues"] for r in sc["by_size"].values()]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name in ("overview", "trends"):
            ax.plot(
                sizes,
                [r[name]["cold"]["server_ms"]["p50"] for r in sc["by_size"].values()],
                "o-",
                label=f"{name}, cold",
            )
            ax.plot(
                sizes,
                [r[name]["warm"]["server_ms"]["p50"] for r in sc["by_size"].values()],
                "s--",
                label=f"{name}, warm",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("issues in the tenant")
        ax.set_ylabel("server-side ms, p50")
        ax.set_title("Cold and warm latency by data size (log-log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        save(fig, "scale.png")
        runs = sc["small_tenants"]["warm_cache"]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        tenants = [r["tenants"] for r in runs]
        ax.plot(tenants, [r["seconds"] for r in runs], "o-", label="warm_cache seconds")
        ax.plot(
            tenants, [r["redis_key_bytes"] / 1e6 for r in runs], "s--", label="Redis memory, MB"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tenants")
        ax.set_title("warm_cache time and Redis memory by tenant count")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        save(fig, "tenants.png")

    ft = results.get("faults")
    if ft:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        colours = {"HIT": "tab:green", "MISS": "tab:orange", "BYPASS": "tab:red"}
        for ax, mode in zip(axes, ("killed", "hung"), strict=True):
            run = ft["redis"][mode]
            for label, colour in colours.items():
                points = [(t, ms) for t, ms, cache in run["timeline"] if cache == label]
                if points:
                    ax.scatter(*zip(*points, strict=True), s=6, c=colour, label=label)
            ax.axvline(run["redis_down_at_s"], color="black", linestyle="--", linewidth=1)
            ax.axvline(run["redis_back_at_s"], color="black", linestyle=":", linewidth=1)
            ax.set_title(f"Redis {mode} (dashed: fails, dotted: back)")
            ax.set_xlabel("seconds into the wrk run")
            ax.set_yscale("log")
        axes[0].set_ylabel("probe, server-side ms")
        axes[0].legend()
        save(fig, "faults.png")

    cc = results.get("cache_core")
    if cc:
        inv = cc["invalidation"]
        sizes = [k for k in inv if k.isdigit()]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        xs = [int(k) for k in sizes]
        ax.plot(xs, [inv[k]["ours_ms"] for k in sizes], "o-", label="ours (generations + index)")
        ax.plot(
            xs,
            [inv[k]["delete_pattern_ms"] for k in sizes],
            "s--",
            label="django-redis delete_pattern",
        )
        ax.plot(
            xs,
            [inv[k]["delete_pattern_itersize_1000_ms"] for k in sizes],
            "^:",
            label="delete_pattern, itersize 1000",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("unrelated keys in Redis")
        ax.set_ylabel("ms per invalidation")
        ax.set_title("Invalidating one tenant's category")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        save(fig, "invalidation.png")

    st = results.get("storm")
    if st:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for name, runs in st["contenders"].items():
            if name == "ours_pairs":
                continue
            rates = [r["rate"] for r in runs]
            axes[0].plot(rates, [r["wrk"]["rps"] for r in runs], "o-", label=name)
            axes[1].plot(rates, [r["wrk"]["p99_ms"] for r in runs], "o-", label=name)
        axes[0].set_ylabel("req/s (wrk, 16 connections)")
        axes[1].set_ylabel("p99 ms")
        axes[1].set_yscale("log")
        for ax in axes:
            ax.set_xlabel("writes per second (one user)")
            ax.grid(True, alpha=0.3)
        axes[0].set_title("Write storm: throughput")
        axes[1].set_title("Write storm: p99 latency")
        axes[0].legend(fontsize=8)
        save(fig, "storm.png")
    return made


def write(doc: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    made = plots(doc, out)
    (out / "latest.md").write_text(markdown(doc, made))


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    out = results_dir(quick)
    doc = json.loads((out / "latest.json").read_text())
    write(doc, out)
    print(out / "latest.md")  # noqa: T201  (a command: where the report went)


if __name__ == "__main__":
    main()
