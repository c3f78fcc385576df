"""A minimal django-tenants project that installs tenant_cache and nothing of FireLater.

It proves tenant_cache is reusable: its own tenant model (customers.Client), its own
cached model (notes.Note) with its own bulk-write signal, its own entries. Run by
tests/cache/test_reusable_app.py in a subprocess (so no FireLater module is imported).
"""

import os
from urllib.parse import unquote, urlsplit

import environ

env = environ.Env()
_url = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/firelater")
_main = env.db_url_config(_url)
# A Unix-socket host, percent-encoded as libpq reads it (the suite's private pair): decoded
# here, as django-environ keeps it encoded (FireLater's settings do the same).
_host = urlsplit(_url).netloc.rpartition("@")[2]
if _host.lower().startswith("%2f"):
    _main["HOST"], _, _main["PORT"] = unquote(_host).partition(":")

SECRET_KEY = "tenant-cache-reusability-test-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
DATABASES = {
    "default": {
        **_main,
        "ENGINE": "django_tenants.postgresql_backend",
        # Its own database beside the suite's (pytest-django prefixes it with test_).
        "NAME": f"{_main['NAME']}_tcproj",
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
SHARED_APPS = [
    "django_tenants",
    "tests.tenant_cache_project.customers",
    "tenant_cache",
    "django.contrib.contenttypes",
]
TENANT_APPS = ["django.contrib.contenttypes", "tests.tenant_cache_project.notes"]
INSTALLED_APPS = [*SHARED_APPS, *[a for a in TENANT_APPS if a not in SHARED_APPS]]
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
ROOT_URLCONF = "tests.tenant_cache_project.urls"
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25},
    }
}
CACHE_TTL = {"default": 60}
# These checks are of strict invalidation (a write is on every next read); bounded
# staleness, the default, has its own suite (tests/cache/test_freshness.py).
CACHE_MAX_STALE = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
