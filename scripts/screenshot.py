#!/usr/bin/env python
"""Take docs/dashboard.png: log in to a running FireLater and screenshot the dashboard.

    make seed && DEBUG=1 .venv/bin/python manage.py runserver 127.0.0.1:8010 &
    .venv/bin/python scripts/screenshot.py --url http://acme.localhost:8010/

Uses Debian's chromium (apt-get install chromium) through playwright; *.localhost
resolves to 127.0.0.1 in chromium without any /etc/hosts entry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://acme.localhost:8010/", help="dashboard URL")
    parser.add_argument("--username", default="admin", help="tenant user to log in as")
    parser.add_argument("--password", default="firelater-demo", help="that user's password")
    parser.add_argument("--output", default=str(ROOT / "docs" / "dashboard.png"))
    parser.add_argument("--width", type=int, default=1440, help="viewport width in CSS pixels")
    parser.add_argument("--height", type=int, default=900, help="viewport height")
    parser.add_argument("--full-page", action="store_true", help="capture the whole page")
    options = parser.parse_args()

    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": options.width, "height": options.height}, device_scale_factor=1
        )
        page.goto(urljoin(options.url, "/login/?next=/"))
        page.get_by_label("Username").fill(options.username)
        page.get_by_label("Password").fill(options.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("[data-dashboard]")
        if options.url.rstrip("/") != urljoin(options.url, "/").rstrip("/"):
            page.goto(options.url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(output), full_page=options.full_page)
        browser.close()
    print(f"Saved {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
