"""Request bodies sent with Transfer-Encoding: chunked (no Content-Length), on a real gunicorn.

Django reads CONTENT_LENGTH bytes and gunicorn sets none for a chunked body: it was read
as empty. `requests` sends a generator body chunked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context

from issues.models import Issue
from tests.support.live import LiveTenant, serve_project

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

UPLOAD_LIMIT = 4096  # the server's DATA_UPLOAD_MAX_MEMORY_SIZE, small to test it cheaply


@pytest.fixture(scope="module")
def server(live_tenants: list[LiveTenant]) -> Iterator[str]:
    redis_url = str(settings.CACHES["default"]["LOCATION"])
    with serve_project(redis_url, DATA_UPLOAD_MAX_MEMORY_SIZE=str(UPLOAD_LIMIT)) as base:
        yield base


def chunked(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def post_chunked(server: str, live: LiveTenant, parts: Iterator[bytes]) -> requests.Response:
    return requests.post(
        f"{server}/api/v1/issues/",
        data=parts,
        headers={
            "Host": live.host,
            "Authorization": f"Token {live.token}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )


def test_a_chunked_json_body_creates_the_record_it_describes(server, live_tenants):
    live = live_tenants[0]
    parts = chunked(b'{"title": "Sent in ', b'chunks", "priority": ', b'"critical"}')

    response = post_chunked(server, live, parts)

    assert response.status_code == 201, response.text
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    with tenant_context(live.tenant):
        issue = Issue.objects.get(pk=response.json()["id"])
        assert (issue.title, issue.priority) == ("Sent in chunks", "critical")


def test_a_chunked_body_over_the_upload_limit_is_a_json_413(server, live_tenants):
    live = live_tenants[0]
    with tenant_context(live.tenant):
        before = Issue.objects.count()
    description = b"x" * 1024
    parts = chunked(b'{"title": "Too big", "description": "', *[description] * 8, b'"}')

    response = post_chunked(server, live, parts)

    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"Request body too large (limit {UPLOAD_LIMIT} bytes)."}
    with tenant_context(live.tenant):
        assert Issue.objects.count() == before
