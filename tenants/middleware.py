"""Host -> tenant routing with an in-process lookup cache and JSON answers for unknown hosts."""

from __future__ import annotations

import copy
import threading
import time

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from firelater import revocation
from tenants.models import Domain, Tenant

_lookup_cache: dict[str, tuple[float, Tenant | None, tuple[int, int]]] = {}
_lookup_lock = threading.Lock()


def flush_tenant_lookup_cache() -> None:
    """Forget every cached host -> tenant answer (called when tenants or domains change)."""
    with _lookup_lock:
        _lookup_cache.clear()


def _lookup_tenant(hostname: str) -> Tenant | None:
    """The active tenant for a host, or None; cached per process for TENANT_LOOKUP_TTL s.

    The per-request Domain query costs ~70 % of a cached endpoint's throughput
    (shared/PERFORMANCE.md). Changes made in this process flush the cache at once
    (tenants.signals); every process drops an answer once a tenant or domain changed
    anywhere (the routing epoch of firelater.revocation), or within the TTL when its
    revocation listener is down.
    """
    ttl = getattr(settings, "TENANT_LOOKUP_TTL", 30.0)
    epoch = revocation.stamp(revocation.ROUTING)  # before the query, not after
    now = time.monotonic()
    cached = _lookup_cache.get(hostname)
    if cached is not None and cached[0] > now and cached[2] == epoch:
        return cached[1]
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    tenant = domain.tenant if domain is not None and domain.tenant.is_active else None
    with _lookup_lock:
        if len(_lookup_cache) > 10_000:  # hostile Host headers must not grow it forever
            _lookup_cache.clear()
        _lookup_cache[hostname] = (now + ttl, tenant, epoch)
    return tenant


def _not_found(detail: str) -> HttpResponse:
    return JsonResponse({"detail": detail}, status=404)


class TenantMiddleware(TenantMainMiddleware):
    """Selects the host's tenant for the request (404 JSON for an unknown host).

    No `SET search_path` is sent when the connection already has the tenant's path (the
    previous request on it was for the same tenant): tenants.postgresql_backend tracks
    the path the connection really has, so a warm request runs no SQL at all.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        connection.set_schema_to_public()
        try:
            hostname = remove_www(request.get_host().split(":")[0].lower())
        except DisallowedHost:
            return _not_found("Unknown host.")
        tenant = _lookup_tenant(hostname)
        if tenant is None:
            return _not_found("Unknown host.")
        tenant = copy.copy(tenant)  # per-request attributes must not leak between requests
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(tenant)
        self.setup_url_routing(request)
        return None
