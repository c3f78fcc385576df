"""The browser tenant's login, shared by its fixtures and tests."""

from __future__ import annotations

from typing import Any

USERNAME, PASSWORD = "admin", "browser-pass-123"


def log_in(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/")
