"""Filter pieces shared by the list APIs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

from firelater.api import camel_case


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC before it reaches the database.

    Python accepts UTC offsets up to +-23:59, PostgreSQL only up to +-15:59: a value such as
    `2030-01-01T00:00:00-17:30` was passed on as written and failed in the database (a 500).
    In UTC every offset is fine; a value that leaves the representable range on conversion
    is a 400.
    """

    def to_python(self, value: Any) -> dt.datetime | None:
        moment = super().to_python(value)
        if moment is None or timezone.is_naive(moment):
            return moment
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError("Date and time out of range.", code="overflow") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


def moment_range(field_name: str) -> tuple[IsoDateTimeFilter, IsoDateTimeFilter]:
    """<name>_after (inclusive) and <name>_before (exclusive) filters on one date-time:
    `created_after, created_before = moment_range("created_at")`."""
    return (
        IsoDateTimeFilter(field_name=field_name, lookup_expr="gte"),
        IsoDateTimeFilter(field_name=field_name, lookup_expr="lt"),
    )


def choices_filter(choices: Any) -> django_filters.MultipleChoiceFilter:
    """?status=new&status=assigned: any of the given choices (a TextChoices class)."""
    return django_filters.MultipleChoiceFilter(choices=choices.choices)


class RecordFilter(django_filters.FilterSet):
    """What every record list filters by: created_after / created_before."""

    created_after, created_before = moment_range("created_at")


def filter_names(filterset_class: type[django_filters.FilterSet]) -> set[str]:
    """The query parameters a filterset reads (a range filter reads name_after, name_before)."""
    names = set()
    for name, spec in filterset_class.base_filters.items():
        suffixes = getattr(spec.field_class.widget, "suffixes", None)
        if suffixes:
            names.update(f"{name}_{suffix}" for suffix in suffixes)
        else:
            names.add(name)
    return names


def with_snake_case_names(params: QueryDict, names: set[str]) -> QueryDict:
    """The parameters with each camelCase filter name (createdAfter) as its filter's name."""
    aliases = {camel_case(name): name for name in names if camel_case(name) != name}
    if not aliases.keys() & params.keys():
        return params
    renamed = QueryDict(mutable=True)
    for key, values in params.lists():
        name = aliases.get(key, key)
        renamed.setlist(name, renamed.getlist(name) + values)
    return renamed


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, taking every filter by its camelCase name too.

    The JSON and the API's own error messages say `createdAfter`; the filters only knew
    `created_after`, so a client using the camelCase name got unfiltered data.
    """

    def get_filterset_kwargs(self, request: Any, queryset: Any, view: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_filterset_kwargs(request, queryset, view)
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            kwargs["data"] = with_snake_case_names(kwargs["data"], filter_names(filterset_class))
        return kwargs

    def query_parameter_names(self, view: Any) -> set[str]:
        filterset_class = self.get_filterset_class(view, view.get_queryset())
        return filter_names(filterset_class) if filterset_class is not None else set()
