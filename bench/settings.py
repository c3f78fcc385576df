"""Bench-only settings: production settings plus instrumentation and comparison peers.

Never used by the product. Selected by the bench's own processes (DJANGO_SETTINGS_MODULE=
bench.settings); switches come from BENCH_* environment variables set by bench/common.py:
- BENCH_INSTRUMENT=1: count SQL queries and server time per request (response headers).
- BENCH_CACHALOT=1: install django-cachalot (keyed per tenant) for the side-by-side run.
- BENCH_CACHALOT_PLAIN=1: cachalot out of the box, on a cache without django-tenants'
  key function (only the tenant-leak demonstration uses it).
"""

from __future__ import annotations

import os

from firelater.settings import *  # noqa: F403
from firelater.settings import CACHES, DATABASES, INSTALLED_APPS, MIDDLEWARE, REDIS_URL


def _flag(name: str) -> bool:
    return os.environ.get(name, "0") == "1"


# A guard, not a convenience: the bench fills, flushes and kills things. It must never
# point at the development database or the test databases.
if "bench" not in DATABASES["default"]["NAME"]:
    raise RuntimeError(
        f"bench.settings refuses database {DATABASES['default']['NAME']!r}: "
        "its name must contain 'bench' (bench/common.py sets DATABASE_URL)."
    )

ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"
if _flag("BENCH_INSTRUMENT"):
    # Outermost, so the tenant lookup and authentication queries are counted too.
    MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]

# Raw access to the same Redis with no key function, for the micro-benchmarks' raw GET
# and django-redis delete_pattern comparison (keys exactly as our cache core writes them).
CACHES = {
    **CACHES,
    "bench_raw": {
        **CACHES["default"],
        "KEY_FUNCTION": "bench.keys.identity_key",
        "REVERSE_KEY_FUNCTION": "bench.keys.identity_key_reverse",
    },
}

if _flag("BENCH_CACHALOT") or _flag("BENCH_CACHALOT_PLAIN"):
    INSTALLED_APPS = [*INSTALLED_APPS, "cachalot"]
    # Cache only the four data apps, so the tenant lookup and the token query cost the
    # same for every contender; the comparison is about caching the dashboard's data.
    CACHALOT_ONLY_CACHABLE_APPS = ["issues", "changes", "requests_app", "applications"]
    CACHALOT_TIMEOUT = 300  # the overview's TTL in ours
    # Our django-tenants backend is PostgreSQL underneath; cachalot only knows it by name.
    CACHALOT_ADDITIONAL_SUPPORTED_DATABASES = ["tenants.postgresql_backend"]
    if _flag("BENCH_CACHALOT_PLAIN"):
        # Out of the box: Django's own key function, keys from the SQL text alone.
        CACHES["cachalot"] = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cachalot-plain",
        }
    else:
        # Per tenant: the schema is part of every query and table key (cachalot's own
        # keygen hooks), whatever the cache's key function does.
        CACHES["cachalot"] = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cachalot",
        }
        CACHALOT_QUERY_KEYGEN = "bench.keys.tenant_query_key"
        CACHALOT_TABLE_KEYGEN = "bench.keys.tenant_table_key"
    CACHALOT_CACHE = "cachalot"
