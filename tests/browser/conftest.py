"""Browser test fixtures: a tenant of their own, a live server, chromium through playwright.

Why not pytest-django's live_server: it forces transactional_db, whose teardown flushes
the public schema's tables, the tenants table included, and so would remove the session's
acme and globex for every later test. Instead this module's tenant ("browser") gets real,
committed data and is dropped (schema and row) at the end; acme and globex are untouched.

Playwright's sync API keeps an asyncio loop running in the test's thread, where Django
refuses database calls; database work here therefore runs in a short-lived worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection, connections
from django.test.testcases import QuietWSGIRequestHandler
from django_tenants.utils import tenant_context

from tenant_cache import invalidate_tenant
from tenant_cache.stats import reset_tenant_stats
from tenants.middleware import flush_tenant_lookup_cache
from tenants.models import Tenant
from tenants.services import tenant_setup
from tests.browser.login import PASSWORD, USERNAME, log_in
from tests.pages.figures import build_small_world
from tests.support.required import require_binary, require_module

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SLUG = "browser"

T = TypeVar("T")


def in_worker_thread(function: Callable[..., T], *args: Any) -> T:
    """Run database work outside the thread that runs playwright's event loop."""

    def call() -> T:
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def _drop_tenant() -> None:
    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is not None:
        tenant.delete(force_drop=True)  # the schema too: nothing is left behind
        invalidate_tenant(SLUG)
        reset_tenant_stats(SLUG)
    flush_tenant_lookup_cache()


def _create_tenant() -> dict[str, Any]:
    _drop_tenant()  # a run that was killed half-way may have left it
    setup = tenant_setup(
        slug=SLUG,
        name="Browser Test Co",
        domain=f"{SLUG}.localhost",
        admin_username=USERNAME,
        admin_password=PASSWORD,
    )
    with tenant_context(setup.tenant):
        admin = get_user_model().objects.get(username=USERNAME)
        build_small_world(reporter=admin)  # committed: the live server sees it
    connection.set_schema_to_public()
    return {"admin_id": admin.pk}


@pytest.fixture(scope="module")
def browser_tenant(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The "browser" tenant with a small world of committed records; dropped afterwards.

    The database stays unblocked for the whole module: the live server's threads query it.
    """
    require_binary(str(CHROMIUM), "chromium")
    with django_db_blocker.unblock():
        info = in_worker_thread(_create_tenant)
        try:
            yield info
        finally:
            in_worker_thread(_drop_tenant)


@pytest.fixture(scope="module")
def live_url(browser_tenant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The browser tenant's base URL on a live WSGI server (the real app: WhiteNoise
    serves the static files, DEBUG is off as in production)."""
    server = ThreadedWSGIServer(
        ("127.0.0.1", 0), QuietWSGIRequestHandler, allow_reuse_address=False
    )
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{SLUG}.localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(live_url):  # type: ignore[no-untyped-def]
    """Debian's chromium, headless (playwright's own browser download is not used)."""
    sync_api = require_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def session_state(browser, live_url) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Cookies of a logged-in session, so each test starts logged in without the form."""
    context = browser.new_context()
    log_in(context.new_page(), live_url)
    state = context.storage_state()
    context.close()
    return state


# Every page of the context reports what its Content-Security-Policy blocked: the event
# (the blocked directive and URL) and chromium's console line, whichever comes.
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__cspViolations.push(
        `${event.violatedDirective} blocked ${event.blockedURI}`
        + ` (${event.sourceFile}:${event.lineNumber})`
    );
});
"""


def watch_csp(page: Any) -> list[str]:
    """A list that fills with every CSP violation the page reports on the console."""
    violations: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    return violations


def csp_violations_seen_by(page: Any) -> list[str]:
    """The violations the current document's securitypolicyviolation listener recorded."""
    return list(page.evaluate("window.__cspViolations || []"))


def new_watched_context(browser: Any, **options: Any) -> Any:
    context = browser.new_context(**options)
    context.add_init_script(_RECORD_CSP_VIOLATIONS)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser, live_url, session_state):  # type: ignore[no-untyped-def]
    """A logged-in desktop page of its own (fresh context); any uncaught script error, and
    anything the Content-Security-Policy blocked, fails the test."""
    context = new_watched_context(
        browser,
        storage_state=session_state,
        viewport={"width": 1280, "height": 900},
        base_url=live_url,
    )
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    violations = watch_csp(page)
    yield page
    context.close()
    assert not script_errors, f"uncaught errors in the page's script: {script_errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"
