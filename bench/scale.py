"""Scale: cold overview and trends at 1k, 10k, 100k and 1M issues; every dashboard entry
at the largest size, before (the former full-scan SQL, tests/dashboard/reference.py) and
after (the summaries), with PostgreSQL's own time; what the summaries' triggers cost a
single issue create and update; warm_cache time and Redis memory for 10, 100 and 1,000
small tenants.

Scale tenants (scale1k ... scale1m) are filled in SQL (bench/generate.py), once: a rerun
finds them and goes straight to measuring.

Small tenants: a full tenant (schema + migrations) costs most of a second here, and
django-tenants' clone_schema about half of one (both timed in every run), so 1,000 of
either would take the whole budget. The small tenants are instead schemas holding the
dashboard's data tables and their summary tables, copied from a fully migrated and filled
template tenant with CREATE TABLE (LIKE ... INCLUDING ALL) and INSERT ... SELECT, plus
their Tenant and Domain rows: everything warm_cache reads. Created once, reused by later runs.
"""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import (
    PORT_MAIN,
    REDIS_PORT_SCALE,
    ROOT,
    PrivateRedis,
    Server,
    bench_env,
    latency_summary,
    sample,
    say,
)
from bench.data import ADMIN_USER, Context, admin_token, ensure_migrated
from bench.endpoints import dashboard_endpoints, invalidator
from bench.generate import DATA_TABLES, Volume, fill_current_schema

# What a small tenant's copy holds: the records and the summaries the dashboard reads.
COPIED_TABLES = (
    *DATA_TABLES,
    "issues_summary_counts",
    "issues_summary_created",
    "issues_summary_resolved",
    "issues_summary_sla_due",
    "changes_summary_counts",
    "changes_summary_scheduled",
    "requests_app_summary_counts",
    "requests_app_summary_due",
)
# Each entry's selector in dashboard.selectors and in the reference (same names).
SELECTOR_NAMES = {
    "overview": "overview",
    "trends": "issue_trends",
    "health": "health_distribution",
    "activity": "recent_activity",
    "issues_by_priority": "issues_by_priority",
    "issues_by_status": "issues_by_status",
    "changes_upcoming": "upcoming_changes",
    "requests_by_status": "requests_by_status",
    "mobile": "mobile_summary",
}
ENTRY_COLD_SAMPLES = 15
WRITE_COST_BLOCKS = 12  # alternating with / without the triggers
WRITE_COST_ROUNDS = 30  # creates and updates per block
WRITE_COST_TITLE = "Written by the bench's write-cost probe"

ADMIN_PASSWORD = "firelater-demo"
TEMPLATE = "smalltpl"
SMALL_VOLUME = Volume(issues=200, changes=40, requests=40, applications=10)
# Names in bench.endpoints.dashboard_endpoints(): the overview, the trends and #14's five.
SCALE_ENTRIES = (
    "overview",
    "trends",
    "sla/compliance",
    "changes/success-rate",
    "applications/critical",
    "requests/by-item",
    "cloud/costs",
)


def scale_slug(issues: int) -> str:
    return "scale" + (f"{issues // 1_000_000}m" if issues >= 1_000_000 else f"{issues // 1000}k")


# --- Tenants -------------------------------------------------------------------------------


def ensure_full_tenant(profile: Any, slug: str) -> float:
    """A real tenant (schema, migrations, staff user); seconds spent creating it (0: existed)."""
    from django_tenants.utils import schema_exists

    from tenants.models import Tenant
    from tenants.services import tenant_setup

    if Tenant.objects.filter(slug=slug).exists() and schema_exists(slug):
        ensure_migrated(profile, [slug])
        return 0.0
    started = time.perf_counter()
    tenant_setup(
        slug=slug,
        name=f"Bench {slug}",
        domain=f"{slug}.localhost",
        admin_username=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
    )
    return time.perf_counter() - started


def ensure_filled(slug: str, volume: Volume) -> float:
    """Fill the tenant's dashboard tables to `volume` unless they hold it; seconds spent."""
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context

    from issues.models import Issue

    with schema_context(slug):
        if Issue.objects.count() == volume.issues:
            return 0.0
        user, _ = get_user_model().objects.get_or_create(username=ADMIN_USER)
        user_id = user.id
        say(f"{slug}: generating {volume.issues:,} issues in SQL (first run only)")
        return fill_current_schema(volume, user_id)


def prepare_scale_tenants(ctx: Context) -> dict[str, dict[str, Any]]:
    tenants = {}
    for issues in ctx.profile.scale_sizes:
        slug = scale_slug(issues)
        created = ensure_full_tenant(ctx.profile, slug)
        filled = ensure_filled(slug, Volume.for_issues(issues))
        tenants[slug] = {
            "issues": issues,
            "host": f"{slug}.localhost",
            "token": admin_token(slug),
            "created_seconds": round(created, 2),
            "generated_seconds": round(filled, 2),
        }
    return tenants


# --- Cold latency by size ------------------------------------------------------------------


def measure_sizes(ctx: Context, tenants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    samples = max(3, ctx.profile.cold_samples // 3)
    results: dict[str, Any] = {}
    with Server(ctx.profile, "scale", PORT_MAIN, BENCH_INSTRUMENT="1") as server:
        for slug, tenant in tenants.items():
            results[slug] = {"issues": tenant["issues"]}
            for name, path, entry in dashboard_endpoints():
                if name not in SCALE_ENTRIES:
                    continue
                sample(server.port, path, tenant["host"], tenant["token"], 2)  # connection, lookup
                cold = sample(
                    server.port,
                    path,
                    tenant["host"],
                    tenant["token"],
                    samples,
                    before=invalidator(slug, entry),
                    expect_cache="MISS",
                )
                warm = sample(
                    server.port, path, tenant["host"], tenant["token"], 20, expect_cache="HIT"
                )
                results[slug][name] = {"cold": latency_summary(cold), "warm": latency_summary(warm)}
            cold = ", ".join(
                f"{name} {results[slug][name]['cold']['server_ms']['p50']:.1f}"
                for name in SCALE_ENTRIES
            )
            say(f"{slug:10s} {tenant['issues']:>9,} issues: cold p50 ms: {cold}")
    return results


def _explain(sql: str, params: dict[str, Any]) -> tuple[float, float]:
    """(execution ms, of which JIT compilation ms) from EXPLAIN ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan
    jit = plan.get("JIT", {}).get("Timing", {}).get("Total", 0.0)
    return round(plan["Execution Time"], 1), round(jit, 1)


def query_plans(tenants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """PostgreSQL's own time for the cold overview and trends queries, with the server's
    JIT setting and with JIT off: how much of a cold read is query compilation."""
    import datetime as dt
    import zoneinfo

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from dashboard import selectors

    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    last_day = timezone.now().astimezone(tz).date()
    first_day = last_day - dt.timedelta(days=29)
    trends_params = {
        "first_day": first_day,
        "last_day": last_day,
        "start": dt.datetime.combine(first_day, dt.time.min, tzinfo=tz),
        "tz": settings.TIME_ZONE,
    }
    queries = {
        "overview": (selectors._OVERVIEW_SQL, selectors._time_params()),
        "trends": (selectors._TRENDS_SQL, trends_params),
    }
    results: dict[str, Any] = {}
    for slug in tenants:
        results[slug] = {}
        with schema_context(slug):
            for name, (sql, params) in queries.items():
                with transaction.atomic():
                    on = min((_explain(sql, params) for _ in range(2)), key=lambda r: r[0])
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL jit = off")
                    off = min((_explain(sql, params) for _ in range(2)), key=lambda r: r[0])
                results[slug][name] = {"jit_on_ms": on[0], "jit_ms": on[1], "jit_off_ms": off[0]}
        say(
            f"{slug:10s} PostgreSQL: overview {results[slug]['overview']}, "
            f"trends {results[slug]['trends']}"
        )
    return results


# --- Every entry at the largest size: before and after -----------------------------------


def measure_entries_cold(ctx: Context, slug: str, tenant: dict[str, Any]) -> dict[str, Any]:
    """Every declared entry over HTTP, cold (invalidated before each request): server-side
    ms, as the overview and trends above."""
    results: dict[str, Any] = {}
    with Server(ctx.profile, "scale", PORT_MAIN, BENCH_INSTRUMENT="1") as server:
        for _name, path, entry in dashboard_endpoints():
            sample(server.port, path, tenant["host"], tenant["token"], 2)
            cold = sample(
                server.port,
                path,
                tenant["host"],
                tenant["token"],
                ENTRY_COLD_SAMPLES,
                before=invalidator(slug, entry),
                expect_cache="MISS",
            )
            results[entry.name] = latency_summary(cold)
            say(
                f"{slug} cold {entry.name:20s} p50 {results[entry.name]['server_ms']['p50']:7.2f}"
                f" ms, p95 {results[entry.name]['server_ms']['p95']:7.2f} ms"
            )
    return results


def _calls(function: Any, params: dict[str, Any], n: int) -> tuple[dict[str, float], list[str]]:
    """n calls' wall time (ms) in this process, and the SQL the last one ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.common import summary

    times = []
    for _ in range(n):
        started = time.perf_counter()
        function(**params)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        function(**params)
    return summary(times), [q["sql"] for q in queries.captured_queries]


def _postgres_ms(statements: list[str]) -> float:
    """PostgreSQL's execution time of these statements (EXPLAIN ANALYZE, best of 3)."""
    from django.db import connection

    total = 0.0
    with connection.cursor() as cursor:
        for sql in statements:
            best = math.inf
            for _ in range(3):
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
                plan = plan[0] if isinstance(plan, list) else plan
                best = min(best, plan["Planning Time"] + plan["Execution Time"])
            total += best
    return round(total, 2)


def entries_before_after(slug: str) -> dict[str, Any]:
    """Each entry's selector called in this process, the former SQL (before) and the
    summaries (after): wall ms p50/p95 and PostgreSQL's planning + execution ms."""
    from django_tenants.utils import schema_context

    from dashboard import selectors
    from dashboard.entries import ENTRIES
    from tests.dashboard import reference

    results: dict[str, Any] = {}
    with schema_context(slug):
        for entry in ENTRIES:
            function_name = SELECTOR_NAMES.get(entry.name)
            if function_name is None:
                continue
            params = dict(entry.cache.default_params)
            row: dict[str, Any] = {}
            for label, module, n in (("before", reference, 5), ("after", selectors, 30)):
                calls, statements = _calls(getattr(module, function_name), params, n)
                row[label] = {"call_ms": calls, "postgres_ms": _postgres_ms(statements)}
            results[entry.name] = row
            say(
                f"{slug} {entry.name:20s} before {row['before']['call_ms']['p50']:8.1f} ms "
                f"(PostgreSQL {row['before']['postgres_ms']}), after "
                f"{row['after']['call_ms']['p50']:6.2f} ms "
                f"(PostgreSQL {row['after']['postgres_ms']})"
            )
    return results


# --- What the triggers cost a write ---------------------------------------------------------


def _set_summary_triggers(enabled: bool) -> None:
    from django.db import connection

    verb = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        # Every summary's triggers (the overview's and SLA compliance's): USER leaves the
        # foreign keys' system triggers alone.
        cursor.execute(f"ALTER TABLE issues_issue {verb} TRIGGER USER")


def _write_block(user: Any) -> tuple[list[float], list[float]]:
    """WRITE_COST_ROUNDS single creates and updates through the services (each its own
    transaction, committed, its invalidation sent), then the rows deleted (untimed)."""
    from issues.models import Issue
    from issues.services import issue_create, issue_update

    creates, updates = [], []
    for index in range(WRITE_COST_ROUNDS):
        started = time.perf_counter()
        issue = issue_create(reporter=user, title=WRITE_COST_TITLE, priority="high")
        creates.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        issue_update(issue=issue, data={"status": "in_progress" if index % 2 else "resolved"})
        updates.append((time.perf_counter() - started) * 1000)
    Issue.objects.filter(title=WRITE_COST_TITLE).delete()
    return creates, updates


def measure_write_cost(slug: str) -> dict[str, Any]:
    """Single issue create and update, with the summaries' triggers and without them
    (ALTER TABLE ... DISABLE TRIGGER), in alternating blocks on the largest tenant. The
    rows written without triggers are deleted without them too, so the summaries stay
    exact (checked after)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_tenants.utils import schema_context

    from bench.common import summary
    from dashboard.aggregates import SUMMARIES_BY_SOURCE
    from firelater import aggregates

    samples: dict[bool, dict[str, list[float]]] = {
        mode: {"create": [], "update": []} for mode in (True, False)
    }
    block_ratios: list[float] = []  # each pair of neighbouring blocks: drift cancels out
    previous_ms = math.nan
    with schema_context(slug):
        user = get_user_model().objects.get(username=ADMIN_USER)
        _write_block(user)  # warm-up: plans, caches, connection
        try:
            for block in range(WRITE_COST_BLOCKS):
                with_triggers = block % 2 == 0
                _set_summary_triggers(with_triggers)
                creates, updates = _write_block(user)
                samples[with_triggers]["create"] += creates
                samples[with_triggers]["update"] += updates
                block_ms = statistics.median(creates) + statistics.median(updates)
                if not with_triggers:
                    block_ratios.append(previous_ms / block_ms)
                previous_ms = block_ms
        finally:
            _set_summary_triggers(True)
        with connection.cursor() as cursor:
            drift = sum(
                len(aggregates.drift(cursor, s)) for s in SUMMARIES_BY_SOURCE["issues_issue"]
            )
    result: dict[str, Any] = {
        label: {op: summary(values) for op, values in samples[mode].items()}
        for label, mode in (("with_triggers", True), ("without_triggers", False))
    }
    with_ms = result["with_triggers"]["create"]["p50"] + result["with_triggers"]["update"]["p50"]
    plain_ms = (
        result["without_triggers"]["create"]["p50"] + result["without_triggers"]["update"]["p50"]
    )
    result["create_plus_update_ms"] = {"with_triggers": with_ms, "without_triggers": plain_ms}
    result["ratio_of_pooled_p50s"] = round(with_ms / plain_ms, 3) if plain_ms else math.nan
    result["block_pair_ratios"] = [round(r, 3) for r in block_ratios]
    # The headline: the median over neighbouring block pairs (robust to the load of a
    # shared machine drifting between blocks).
    result["ratio"] = round(statistics.median(block_ratios), 3)
    result["summary_drift_after"] = drift
    say(
        f"{slug} write cost (create + update, p50): {with_ms:.2f} ms with the triggers, "
        f"{plain_ms:.2f} ms without; median block-pair ratio x{result['ratio']} "
        f"({result['block_pair_ratios']}); drift after: {drift}"
    )
    return result


# --- Small tenants -------------------------------------------------------------------------


def small_slug(index: int) -> str:
    return f"small{index:04d}"


def _signature_sql(schemas: str) -> str:
    """Column layout of the dashboard tables per schema: a copy is current if it matches
    the template's (so new migrations in the template renew the copies)."""
    tables = ", ".join(f"'{t}'" for t in COPIED_TABLES)
    return f"""
        SELECT table_schema,
               md5(string_agg(table_name || '.' || column_name || ':' || data_type, ','
                              ORDER BY table_name, column_name))
        FROM information_schema.columns
        WHERE table_name IN ({tables}) AND table_schema {schemas}
        GROUP BY table_schema
    """


def _copy_schema_sql(schema: str) -> list[str]:
    statements = [f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}"]
    for table in reversed(COPIED_TABLES):  # applications first: the others refer to them
        statements.append(f"CREATE TABLE {schema}.{table} (LIKE {TEMPLATE}.{table} INCLUDING ALL)")
        statements.append(f"INSERT INTO {schema}.{table} SELECT * FROM {TEMPLATE}.{table}")
    return statements


def time_clone_schema() -> float:
    """What django-tenants' own clone_schema costs for one full tenant (then dropped)."""
    from django.db import connection
    from django_tenants.clone import CloneSchema

    started = time.perf_counter()
    CloneSchema().clone_schema(TEMPLATE, "bench_clone_probe", set_connection=False)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA bench_clone_probe CASCADE")
    return elapsed


def _copy_batch(schemas: list[str]) -> None:
    from django.db import connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for schema in schemas:
                for statement in _copy_schema_sql(schema):
                    cursor.execute(statement)
    finally:
        connection.close()  # this worker thread's own connection


def prepare_small_tenants(ctx: Context, count: int) -> dict[str, Any]:
    from django.db import connection

    from tenants.models import Domain, Tenant

    template_created = ensure_full_tenant(ctx.profile, TEMPLATE)
    ensure_filled(TEMPLATE, SMALL_VOLUME)
    slugs = [small_slug(i) for i in range(1, count + 1)]
    with connection.cursor() as cursor:
        cursor.execute(_signature_sql(f"= '{TEMPLATE}'"))
        template_signature = cursor.fetchone()[1]
        cursor.execute(_signature_sql("~ '^small[0-9]+$'"))
        current = {schema for schema, sig in cursor.fetchall() if sig == template_signature}
    have_rows = set(Tenant.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    missing = [s for s in slugs if s not in current or s not in have_rows]
    started = time.perf_counter()
    if missing:
        say(f"creating {len(missing)} small tenants (schema copies of {TEMPLATE}; reused later)")
        # Deleting a tenant archives its schema (tenants.schemas): delete the outdated rows
        # before copying, then drop those archives (bench copies, not customer data).
        Tenant.objects.filter(slug__in=missing).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname ~ '^small[0-9]+_del_[0-9]+$'"
            )
            for (archived,) in cursor.fetchall():
                cursor.execute(f'DROP SCHEMA "{archived}" CASCADE')
        batches = [missing[first : first + 25] for first in range(0, len(missing), 25)]
        with ThreadPoolExecutor(2) as pool:  # two connections: catalog work is CPU-bound
            list(pool.map(_copy_batch, batches))
        # bulk_create: these rows take over the copies just made (Tenant.save would refuse).
        tenants = Tenant.objects.bulk_create(
            Tenant(slug=s, schema_name=s, name=f"Small {s}") for s in missing
        )
        Domain.objects.bulk_create(
            Domain(domain=f"{t.slug}.localhost", tenant=t, is_primary=True) for t in tenants
        )
    copy_seconds = time.perf_counter() - started
    return {
        "created": len(missing),
        "copy_seconds_total": round(copy_seconds, 2),
        "copy_ms_per_tenant": round(copy_seconds * 1000 / len(missing), 1) if missing else None,
        "template_full_tenant_seconds": round(template_created, 2) if template_created else None,
        "volume_per_tenant": SMALL_VOLUME.__dict__,
    }


def _key_bytes(client: Any) -> int:
    """Sum of MEMORY USAGE over every key of the (private) Redis."""
    total = 0
    batch: list[bytes] = []
    for key in client.scan_iter(count=1000):
        batch.append(key)
        if len(batch) == 1000:
            total += _usage(client, batch)
            batch = []
    return total + (_usage(client, batch) if batch else 0)


def _usage(client: Any, keys: list[bytes]) -> int:
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.memory_usage(key, samples=0)
        return sum(int(u or 0) for u in pipe.execute())


def warm_cache_run(ctx: Context, redis: PrivateRedis, count: int) -> dict[str, Any]:
    """`manage.py warm_cache` for the first `count` small tenants into an empty Redis."""
    client = redis.client()
    client.flushall()
    before = int(client.info("memory")["used_memory"])
    args = [sys.executable, "manage.py", "warm_cache"]
    for i in range(1, count + 1):
        args += ["--tenant", small_slug(i)]
    started = time.perf_counter()
    done = subprocess.run(
        args,
        cwd=ROOT,
        env=bench_env(ctx.profile, REDIS_URL=redis.url, LOG_LEVEL="WARNING"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"warm_cache failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    match = re.search(
        r"Warmed (\d+) tenant\(s\) x (\d+) entries in ([\d.]+)s: (\d+) computed", done.stdout
    )
    if match is None:
        raise RuntimeError(f"unexpected warm_cache output:\n{done.stdout[-2000:]}")
    after = int(client.info("memory")["used_memory"])
    keys = int(client.dbsize())
    key_bytes = _key_bytes(client)
    seconds = float(match.group(3))
    result = {
        "tenants": count,
        "entries": int(match.group(2)),
        "computed": int(match.group(4)),
        "seconds": seconds,
        "ms_per_tenant": round(seconds * 1000 / count, 2),
        "wall_seconds_with_startup": round(wall, 2),
        "redis_keys": keys,
        "redis_used_memory_delta": after - before,
        "redis_key_bytes": key_bytes,
        "redis_key_bytes_per_tenant": round(key_bytes / count),
    }
    say(
        f"warm_cache {count:5d} tenants: {seconds:6.2f} s ({result['ms_per_tenant']} ms each), "
        f"Redis keys {key_bytes / 1024:,.0f} KB (used_memory +{(after - before) / 1024:,.0f} KB), "
        f"{keys} keys"
    )
    return result


def measure_small_tenants(ctx: Context) -> dict[str, Any]:
    counts = ctx.profile.small_tenant_counts
    creation = prepare_small_tenants(ctx, max(counts))
    creation["django_tenants_clone_schema_seconds"] = round(time_clone_schema(), 3)
    runs = []
    with PrivateRedis(REDIS_PORT_SCALE, "scale") as redis:
        for count in counts:
            runs.append(warm_cache_run(ctx, redis, count))
    return {"creation": creation, "warm_cache": runs}


def run(ctx: Context) -> dict[str, Any]:
    say("scale: cold entries by size; warm_cache and Redis memory by tenants")
    tenants = prepare_scale_tenants(ctx)
    largest = max(tenants, key=lambda slug: tenants[slug]["issues"])
    return {
        "scale_tenants": {
            slug: {k: v for k, v in t.items() if k != "token"} for slug, t in tenants.items()
        },
        "by_size": measure_sizes(ctx, tenants),
        "query_plans": query_plans(tenants),
        "entries_largest": {
            "tenant": largest,
            "issues": tenants[largest]["issues"],
            "cold_http": measure_entries_cold(ctx, largest, tenants[largest]),
            "in_process": entries_before_after(largest),
        },
        "write_cost": measure_write_cost(largest),
        "small_tenants": measure_small_tenants(ctx),
    }


if __name__ == "__main__":
    from bench.common import main_for

    main_for("scale", run)
