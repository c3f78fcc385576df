"""The bench's own data: database, migrations, the seeded demo tenants and their tokens.

The bench database (firelater_bench, or firelater_bench_quick for --quick) is never the
development database nor a test database. Seeding is skipped when the data is there, so
a rerun starts measuring within seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from bench.common import ROOT, Profile, bench_env, say, setup_django
from scripts.ensure_services import pg_params

MAIN_TENANTS = ("acme", "globex")  # seed_demo's names for --tenants 2
ADMIN_USER = "admin"
# Titles of the issues the bench writes (wrk's Lua script uses the first); removed after
# each phase so every run measures the same data.
WRK_WRITE_TITLE = "Written by the bench under load"
CHECKER_TITLE = "Written by the bench's staleness checker"
PROBE_TITLE = "Written by the bench's freshness probe"
STORM_TITLE = "Written by the bench's write storm"
BENCH_WRITE_TITLES = (WRK_WRITE_TITLE, CHECKER_TITLE, PROBE_TITLE, STORM_TITLE)


@dataclass
class TenantInfo:
    slug: str
    host: str
    token: str
    issues: int = 0


@dataclass
class Context:
    """What every phase needs: the profile, the seeded tenants and their API tokens."""

    profile: Profile
    tenants: dict[str, TenantInfo]
    seed_seconds: float = 0.0
    seeded_now: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def acme(self) -> TenantInfo:
        return self.tenants["acme"]

    @property
    def globex(self) -> TenantInfo:
        return self.tenants["globex"]


# --- Database ------------------------------------------------------------------------------


def _pg_params(url: str, dbname: str | None = None) -> dict[str, Any]:
    return {**pg_params(url, dbname), "connect_timeout": 5}


def ensure_database(profile: Profile) -> None:
    import psycopg
    from psycopg import sql

    name = _pg_params(profile.database_url)["dbname"]
    if "bench" not in name:
        raise SystemExit(f"refusing database {name!r}: the bench's database name contains 'bench'")
    with psycopg.connect(**_pg_params(profile.database_url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            say(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(profile: Profile, *args: str, **env: str) -> None:
    """Run a manage.py command of the product against the bench database."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=bench_env(profile, **env), check=True
    )
    say(f"manage.py {' '.join(args)[:80]}: {time.perf_counter() - started:.1f}s")


def pending_migrations(schema: str) -> int:
    """How many migrations this schema lacks (0: up to date; -1: the schema is missing)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django_tenants.utils import schema_exists

    if not schema_exists(schema):
        return -1
    connection.set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.set_schema_to_public()
    return len(plan)


def migrate_schema(profile: Profile, schema: str) -> None:
    if schema == "public":
        manage(profile, "migrate_schemas", "--shared", "--verbosity", "0")
        manage(profile, "setup_public", "--verbosity", "0")
    else:
        manage(profile, "migrate_schemas", "--tenant", "--schema", schema, "--verbosity", "0")


def ensure_migrated(profile: Profile, schemas: list[str]) -> None:
    for schema in schemas:
        missing = pending_migrations(schema)
        if missing:
            if missing > 0:
                say(f"{schema}: {missing} migrations to apply")
            if missing > 0 or schema == "public":
                migrate_schema(profile, schema)


# --- Tenants -------------------------------------------------------------------------------


def tenant_issue_count(slug: str) -> int:
    from django_tenants.utils import schema_context

    from issues.models import Issue

    with schema_context(slug):
        return Issue.objects.count()


def admin_token(slug: str) -> str:
    """The tenant's demo admin's API token, created in the database (no login round trip,
    so the token endpoint's throttle never gets in the way)."""
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context
    from rest_framework.authtoken.models import Token

    with schema_context(slug):
        user = get_user_model().objects.get(username=ADMIN_USER)
        token, _ = Token.objects.get_or_create(user=user)
        return str(token.key)


def seed_main(profile: Profile) -> tuple[bool, float]:
    """2 tenants x the profile's issues, changes, requests and applications (seed_demo).

    Skipped when both tenants hold at least that many issues (a rerun); a partial seed
    (an interrupted run) is dropped and redone.
    """
    from django_tenants.utils import schema_exists

    counts = {slug: tenant_issue_count(slug) if schema_exists(slug) else 0 for slug in MAIN_TENANTS}
    if all(n >= profile.issues for n in counts.values()):
        return False, 0.0
    for slug, n in counts.items():
        if 0 < n < profile.issues:
            raise SystemExit(
                f"tenant {slug} of the bench database has {n} issues, fewer than "
                f"{profile.issues}: drop the bench database "
                f"(dropdb {urlparse(profile.database_url).path[1:]}) and run again"
            )
    say(f"seeding 2 tenants x {profile.issues:,} issues (seed_demo; only on the first run)")
    started = time.perf_counter()
    manage(
        profile,
        "seed_demo",
        "--tenants",
        "2",
        "--issues",
        str(profile.issues),
        "--changes",
        str(profile.changes),
        "--requests",
        str(profile.requests),
        "--applications",
        str(profile.applications),
        "--if-empty",
    )
    return True, time.perf_counter() - started


def ensure_vacuumed(slug: str) -> None:
    """VACUUM ANALYZE a freshly seeded tenant's tables (once), so plans and index-only
    scans match a database that autovacuum has been looking after."""
    from django.db import connection

    from bench.generate import DATA_TABLES

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = %s "
            "AND coalesce(last_vacuum, last_autovacuum) IS NULL AND relname = ANY(%s)",
            [slug, list(DATA_TABLES)],
        )
        if cursor.fetchone()[0]:
            for table in DATA_TABLES:
                cursor.execute(f'VACUUM ANALYZE "{slug}".{table}')


def flush_bench_redis(profile: Profile) -> None:
    """Empty the bench's Redis database (never the dev server's db 0 or the tests' db 15)."""
    import redis

    parts = urlparse(profile.redis_url)
    db = int((parts.path or "/0").lstrip("/") or 0)
    if (parts.port or 6379) == 6379 and db in (0, 15):
        raise SystemExit(f"refusing to flush {profile.redis_url}: the dev or test database")
    redis.Redis.from_url(profile.redis_url, socket_timeout=5).flushdb()


def prepare(profile: Profile) -> Context:
    """Database, migrations, seed, tokens: everything a phase needs before it measures."""
    ensure_database(profile)
    setup_django(profile)
    ensure_migrated(profile, ["public"])
    from django_tenants.utils import schema_exists

    ensure_migrated(profile, [s for s in MAIN_TENANTS if schema_exists(s)])
    # Before seeding: keys an earlier run (--quick, another bench database) left in the
    # bench's Redis db would make the new tenants' slugs look taken (tenant_cache refuses a
    # key space still in use).
    flush_bench_redis(profile)
    seeded, seconds = seed_main(profile)
    for slug in MAIN_TENANTS:
        ensure_vacuumed(slug)
    flush_bench_redis(profile)
    tenants = {
        slug: TenantInfo(slug, f"{slug}.localhost", admin_token(slug), tenant_issue_count(slug))
        for slug in MAIN_TENANTS
    }
    say(
        "data ready: "
        + ", ".join(f"{t.slug} {t.issues:,} issues" for t in tenants.values())
        + (f" (seeded in {seconds:.0f}s)" if seeded else " (already seeded)")
    )
    return Context(profile, tenants, seed_seconds=round(seconds, 1), seeded_now=seeded)


def remove_bench_writes(ctx: Context) -> int:
    """Delete the issues the bench wrote (through the ORM, so caches are invalidated)."""
    from django_tenants.utils import schema_context

    from issues.models import Issue

    removed = 0
    for tenant in ctx.tenants.values():
        with schema_context(tenant.slug):
            removed += Issue.objects.filter(title__in=BENCH_WRITE_TITLES).delete()[0]
    return removed
