"""The server-rendered dashboard: its numbers are the API's, read through the same cache."""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError

from dashboard import pages
from tests.pages.figures import API_PATHS, figures_from_api, figures_in_html


def _api_getter(api):  # type: ignore[no-untyped-def]
    def get(path: str):  # type: ignore[no-untyped-def]
        response = api.get(f"/api/v1/dashboard/{path}")
        assert response.status_code == 200, response.content[:300]
        return response.json()

    return get


def _cache_entries(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(part.split("=") for part in response["X-Cache-Entries"].split(", "))


def test_every_number_on_the_page_is_the_apis(acme_browser, acme_api, small_world):
    html = acme_browser.get("/").content.decode()

    on_page = figures_in_html(html)
    from_api = figures_from_api(_api_getter(acme_api))
    assert len(on_page) >= 40
    assert on_page == {path: from_api[path] for path in on_page}
    # The small world is not all zeros: the comparison above checks real figures.
    assert on_page["overview.issues.open"] == 4
    assert on_page["overview.issues.critical"] == 2
    assert on_page["health.tiers.3.critical"] == 1
    assert on_page["upcoming.total"] == 2


def test_the_page_is_a_cache_hit_after_the_api_was_read(acme_browser, acme_api, small_world):
    for path in API_PATHS.values():
        assert acme_api.get(f"/api/v1/dashboard/{path}")["X-Cache"] == "MISS"

    response = acme_browser.get("/")

    assert response["X-Cache"] == "HIT"
    assert set(_cache_entries(response).values()) == {"HIT"}


def test_the_api_is_a_cache_hit_after_the_page_was_read(acme_browser, acme_api, small_world):
    first = acme_browser.get("/")
    assert first["X-Cache"] == "MISS"
    assert set(_cache_entries(first).values()) == {"MISS"}

    for path in API_PATHS.values():
        assert acme_api.get(f"/api/v1/dashboard/{path}")["X-Cache"] == "HIT", path
    assert acme_browser.get("/")["X-Cache"] == "HIT"


def test_the_page_shows_the_charts_data_as_text_and_tables(acme_browser, small_world):
    html = acme_browser.get("/").content.decode()

    assert 'role="img" aria-labelledby="trend-summary"' in html
    assert re.search(r"issues were created and \d+ resolved\.", html)
    assert len(re.findall(r'<tr><th scope="row"><time datetime=', html)) == 30
    assert "Card payments declined" in html  # recent activity
    assert "Rotate TLS certificates" in html  # upcoming changes


@pytest.mark.parametrize(("query", "days"), [("", 30), ("?days=7", 7), ("?days=90", 90)])
def test_the_trend_switch_offers_7_30_and_90_days(acme_browser, in_acme, query, days):
    html = acme_browser.get(f"/{query}").content.decode()

    assert len(re.findall(r'<tr><th scope="row"><time datetime=', html)) == days
    assert re.search(rf'data-days="{days}" aria-current="true"', html)
    for period in (7, 30, 90):
        assert f'href="?days={period}#trends"' in html


@pytest.mark.parametrize("days", ["12", "abc", "-1", "100000"])
def test_an_unknown_trend_period_falls_back_to_30_days(acme_browser, in_acme, days):
    response = acme_browser.get(f"/?days={days}")

    assert response.status_code == 200
    assert 'data-days="30" aria-current="true"' in response.content.decode()


def test_a_tenant_without_data_sees_empty_states(globex_browser, globex):
    html = globex_browser.get("/").content.decode()

    assert "Nothing to report yet" in html
    assert "Record an issue" in html  # the admin user is staff: a way to start
    for message in (
        "No open issues.",
        "No issues recorded yet.",
        "No applications registered yet.",
        "No changes are scheduled in the next 7 days.",
        "No activity yet.",
        "No issues were created or resolved in this period.",
    ):
        assert re.search(rf'class="empty"[^>]*>{re.escape(message)}', html), message
        assert not re.search(rf'class="empty"[^>]* hidden>{re.escape(message)}', html), message
    assert set(figures_in_html(html).values()) == {0}
    assert '<ul class="tiers" data-shown-when="counts.applications" hidden>' in html


def test_a_tenant_with_data_sees_no_empty_states(acme_browser, small_world):
    html = acme_browser.get("/").content.decode()

    assert "Nothing to report yet" not in html
    shown = re.findall(r'<p class="empty" data-empty-when="[^"]+">', html)
    assert shown == []


def test_the_page_carries_a_hidden_alert_for_failed_refreshes(acme_browser, in_acme):
    html = acme_browser.get("/").content.decode()

    assert re.search(r'id="refresh-error" class="alert alert--error" role="alert" hidden', html)
    assert 'id="refresh-announce" class="visually-hidden" role="status" aria-live="polite"' in html


def test_a_database_failure_shows_the_unavailable_page_not_a_crash(
    acme_browser, in_acme, monkeypatch
):
    def fail(entry, params):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused")

    # The page's own error handling, in isolation; real connection loss is exercised
    # against a live server in tests/reliability/test_faults_under_load.py.
    monkeypatch.setattr(pages, "read", fail)

    response = acme_browser.get("/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "The dashboard is unavailable right now" in html
    assert 'role="alert"' in html


def test_the_page_loads_its_assets_from_this_host_only(acme_browser, in_acme):
    html = acme_browser.get("/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:css|js|svg))"', html)
    assert sorted(assets) == [
        "/static/dashboard/dashboard.css",
        "/static/dashboard/dashboard.js",
        "/static/dashboard/favicon.svg",
    ]
    for url in assets:
        response = acme_browser.get(url)  # WhiteNoise, with DEBUG off as in production
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content)


def test_staff_see_admin_links_and_others_do_not(acme_browser, acme_staffless_browser, small_world):
    staff_html = acme_browser.get("/").content.decode()
    agent_html = acme_staffless_browser.get("/").content.decode()

    assert 'href="/admin/"' in staff_html
    assert re.search(
        r'<a class="ref" data-slot="number" href="/admin/issues/issue/\d+/change/"', staff_html
    )
    assert 'href="/admin/"' not in agent_html
    assert '<a class="ref"' not in agent_html
    assert figures_in_html(agent_html) == figures_in_html(staff_html)


def test_a_warm_page_runs_no_data_query(acme_browser, small_world, django_assert_max_num_queries):
    acme_browser.get("/")

    # The session, its user, and Django's two permission reads for the role check.
    with django_assert_max_num_queries(4) as queries:
        response = acme_browser.get("/")

    assert response["X-Cache"] == "HIT"
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "issues_issue" not in tables
    assert "applications_" not in tables


def test_the_page_shows_the_five_panels_of_issue_14_with_the_apis_figures(
    acme_browser, acme_api, small_world
):
    html = acme_browser.get("/").content.decode()
    on_page = figures_in_html(html)
    assert on_page["critical_apps.total"] == 1
    assert on_page["success.totals.completed"] == 2
    assert on_page["success.totals.rolledBack"] == 1
    assert on_page["sla.critical.breached"] == 1
    for heading in (
        "SLA compliance",
        "Change success rate",
        "Critical applications",
        "Requests by catalog item",
        "Cloud costs",
    ):
        assert f">{heading}</h2>" in html
    assert "50.0 %" in html  # one of the two ended changes succeeded
    assert re.search(
        r'<th scope="row" data-slot="name">VPN access</th>\s*<td data-slot="count">2<', html
    )
    cloud = acme_api.get("/api/v1/dashboard/cloud/costs/").json()[-1]
    whole, cents = cloud["totalCost"].split(".")
    assert f"{int(whole):,}.{cents} USD" in html
    assert html.count('class="columns__part columns__part--successful"') == 30


def test_an_empty_tenant_sees_each_new_panels_empty_state(acme_browser, in_acme):
    html = acme_browser.get("/").content.decode()
    for when in (
        "counts.sla",
        "counts.success",
        "counts.critical",
        "counts.byItem",
        "counts.cloud",
    ):
        assert f'<p class="empty" data-empty-when="{when}">' in html
