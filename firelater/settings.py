"""FireLater settings: one module, configured by environment variables (see README)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import django
import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (make run sets DEBUG=1 for local use)."
        )
    SECRET_KEY = "insecure-local-development-key"  # only ever used with DEBUG on

# Tenants are reached by host: <slug>.localhost in development.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[".localhost", "localhost", "127.0.0.1"])
# Host used for the platform (public schema): public admin, tenant management.
PUBLIC_DOMAINS = env.list("PUBLIC_DOMAINS", default=["localhost", "127.0.0.1"])

# --- Applications ------------------------------------------------------------------------
# Accounts, sessions, tokens and admin log live in *every* schema: a tenant's users are in
# its own schema (a login of one tenant is unknown in another); the public schema holds the
# platform superusers who manage tenants.
_COMMON_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "rest_framework.authtoken",
    "axes",  # failed logins (AccessAttempt), kept in each tenant's schema and the platform's
    "firelater",  # its migrations: the revocation triggers on each schema's users and tokens
]
SHARED_APPS = [
    "django_tenants",  # first: its `migrate` replaces Django's with migrate_schemas
    "tenants",
    "tenant_cache",  # the tenant-safe cache: its deferred-invalidation table is shared
    *_COMMON_APPS,
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
TENANT_APPS = [
    *_COMMON_APPS,
    "applications",
    "issues",
    "requests_app",
    "changes",
    "cloud",
    "dashboard",
    "demo",
]
INSTALLED_APPS = [*SHARED_APPS, *[app for app in TENANT_APPS if app not in SHARED_APPS]]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "firelater.urls_public"
ROOT_URLCONF = "firelater.urls"
# tenant_cache's router first: reads inside its replica blocks go to the standby (if
# DATABASE_REPLICA_URL is set), writes always to the primary, nothing migrates the standby.
DATABASE_ROUTERS = ("tenant_cache.ReplicaRouter", "django_tenants.routers.TenantSyncRouter")
# Send SET search_path only when the schema changes, not before every cursor (see
# tenants.postgresql_backend: consecutive requests of one tenant on a connection send none).
TENANT_LIMIT_SET_CALLS = True
# Seconds a process keeps a host -> tenant answer (changes in the same process flush it).
TENANT_LOOKUP_TTL = env.float("TENANT_LOOKUP_TTL", default=30.0)

MIDDLEWARE = [
    "firelater.request_log.RequestLogMiddleware",  # outermost: times and logs every request
    "firelater.health.OperationsMiddleware",  # /healthz /readyz /metrics on any host
    "tenants.middleware.TenantMiddleware",  # everything after runs in the tenant schema
    # The request's user is the cache's actor: their writes are on their next read.
    "tenant_cache.ReadYourWritesMiddleware",
    "firelater.middleware.BodySizeLimitMiddleware",
    "firelater.middleware.NulQueryStringMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "firelater.csp.CSPMiddleware",  # django-csp's, plus what the packages' pages need
    # Last: turns a login that django-axes refused into the lockout answer (firelater.lockout).
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin's own templates before the apps': django-tenants' app list and admin
        # index (first among the apps) colour the apps with inline styles, which the
        # Content-Security-Policy refuses. Ours (templates/) still override both.
        "DIRS": [BASE_DIR / "templates", Path(django.__file__).parent / "contrib/admin/templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "firelater.wsgi.application"
ASGI_APPLICATION = "firelater.asgi.application"

# --- Data stores -------------------------------------------------------------------------


def _database(url: str) -> dict:
    """A DATABASES entry for a postgres:// URL, with django-tenants' engine and our options.

    A Unix-socket host is written percent-encoded, as libpq itself reads it
    (postgres://user@%2Fvar%2Frun%2Fpostgresql/db; the test suite's private pair,
    scripts/pg_pair.py): django-environ keeps such a host encoded (and lower-cased), so it is
    decoded here from the URL itself.
    """
    config = environ.Env.db_url_config(
        url,
        engine="tenants.postgresql_backend",  # django-tenants', skipping redundant SETs
    )
    host = urlsplit(url).netloc.rpartition("@")[2]
    if host.lower().startswith("%2f"):
        host, _, port = host.partition(":")
        config["HOST"], config["PORT"] = unquote(host), port
    # Persistent connections are worth ~7x throughput on this box (shared/PERFORMANCE.md).
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {})
    # A request must never hang on a dead database: fail fast, answer 503.
    config["OPTIONS"].setdefault("connect_timeout", 3)
    # PostgreSQL's JIT compiles the trends query on every run (~75 ms of 95 ms with 100k
    # issues, make bench): the dashboard's short aggregates are faster interpreted.
    config["OPTIONS"].setdefault("options", "-c jit=off")
    return config


DATABASES = {
    "default": _database(
        env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/firelater")
    )
}
# A hot standby of the same database (streaming replication), for reads that may lag.
# Unset: no replica, everything runs on the primary. The cache's recomputations and the
# read-only list endpoints read here once it has replayed what they must see
# (tenant_cache.replica, CACHE_REPLICA_ALIAS below, docs/deploying.md).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL)
    # A dead standby must cost a reader one short wait, then the primary answers instead.
    DATABASES["replica"]["OPTIONS"]["connect_timeout"] = 1
    # Tests: the standby already has the test database (it replicates the primary's), so
    # it is neither created nor flushed; tests.support.pg_pair points it at the standby.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}

# DATABASE_REPLICA_READS=0 keeps the standby configured but unused (draining it).
CACHE_REPLICA_ALIAS = (
    "replica" if "replica" in DATABASES and env.bool("DATABASE_REPLICA_READS", True) else None
)
CACHE_REPLICA_MAX_WAIT = env.float("CACHE_REPLICA_MAX_WAIT", default=0.1)
CACHE_REPLICA_COOLDOWN = env.float("CACHE_REPLICA_COOLDOWN", default=5.0)
CACHE_REPLICA_TIMEOUT = env.float("CACHE_REPLICA_TIMEOUT", default=5.0)

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        # django-tenants' key function prefixes the schema: Django's own cache users
        # (throttling, cache_page) can never read another tenant's entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # Tight timeouts: redis-py 8 defaults to 5 s, which a hung Redis would cost
            # on every call.
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# redis-py retries failed commands with backoff by default; the cache's circuit breaker
# decides instead, so a dead Redis costs one fast failure, not seconds of retries.
CACHES["default"]["OPTIONS"]["CONNECTION_POOL_KWARGS"] = {"retry": Retry(NoBackoff(), 0)}
# Redis Cluster or Sentinel instead of one server (docs/deploying.md).
# REDIS_URL=redis+cluster://host:port[,host:port...] (or REDIS_CLUSTER=1): a Redis Cluster,
# through tenant_cache.cluster (same timeouts, no retries).
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default="+cluster://" in REDIS_URL)
if REDIS_CLUSTER:
    CACHES["default"]["OPTIONS"]["CLIENT_CLASS"] = "tenant_cache.cluster.ClusterClient"
# REDIS_SENTINELS=host:port[,host:port...] with REDIS_URL=redis://<service name>/0: the
# primary Sentinel names, through django-redis's SentinelClient.
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=[])
if REDIS_SENTINELS:
    CACHES["default"]["OPTIONS"].update(
        {
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": [(h, int(p)) for h, _, p in (s.rpartition(":") for s in REDIS_SENTINELS)],
            "SENTINEL_KWARGS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    )

# --- The tenant cache (tenant_cache/conf.py lists every setting and its default) ---------
# Seconds each dashboard entry lives (contract defaults), shortened by up to
# CACHE_TTL_JITTER so many tenants' entries do not expire together.
CACHE_TTL = {
    "overview": env.int("CACHE_TTL_OVERVIEW", default=300),
    "trends": env.int("CACHE_TTL_TRENDS", default=600),
    "health": env.int("CACHE_TTL_HEALTH", default=600),
    "activity": env.int("CACHE_TTL_ACTIVITY", default=60),
    "mobile": env.int("CACHE_TTL_MOBILE", default=180),
    "default": env.int("CACHE_TTL_DEFAULT", default=300),
}
# The jitter, compression threshold, lock TTL and wait keep tenant_cache's defaults.
CACHE_BREAKER_COOLDOWN = env.float("CACHE_BREAKER_COOLDOWN", default=3.0)
# Seconds other users may see an entry's previous value after a write (X-Cache: STALE);
# the writer reads its own write at once. 0: strict (every write drops the entry).
CACHE_MAX_STALE = env.float("CACHE_MAX_STALE", default=1.0)
# Refresh-ahead: values read in the last N seconds are recomputed in the background
# CACHE_REFRESH_DELAY seconds after a write (a burst coalesces); 0 = off.
CACHE_REFRESH_AHEAD = env.float("CACHE_REFRESH_AHEAD", default=600.0)
CACHE_REFRESH_DELAY = env.float("CACHE_REFRESH_DELAY", default=0.1)
# A deleted tenant's key space stays closed while other processes may still route its host
# to it (their host lookup cache).
CACHE_PURGED_TENANT_TTL = max(60.0, 2 * TENANT_LOOKUP_TTL)

# --- Auth --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Seconds a process keeps a token -> user answer (0: query every request). A token or user
# changed in this process is forgotten at once; other processes see it within the TTL.
AUTH_TOKEN_CACHE_TTL = env.float("AUTH_TOKEN_CACHE_TTL", default=30.0)
# Seconds an API token lives from its creation; logging in after that issues a new key
# (firelater.auth). Default 30 days.
TOKEN_TTL = env.int("TOKEN_TTL", default=30 * 24 * 3600)
if TOKEN_TTL <= 0:  # every token would be born expired
    raise ImproperlyConfigured("TOKEN_TTL must be a positive number of seconds.")
# The cache API and the admin's Cache page: tenant admins only (firelater.roles).
CACHE_ADMIN_PERMISSION = "dashboard.administer_cache"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "firelater.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login/"  # each tenant host's own login page (templates/registration)
# Where a login without ?next= lands (/admin/login/, /api-auth/login/): "/" is the
# dashboard on a tenant host and redirects to the platform admin on the public host.
# Django's default, /accounts/profile/, exists on neither (a 404).
LOGIN_REDIRECT_URL = "/"
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Login lockout (django-axes) on every login path: /login/, /admin/login/, /api-auth/login/
# and the token endpoint, on tenant hosts and the platform host. LOGIN_FAILURE_LIMIT failed
# logins of one username from one client address, each less than LOGIN_LOCKOUT_SECONDS after
# the previous, lock that combination for LOGIN_LOCKOUT_SECONDS after the last; a successful
# login clears its count. The pages then answer 429 with when to try again, the API a JSON
# 429 with Retry-After (firelater.lockout).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
# What a lock is kept per: "+" combines, "," lists alternatives locked independently (e.g.
# "username+ip_address,ip_address" also locks an address guessing many usernames).
LOGIN_LOCKOUT_PARAMETERS = env.str("LOGIN_LOCKOUT_PARAMETERS", default="username+ip_address")
AXES_LOCKOUT_PARAMETERS = [
    group.strip().split("+") for group in LOGIN_LOCKOUT_PARAMETERS.split(",") if group.strip()
]
# Read at each login (firelater.lockout), so the LOGIN_* settings can change at run time.
AXES_FAILURE_LIMIT = "firelater.lockout.failure_limit"
AXES_COOLOFF_TIME = "firelater.lockout.cool_off"
AXES_RESET_ON_SUCCESS = True
# A lock ends LOGIN_LOCKOUT_SECONDS after the failure that set it: attempts while locked
# are refused without being counted, so the page can say when to try again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "firelater.lockout.lockout_response"
# The address is the one the throttle uses (NUM_PROXIES below): never a client-sent header.
AXES_CLIENT_IP_CALLABLE = "firelater.lockout.client_address"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded (an unbounded table)
AXES_ENABLE_ADMIN = False  # firelater.admin.LoginAttemptAdmin, on the tenant and platform admins
AXES_VERBOSE = False

# Immediate revocation (firelater.revocation): each process listens on PostgreSQL for the
# triggers on users, tokens and tenants, and forgets what it cached of that tenant at once.
# Off: other processes see a revocation within AUTH_TOKEN_CACHE_TTL / TENANT_LOOKUP_TTL.
AUTH_REVOCATION_LISTENER = env.bool("AUTH_REVOCATION_LISTENER", default=True)

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous API call gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "firelater.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Model permissions of the user's roles, reads included; a view naming none is refused
    # (firelater.permissions, firelater.roles).
    "DEFAULT_PERMISSION_CLASSES": ["firelater.permissions.RolePermissions"],
    "DEFAULT_RENDERER_CLASSES": [
        "firelater.renderers.JSONRenderer",  # camelCase, never invalid UTF-8
        "djangorestframework_camel_case.render.CamelCaseBrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "firelater.parsers.JSONParser",  # camelCase; too deep, NaN, 1e999, lone surrogates: 400
        "djangorestframework_camel_case.parser.CamelCaseFormParser",
        "djangorestframework_camel_case.parser.CamelCaseMultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "firelater.filters.FilterBackend",  # django-filter's, camelCase names too
        "firelater.api.StrictOrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "firelater.api.PageNumberPagination",
    # drf-spectacular's, plus the error statuses each operation can answer (firelater/openapi.py)
    "DEFAULT_SCHEMA_CLASS": "firelater.openapi.AutoSchema",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "firelater.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": env.str("TOKEN_THROTTLE_RATE", default="10/min")},
}

# --- Security (TLS deployments: docs/deploying.md) ---------------------------------------
# Everything here is off by default so `make run` works on http://acme.localhost:8000.
# BEHIND_TLS_PROXY=1 (an HTTPS-terminating proxy in front) turns it all on; each setting
# can still be set on its own.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
# The proxy must overwrite X-Forwarded-Proto (never pass on a client's): Django then knows
# a request came in over HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=BEHIND_TLS_PROXY)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=BEHIND_TLS_PROXY)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=BEHIND_TLS_PROXY)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if BEHIND_TLS_PROXY else 0)
# Tenant hosts are subdomains of the platform's domain: all of them are HTTPS too.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [
    # W021 asks for HSTS preload. Preloading is the domain owner's decision, made by
    # submitting the registrable domain to the browsers' preload list (and hard to undo):
    # nothing the application can decide. Opt in with SECURE_HSTS_PRELOAD=1.
    "security.W021",
]
# Origins allowed to send session writes from another host (e.g. "https://*.example.com");
# a same-host form or script needs none.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The tenant is chosen by the Host header: X-Forwarded-Host, which any client can send,
# must never choose it (tests/security/test_isolation_sweep.py).
USE_X_FORWARDED_HOST = False
USE_X_FORWARDED_PORT = False
# Client address for throttling (token logins): DRF's default trusts a client-sent
# X-Forwarded-For, so a password guesser could name a new address per attempt. 0: the
# socket's address; behind N proxies, the address the outermost proxy saw.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("NUM_PROXIES", default=1 if BEHIND_TLS_PROXY else 0)

# Content-Security-Policy on every response (django-csp 4; Django's own arrives in 6.0).
# Pages load only their own scripts and styles: no inline script anywhere, and no inline
# style in FireLater's templates (the dashboard's bars are SVG, its figures a JSON script
# element). The inline styles of other packages' pages carry the request's nonce, which
# django-csp adds to style-src only for a page that used it (firelater.csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # the admin's and API docs' icons are data: URIs
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],  # as X-Frame-Options: DENY
    }
}

# --- Requests ----------------------------------------------------------------------------
# Larger bodies are refused with a JSON 413 (firelater.middleware.BodySizeLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# --- I18N / time -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps when collectstatic has not run

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Operations --------------------------------------------------------------------------
# /metrics: with a token, readable with "Authorization: Bearer <token>"; without one, only
# from loopback and not through a proxy (firelater.health).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Logging -----------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (request lines carry tenant, path, status,
# duration_ms, cache and request_id); plain text otherwise.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "firelater.request_log.RequestContextFilter"}},
    "formatters": {
        "plain": {
            "()": "firelater.request_log.PlainFormatter",  # control characters escaped
            "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Our request line replaces Django's own per-request warnings for 4xx/5xx.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        # django-axes reports every login at INFO; its warnings (lockouts) stay.
        "axes": {"level": "WARNING"},
    },
}

# --- OpenAPI -----------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "FireLater API",
    "DESCRIPTION": (
        "Multi-tenant IT service management. Every path is per tenant: call it on the "
        "tenant's host (e.g. acme.localhost). JSON keys are camelCase."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IssueStatusEnum": "issues.models.IssueStatus",
        "RequestStatusEnum": "requests_app.models.RequestStatus",
        "ChangeStatusEnum": "changes.models.ChangeStatus",
        "ChangeTypeEnum": "changes.models.ChangeType",
        "ChangeOutcomeEnum": "changes.models.ChangeOutcome",
        "CloudProviderEnum": "cloud.models.CloudProvider",
        "PeriodTypeEnum": "cloud.models.PeriodType",
        "ChangeTrendEnum": ["improving", "stable", "declining"],
        "LevelEnum": "firelater.models.Priority",  # priorities and change risks share it
        "HealthStatusEnum": "applications.models.HealthStatus",
        "ActivityTypeEnum": ["issue", "change", "request"],
        "ActivityActionEnum": ["created", "updated", "resolved", "fulfilled"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
    ],
}
