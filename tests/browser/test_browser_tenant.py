"""The browser tests' committed tenant, checked from the test database.

Besides what it asserts, this test asks for the database: pytest-django creates the test
database only when a collected test does, and the chromium tests themselves cannot (their
event loop forbids Django's per-test transaction), so `pytest tests/browser` alone needs it.
"""

from __future__ import annotations

import pytest

from tenants.models import Tenant


@pytest.mark.slow
@pytest.mark.django_db
def test_the_browser_tenant_is_committed_with_its_domain(browser_tenant) -> None:
    tenant = Tenant.objects.get(slug="browser")
    assert list(tenant.domains.values_list("domain", flat=True)) == ["browser.localhost"]
