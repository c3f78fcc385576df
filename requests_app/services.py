"""Writes for service requests: create, update, status changes (single and bulk), delete."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from firelater.services import apply_changes
from requests_app.models import Request


@transaction.atomic
def request_create(*, requester: AbstractBaseUser, title: str, **fields: Any) -> Request:
    now = timezone.now()
    service_request = Request(
        requester=requester, title=title, created_at=now, updated_at=now, **fields
    )
    if service_request.status == Request.Status.FULFILLED:
        service_request.fulfilled_at = now
    service_request.full_clean(exclude=["number"])
    service_request.save()
    return service_request


def request_sync_fulfilled_at(*, service_request: Request) -> bool:
    """Stamp fulfilled_at when fulfilled, clear it otherwise; True if it changed.

    The one rule for every single-request write path: the API and the admin form.
    """
    fulfilled = service_request.status == Request.Status.FULFILLED
    if fulfilled and service_request.fulfilled_at is None:
        service_request.fulfilled_at = timezone.now()
        return True
    if not fulfilled and service_request.fulfilled_at is not None:
        service_request.fulfilled_at = None
        return True
    return False


@transaction.atomic
def request_update(*, service_request: Request, data: dict[str, Any]) -> Request:
    changed = apply_changes(service_request, data)
    if "status" in changed and request_sync_fulfilled_at(service_request=service_request):
        changed.add("fulfilled_at")
    if changed:
        service_request.full_clean(exclude=["number"])
        service_request.save(update_fields=changed)
    return service_request


@transaction.atomic
def request_bulk_set_status(*, queryset: QuerySet[Request], status: str) -> int:
    now = timezone.now()
    if status == Request.Status.FULFILLED:
        fulfilled_at: Any = Case(
            When(fulfilled_at__isnull=True, then=Value(now)), default=F("fulfilled_at")
        )
    else:
        fulfilled_at = None
    return queryset.update(status=status, fulfilled_at=fulfilled_at, updated_at=now)


@transaction.atomic
def request_delete(*, service_request: Request) -> None:
    service_request.delete()
