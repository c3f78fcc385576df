"""Reads of service requests."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from requests_app.models import Request


def request_list(*, user: Any) -> QuerySet[Request]:
    """The requests `user` may see: every one for whoever may work them (agents and above,
    `requests_app.change_request`), otherwise only those they requested (requesters)."""
    requests = Request.objects.select_related("requester")
    if user is None or not user.is_authenticated:  # the API schema's generation
        return requests.none()
    if user.has_perm("requests_app.change_request"):
        return requests
    return requests.filter(requester=user)
