"""Writes for service requests: create, update, status changes (single and bulk), delete."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from firelater.services import save_changes, ticket_bulk_set_status
from requests_app.models import CatalogItem, Request


@transaction.atomic
def request_create(*, requester: AbstractBaseUser, title: str, **fields: Any) -> Request:
    now = timezone.now()
    service_request = Request(
        requester=requester, title=title, created_at=now, updated_at=now, **fields
    )
    service_request.sync_done_at(now)
    service_request.full_clean(exclude=["number"])
    service_request.save()
    return service_request


@transaction.atomic
def request_update(*, service_request: Request, data: dict[str, Any]) -> Request:
    return save_changes(service_request, data)


@transaction.atomic
def request_bulk_set_status(*, queryset: QuerySet[Request], status: str) -> int:
    """Set many requests' status in one UPDATE, keeping fulfilled_at consistent."""
    return ticket_bulk_set_status(queryset, status)


@transaction.atomic
def request_delete(*, service_request: Request) -> None:
    service_request.delete()


@transaction.atomic
def catalog_item_create(**fields: Any) -> CatalogItem:
    item = CatalogItem(**fields)
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def catalog_item_update(*, item: CatalogItem, data: dict[str, Any]) -> CatalogItem:
    return save_changes(item, data)


@transaction.atomic
def catalog_item_delete(*, item: CatalogItem) -> None:
    """Delete an item no request names (PROTECT: otherwise a ProtectedError)."""
    item.delete()
