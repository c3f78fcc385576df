"""Dependencies point down: the cache imports no FireLater app, domain apps no cache."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRELATER_APPS = {
    "firelater", "tenants", "issues", "changes", "requests_app", "applications", "cloud",
    "dashboard", "demo",
}  # fmt: skip
DOMAIN_APPS = ("issues", "changes", "requests_app", "applications", "cloud", "tenants")


def _imported_packages(folder: Path) -> dict[str, set[str]]:
    """Top-level package of every import in each .py file below `folder`."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_tenant_cache_imports_no_firelater_app() -> None:
    offenders = {
        path: sorted(names & FIRELATER_APPS)
        for path, names in _imported_packages(ROOT / "tenant_cache").items()
        if names & FIRELATER_APPS
    }
    assert offenders == {}


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_a_domain_app_does_not_import_the_cache(app: str) -> None:
    offenders = [
        path for path, names in _imported_packages(ROOT / app).items() if "tenant_cache" in names
    ]
    assert offenders == []


def test_nothing_outside_tenant_cache_imports_its_submodules() -> None:
    """Its __init__ is the whole public API. (Its own tests, and the bench's micro-benchmarks
    of its Lua scripts and breaker, look inside on purpose.)"""
    offenders = []
    for app in FIRELATER_APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                if module and module.startswith("tenant_cache."):
                    offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []
