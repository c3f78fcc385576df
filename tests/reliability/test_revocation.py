"""Revocation reaches every worker of a real gunicorn within 1 s (issue #16).

Three sync workers keep token -> user and host -> tenant answers for 600 s. Each case warms
every worker with a token (X-Worker-Pid tells them apart), revokes it in this process (a
committed write: save, QuerySet.update or raw SQL), waits the 1 s the issue allows, then
asks until every worker has answered: each must refuse. The same case against workers
without the revocation listener shows every one of them still accepting the revoked
token (their caches are warm), and that the TTL still ends it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, connections
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from firelater import roles
from firelater.factories import UserFactory
from firelater.revocation import APPLICATION_NAME
from tenants.models import Tenant
from tenants.services import tenant_setup
from tests.support.live import serve_project
from tests.support.processes import wait_until

# django_db: so that pytest-django creates the test database; the writes themselves run
# in their own thread, outside the test's transaction, and commit (see `committed`).
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

WORKERS = 3
REVOCATION_BOUND = 1.0  # seconds: the issue's "on every worker within 1 s"
ISSUES = "/api/v1/issues/?page_size=1"
PASSWORD = "revocation-pass-123"  # test-only


@dataclass
class Account:
    tenant: Any
    username: str
    token: str

    @property
    def host(self) -> str:
        return f"{self.tenant.slug}.localhost"


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """Run a function on a database connection of its own (a thread's), outside any test
    transaction: what it writes is committed, as another client's write would be."""

    def run(function: Callable[..., Any], *args: Any) -> Any:
        def call() -> Any:
            try:
                return function(*args)
            finally:
                connections.close_all()  # this thread's connections only

        with django_db_blocker.unblock(), ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(call).result()

    return run


@pytest.fixture(scope="module")
def tenants(committed) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    slugs = ("revoka", "revokb")

    def create() -> dict[str, Any]:
        assert connection.settings_dict["NAME"].startswith("test_"), "never the real database"
        return {
            slug: tenant_setup(slug=slug, name=slug, domain=f"{slug}.localhost").tenant
            for slug in slugs
        }

    def drop() -> None:
        for tenant in Tenant.objects.filter(slug__in=slugs):
            tenant.delete(force_drop=True)

    committed(drop)  # a killed run may have left them
    created = committed(create)
    try:
        yield created
    finally:
        committed(drop)


def _new_account(tenant: Any, role: str = roles.AGENT) -> Account:
    username = f"user-{secrets.token_hex(4)}"
    with tenant_context(tenant):
        UserFactory(username=username, password=PASSWORD, roles=[role])
        token = Token.objects.create(user=get_user_model().objects.get(username=username))
    return Account(tenant, username, token.key)


def _redis_url() -> str:
    """The suite's own Redis database (the paths asked here cache nothing in it)."""
    return str(settings.CACHES["default"]["LOCATION"])


def _listeners_connected() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
            [APPLICATION_NAME, connection.settings_dict["NAME"]],
        )
        return int(cursor.fetchone()[0])


class Workers:
    """Asks a server until every worker has answered (bounded), concurrently so that no
    single worker takes every request."""

    def __init__(self, base: str) -> None:
        self.base = base

    def ask(self, account: Account, path: str = ISSUES) -> dict[str, set[int]]:
        """Status codes by worker pid, once each of the WORKERS workers has answered."""
        seen: dict[str, set[int]] = {}

        def one(_: int) -> tuple[str, int]:
            response = requests.get(
                self.base + path,
                headers={"Host": account.host, "Authorization": f"Token {account.token}"},
                timeout=10,
            )
            return response.headers["X-Worker-Pid"], response.status_code

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for _ in range(100):  # rounds; each worker answers within a few in practice
                for pid, status in pool.map(one, range(WORKERS * 2)):
                    seen.setdefault(pid, set()).add(status)
                if len(seen) == WORKERS:
                    return seen
        raise AssertionError(f"only {len(seen)} of {WORKERS} workers answered: {seen}")

    def warm(self, account: Account) -> None:
        answers = self.ask(account)
        assert all(statuses == {200} for statuses in answers.values()), answers


@pytest.fixture(scope="module")
def server(tenants, committed) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    with serve_project(
        _redis_url(),
        workers=WORKERS,
        threads=1,
        app="tests.support.worker_wsgi",
        AUTH_TOKEN_CACHE_TTL="600",
        TENANT_LOOKUP_TTL="600",
    ) as base:
        workers = Workers(base)
        # Every worker's listener is connected before any answer is cached (a listener
        # connecting later would drop the answers itself and prove nothing).
        workers.ask(Account(tenants["revoka"], "-", "no-such-token"))
        assert wait_until(lambda: committed(_listeners_connected) == WORKERS, 30)
        yield workers


def _delete_token(account: Account) -> None:
    with tenant_context(account.tenant):
        Token.objects.get(key=account.token).delete()


def _update_token_key(account: Account) -> None:
    with tenant_context(account.tenant):
        Token.objects.filter(key=account.token).update(key=secrets.token_hex(20))


def _deactivate_user(account: Account) -> None:
    with tenant_context(account.tenant):
        user = get_user_model().objects.get(username=account.username)
        user.is_active = False
        user.save()


def _deactivate_user_by_queryset_update(account: Account) -> None:
    with tenant_context(account.tenant):
        get_user_model().objects.filter(username=account.username).update(is_active=False)


def _deactivate_user_by_raw_sql(account: Account) -> None:
    with tenant_context(account.tenant), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE auth_user SET is_active = false WHERE username = %s", [account.username]
        )


def _delete_user(account: Account) -> None:
    with tenant_context(account.tenant):
        get_user_model().objects.get(username=account.username).delete()


def _change_password(account: Account) -> None:
    with tenant_context(account.tenant):
        user = get_user_model().objects.get(username=account.username)
        user.set_password("a-new-password-456")
        user.save()


def _remove_role(account: Account) -> None:
    with tenant_context(account.tenant):
        user = get_user_model().objects.get(username=account.username)
        roles.user_roles_set(user=user, roles=[roles.REQUESTER])  # agent -> requester


def _remove_role_by_raw_sql(account: Account) -> None:
    with tenant_context(account.tenant), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM auth_user_groups WHERE user_id ="
            " (SELECT id FROM auth_user WHERE username = %s)",
            [account.username],
        )


REVOCATIONS = [
    _remove_role,
    _remove_role_by_raw_sql,
    _delete_token,
    _update_token_key,
    _deactivate_user,
    _deactivate_user_by_queryset_update,
    _deactivate_user_by_raw_sql,
    _delete_user,
    _change_password,
]


@pytest.mark.parametrize("revoke", REVOCATIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_revoked_token_is_refused_by_every_worker_within_one_second(
    server, tenants, committed, revoke
):
    account = committed(_new_account, tenants["revoka"])
    server.warm(account)  # every worker now holds this token's user in its cache

    committed(revoke, account)
    time.sleep(REVOCATION_BOUND)
    answers = server.ask(account)

    assert answers == {pid: {401} for pid in answers}


def _take_view_issue_from_the_role(tenant: Any, group_name: str) -> None:
    with tenant_context(tenant):
        Group.objects.get(name=group_name).permissions.remove(
            Permission.objects.get(codename="view_issue", content_type__app_label="issues")
        )


def test_a_permission_taken_from_a_role_is_refused_by_every_worker_within_one_second(
    server, tenants, committed
):
    """The workers keep each user's permissions with the cached token: a change to a role's
    permissions (no token revoked) must reach them all as fast as a revocation."""
    tenant = tenants["revoka"]
    group_name = f"scratch-{secrets.token_hex(4)}"

    def account_in_a_scratch_role() -> Account:
        with tenant_context(tenant):
            group = Group.objects.create(name=group_name)
            group.permissions.set(Group.objects.get(name=roles.AGENT).permissions.all())
            user = UserFactory(password=PASSWORD)
            user.groups.set([group])
            return Account(tenant, user.username, Token.objects.create(user=user).key)

    account = committed(account_in_a_scratch_role)
    server.warm(account)

    committed(_take_view_issue_from_the_role, tenant, group_name)
    time.sleep(REVOCATION_BOUND)
    answers = server.ask(account)

    assert answers == {pid: {403} for pid in answers}


def _set_tenant_active(tenant: Any, active: bool) -> None:
    tenant = Tenant.objects.get(pk=tenant.pk)
    tenant.is_active = active
    tenant.save()


def _set_tenant_active_by_queryset_update(tenant: Any, active: bool) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(is_active=active)


@pytest.mark.parametrize(
    "set_active",
    [_set_tenant_active, _set_tenant_active_by_queryset_update],
    ids=["save", "queryset_update"],
)
def test_a_deactivated_tenant_is_unknown_to_every_worker_within_one_second_and_back_after(
    server, tenants, committed, set_active
):
    tenant = tenants["revokb"]
    account = committed(_new_account, tenant)
    server.warm(account)  # the host's route and the token are cached by every worker

    committed(set_active, tenant, False)
    time.sleep(REVOCATION_BOUND)
    gone = server.ask(account)
    committed(set_active, tenant, True)
    time.sleep(REVOCATION_BOUND)
    back = server.ask(account)

    assert gone == {pid: {404} for pid in gone}
    assert back == {pid: {200} for pid in back}


def test_without_the_listener_every_worker_keeps_a_revoked_token_until_its_ttl(tenants, committed):
    """The control: the caches above are really warm, and the TTL is the fallback."""
    ttl = 8.0
    with serve_project(
        _redis_url(),
        workers=WORKERS,
        threads=1,
        app="tests.support.worker_wsgi",
        AUTH_TOKEN_CACHE_TTL=str(ttl),
        AUTH_REVOCATION_LISTENER="0",
    ) as base:
        workers = Workers(base)
        account = committed(_new_account, tenants["revoka"])
        warming = time.monotonic()
        workers.warm(account)
        warmed = time.monotonic()

        committed(_delete_token, account)
        time.sleep(REVOCATION_BOUND)
        stale = workers.ask(account)
        asked_stale = time.monotonic()
        time.sleep(max(0.0, ttl - (time.monotonic() - warmed)) + 0.2)  # every answer expired
        expired = workers.ask(account)

    # A precondition, not the behaviour: the stale answers were asked for within the TTL.
    assert asked_stale - warming < ttl, "the machine was too slow to observe the stale window"
    assert stale == {pid: {200} for pid in stale}
    assert expired == {pid: {401} for pid in expired}
