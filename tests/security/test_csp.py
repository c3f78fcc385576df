"""Content-Security-Policy on every page: the header, and templates without inline code.

That the pages also *work* under the policy, with no violation reported, is checked in a
real browser (tests/browser/test_csp_in_chromium.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]

TENANT_PAGES = [
    "/",
    "/admin/",
    "/admin/issues/issue/",
    "/admin/axes/accessattempt/",
    "/admin/cache/",
    "/api/v1/",
    "/api/v1/dashboard/overview/",
    "/api/docs/",
    "/api/redoc/",
]
ANONYMOUS_PAGES = [
    ("acme.localhost", "/login/"),
    ("acme.localhost", "/admin/login/"),
    ("acme.localhost", "/api-auth/login/"),
    ("localhost", "/admin/login/"),
]


def directives(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # never inline, never eval, nowhere else
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy.get("style-src-elem", [])


@pytest.mark.parametrize("path", TENANT_PAGES)
def test_every_logged_in_page_sends_a_strict_policy(acme_browser, path):
    response = acme_browser.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert_strict(directives(response))


@pytest.mark.parametrize(("host", "path"), ANONYMOUS_PAGES)
def test_every_login_page_sends_a_strict_policy_with_styles_from_this_origin_only(acme, host, path):
    response = Client(HTTP_HOST=host).get(path)

    policy = directives(response)
    assert response.status_code == 200
    assert_strict(policy)
    assert policy["style-src"] == ["'self'"]
    assert "style-src-attr" not in policy


def test_the_dashboard_allows_no_inline_style_at_all(acme_browser):
    policy = directives(acme_browser.get("/"))

    assert policy["style-src"] == ["'self'"]
    assert "style-src-attr" not in policy


def test_only_the_browsable_api_allows_style_attributes(acme_browser):
    browsable = directives(acme_browser.get("/api/v1/issues/", HTTP_ACCEPT="text/html"))
    json = directives(acme_browser.get("/api/v1/issues/", HTTP_ACCEPT="application/json"))

    assert browsable["style-src-attr"] == ["'unsafe-inline'"]
    assert "style-src-attr" not in json


def test_a_nonce_in_the_policy_is_the_one_on_the_pages_style(acme_browser):
    response = acme_browser.get("/api/docs/")

    nonce = re.search(r'<style nonce="([^"]+)"', response.content.decode())
    assert nonce is not None
    assert f"'nonce-{nonce.group(1)}'" in directives(response)["style-src"]
    assert (
        directives(acme_browser.get("/api/docs/"))["style-src"] != directives(response)["style-src"]
    )  # a new nonce per response


def test_the_platform_admin_sends_the_policy_too(db):
    with schema_context("public"):
        user = get_user_model().objects.create_superuser("root", "r@example.com", "pw-123456")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    assert_strict(directives(client.get("/admin/")))


def test_json_answers_carry_the_policy_as_well(acme_api):
    assert_strict(directives(acme_api.get("/api/v1/issues/")))
    assert_strict(directives(acme_api.get("/api/v1/no-such-thing/")))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|type=\"application/json\")=?)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style(?![^>]*\bnonce=)[^>]*>|\sstyle\s*=", re.I)


@pytest.mark.parametrize(
    "template",
    sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_no_template_of_ours_has_inline_script_handlers_or_style(template):
    html = template.read_text()

    assert not INLINE_SCRIPT.search(html), "inline <script>: move it to a static file"
    assert not INLINE_HANDLER.search(html), "inline event handler: use addEventListener"
    assert not INLINE_STYLE.search(html), "inline style: use a class (or SVG attributes)"
