"""Assertions shared by the test modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse


def json_error(response: HttpResponse, status: int) -> dict[str, Any]:
    """Assert the response is a JSON error with this status and return its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict)
    assert body
    return body


def iso(moment: datetime) -> str:
    """A datetime as API clients send it (ISO 8601, Z for UTC)."""
    return moment.isoformat().replace("+00:00", "Z")
