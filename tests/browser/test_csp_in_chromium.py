"""Content-Security-Policy in a real browser: every page of FireLater and of the packages
it serves (the admin, the browsable API, Swagger UI, Redoc) works under the policy and
makes chromium report no violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import csp_violations_seen_by, new_watched_context, watch_csp
from tests.browser.login import log_in
from tests.support.required import require_module

expect = require_module("playwright.sync_api").expect

pytestmark = pytest.mark.slow

# path, and what shows that the page really works (its scripts ran, its styles applied)
LOGGED_IN_PAGES = [
    ("/", "#trend-svg polyline"),
    ("/admin/", "#content-main"),
    ("/admin/issues/issue/", "#result_list"),
    ("/admin/issues/issue/add/", "#issue_form .vDateField"),
    ("/admin/axes/accessattempt/", "#changelist"),
    ("/admin/cache/", "main, #content"),
    ("/api/v1/", ".response-info"),
    ("/api/v1/issues/", ".response-info"),
    ("/api/v1/dashboard/overview/", ".response-info"),
    ("/api/docs/", ".swagger-ui .opblock"),
    ("/api/redoc/", "[role=navigation] li, .menu-content li"),
]


def _visit(page: Any, url: str, ready: str) -> list[str]:
    console = watch_csp(page)
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, (url, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.locator(ready).first.wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    return [*console, *csp_violations_seen_by(page)]


@pytest.mark.parametrize(("path", "ready"), LOGGED_IN_PAGES, ids=[p for p, _ in LOGGED_IN_PAGES])
def test_a_logged_in_page_works_under_the_policy_without_a_violation(page, path, ready):
    assert _visit(page, path, ready) == []


def test_the_admin_date_picker_opens_under_the_policy(page):
    page.goto("/admin/issues/issue/add/")

    page.locator(".datetimeshortcuts a", has_text="Today").first.click()

    assert page.locator("#id_sla_due_at_0, input.vDateField").first.input_value()
    assert csp_violations_seen_by(page) == []


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/login/", "form"), ("/admin/login/", "#login-form"), ("/api-auth/login/", "form")],
)
def test_a_login_page_works_under_the_policy_without_a_violation(browser, live_url, path, ready):
    context = new_watched_context(browser, base_url=live_url)
    try:
        assert _visit(context.new_page(), path, ready) == []
    finally:
        context.close()


def test_the_platform_admins_login_works_under_the_policy(browser, live_url):
    platform = live_url.replace("browser.localhost", "localhost")
    context = new_watched_context(browser)
    try:
        assert _visit(context.new_page(), f"{platform}/admin/login/", "#login-form") == []
    finally:
        context.close()


@pytest.mark.django_db
def test_the_browser_pages_send_the_policy_header(browser_tenant):
    """Also what makes `pytest` of this module alone create the test database."""
    from django.test import Client

    response = Client(HTTP_HOST="browser.localhost").get("/login/")

    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_the_browsable_apis_log_out_works_without_its_inline_onclick(browser, live_url):
    context = new_watched_context(browser, base_url=live_url)
    page = context.new_page()
    violations = watch_csp(page)
    try:
        log_in(page, live_url)  # a session of its own: logging out ends it
        page.goto("/api/v1/")

        page.get_by_role("button", name="Log out").click()

        page.wait_for_load_state("networkidle")
        assert page.goto("/api/v1/issues/").status == 401
        assert [*violations, *csp_violations_seen_by(page)] == []
    finally:
        context.close()
