"""A deleted tenant's PostgreSQL schema: archived under another name, never given to a new tenant.

Deleting a tenant (admin, bulk action, QuerySet.delete, Tenant.delete) renames its schema to
`<schema>_del_<unix time>` in the deleting transaction (tenants.signals): its customer's data
can be restored, and nothing of it is left under the old name. A new tenant may not take a
name whose schema exists (django-tenants would silently adopt it: users, passwords, tokens),
nor the name of a tenant deleted less than the per-process host and token caches live
(TENANT_LOOKUP_TTL, AUTH_TOKEN_CACHE_TTL): other processes may route the old tenant's host
and accept its tokens that long.
"""

from __future__ import annotations

import math
import re
import time

from django.conf import settings
from django.db import connection
from django_tenants.utils import quote_schema_name

ARCHIVE_MARK = "_del_"
_STAMP_DIGITS = 10
_MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names


def archive_name(schema: str, deleted_at: int) -> str:
    """The name a schema deleted at `deleted_at` (unix seconds) is kept under."""
    keep = _MAX_IDENTIFIER - len(ARCHIVE_MARK) - _STAMP_DIGITS
    return f"{schema[:keep]}{ARCHIVE_MARK}{deleted_at:0{_STAMP_DIGITS}d}"


def _schemas_named_after(schema: str) -> set[str]:
    """The schema itself and its archives, if they exist."""
    pattern = f"^{re.escape(archive_name(schema, 0)[:-_STAMP_DIGITS])}[0-9]{{{_STAMP_DIGITS}}}$"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname ~ %s",
            [schema, pattern],
        )
        return {row[0] for row in cursor.fetchall()}


def schema_archive(schema: str) -> str | None:
    """Rename a deleted tenant's schema out of the way; its new name (None: it had none)."""
    existing = _schemas_named_after(schema)
    if schema not in existing:
        return None
    stamp = int(time.time())
    while archive_name(schema, stamp) in existing:  # deleted twice within a second
        stamp += 1
    archived = archive_name(schema, stamp)
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER SCHEMA {quote_schema_name(schema)} RENAME TO {quote_schema_name(archived)}"
        )
    return archived


def reuse_wait_seconds() -> float:
    """How long after a deletion a new tenant may take the deleted one's name."""
    return max(
        float(getattr(settings, "TENANT_LOOKUP_TTL", 30.0)),
        float(getattr(settings, "AUTH_TOKEN_CACHE_TTL", 30.0)),
    )


def reuse_refusal(schema: str) -> str | None:
    """Why a new tenant may not take the schema name `schema` now, or None."""
    existing = _schemas_named_after(schema)
    if schema in existing:
        return (
            f"A schema named {schema!r} already exists (a former tenant's data?). A new "
            "tenant never takes over an existing schema: choose another slug, or drop or "
            "rename that schema first."
        )
    deleted = [int(name[-_STAMP_DIGITS:]) for name in existing]
    if deleted:
        ago = time.time() - max(deleted)
        wait = reuse_wait_seconds() - ago
        if wait > 0:
            return (
                f"A tenant {schema!r} was deleted {max(0, int(ago))} s ago; other processes "
                f"may still route its hosts and accept its tokens: try again in "
                f"{math.ceil(wait)} s."
            )
    return None
