"""tenant_cache is reusable: a second, minimal django-tenants project installs it alone.

The project (tests/tenant_cache_project) has its own tenant model, cached model, bulk
signal and entry; its checks run as a separate pytest process so that nothing of
FireLater is imported, and they assert that too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.live import database_url

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "tenant_cache_project"


@pytest.mark.slow
def test_a_minimal_django_tenants_project_gets_get_or_set_invalidation_and_isolation() -> None:
    name = settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        # The suite's database name without pytest-django's test_ prefix.
        "DATABASE_URL": database_url(name=name.removeprefix("test_")),
        "REDIS_URL": str(settings.CACHES["default"]["LOCATION"]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(PROJECT / "check_reusable.py"),
            "--ds=tests.tenant_cache_project.settings", f"--confcutdir={PROJECT}",
            "-p", "no:cacheprovider", "-q", "--create-db",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "7 passed" in result.stdout
