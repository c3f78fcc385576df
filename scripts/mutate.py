#!/usr/bin/env python
"""make mutate: break the cache, invalidation and security controls on purpose, one mutant
at a time, and check that the tests guarding each promise catch it.

Each mutant replaces one exact piece of source (much of it Lua inside Python strings, which
generic mutation tools cannot reach) in a private copy of the tree, then runs the tests
that guard that promise, stopping at the first failure. A mutant the tests do not kill is
a survivor: a promise that nothing guards. Prints a table, exits non-zero on a survivor
(or on a mutant whose source no longer matches: update it with the code).

    make mutate                          # every mutant
    .venv/bin/python scripts/mutate.py --only lock_never_expires --budget 900

A mutant's tests are files or single tests (path::name). The database is
MUTATE_DATABASE_URL's (default firelater_mutate on 127.0.0.1:5432), Redis is
MUTATE_REDIS_URL's (default db 9): a run of `make test` may be going on. A mutant marked
`pair` (the replica's lag guard) runs its tests on this checkout's own PostgreSQL primary and
hot standby instead (scripts/pg_pair.py, .data/pg, started if down; database
test_firelater_mutate there), since those tests pause and kill the standby; with CI=true
it stops the pair at the end, as make test does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    promise: str
    pair: bool = False  # its tests need the suite's primary and standby (see the docstring)


# The replica tests' one database-marked test: run alone, the others would find no test
# database (pytest-django creates it only for a test that asks for one).
REPLICA_SETUP = (
    "tests/cache/test_replica.py::"
    "test_the_replica_connection_is_the_standbys_copy_of_the_test_database"
)

MUTANTS = [
    Mutant(
        "breaker_no_cooldown",
        "tenant_cache/breaker.py",
        "self.open_until = time.monotonic() + self.cooldown",
        "self.open_until = time.monotonic()",
        ("tests/cache/test_breaker.py",),
        "a dead Redis costs nothing per call for CACHE_BREAKER_COOLDOWN seconds",
    ),
    Mutant(
        "deferred_record_noop",
        "tenant_cache/invalidation.py",
        "    from tenant_cache.models import DeferredCacheInvalidation\n\n"
        "    try:\n        DeferredCacheInvalidation.objects.create(",
        "    return\n    from tenant_cache.models import DeferredCacheInvalidation\n\n"
        "    try:\n        DeferredCacheInvalidation.objects.create(",
        ("tests/cache/test_deferred.py",),
        "a failed invalidation reaches the shared table every process replays",
    ),
    Mutant(
        "replay_skipped_on_recovery",
        "tenant_cache/invalidation.py",
        "        be.client.ping()\n        _replay_pending(be)\n",
        "        be.client.ping()\n",
        ("tests/cache/test_faults.py",),
        "no stale entry outlives a Redis outage",
    ),
    Mutant(
        "overview_forgets_sla_due_at",
        "dashboard/entries.py",
        'issues="status priority sla_due_at resolved_at",',
        'issues="status priority resolved_at",',
        ("tests/dashboard/test_field_lists.py",),
        "a write that changes only the SLA deadline refreshes the overdue counts",
    ),
    Mutant(
        "lock_never_expires",
        "tenant_cache/scripts.py",
        "if redis.call('SET', KEYS[4], lock_value, 'NX', 'PX', ARGV[3]) then",
        "if redis.call('SET', KEYS[4], lock_value, 'NX') then",
        ("tests/cache/test_lock_expiry.py", "tests/cache/test_races.py"),
        "a dead lock holder is replaced",
    ),
    Mutant(
        "lock_always_granted",
        "tenant_cache/scripts.py",
        "if redis.call('SET', KEYS[4], lock_value, 'NX', 'PX', ARGV[3]) then",
        "if redis.call('SET', KEYS[4], lock_value, 'PX', ARGV[3]) then",
        ("tests/cache/test_generations.py", "tests/cache/test_races.py"),
        "concurrent misses compute once",
    ),
    Mutant(
        "values_of_another_server_served",
        "tenant_cache/scripts.py",
        "  if h[1] and h[5] ~= epoch() then return {} end  -- stored by another server: a miss\n",
        "",
        ("tests/cache/test_failover.py",),
        "after a Redis failover no value older than an acknowledged invalidation is served",
    ),
    Mutant(
        "store_on_another_server_than_the_lease",
        "tenant_cache/scripts.py",
        "  if epoch() == ARGV[11] and (not existing or tonumber(existing) < g) then",
        "  if not existing or tonumber(existing) < g then",
        ("tests/cache/test_failover.py",),
        "a reader leased on the old master stores nothing on the new one",
    ),
    Mutant(
        "store_ignores_generation",
        "tenant_cache/scripts.py",
        "if current == g then stored = 1 elseif",
        "if true then stored = 1 elseif",
        ("tests/cache/test_generations.py", "tests/cache/test_races.py"),
        "a reader that fetched before a write cannot store its stale value",
    ),
    Mutant(
        "invalidation_keeps_the_generation",
        "tenant_cache/scripts.py",
        "  local gen = redis.call('INCR', KEYS[i])\n",
        "  local gen = tonumber(redis.call('GET', KEYS[i]) or '0')\n",
        ("tests/cache/test_generations.py", "tests/cache/test_races.py"),
        "a reader that fetched before a write cannot store its stale value",
    ),
    Mutant(
        "invalidation_drops_no_values",
        "tenant_cache/scripts.py",
        "      affected = affected + redis.call('UNLINK', unpack(members, j, math.min(j + 999, "
        "#members)))\n    end\n    redis.call('DEL', KEYS[i + 1])",
        "    end\n    redis.call('DEL', KEYS[i + 1])",
        ("tests/cache/test_get_or_set.py", "tests/dashboard/test_invalidation.py"),
        "a committed write is visible on the next read",
    ),
    Mutant(
        "stale_served_past_the_bound",
        "tenant_cache/scripts.py",
        "  if max_stale_ms <= 0 or now - tonumber(h[3]) >= max_stale_ms then return 0 end",
        "  if max_stale_ms <= 0 then return 0 end",
        ("tests/cache/test_freshness.py",),
        "nobody is served a value more than CACHE_MAX_STALE after a write",
    ),
    Mutant(
        "writer_served_a_value_older_than_its_write",
        "tenant_cache/scripts.py",
        "  if need and tonumber(need) > tonumber(h[2]) then return 0 end\n",
        "",
        ("tests/cache/test_freshness.py",),
        "the writer reads its own write on its next read",
    ),
    Mutant(
        "late_values_dropped",
        "tenant_cache/scripts.py",
        "elseif tonumber(ARGV[6]) > 0 then stored = 2 end",
        "end",
        ("tests/cache/test_freshness.py",),
        "under continuous writes values are still stored (no livelock)",
    ),
    Mutant(
        "writer_waits_behind_an_older_computation",
        "tenant_cache/scripts.py",
        "if need and tonumber(need) > holder_gen then "
        "return {0, gen, 2, now, '', lsn, epoch()} end",
        "",
        ("tests/cache/test_freshness.py",),
        "the writer does not wait for a computation that lacks its write",
    ),
    Mutant(
        "refresh_ahead_never_scheduled",
        "tenant_cache/refresh.py",
        "            _due.setdefault((tenant, entry_id), due)",
        "            pass",
        ("tests/cache/test_freshness.py",),
        "recently read values are recomputed in the background after a write",
    ),
    Mutant(
        "if_none_match_ignored",
        "dashboard/views.py",
        'if _matches(request.headers.get("If-None-Match", ""), etag):',
        "if False:",
        ("tests/dashboard/test_conditional_get.py",),
        "a client holding the current value gets a 304 without a body",
    ),
    Mutant(
        "token_cache_key_without_tenant",
        "firelater/authentication.py",
        "cache_key = (schema, key)",
        'cache_key = ("", key)',
        ("tests/test_auth.py",),
        "a token of one tenant never authenticates on another",
    ),
    Mutant(
        "value_key_without_tenant",
        "tenant_cache/keys.py",
        'return f"{KEY_PREFIX}:{{{tenant}}}:"',
        'return f"{KEY_PREFIX}:{{shared}}:"',
        ("tests/cache/test_keys.py", "tests/cache/test_get_or_set.py"),
        "no entry of one tenant is read by another",
    ),
    Mutant(
        "rolled_back_write_invalidates",
        "tenant_cache/receivers.py",
        "    transaction.on_commit(callback, robust=True)",
        "    callback()",
        ("tests/dashboard/test_invalidation.py",),
        "a rolled-back write invalidates nothing (and invalidation waits for the commit)",
    ),
    Mutant(
        "bulk_update_unannounced",
        "firelater/tracking.py",
        "        if count:\n            self._announce(kwargs)",
        "        pass",
        ("tests/dashboard/test_invalidation.py", "tests/dashboard/test_field_lists.py"),
        "QuerySet.update invalidates like a save",
    ),
    Mutant(
        "save_ignores_changed_fields",
        "tenant_cache/receivers.py",
        '    remember = getattr(instance, "remember_saved_values", None)\n'
        "    if remember is not None:\n        remember()",
        "    pass",
        ("tests/dashboard/test_invalidation.py",),
        "a second save of one instance is compared with the first, not the load",
    ),
    Mutant(
        "draft_changes_scheduled_this_week",
        "dashboard/selectors.py",
        '"change_inactive": [Change.Status.DRAFT.value, *_status_list(Change.INACTIVE_STATUSES)],',
        '"change_inactive": [*_status_list(Change.INACTIVE_STATUSES)],',
        ("tests/dashboard/test_overview_edges.py", "tests/dashboard/test_numbers.py"),
        "scheduled this week counts only changes that will happen",
    ),
    # The dashboard's rest (#14): a field list, the change workflow, a recount.
    Mutant(
        "sla_field_list_without_resolved_at",
        "dashboard/entries.py",
        'fields=_fields(issues="priority created_at sla_due_at resolved_at"),',
        'fields=_fields(issues="priority created_at sla_due_at"),',
        ("tests/dashboard/test_field_lists.py",),
        "resolving an issue refreshes SLA compliance",
    ),
    Mutant(
        "workflow_allows_every_transition",
        "changes/workflow.py",
        "    if old != new and new not in allowed_next(old):",
        "    if False:",
        ("tests/test_change_workflow.py",),
        "a change's status follows the workflow (409 through the API)",
    ),
    Mutant(
        "closed_changes_upcoming",
        "changes/models.py",
        "        ChangeStatus.CANCELLED,\n        ChangeStatus.CLOSED,\n    )",
        "        ChangeStatus.CANCELLED,\n    )",
        ("tests/test_change_workflow.py",),
        "rejected, cancelled and closed changes are not upcoming",
    ),
    Mutant(
        "success_rate_counts_success",
        "dashboard/selectors.py",
        "sum(n) FILTER (WHERE outcome = 'successful') AS successful",
        "sum(n) FILTER (WHERE outcome = 'success') AS successful",
        ("tests/dashboard/test_new_entries.py",),
        "the change success rate counts the outcome the app writes (the original's bug)",
    ),
    # Security (#16): lockout, revocation, the tenant purge on deactivation.
    Mutant(
        "lockout_backend_never_locks",
        "firelater/lockout.py",
        "        if request is None:\n            return None\n",
        "        return None\n",
        ("tests/security/test_lockout.py",),
        "password guessing is locked out on every login path",
    ),
    Mutant(
        "token_cache_ignores_the_revocation_epoch",
        "firelater/authentication.py",
        "and cached[3] == epoch:",
        ":",
        ("tests/test_revocation.py",),
        "a revoked token is refused once its tenant's epoch moved, in every process",
    ),
    Mutant(
        "host_cache_ignores_the_routing_epoch",
        "tenants/middleware.py",
        "and cached[2] == epoch:",
        ":",
        ("tests/test_revocation.py",),
        "a deactivated tenant's hosts stop routing once the routing epoch moved",
    ),
    Mutant(
        "listener_keeps_caches_across_reconnects",
        "firelater/revocation.py",
        "        # Listening from now on; anything cached before may have missed a notification.\n"
        "        bump_all()\n",
        "",
        ("tests/test_revocation.py",),
        "what was cached while the listener was away is dropped when it reconnects",
    ),
    Mutant(
        "password_change_keeps_tokens",
        "firelater/authentication.py",
        "        Token.objects.filter(user=instance).delete()",
        "        pass",
        ("tests/test_revocation.py",),
        "a changed password ends the user's tokens",
    ),
    Mutant(
        "deactivation_purges_nothing",
        "tenant_cache/receivers.py",
        '    if fields is None or "is_active" in fields:\n'
        "        transaction.on_commit(partial(purge_tenant, schema), robust=True)",
        "    pass",
        ("tests/test_tenant_deactivation.py",),
        "a deactivated tenant's keys and deferred invalidations are purged",
    ),
    Mutant(
        "bulk_deactivation_skips_save",
        "tenants/models.py",
        '        if "is_active" not in kwargs:\n            return super().update(**kwargs)',
        "        return super().update(**kwargs)",
        ("tests/test_tenant_deactivation.py",),
        "QuerySet.update(is_active=False) purges like a save",
    ),
    Mutant(
        "reads_need_no_view_permission",
        "firelater/permissions.py",
        '"GET": ["%(app_label)s.view_%(model_name)s"],',
        '"GET": [],',
        ("tests/security/test_roles.py",),
        "a role reads only the models it has the view permission of (#19)",
    ),
    Mutant(
        "dashboard_for_every_role",
        "dashboard/views.py",
        'required_permissions = ("dashboard.view_dashboard",)',
        "required_permissions = ()",
        ("tests/test_roles.py",),
        "a requester gets 403 from the dashboard and never a cache entry (#19)",
    ),
    Mutant(
        "requesters_see_every_issue",
        "issues/selectors.py",
        "return issues.filter(reporter=user)",
        "return issues",
        ("tests/test_roles.py",),
        "a requester sees only the issues they reported (#19)",
    ),
    Mutant(
        "anyone_approves_changes",
        "changes/approval.py",
        "if reason is None or user.has_perm(APPROVE_PERMISSION):",
        "if True:",
        ("tests/test_roles.py",),
        "only change managers approve, reject and schedule changes (#19)",
    ),
    Mutant(
        "tokens_never_expire",
        "firelater/authentication.py",
        "if token_expired(token):",
        "if False:",
        ("tests/test_tokens.py",),
        "a token stops working TOKEN_TTL after it was issued (#19)",
    ),
    Mutant(
        "role_changes_keep_cached_permissions",
        "firelater/authentication.py",
        "        m2m_changed.connect(\n            forget_cached_tokens,",
        "        m2m_changed.connect(\n            lambda **kwargs: None,",
        ("tests/test_tokens.py",),
        "a role or permission change applies at once in the process that made it (#19)",
    ),
    # The dashboard's summaries (#13): exact after every write, and as time passes.
    Mutant(
        "summary_update_forgets_the_old_rows",
        "firelater/aggregates.py",
        '"UPDATE": [summary.projection("new_rows", "1"), summary.projection("old_rows", "-1")],',
        '"UPDATE": [summary.projection("new_rows", "1")],',
        ("tests/dashboard/test_aggregates.py",),
        "an update moves a record between summary groups, never adds one",
    ),
    Mutant(
        "overdue_ignores_the_current_quarter_hour",
        "dashboard/selectors.py",
        "          AND sla_due_at >= %(now)s AND sla_due_at < %(next_quarter)s)",
        "          AND false)",
        ("tests/dashboard/test_aggregates.py",),
        "an SLA passing inside the current quarter hour is overdue from that second",
    ),
    # The replica's lag guard (#15): a recomputation on the standby never stores a value
    # older than the invalidation it follows; a list never hides the reader's own write.
    Mutant(
        "recomputation_on_a_standby_that_lacks_the_write",
        "tenant_cache/replica.py",
        "    if not reached:\n        breaker.lagged()",
        "    if False:\n        breaker.lagged()",
        (
            REPLICA_SETUP,
            "tests/cache/test_replica.py::"
            "test_a_standby_that_lacks_the_write_never_has_its_figures_stored",
        ),
        "a recomputation runs on the standby only once it has replayed the write it follows",
        pair=True,
    ),
    Mutant(
        "epoch_without_replication_id",
        "tenant_cache/scripts.py",
        "server_epoch = string.sub(run_id, 1, 20) .. string.sub(replid, 1, 20)",
        "server_epoch = string.sub(run_id, 1, 20) .. string.sub(run_id, 21, 40)",
        (
            "tests/cache/test_failover.py::"
            "test_an_old_master_promoted_again_does_not_take_its_former_values_for_its_own",
        ),
        "a master promoted again (same run_id) does not take its former values for its own",
    ),
    Mutant(
        "hung_standby_waited_for",
        "tenant_cache/replica.py",
        "    timer.daemon = True\n    timer.start()\n",
        "    timer.daemon = True\n",
        (
            REPLICA_SETUP,
            "tests/cache/test_replica.py::"
            "test_a_hung_standby_costs_a_bounded_wait_then_the_primary_answers",
        ),
        "a hung standby costs at most CACHE_REPLICA_TIMEOUT, then the primary answers",
        pair=True,
    ),
    Mutant(
        "wal_position_of_another_master_trusted",
        "tenant_cache/scripts.py",
        "  if origin ~= epoch() then return nil end\n  return lsn",
        "  return lsn",
        (
            REPLICA_SETUP,
            "tests/cache/test_replica.py::"
            "test_a_position_another_redis_master_recorded_counts_as_none",
            "tests/cache/test_replica.py::"
            "test_a_writers_position_another_master_recorded_keeps_the_standby_from_them",
        ),
        "a WAL position recorded by another Redis master (before a failover) counts as none",
        pair=True,
    ),
    Mutant(
        "invalidation_keeps_the_lowest_wal_position",
        "tenant_cache/scripts.py",
        "  if own and tonumber(own) >= tonumber(lsn) then return end",
        "  if own and tonumber(own) <= tonumber(lsn) then return end",
        (
            REPLICA_SETUP,
            "tests/cache/test_replica.py::"
            "test_the_latest_of_two_writes_is_the_position_the_standby_must_reach",
        ),
        "an entry's recorded WAL position is that of its latest invalidation (the highest)",
        pair=True,
    ),
    Mutant(
        "lost_wal_position_requires_nothing",
        "tenant_cache/replica.py",
        "required = recorded_lsn if recorded_lsn is not None else primary_lsn()",
        "required = recorded_lsn if recorded_lsn is not None else 0",
        (
            REPLICA_SETUP,
            "tests/cache/test_replica.py::"
            "test_a_lost_wal_position_requires_the_primarys_current_one",
        ),
        "with no recorded WAL position the standby must have replayed the primary's current one",
        pair=True,
    ),
    Mutant(
        "list_on_a_standby_that_lacks_the_readers_write",
        "tenant_cache/replica.py",
        "    if own is not None and replayed < own:\n        return False",
        "    if False:\n        return False",
        (
            REPLICA_SETUP,
            "tests/cache/test_replica.py::"
            "test_lists_read_the_standby_but_a_writer_always_sees_their_own_write",
        ),
        "a list read on the standby always shows the reader's own latest write",
        pair=True,
    ),
]


def _copy_tree(target: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _pair_env(env: dict[str, str]) -> dict[str, str]:
    """`env` on this checkout's pair (started if down), for the copy's tests and their
    pg_pair fixture (PG_PAIR_ROOT: the copy's scripts/pg_pair.py finds this checkout's)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from scripts.pg_pair import ensure_pair

    pair = ensure_pair("pg", ROOT)
    database = "firelater_mutate"  # pytest-django's test_firelater_mutate, not make test's
    if not pair.primary.query("SELECT 1 FROM pg_database WHERE datname = %s", (database,)):
        with pair.primary.connect() as conn:
            conn.execute(f"CREATE DATABASE {database}")
    return {
        **env,
        "PG_PAIR_ROOT": str(ROOT),
        "DATABASE_URL": pair.primary_url(database),
        "DATABASE_REPLICA_URL": pair.standby_url(database),
    }


def _run(mutant: Mutant, copy: Path, env: dict[str, str], timeout: float) -> tuple[str, str]:
    path = copy / mutant.path
    original = path.read_text()
    if original.count(mutant.old) != 1:
        return "BROKEN", f"the source to mutate is not in {mutant.path} exactly once"
    path.write_text(original.replace(mutant.old, mutant.new))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "--reuse-db", *mutant.tests],
            cwd=copy, env=env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "KILLED", "the guarding tests hung past the budget"
    finally:
        path.write_text(original)
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    if result.returncode == 0:
        return "SURVIVED", result.stdout.strip().splitlines()[-1] if result.stdout else ""
    return "KILLED", failed[0].removeprefix("FAILED ") if failed else result.stdout[-200:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="Run only this mutant (repeatable).")
    parser.add_argument("--budget", type=float, default=900, help="Seconds for the whole run.")
    options = parser.parse_args()
    chosen = [m for m in MUTANTS if not options.only or m.name in options.only]
    env = {
        **os.environ,
        # Its own database and Redis db: a run of `make test` may be going on.
        "DATABASE_URL": os.environ.get(
            "MUTATE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/firelater_mutate"
        ),
        "REDIS_URL": os.environ.get("MUTATE_REDIS_URL", "redis://127.0.0.1:6379/9"),
    }
    env.pop("DATABASE_REPLICA_URL", None)  # a replica only with the pair (below)
    pair_env = _pair_env(env) if any(m.pair for m in chosen) else env
    deadline = time.monotonic() + options.budget
    rows: list[tuple[str, str, float, str]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="firelater-mutants-") as folder:
            copy = Path(folder)
            _copy_tree(copy)
            for mutant in chosen:
                left = deadline - time.monotonic()
                if left <= 0:
                    rows.append((mutant.name, "NOT RUN", 0.0, "the time budget ran out"))
                    continue
                started = time.monotonic()
                verdict, detail = _run(mutant, copy, pair_env if mutant.pair else env, left)
                rows.append((mutant.name, verdict, time.monotonic() - started, detail))
                print(f"{mutant.name:36s} {verdict:8s} {rows[-1][2]:6.1f}s  {detail}", flush=True)
    finally:
        if pair_env is not env:
            from scripts.pg_pair import Pair, stops_after_tests

            if stops_after_tests():  # CI=true: as after make test, no postmaster is left
                Pair("pg", ROOT).stop()
    bad = [row for row in rows if row[1] != "KILLED"]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} mutants killed.")
    for name, verdict, _seconds, _detail in bad:
        mutant = next(m for m in MUTANTS if m.name == name)
        print(f"{verdict}: {name}: nothing guards '{mutant.promise}'")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
