"""Serializer pieces shared by the ITSM record APIs.

Every model serializer derives from `ModelSerializer` here, so its foreign keys get the
hardened field below without each serializer asking for it.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

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


class ModelSerializer(serializers.ModelSerializer):
    serializer_related_field = PrimaryKeyRelatedField


class UserSummarySerializer(ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]
        read_only_fields = fields


class RecordSerializer(ModelSerializer):
    """Common output: the human number (ISS-000123) and read-only timestamps."""

    number = serializers.CharField(source="display_number", read_only=True)

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
