"""Service request list filters."""

from __future__ import annotations

import django_filters

from firelater.filters import RecordFilter, choices_filter, moment_range
from firelater.models import Priority
from requests_app.models import CatalogItem, Request


class RequestFilter(RecordFilter):
    status = choices_filter(Request.Status)
    priority = choices_filter(Priority)
    due_after, due_before = moment_range("due_at")

    class Meta:
        model = Request
        fields = ["status", "priority", "requester", "catalog_item"]


class CatalogItemFilter(django_filters.FilterSet):
    class Meta:
        model = CatalogItem
        fields = ["category", "active"]
