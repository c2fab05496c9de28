"""Production: secrets required, HTTPS everywhere; passes `duban check --deploy` cleanly."""

from duban.settings.base import *  # noqa: F403
from duban.settings.base import email_settings, env, init_observability

DUBAN_ENV = "production"
DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", secret=True, required=True)
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    from duban.settings.env import ConfigError

    raise ConfigError("SECRET_KEY", "must be at least 50 characters with at least 5 distinct ones")

if env.date("DUBAN_TODAY") is not None:
    from duban.settings.env import ConfigError

    raise ConfigError("DUBAN_TODAY", "pins the county's date for tests and demos; a production site runs on the real date")

DUBAN_URL_SCHEME = "https"
# TLS ends at the ingress, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DUBAN_SSL_REDIRECT", True)
# Kubernetes probes speak plain HTTP to the pod.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DUBAN_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
globals().update(email_settings("smtp://localhost:25"))
init_observability("production")
