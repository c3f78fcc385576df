"""Admin helpers shared by the data apps: base classes, bulk status actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone

BulkSetStatus = Callable[..., int]


class UTCSplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date and time inputs, held to moments that exist in UTC.

    The form reads them in TIME_ZONE; PostgreSQL stores UTC. West of UTC, 9999-12-31
    23:59:59 is the year 10000 there: PostgreSQL stored it, psycopg could not read it back,
    and every list holding the row (API and admin) failed with a 500.
    """

    def compress(self, data_list: Any) -> dt.datetime | None:
        moment: dt.datetime | None = super().compress(data_list)
        if moment is not None and timezone.is_aware(moment):
            try:
                moment.astimezone(dt.UTC)
            except OverflowError:
                raise ValidationError("Date and time out of range.", code="overflow") from None
        return moment


DATE_TIME_FORM_FIELDS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.DateTimeField: {
        "form_class": UTCSplitDateTimeField,
        "widget": widgets.AdminSplitDateTime,
    }
}


class ModelAdmin(admin.ModelAdmin):
    """The base of every data app's admin (date-times that can be stored and read back)."""

    formfield_overrides = DATE_TIME_FORM_FIELDS


class TabularInline(admin.TabularInline):
    formfield_overrides = DATE_TIME_FORM_FIELDS


class UserAdmin(DjangoUserAdmin):
    """Django's, with the same date-time inputs: a user's date_joined that cannot be read
    back would fail every list that loads its records' reporters."""

    formfield_overrides = DATE_TIME_FORM_FIELDS


class RecordAdmin(ModelAdmin):
    """Admin for numbered records: "ISS-000042" (or "42") in the search box finds #42."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip().upper()
        prefix = f"{self.model.NUMBER_PREFIX}-"
        digits = term.removeprefix(prefix)
        if term.startswith(prefix) and digits.isdigit():
            return queryset.filter(number=int(digits)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Number", ordering="number")
    def display_number(self, obj: Any) -> str:
        return str(obj.display_number)


def status_actions(
    choices: Any, bulk_set_status: BulkSetStatus, *, gated: Mapping[str, str] | None = None
) -> list[Callable[..., None]]:
    """One admin action per status ("Mark selected as Resolved"), each a single UPDATE
    through the app's bulk service so derived fields and cache invalidation stay right.

    Each needs the change permission; `gated` maps a status to the admin's permission
    name (`has_<name>_permission`) that its action needs instead."""
    gated = gated or {}
    actions = []
    for value, label in choices.choices:

        def action(
            modeladmin: admin.ModelAdmin,
            request: HttpRequest,
            queryset: QuerySet[Any],
            _value: str = value,
            _label: str = label,
        ) -> None:
            count = bulk_set_status(queryset=queryset, status=_value)
            modeladmin.message_user(request, f"{count} marked as {_label}.", level=messages.SUCCESS)

        action.__name__ = f"mark_{value}"
        action.short_description = f"Mark selected as {label}"  # type: ignore[attr-defined]
        action.allowed_permissions = (gated.get(value, "change"),)  # type: ignore[attr-defined]
        actions.append(action)
    return actions


class LoginAttemptAdmin(AxesAccessAttemptAdmin):
    """django-axes' failed-login list (this schema's: a tenant's, or the platform's), with
    the lock each row holds under FireLater's LOGIN_* settings. Deleting rows (one, or the
    "Delete selected" action) clears their failures and so lifts their locks at once."""

    list_display = [
        "attempt_time",
        "username",
        "ip_address",
        "failures_since_start",
        "locked_until",
        "path_info",
        "user_agent",
    ]
    list_filter = ["attempt_time", "path_info"]
    actions = ["delete_expired"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record of what happened: view and delete only

    @admin.display(description="Locked until")
    def locked_until(self, obj: Any) -> str:
        if obj.failures_since_start < settings.LOGIN_FAILURE_LIMIT:
            return "-"
        until = obj.attempt_time + dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        if until <= timezone.now():
            return "expired"
        return formats.localize(timezone.localtime(until))

    @admin.action(description="Delete the expired attempts (of all rows, not just these)")
    def delete_expired(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        threshold = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        count, _ = queryset.model.objects.filter(attempt_time__lte=threshold).delete()
        self.message_user(request, f"Deleted {count} expired failed-login record(s).")
