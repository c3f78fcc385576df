"""Query parameters of the dashboard endpoints, validated (and so normalised for the key)."""

from __future__ import annotations

from rest_framework import serializers

from firelater.cache import registry


class TrendsParams(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class ActivityParams(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class InvalidateInput(serializers.Serializer):
    category = serializers.CharField(required=False, allow_null=True, default=None)

    def validate_category(self, value: str | None) -> str | None:
        if value is not None and value not in registry.categories():
            allowed = ", ".join(sorted(registry.categories()))
            raise serializers.ValidationError(f"Unknown category {value!r}. Allowed: {allowed}.")
        return value


class PlatformInvalidateInput(InvalidateInput):
    tenant = serializers.SlugField(required=False, allow_null=True, default=None)
