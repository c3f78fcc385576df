"""Binaries and packages the suite needs: a missing one fails the test, never skips it."""

from __future__ import annotations

import importlib
import shutil
from types import ModuleType

import pytest

HINT = "`make test` installs it (scripts/ensure_test_tools.py)"


def require_binary(name: str, package: str | None = None) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install {package or name} ({HINT})")
    return path


def require_module(name: str, install: str = "pip install -e '.[dev]'") -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail(f"{name} is not installed: {install}")
