"""Serializer pieces shared by the ITSM record APIs."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]
        read_only_fields = fields


class RecordSerializer(serializers.ModelSerializer):
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
