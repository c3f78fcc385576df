"""The dashboard in a real browser: login, the API's numbers, live updates, phone width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.login import PASSWORD, USERNAME, log_in
from tests.pages.figures import figures_from_api
from tests.support.required import require_module

expect = require_module("playwright.sync_api").expect

pytestmark = pytest.mark.slow


def figures_on_page(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    pairs = page.eval_on_selector_all(
        "[data-field]", "nodes => nodes.map(n => [n.dataset.field, n.textContent.trim()])"
    )
    return {field: int(text.replace(",", "")) for field, text in pairs}


def api_get(page, path: str) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    """fetch() from inside the page: chromium resolves *.localhost, and it sends the
    session cookie as the page's refresh does (playwright's page.request would use
    Node's resolver, which does not know *.localhost)."""
    return tuple(
        page.evaluate(
            """async (url) => {
                const response = await fetch(url, {headers: {Accept: "application/json"}});
                return [response.status, response.ok ? await response.json() : null];
            }""",
            path,
        )
    )


def figures_from_the_api(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The same figures read from the JSON API with the page's session cookie."""

    def get(path: str):  # type: ignore[no-untyped-def]
        status, body = api_get(page, f"/api/v1/dashboard/{path}")
        assert status == 200, (path, status)
        return body

    return figures_from_api(get)


def test_logging_in_through_the_form_opens_the_dashboard(browser, live_url):
    context = browser.new_context()
    page = context.new_page()

    page.goto(f"{live_url}/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()

    log_in(page, live_url)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    assert page.title().startswith("Dashboard")
    context.close()


def test_the_numbers_on_the_page_are_the_apis(page):
    page.goto("/")

    on_page = figures_on_page(page)
    from_api = figures_from_the_api(page)
    assert len(on_page) >= 40
    assert on_page == {field: from_api[field] for field in on_page}
    assert on_page["overview.issues.open"] == 4


def test_an_issue_created_in_the_admin_shows_after_a_reload(page, browser_tenant):
    page.goto("/")
    before = figures_on_page(page)

    add_issue_in_the_admin(
        page, browser_tenant["admin_id"], "Checkout page times out", priority="critical"
    )

    page.goto("/")
    after = figures_on_page(page)
    assert after["overview.issues.open"] == before["overview.issues.open"] + 1
    assert after["overview.issues.critical"] == before["overview.issues.critical"] + 1
    assert after["by_priority.critical"] == before["by_priority.critical"] + 1
    assert after["by_status.new"] == before["by_status.new"] + 1
    expect(page.locator("#activity-list")).to_contain_text("Checkout page times out")
    assert after == {
        field: value for field, value in figures_from_the_api(page).items() if field in after
    }


def test_the_refresh_updates_figures_in_place_and_reports_failures(page):
    page.goto("/")
    page.evaluate("window.noFullReload = true")

    page.route("**/api/v1/dashboard/**", lambda route: route.abort())
    page.get_by_role("button", name="Refresh now").click()
    alert = page.locator("#refresh-error")
    alert.wait_for(state="visible")
    assert "could not be reached" in alert.inner_text()

    page.unroute("**/api/v1/dashboard/**")
    page.route("**/api/v1/dashboard/health**", lambda route: route.fulfill(status=500, body="{}"))
    page.get_by_role("button", name="Try again").click()
    # (expect, not wait_for_function: playwright evaluates a string predicate with eval,
    # which the page's Content-Security-Policy refuses, as it should)
    expect(page.locator("#refresh-error")).to_contain_text("500")

    page.unroute("**/api/v1/dashboard/health**")
    page.get_by_role("button", name="Refresh now").click()
    alert.wait_for(state="hidden")
    assert page.locator("#refresh-status").inner_text().startswith("Updated at")
    expect(page.locator("#refresh-announce")).to_have_text(re.compile(r"^Updated at"))
    assert page.evaluate("window.noFullReload") is True


SNAPSHOT = """() => ({
    figures: [...document.querySelectorAll("[data-field]")].map((n) => n.textContent.trim()),
    zeros: [...document.querySelectorAll("[data-zero]")].map((n) => n.dataset.zero),
    bars: [...document.querySelectorAll("[data-bar]")].map(
        (n) => [n.ownerSVGElement.getAttribute("viewBox"), n.getAttribute("width")]
    ),
    stacks: [...document.querySelectorAll("[data-grow]")].map(
        (n) => [
            n.ownerSVGElement.getAttribute("viewBox"), n.getAttribute("x"), n.getAttribute("width")
        ]
    ),
    chart: [...document.querySelectorAll("#trend-svg > *")].map((n) => n.getAttribute("points")),
    viewBox: document.querySelector("#trend-svg").getAttribute("viewBox"),
    ticks: [...document.querySelectorAll("[data-tick]")].map((n) => n.textContent),
    labels: [...document.querySelectorAll("[data-x-label]")].map((n) => n.textContent),
    summary: document.querySelector("#trend-summary").textContent,
    trendRows: document.querySelector("#trend-rows").innerText,
    upcoming: document.querySelector("#upcoming-list").innerHTML.replace(/>\\s+</g, "><").trim(),
    activity: document.querySelector("#activity-list").innerText,
    empty: [...document.querySelectorAll("[data-empty-when], [data-shown-when]")].map(
        (n) => n.hidden
    ),
    rates: [...document.querySelectorAll("[data-rate]")].map((n) => n.textContent.trim()),
    percents: [...document.querySelectorAll("[data-percent]")].map((n) => n.getAttribute("width")),
    columns: [...document.querySelectorAll(".columns")].map(
        (n) => n.getAttribute("viewBox") + " " + n.innerHTML.replace(/>\\s+</g, "><").trim()
    ),
    critical: document.querySelector("#critical-list").innerText,
    items: document.querySelector("#item-rows").innerText,
    cloud: document.querySelector("#cloud-rows").innerText,
    cloudLatest: document.querySelector('[data-slot="cloud-latest"]').textContent,
})"""


def test_a_refresh_redraws_exactly_what_the_server_rendered(page):
    page.goto("/")
    rendered = page.evaluate(SNAPSHOT)

    page.get_by_role("button", name="Refresh now").click()
    expect(page.locator("#refresh-status")).to_contain_text("Updated at")

    assert page.evaluate(SNAPSHOT) == rendered


def test_a_second_refresh_revalidates_with_the_etag_and_keeps_the_figures_on_a_304(page):
    page.goto("/")
    rendered = page.evaluate(SNAPSHOT)
    button = page.get_by_role("button", name="Refresh now")
    with page.expect_response(lambda r: "/api/v1/dashboard/overview" in r.url) as first:
        button.click()
    assert first.value.status == 200
    etag = first.value.headers["etag"]
    expect(page.locator("#refresh-status")).to_contain_text("Updated at")
    expect(button).to_be_enabled()
    with page.expect_response(lambda r: "/api/v1/dashboard/overview" in r.url) as second:
        button.click()
    assert second.value.request.headers.get("if-none-match") == etag
    assert second.value.status == 304
    expect(button).to_be_enabled()
    assert page.locator("#refresh-error").is_hidden()
    assert page.evaluate(SNAPSHOT) == rendered


def add_issue_in_the_admin(page, reporter_id: int, title: str, priority: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/admin/issues/issue/add/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Priority").select_option(priority)
    page.locator("#id_reporter").fill(str(reporter_id))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")


def test_the_open_page_picks_up_new_figures_by_itself(page, browser_tenant):
    page.clock.install()  # so the 45-second refresh can be fast-forwarded
    page.goto("/")
    open_issues = page.locator('[data-field="overview.issues.open"]')
    before = int(open_issues.inner_text().replace(",", ""))
    page.evaluate("window.noFullReload = true")

    admin = page.context.new_page()
    add_issue_in_the_admin(admin, browser_tenant["admin_id"], "Printer queue stuck", "low")
    admin.close()
    with page.expect_response(lambda response: "/api/v1/dashboard/overview" in response.url):
        page.clock.fast_forward(46_000)

    expect(open_issues).to_have_text(f"{before + 1:,}")
    expect(page.locator("#activity-list")).to_contain_text("Printer queue stuck")
    assert page.evaluate("window.noFullReload") is True


def test_the_trend_switch_redraws_the_chart_without_a_reload(page):
    page.goto("/")
    page.evaluate("window.noFullReload = true")
    rows = page.locator("#trend-rows tr")
    assert rows.count() == 30

    page.get_by_role("link", name="7 days").click()

    expect(rows).to_have_count(7)
    assert page.get_by_role("link", name="7 days").get_attribute("aria-current") == "true"
    assert page.get_by_role("link", name="30 days").get_attribute("aria-current") is None
    assert "days=7" in page.url
    assert page.evaluate("window.noFullReload") is True
    points = page.locator(".chart__line--created").get_attribute("points")
    assert len(points.split()) == 7


def test_the_keyboard_reaches_a_skip_link_first(page):
    page.goto("/")

    page.keyboard.press("Tab")

    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_dashboard_fits_a_phone_screen(browser, live_url, session_state, tmp_path: Path):
    context = browser.new_context(
        storage_state=session_state,
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=live_url,
    )
    page = context.new_page()
    page.goto("/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    boxes = [card.bounding_box() for card in page.locator(".card").all()]
    assert len(boxes) == 4
    assert {round(box["x"]) for box in boxes} == {round(boxes[0]["x"])}  # one column
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 375 for box in boxes)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    screenshot = tmp_path / "dashboard-375.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    context.close()


def test_a_logged_out_browser_goes_back_to_the_login_page(browser, live_url):
    context = browser.new_context(base_url=live_url)
    page = context.new_page()
    log_in(page, live_url)

    page.get_by_role("button", name="Log out").click()

    page.wait_for_url(re.compile(r"/login/$"))
    page.goto("/")
    assert "/login/?next=/" in page.url
    assert api_get(page, "/api/v1/dashboard/overview/")[0] in (401, 403)
    assert PASSWORD not in page.content()
    context.close()


def test_the_five_panels_of_issue_14_show_the_apis_figures(page):
    page.goto("/")

    for name in (
        "SLA compliance",
        "Change success rate",
        "Critical applications",
        "Requests by catalog item",
        "Cloud costs",
    ):
        expect(page.get_by_role("heading", name=name, level=2)).to_be_visible()
    _, critical = api_get(page, "/api/v1/dashboard/applications/critical/")
    expect(page.locator("#critical-list li")).to_have_count(len(critical["applications"]))
    expect(page.locator("#critical-list")).to_contain_text(critical["applications"][0]["name"])
    _, items = api_get(page, "/api/v1/dashboard/requests/by-item/")
    expect(page.locator("#item-rows tr")).to_have_count(len(items))
    expect(page.locator("#item-rows tr").first).to_contain_text(items[0]["item"]["name"])
    _, months = api_get(page, "/api/v1/dashboard/cloud/costs/")
    expect(page.locator("#cloud-rows tr")).to_have_count(len(months))
    _, days = api_get(page, "/api/v1/dashboard/changes/success-rate/")
    ended = [day for day in days if day["completed"]]
    assert ended, "the small world has ended changes"
    expect(page.locator("#success-chart rect")).to_have_count(3 * len(days))
    expect(page.locator('[data-rate="success.rate"]')).to_have_text(
        f"{100 * sum(d['successful'] for d in days) / sum(d['completed'] for d in days):.1f} %"
    )
    _, sla = api_get(page, "/api/v1/dashboard/sla/compliance/")
    critical_sla = next(row for row in sla if row["priority"] == "critical")
    expect(page.locator('[data-rate="sla.critical.complianceRate"]')).to_have_text(
        f"{critical_sla['complianceRate']:.1f} %"
    )
