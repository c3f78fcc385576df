"""Cache key functions of the bench: identity keys, and per-tenant keys for django-cachalot.

cachalot builds its keys from the database alias and the SQL text; under django-tenants
the same SQL reads a different schema per tenant, so the schema must be in the key.
"""

from __future__ import annotations

from typing import Any

from django.db import connections


def identity_key(key: str, key_prefix: str, version: int) -> str:
    return key


def identity_key_reverse(key: str) -> str:
    return key


def _schema(alias: str) -> str:
    return str(getattr(connections[alias], "schema_name", "public"))


def tenant_query_key(compiler: Any) -> str:
    from cachalot.utils import get_query_cache_key

    return f"{_schema(compiler.using)}:{get_query_cache_key(compiler)}"


def tenant_table_key(db_alias: str, table: str) -> str:
    from cachalot.utils import get_table_cache_key

    return f"{_schema(db_alias)}:{get_table_cache_key(db_alias, table)}"
