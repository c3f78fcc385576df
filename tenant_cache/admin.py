"""The tenant admin's Cache page: this tenant's cache figures and invalidation by category.

Include it with `path("admin/cache/", admin.site.admin_view(cache_admin_page),
name="admin-cache")` (tenant_cache.urls does): staff only (holding CACHE_ADMIN_PERMISSION
when it is set), CSRF-protected, never cached. Its template is admin/cache.html, shipped
with this app.
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods
from redis.exceptions import RedisError

from tenant_cache.api import may_administer
from tenant_cache.invalidation import invalidate_data, invalidate_tenant, pending_invalidations
from tenant_cache.keys import current_tenant
from tenant_cache.registry import registry
from tenant_cache.stats import tenant_stats

logger = logging.getLogger(__name__)

ALL = "all"


def _data_categories() -> list[dict[str, object]]:
    return [
        {"name": category, "entries": sorted(e.name for e in registry.affected(category))}
        for category in sorted(registry.data_categories())
    ]


def _invalidate(request: HttpRequest, tenant: str) -> HttpResponse:
    category = request.POST.get("category", "")
    if category != ALL and category not in registry.data_categories():
        messages.error(request, f"Unknown cache category {category!r}.")
        return redirect("admin-cache")
    dropped = invalidate_tenant(tenant) if category == ALL else invalidate_data(tenant, category)
    logger.info(
        "Cache invalidated from the admin",
        extra={"tenant": tenant, "category": category, "user": request.user.get_username()},
    )
    if tenant in pending_invalidations():
        messages.warning(
            request,
            "Redis is not answering: the invalidation is queued and runs as soon as it is back.",
        )
    elif category == ALL:
        messages.success(request, f"Invalidated every cached entry ({dropped} values dropped).")
    else:
        messages.success(
            request,
            f"Invalidated the entries that depend on {category} ({dropped} values dropped).",
        )
    return redirect("admin-cache")


@require_http_methods(["GET", "POST"])
def cache_admin_page(request: HttpRequest) -> HttpResponse:
    if not may_administer(request.user):
        raise PermissionDenied("The Cache page is for the tenant's cache administrators.")
    tenant = current_tenant()
    if request.method == "POST":
        return _invalidate(request, tenant)
    stats, redis_error = None, None
    try:
        stats = tenant_stats(tenant)
    except RedisError as error:
        logger.warning("Cache figures unavailable", extra={"tenant": tenant, "error": str(error)})
        redis_error = (
            "Redis is not answering, so there are no cache figures right now. The dashboard "
            "keeps working straight from the database until it is back."
        )
    context = {
        **admin.site.each_context(request),
        "title": "Cache",
        "tenant": tenant,
        "stats": stats,
        "redis_error": redis_error,
        "categories": _data_categories(),
        "pending": tenant in pending_invalidations(),
    }
    return TemplateResponse(request, "admin/cache.html", context)
