"""Serializer pieces shared by the ITSM record APIs.

Every model serializer derives from `ModelSerializer` here, so its foreign keys and
date-times get the hardened fields below without each serializer asking for them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from rest_framework import serializers

from firelater.models import not_before_created_errors

# The ids of every model here are PostgreSQL bigints (or ints): nothing larger exists.
MAX_ID = 2**63 - 1
_DECIMAL_ID = re.compile(r"-?[0-9]{1,32}")  # ASCII digits only: int() also takes "٣"


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key given as its integer id, or as the id's digits (form bodies).

    DRF's own passes whatever it gets to the database lookup: 1.9 was accepted as 1 and
    1e999 (infinity) crashed it with an OverflowError. Floats, booleans and anything else
    that is not an integer are an "Incorrect type" 400.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and _DECIMAL_ID.fullmatch(data):
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, held to moments that exist in UTC as well as in TIME_ZONE.

    DRF checks that a value fits in the current time zone. Stored, it is UTC: with a
    TIME_ZONE west of UTC a naive 9999-12-31T23:59:59 is in the year 10000 there, and
    failed with an OverflowError on the way to the database (a 500). The same hardening
    as the list filters' (firelater.filters.UTCIsoDateTimeField).
    """

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        try:
            return super().enforce_timezone(value)
        except OverflowError:  # DRF's check of a naive value converts it to UTC
            self.fail("overflow")

    def to_internal_value(self, value: Any) -> dt.datetime:
        moment: dt.datetime = super().to_internal_value(value)
        if moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            self.fail("overflow")

    def to_representation(self, value: Any) -> Any:
        try:
            return super().to_representation(value)
        except serializers.ValidationError:
            # Stored under another TIME_ZONE and unrepresentable in this one: show it in
            # UTC rather than fail every read of the record.
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class ModelSerializer(serializers.ModelSerializer):
    serializer_related_field = PrimaryKeyRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
    }


class UserSummarySerializer(ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]
        read_only_fields = fields


class RecordSerializer(ModelSerializer):
    """Common output: the human number (ISS-000123) and read-only timestamps; and the rule
    that no date precedes the record's creation (firelater.models.NotBeforeCreated), as a
    400 rather than a constraint violation."""

    number = serializers.CharField(source="display_number", read_only=True)

    # Subclasses' Meta: fields = [*HEAD, ..., *TAIL], read_only_fields = [*READ_ONLY, ...]
    HEAD = ("id", "number", "title", "description", "status")
    TAIL = ("created_at", "updated_at")
    READ_ONLY = ("id", "number", "created_at", "updated_at")
    # Fields that only whoever works the records (the model's change permission: agents
    # and above) sets. From anyone else, a requester filing one, they are ignored, so a
    # new record starts as the model's default (new, unassigned, the priority's SLA)
    # instead of as whatever its filer chose. Dropped in validate(), not made read-only
    # per user: the API's schema is one document, whoever asks for it.
    WORKER_FIELDS: tuple[str, ...] = ()

    def _drop_worker_fields(self, attrs: dict[str, Any]) -> None:
        user = getattr(self.context.get("request"), "user", None)
        if not self.WORKER_FIELDS or user is None:
            return
        opts = self.Meta.model._meta  # type: ignore[attr-defined]
        if not user.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
            for name in self.WORKER_FIELDS:
                attrs.pop(name, None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        self._drop_worker_fields(attrs)
        created_at = self.instance.created_at if self.instance else timezone.now()
        model = self.Meta.model  # type: ignore[attr-defined]
        errors = not_before_created_errors(model, attrs, created_at)
        if errors:
            raise serializers.ValidationError({f: [message] for f, message in errors.items()})
        return attrs

    def validate_not_before(
        self, attrs: dict[str, Any], field: str, earlier: str, message: str
    ) -> None:
        """400 (not a constraint violation) when attrs[field] precedes the `earlier` value."""
        later_value = attrs.get(field, getattr(self.instance, field, None))
        earlier_value = attrs.get(earlier, getattr(self.instance, earlier, None))
        if later_value is not None and earlier_value is not None and later_value < earlier_value:
            raise serializers.ValidationError({field: [message]})


def active_users() -> Any:
    return get_user_model().objects.filter(is_active=True)
