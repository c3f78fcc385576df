"""Cache administration API (DRF): a tenant's staff see and drop its entries; platform
superusers on the public host see every tenant's figures and Redis's own."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_cache.conf import setting
from tenant_cache.invalidation import invalidate_data, invalidate_tenant
from tenant_cache.keys import current_tenant
from tenant_cache.registry import registry
from tenant_cache.stats import platform_stats, tenant_stats
from tenant_cache.tenants import tenant_queryset


def _invalidate(tenant: str, data_category: str | None) -> int:
    """Drop one tenant's entries that depend on `data_category` (None: all its entries)."""
    return (
        invalidate_tenant(tenant)
        if data_category is None
        else invalidate_data(tenant, data_category)
    )


class InvalidateInput(serializers.Serializer):
    category = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="A data category; none: all."
    )

    def validate_category(self, value: str | None) -> str | None:
        if value is not None and value not in registry.data_categories():
            allowed = ", ".join(sorted(registry.data_categories()))
            raise serializers.ValidationError(f"Unknown category {value!r}. Allowed: {allowed}.")
        return value


class PlatformInvalidateInput(InvalidateInput):
    tenant = serializers.SlugField(required=False, allow_null=True, default=None)


class _Error(serializers.Serializer):
    detail = serializers.CharField()


class _TopKey(serializers.Serializer):
    key = serializers.CharField()
    hits = serializers.IntegerField()


class _EntryFigures(serializers.Serializer):
    entry = serializers.CharField()
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()


class CacheStatsResponse(serializers.Serializer):
    tenant = serializers.CharField()
    hit_rate = serializers.FloatField(help_text="Percent of reads served from Redis.")
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    total_keys = serializers.IntegerField()
    memory_used = serializers.CharField(help_text='Human readable, e.g. "45.2KB".')
    memory_bytes = serializers.IntegerField()
    top_keys = _TopKey(many=True)
    entries = _EntryFigures(many=True)


class InvalidateResponse(serializers.Serializer):
    tenant = serializers.CharField()
    category = serializers.CharField()
    keys_dropped = serializers.IntegerField()


def may_administer(user: object) -> bool:
    """Staff of this tenant holding CACHE_ADMIN_PERMISSION (when one is configured)."""
    permission = setting("CACHE_ADMIN_PERMISSION")
    staff = bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))
    return staff and (permission is None or user.has_perm(permission))  # type: ignore[attr-defined]


class CacheAdministrators(permissions.BasePermission):
    """The cache API's users: staff of the tenant with CACHE_ADMIN_PERMISSION."""

    def has_permission(self, request: Request, view: object) -> bool:
        if may_administer(request.user):
            return True
        permission = setting("CACHE_ADMIN_PERMISSION")
        if permission is None:
            self.message = "The cache administration needs a staff user of this tenant."
        else:
            self.message = {  # type: ignore[assignment]
                "detail": f"The cache administration needs a staff user with {permission}.",
                "required_permissions": [permission],
            }
        return False


STAFF_ERRORS = {
    401: OpenApiResponse(_Error, description="Not authenticated."),
    403: OpenApiResponse(_Error, description="Not a cache administrator of this tenant."),
    404: OpenApiResponse(_Error, description="Unknown host."),
}


class CacheStatsView(APIView):
    """This tenant's cache figures (cache administrators: staff with CACHE_ADMIN_PERMISSION)."""

    permission_classes = [CacheAdministrators]

    @extend_schema(responses={200: CacheStatsResponse, **STAFF_ERRORS}, tags=["cache"])
    def get(self, request: Request) -> Response:
        return Response(tenant_stats(current_tenant()))


class CacheInvalidateView(APIView):
    """Drop this tenant's entries of one data category, or all of them (cache administrators)."""

    permission_classes = [CacheAdministrators]

    @extend_schema(
        request=InvalidateInput,
        responses={
            200: InvalidateResponse,
            400: OpenApiResponse(description="Unknown category."),
            **STAFF_ERRORS,
        },
        tags=["cache"],
    )
    def post(self, request: Request) -> Response:
        serializer = InvalidateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = serializer.validated_data["category"]
        tenant = current_tenant()
        dropped = _invalidate(tenant, category)
        return Response({"tenant": tenant, "category": category or "all", "keysDropped": dropped})


class PlatformCacheStatsView(APIView):
    """Every tenant's cache figures and Redis's own (platform superusers, public host)."""

    permission_classes = [permissions.IsAdminUser]

    def get(self, request: Request) -> Response:
        if not request.user.is_superuser:
            return Response({"detail": "Platform superusers only."}, status=403)
        return Response(platform_stats())


class PlatformCacheInvalidateView(APIView):
    """Drop entries of one or every tenant (platform superusers, public host)."""

    permission_classes = [permissions.IsAdminUser]

    def post(self, request: Request) -> Response:
        if not request.user.is_superuser:
            return Response({"detail": "Platform superusers only."}, status=403)
        serializer = PlatformInvalidateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenants = tenant_queryset()
        if data["tenant"]:
            tenants = tenants.filter(schema_name=data["tenant"])
            if not tenants.exists():
                return Response({"tenant": [f"Unknown tenant {data['tenant']!r}."]}, status=400)
        dropped = {t.schema_name: _invalidate(t.schema_name, data["category"]) for t in tenants}
        return Response({"category": data["category"] or "all", "keysDropped": dropped})
