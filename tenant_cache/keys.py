"""Cache key building: every key is tenant-scoped, hash-tagged and injection-proof.

Layout (the tenant in a Redis Cluster hash tag, so all its keys share one slot):
    cache:{acme}:dashboard:overview                 a value
    cache:{acme}:dashboard:trends:days=30           a value with normalised parameters
    cache:{acme}:_meta:gen:dashboard:overview       the entry's generation (stale-set guard)
    cache:{acme}:_meta:idx:dashboard:overview       set of the entry's live value keys
    cache:{acme}:_meta:lock:<value key tail>        stampede lock
    cache:{acme}:_meta:entries / stats              per-tenant bookkeeping
    cache:{acme}:_meta:purged                       a deleted tenant's key space is closed
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.db import connection
from django_tenants.utils import get_public_schema_name

KEY_PREFIX = "cache"
META = "_meta"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TENANT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class CacheContextError(RuntimeError):
    """A cache key was requested outside a tenant (public schema or no tenant set)."""


def check_name(kind: str, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"Invalid cache {kind} {value!r}: lowercase letters, digits, '_'.")
    return value


def current_tenant() -> str:
    """The tenant of the current database connection; never taken from the caller."""
    schema = getattr(connection, "schema_name", None)
    if not schema or schema == get_public_schema_name():
        raise CacheContextError("No tenant is active: cache keys exist only inside a tenant.")
    return check_tenant(schema)


def check_tenant(tenant: str) -> str:
    if not _TENANT.fullmatch(tenant or "") or tenant == get_public_schema_name():
        raise CacheContextError(f"Invalid tenant for a cache key: {tenant!r}.")
    return tenant


def tenant_prefix(tenant: str) -> str:
    return f"{KEY_PREFIX}:{{{tenant}}}:"


def _normalise(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = (
            sorted(_normalise(v) for v in value)
            if isinstance(value, (set, frozenset))
            else [_normalise(v) for v in value]
        )
        return ",".join(quote(i, safe="") for i in items)
    return unicodedata.normalize("NFC", str(value))


def params_suffix(params: Mapping[str, Any] | None) -> str:
    """':a=1&b=x%2A' with names sorted and every value percent-escaped.

    Escaping leaves only [A-Za-z0-9_.~%-] in values, so no value can contain a separator
    (':', '=', '&'), a hash-tag brace or a glob character: one value can never produce a
    key of another entry, parameter set or tenant.
    """
    if not params:
        return ""
    parts = [
        f"{check_name('parameter', name)}={quote(_normalise(params[name]), safe='')}"
        for name in sorted(params)
    ]
    return ":" + "&".join(parts)


def value_key(tenant: str, entry_id: str, params: Mapping[str, Any] | None = None) -> str:
    return f"{tenant_prefix(tenant)}{entry_id}{params_suffix(params)}"


def meta_key(tenant: str, kind: str, name: str = "") -> str:
    return f"{tenant_prefix(tenant)}{META}:{kind}" + (f":{name}" if name else "")
