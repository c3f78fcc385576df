"""Dashboard API: one GET action per declared entry (dashboard.entries), each with X-Cache
and an ETag of the value (If-None-Match with it: 304, no body)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseNotModified
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

import tenant_cache
from dashboard.entries import ENTRIES, OVERVIEW, DashboardEntry
from dashboard.schema import dashboard_schema


def cached_entry_response(request: Request, entry: DashboardEntry) -> Any:
    """The entry's JSON through the cache. A JSON client gets the stored bytes as they are
    (no parse, no re-render); the browsable API gets them rendered as a page."""
    params: dict[str, Any] = {}
    if entry.params is not None:
        serializer = entry.params(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        params = dict(serializer.validated_data)
    result = tenant_cache.read(entry.cache, params)
    as_json = getattr(request.accepted_renderer, "format", "json") == "json"
    # The browsable API's page is another representation of the same value: another tag.
    etag = result.etag if as_json else result.etag[:-1] + '-api"'
    response: Any
    if _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponseNotModified()
    elif as_json:
        response = HttpResponse(result.body, content_type="application/json")
    else:
        response = Response(result.value)
    response["ETag"] = etag
    response["X-Cache"] = result.status
    response["Cache-Control"] = "private, no-cache"  # revalidate every time (cheap: a 304)
    return response


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison: `*`, or any listed tag equal to ours (W/ or not)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _endpoint(entry: DashboardEntry, *, as_action: bool, summary: str = "") -> Any:
    # Each action takes `format`: the router's suffix URLs (overview.json) pass it.
    def view(self: viewsets.ViewSet, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entry)

    view.__name__ = entry.name if as_action else "list"
    summary = summary or entry.summary
    view.__doc__ = summary
    if as_action:
        view = action(detail=False, url_path=entry.path)(view)
    return dashboard_schema(entry.response, summary=summary, params=entry.params)(view)


class DashboardViewSet(viewsets.ViewSet):
    """FireLater's dashboard, per tenant. Every response carries X-Cache.

    One cached value per tenant, so it is gated by role, never filtered per user: agents
    and above read it, anyone else gets a 403 before the cache is touched."""

    required_permissions = ("dashboard.view_dashboard",)

    list = _endpoint(OVERVIEW, as_action=False, summary="Overview (same body as overview/)")


for _entry in ENTRIES:
    setattr(DashboardViewSet, _entry.name, _endpoint(_entry, as_action=True))
