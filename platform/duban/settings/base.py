"""Settings shared by every profile. Values come from the environment only (see env.py).

Profiles: ``duban.settings.development`` (default), ``duban.settings.test`` and
``duban.settings.production``; ``DUBAN_ENV`` chooses one when ``DJANGO_SETTINGS_MODULE`` is
not set (see ``duban.settings.select_settings_module``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.utils.translation import gettext_lazy as _

from duban.settings.env import ConfigError, env

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # platform/duban


def _project_dir() -> Path:
    """The repository root when running from a checkout, else the working directory."""
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "platform").is_dir():
        return candidate
    return Path.cwd()


PROJECT_DIR = _project_dir()
# Runtime state of a local installation: embedded database, file broker, uploads, secret key.
DATA_DIR = Path(env.str("DUBAN_DATA_DIR", str(PROJECT_DIR / ".duban"))).resolve()
DUBAN_ENV = env.choice("DUBAN_ENV", "development", ("development", "test", "production"))

DEBUG = env.bool("DEBUG", False)
# The county's date pinned to one day (YYYY-MM-DD) for every process of a test run or a demo:
# duban.core.clock answers it instead of the real date. Refused in production.
DUBAN_TODAY = env.date("DUBAN_TODAY")


def _secret_key(required: bool) -> str:
    key = env.str("SECRET_KEY", secret=True, required=required)
    if key:
        return key
    # Development only: one random key per installation, kept under DATA_DIR so sessions
    # survive restarts of `make demo`.
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key(required=False)
# Rotation: the new key in SECRET_KEY, the old one(s) here (comma separated) until sessions and
# signed links made with them have expired — nobody is logged out by the change.
SECRET_KEY_FALLBACKS = [key.strip() for key in (env.str("SECRET_KEY_FALLBACKS", "", secret=True) or "").split(",")
                        if key.strip()]

# --- hosts --------------------------------------------------------------------------------
# The public host is the base domain; county <slug> answers on <slug>.<base>.
DUBAN_BASE_DOMAIN = env.hostname("DUBAN_BASE_DOMAIN", "localhost")
DUBAN_PUBLIC_PORT = env.int("DUBAN_PUBLIC_PORT", 8000, minimum=1, maximum=65535)
DUBAN_URL_SCHEME = env.choice("DUBAN_URL_SCHEME", "http", ("http", "https"))
DUBAN_EXTRA_HOSTS = env.list("DUBAN_EXTRA_HOSTS")
ALLOWED_HOSTS = [DUBAN_BASE_DOMAIN, f".{DUBAN_BASE_DOMAIN}"] + DUBAN_EXTRA_HOSTS

# --- applications -------------------------------------------------------------------------
# duban.core comes before django_tenants so that its migrate/migrate_schemas commands (which
# also keep the template schema current) take precedence.
SHARED_APPS = [
    "duban.core",
    # City comparison (public schema). Before "tenants": its `city` command extends tenants' one
    # with `compare` and `refresh`.
    "duban.comparison",
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "duban.accounts",
    "duban.audit",
    "duban.units",
    "plugins",
    # The demo (`duban seed_demo`): a command-only app, no models, on top of every area.
    "duban.demo",
    "api",
    "duban.web",
    # Login lockout records and one-time-password devices belong to users, who live both in
    # the public schema (platform operators, city users) and in every county's schema.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]
TENANT_APPS = [
    # Each county's calendar corrections and sequences (duban.core.county); core's public-only
    # model stays out of county schemas (duban.core.routers).
    "duban.core",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "duban.accounts",
    "duban.audit",
    "duban.units",
    "duban.ops",
    "duban.matters",
    "duban.supervision",
    "duban.notifications",
    "duban.documents",
    "duban.reports",
    # Each county's OpenID Connect provider and role mapping (single sign-on).
    "duban.identity",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.County"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New counties are cloned from this schema, which `duban migrate_schemas` keeps current.
# It starts with an underscore so that no county schema (always county_<slug>) can take it.
TENANT_BASE_SCHEMA = "_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# One `SET search_path` per request (when the middleware picks the county), not one per cursor.
# django-tenants re-issues it after set_tenant(), a rollback or a savepoint rollback; our own code
# that sets search_path by hand (core.cloning) forgets the cached value afterwards.
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "duban.urls_public"
ROOT_URLCONF = "duban.urls"
DATABASE_ROUTERS = ("duban.core.routers.PublicOnlyModels", "django_tenants.routers.TenantSyncRouter")
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    # Outermost of all (touches no database): the Content-Security-Policy header (CONTENT_SECURITY_POLICY)
    # on every response, the 503 page, the unknown-host 404 and the suspended county's page included.
    "csp.middleware.CSPMiddleware",
    # Outermost after it (touches no database): a lost database connection anywhere inside answers 503
    # with Retry-After instead of a 500 (duban.core.dbdown).
    "duban.core.dbdown.DatabaseUnavailableMiddleware",
    # Must be first after it: selects the county's schema (or the public one) from the Host header.
    "tenants.middleware.CountyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Simplified Chinese unless the user chose otherwise (the browser's Accept-Language is ignored).
    "duban.web.middleware.DefaultLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: whether a page was asked for by htmx (a fragment to swap in place).
    "django_htmx.middleware.HtmxMiddleware",
    # Logs a session out after DUBAN_IDLE_TIMEOUT_SECONDS without a request.
    "duban.web.middleware.IdleTimeoutMiddleware",
    # A user with a confirmed TOTP device goes nowhere but /login/otp/ until the code is given.
    "duban.web.middleware.OTPRequiredMiddleware",
    # A user opened by single sign-on without a role yet sees only the page saying so (duban.identity).
    "duban.web.middleware.RoleRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last (django-axes): turns a locked-out login attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp): scripts, styles, fonts and images come from our own static files
# only — no inline <script>, <style>, style="" or on…="" handlers, no eval (htmx's allowEval is off in
# web/base.html), no plugins, no framing, no <base>, forms post only to us. ECharts draws on canvas and
# positions its tooltip through element.style (the CSSOM, which style-src does not govern); images
# from data: are the QR code and Django admin's icons. A standalone page that cannot rely on /static/
# (the 503 page, the suspended county's page, the document check page) puts its <style> under the
# request's nonce, which then appears in style-src of that response only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, CSP_NONCE],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
        "form-action": [CSP_SELF],
        "base-uri": [CSP_NONE],
        "object-src": [CSP_NONE],
    },
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "duban.wsgi.application"
ASGI_APPLICATION = "duban.asgi.application"

# --- database -----------------------------------------------------------------------------
DATABASE_URL = env.url("DATABASE_URL", schemes=("postgres", "postgresql", "pgsql"), secret=True)
if DATABASE_URL is None:
    raise ConfigError(
        "DATABASE_URL",
        "is required (postgresql://user:password@host:5432/name). `make demo` and `make test` "
        "start an embedded PostgreSQL and set it for you.")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
if not _db.get("NAME"):
    raise ConfigError("DATABASE_URL", "names no database (…/dbname)")
# django-tenants' backend, counting the schemas each connection visits (duban.core.connections).
_db["ENGINE"] = "duban.core.dbbackend"
_db["CONN_HEALTH_CHECKS"] = True
_db.setdefault("OPTIONS", {})["application_name"] = "duban"
DATABASES = {"default": _db}
# A connection that has served more than this many county schemas is closed at the end of its
# request or task, which bounds the memory of every PostgreSQL backend: its catalogue cache (≈ 0.2 MB
# per schema visited) and the shared-buffer pages it maps (≈ 3–4 MB per schema; docs/scaling.md).
# 0: no bound.
DATABASE_CONN_MAX_SCHEMAS = env.int("DATABASE_CONN_MAX_SCHEMAS", 20, minimum=0)
# The OWNER role's connection (owns the schemas and tables): used only by the commands that change
# structure or privileges — `duban migrate_schemas`, `duban county …` (create, backup, restore),
# `duban db grant-app-role`, `duban seed_demo` (duban.core.dbowner). DATABASE_URL is then the app
# role's, which owns nothing and so can neither alter a table nor disable a trigger. Unset (dev,
# demo, tests): everything runs on DATABASE_URL, as one role.
DUBAN_OWNER_DATABASE_URL = env.url("DUBAN_OWNER_DATABASE_URL", schemes=("postgres", "postgresql", "pgsql"),
                                   secret=True)
DUBAN_OWNER_DATABASE = None
if DUBAN_OWNER_DATABASE_URL:
    _owner = dj_database_url.parse(DUBAN_OWNER_DATABASE_URL)
    if _owner.get("NAME") != _db["NAME"]:
        raise ConfigError("DUBAN_OWNER_DATABASE_URL",
                          f"names database {_owner.get('NAME') or '(none)'!r}, but DATABASE_URL names "
                          f"{_db['NAME']!r}: both must be the same database")
    if not _owner.get("USER"):
        raise ConfigError("DUBAN_OWNER_DATABASE_URL", "names no user (postgresql://owner:password@host/name)")
    DUBAN_OWNER_DATABASE = {key: _owner.get(key) for key in ("USER", "PASSWORD", "HOST", "PORT")}
    DUBAN_OWNER_DATABASE["OPTIONS"] = {**_owner.get("OPTIONS", {}), "application_name": "duban-owner"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache --------------------------------------------------------------------------------
# Per process by default. With DUBAN_CACHE_URL (Redis) the cache is shared by every process:
# the host → county cache then keeps entries 60 s instead of 5 s (a shared generation token
# invalidates them everywhere at once) and API throttles count across processes.
DUBAN_CACHE_URL = env.url("DUBAN_CACHE_URL", secret=True, schemes=("redis", "rediss"))
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if DUBAN_CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DUBAN_CACHE_URL,
                          "KEY_PREFIX": "duban-cache"}}

# --- auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Cookies are host-only (no Domain attribute): a session of one county's host is never sent
# to another county's host. Sessions and tokens live in each county's own schema besides.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
# A form whose token is missing or stale gets the house's page (Chinese, the site's layout).
CSRF_FAILURE_VIEW = "duban.web.shortcuts.csrf_failure"
SESSION_COOKIE_NAME = "duban_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("DUBAN_SESSION_AGE", 8 * 3600, minimum=300)
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# django-axes checks a login before the password does: first in the list.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout after repeated failures, per user name and client address (records live in the
# schema of the host the login was tried on, so one county's lockouts never touch another's).
AXES_FAILURE_LIMIT = env.int("DUBAN_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("DUBAN_LOGIN_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 403
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"  # in Chinese; says when to try again
AXES_LOCKOUT_CALLABLE = "duban.web.views_auth.locked_out"  # renders AXES_LOCKOUT_TEMPLATE
AXES_VERBOSE = False
# The real client behind the ingress (duban.core.clientip): how many proxies stand in front of
# the app, or the CIDR networks they live in. 0 trusts no X-Forwarded-For at all. Used for the
# lockout above and the API's anonymous throttle.
DUBAN_TRUSTED_PROXIES = env.trusted_proxies("DUBAN_TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "duban.core.clientip.axes_client_ip"
# Guessing one user name from many addresses (duban.web.slowdown): after AXES_FAILURE_LIMIT
# failures for the name within DUBAN_LOGIN_SLOWDOWN_WINDOW_MINUTES, logins for it from addresses
# where the user has not logged in within DUBAN_LOGIN_KNOWN_ADDRESS_DAYS wait a delay that
# doubles with each further failure, up to DUBAN_LOGIN_SLOWDOWN_MAX_SECONDS.
DUBAN_LOGIN_SLOWDOWN_WINDOW_MINUTES = env.int("DUBAN_LOGIN_SLOWDOWN_WINDOW_MINUTES", 60, minimum=1)
DUBAN_LOGIN_SLOWDOWN_MAX_SECONDS = env.int("DUBAN_LOGIN_SLOWDOWN_MAX_SECONDS", 900, minimum=1)
DUBAN_LOGIN_KNOWN_ADDRESS_DAYS = env.int("DUBAN_LOGIN_KNOWN_ADDRESS_DAYS", 30, minimum=0)
# django-otp's own admin never shows a device's key or QR code (ours replaces it altogether;
# this keeps the library's pages safe should they be registered again).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Single sign-on (duban.identity): each county's OpenID Connect client secret is sealed at rest with
# a key derived from DUBAN_SSO_KEY, or from SECRET_KEY when it is unset (duban.identity.sealing).
DUBAN_SSO_KEY = env.str("DUBAN_SSO_KEY", secret=True)
# The hosts a county's identity provider (its issuer and every endpoint its discovery document names)
# may be on (``.example.gov.cn``: that domain and every name under it); empty: any host. Over plain
# http only the hosts in DUBAN_SSO_HTTP_HOSTS; everything else must be https.
DUBAN_SSO_ALLOWED_HOSTS = env.host_names("DUBAN_SSO_ALLOWED_HOSTS", [])
DUBAN_SSO_HTTP_HOSTS = env.host_names("DUBAN_SSO_HTTP_HOSTS", [])
# A session is logged out after this many seconds without a request (the web UI's idle timeout).
DUBAN_IDLE_TIMEOUT_SECONDS = env.int("DUBAN_IDLE_TIMEOUT_SECONDS", 1800, minimum=1)

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DUBAN_STATIC_ROOT", str(DATA_DIR / "static")))
MEDIA_ROOT = Path(env.str("DUBAN_MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
# A folder holding pg_dump/pg_restore of the server's major version (backups), if not found by
# duban.core.pgclient (the embedded server's, /usr/lib/postgresql/<major>/bin, the PATH).
DUBAN_PG_BIN = env.str("DUBAN_PG_BIN")
# The largest member `duban county restore` accepts in a backup file, checked against the size the
# tar header declares before a byte is read: each county file, and the schema's dump.
DUBAN_RESTORE_MAX_FILE_MB = env.int("DUBAN_RESTORE_MAX_FILE_MB", 1024, minimum=1)
DUBAN_RESTORE_MAX_DUMP_MB = env.int("DUBAN_RESTORE_MAX_DUMP_MB", 16384, minimum=1)
# The documents' CJK fonts: the Simplified Chinese faces taken out of Debian's fonts-noto-cjk
# collections (DUBAN_CJK_FONT_SOURCE) into DUBAN_FONT_DIR, and named there by file.
DUBAN_FONT_DIR = Path(env.str("DUBAN_FONT_DIR", str(DATA_DIR / "fonts")))
DUBAN_CJK_FONT_SOURCE = Path(env.str("DUBAN_CJK_FONT_SOURCE", "/usr/share/fonts/opentype/noto"))
DUBAN_MAX_UPLOAD_MB = env.int("DUBAN_MAX_UPLOAD_MB", 20, minimum=1, maximum=1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- email --------------------------------------------------------------------------------
EMAIL_SCHEMES = ("smtp", "smtps", "submission", "submit", "console", "file", "memory", "dummy")


def email_settings(default_url: str) -> dict:
    """Django's EMAIL_* settings from EMAIL_URL (or EMAIL_URL_FILE)."""
    url = env.url("EMAIL_URL", default_url, secret=True, schemes=EMAIL_SCHEMES)
    parsed = dj_email_url.parse(url)
    values = {key: parsed[key] for key in (
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS", "EMAIL_USE_SSL")}
    if parsed.get("EMAIL_FILE_PATH"):
        values["EMAIL_FILE_PATH"] = parsed["EMAIL_FILE_PATH"]
    return values


globals().update(email_settings("console://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", f"督办 <noreply@{DUBAN_BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL", secret=True,
    schemes=("redis", "rediss", "amqp", "amqps", "pyamqp", "filesystem", "sqla+postgresql"))
if CELERY_BROKER_URL is None:
    raise ConfigError(
        "CELERY_BROKER_URL",
        "is required (redis://host:6379/0, amqp://…, or filesystem:// for a single machine). "
        "`make demo` and `make test` choose one for you.")
# filesystem:// transport only: where the message files live.
CELERY_BROKER_DIR = Path(env.str("DUBAN_BROKER_DIR", str(DATA_DIR / "broker")))
CELERY_TASK_QUEUE = env.str("DUBAN_TASK_QUEUE", "duban")
CELERY_TIMEZONE = TIME_ZONE
DUBAN_HEARTBEAT_SECONDS = env.int("DUBAN_HEARTBEAT_SECONDS", 60, minimum=5)
DUBAN_SWEEP_SECONDS = env.int("DUBAN_SWEEP_SECONDS", 3600, minimum=60)
# Spare county schemas cloned ahead of time (tenants.spares): `duban county create` renames one
# instead of cloning while the operator waits; beat refills the pool. 0: always clone.
DUBAN_SPARE_SCHEMAS = env.int("DUBAN_SPARE_SCHEMAS", 3, minimum=0, maximum=100)
DUBAN_SPARE_REFILL_SECONDS = env.int("DUBAN_SPARE_REFILL_SECONDS", 300, minimum=30)
# How often beat checks whether a county's weekly report (督查专报) is due to be drafted.
DUBAN_REPORT_CHECK_SECONDS = env.int("DUBAN_REPORT_CHECK_SECONDS", 900, minimum=60)
# --- notifications outbox ---
DUBAN_OUTBOX_REDRIVE_SECONDS = env.int("DUBAN_OUTBOX_REDRIVE_SECONDS", 60, minimum=5)
DUBAN_OUTBOX_GRACE_SECONDS = env.int("DUBAN_OUTBOX_GRACE_SECONDS", 30, minimum=0)
DUBAN_NOTIFY_RETRY_SECONDS = env.int("DUBAN_NOTIFY_RETRY_SECONDS", 30, minimum=1)
DUBAN_NOTIFY_MAX_ATTEMPTS = env.int("DUBAN_NOTIFY_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
DUBAN_WEBHOOK_TIMEOUT = env.int("DUBAN_WEBHOOK_TIMEOUT", 10, minimum=1, maximum=120)
# Where group-robot webhooks may go (notifications/egress.py). A county admin can only save a
# target on these hosts (``.example.gov.cn``: the domain and every name under it); plain http only
# to the hosts in DUBAN_WEBHOOK_HTTP_HOSTS; and at delivery every address the host resolves to must
# be public, unless it lies in DUBAN_WEBHOOK_ALLOWED_NETWORKS (an on-premises robot on an intranet).
DUBAN_WEBHOOK_ALLOWED_HOSTS = env.host_names("DUBAN_WEBHOOK_ALLOWED_HOSTS",
                                             ["qyapi.weixin.qq.com", "oapi.dingtalk.com"])
DUBAN_WEBHOOK_HTTP_HOSTS = env.host_names("DUBAN_WEBHOOK_HTTP_HOSTS", [])
DUBAN_WEBHOOK_ALLOWED_NETWORKS = env.networks("DUBAN_WEBHOOK_ALLOWED_NETWORKS", [])
# Channels that reach a person (plugins/channels_cn, docs/identity.md ("Channels that reach a person")): where each provider's
# API is. The operator's choice, not a county's: these hosts need not be in DUBAN_WEBHOOK_ALLOWED_HOSTS,
# but every other rule of the webhooks' egress applies (https unless in DUBAN_WEBHOOK_HTTP_HOSTS, public
# addresses unless in DUBAN_WEBHOOK_ALLOWED_NETWORKS, no redirects). Point them at a gateway, or in
# tests at local servers.
DUBAN_WECOM_API_BASE = env.url("DUBAN_WECOM_API_BASE", "https://qyapi.weixin.qq.com", schemes=("http", "https"))
DUBAN_DINGTALK_API_BASE = env.url("DUBAN_DINGTALK_API_BASE", "https://oapi.dingtalk.com", schemes=("http", "https"))
DUBAN_ALIYUN_SMS_ENDPOINT = env.url("DUBAN_ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com",
                                    schemes=("http", "https"))
DUBAN_TENCENT_SMS_ENDPOINT = env.url("DUBAN_TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com",
                                     schemes=("http", "https"))
# How long the short link a notice carries (/m/<code>) opens its page.
DUBAN_PHONE_LINK_DAYS = env.int("DUBAN_PHONE_LINK_DAYS", 30, minimum=1, maximum=365)
# --- city comparison ---
# A county's snapshots are refreshed this long after the first write of a burst (debounce).
DUBAN_COMPARISON_DEBOUNCE_SECONDS = env.int("DUBAN_COMPARISON_DEBOUNCE_SECONDS", 60, minimum=0, maximum=86400)
# How often beat fans out a full refresh of every county's snapshots (nightly by default).
DUBAN_COMPARISON_REFRESH_SECONDS = env.int("DUBAN_COMPARISON_REFRESH_SECONDS", 86400, minimum=300)

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Hashed keys (duban.accounts.ApiToken); DRF's authtoken app, which keeps keys in the clear, is not installed.
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    # JSON bodies only (api.parsers.JSONParser: malformed or too deeply nested JSON is a 400, not a
    # 500); the routes that take a file declare multipart themselves. Another type is a 415, and the
    # schema offers one body per write, which generated clients need (issue 24 point 3).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    # No query parameter picks the renderer: DRF's default, ?format=, swallowed the documents'
    # own ?format=pdf|docx as a 404 (issue 24 point 1). The schema view reads ?format=json|yaml itself.
    "URL_FORMAT_OVERRIDE": None,
    # Filters (django-filter) and ?ordering= (each list's own fields; an unknown one is a 400).
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend", "api.paging.Ordering"],
    "DEFAULT_PAGINATION_CLASS": "api.paging.Pages",
    "DEFAULT_THROTTLE_CLASSES": ["api.paging.UserThrottle", "api.paging.AnonThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# How long an API Idempotency-Key and its first answer are remembered (api.idempotency).
DUBAN_IDEMPOTENCY_KEY_HOURS = env.int("DUBAN_IDEMPOTENCY_KEY_HOURS", 24, minimum=1, maximum=24 * 30)
# Requests per user (per county) and per anonymous address; "None" turns a limit off.
DUBAN_API_THROTTLE = {
    "user": env.str("API_THROTTLE_USER", "1200/min"),
    "anon": env.str("API_THROTTLE_ANON", "60/min"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Duban API",
    "DESCRIPTION": (
        "督办 REST API v1 of one county. The county is the host (`<county>.<base domain>`); the user is the "
        "token's (`Authorization: Token <key>`, issued per user and valid only on its county's host). "
        "Reads are scoped to what the user may see: another unit's or county's object answers 404. Writes are "
        "POSTs to action endpoints. Errors: `{\"error\": {\"code\", \"message\", \"fields\": {name: [messages]}}}` "
        "— 400 bad input (naming the field), 401 no or unknown credentials, 403 role may not, 404 not found or "
        "not yours, 409 wrong state or stale `expected_version`, 413 body too large, 422 `Idempotency-Key` reused "
        "for another request, 429 throttled. Creating POSTs accept an optional `Idempotency-Key` header: a retry "
        "with the same key returns the first answer (header `Idempotent-Replayed: true`) without acting again."),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "duban.units.models.Unit.Kind",
        "FeedbackKindEnum": "duban.matters.models.Feedback.Kind",
        "ChangeRequestKindEnum": "duban.matters.models.ChangeRequest.Kind",
        "DeadlineChangeKindEnum": "duban.matters.models.DeadlineChange.Kind",
        "UserRoleEnum": "duban.accounts.models.Role",
        "MatterUnitRoleEnum": "duban.matters.models.MatterUnit.Role",
        "InspectionResultEnum": "duban.supervision.models.InspectionItem.Result",
        "ImportKindEnum": [("units", "units"), ("matters", "matters")],  # api.imports.KINDS
    },
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.examples.add_examples",
                             "api.examples.tidy_parameters"],
}

# --- observability ------------------------------------------------------------------------
SENTRY_DSN = env.url("SENTRY_DSN", secret=True, schemes=("http", "https"))
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0, maximum=1.0)
LOG_LEVEL = env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant_context": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {
        "tenant": {"format": "%(asctime)s %(levelname)s [%(schema_name)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["tenant_context"],
                    "formatter": "tenant"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
    },
}


def init_observability(profile: str) -> None:
    """Start Sentry when SENTRY_DSN is set (and only then)."""
    if SENTRY_DSN:
        from duban.observability import init_sentry  # noqa: PLC0415 — only with a DSN, once settings are read

        init_sentry(SENTRY_DSN, environment=profile, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
