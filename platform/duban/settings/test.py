"""The test suite: fast hashing, mail kept in memory (Django's locmem backend)."""

import os

from duban.settings.base import *  # noqa: F403
from duban.settings.base import env, init_observability

DUBAN_ENV = "test"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
init_observability("test")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 — WhiteNoise warns about a missing root
# One test database per test run, so that runs side by side (CI, developers) never collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
# The notification tests' robots are local HTTP servers on 127.0.0.1 (tests/notify_helpers.py):
# allowed here the way an operator allows an on-premises robot, unless the environment says
# otherwise (workers started by the tests read the same file). tests/test_webhook_egress.py puts
# the production defaults back.
if env.raw("DUBAN_WEBHOOK_ALLOWED_HOSTS") is None:
    DUBAN_WEBHOOK_ALLOWED_HOSTS = [*DUBAN_WEBHOOK_ALLOWED_HOSTS, "127.0.0.1"]  # noqa: F405
if env.raw("DUBAN_WEBHOOK_HTTP_HOSTS") is None:
    DUBAN_WEBHOOK_HTTP_HOSTS = ["127.0.0.1"]
if env.raw("DUBAN_WEBHOOK_ALLOWED_NETWORKS") is None:
    DUBAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
# No spare schemas unless a test asks (tests/test_spares.py): a spare made by one test's
# subprocess (`duban county create` refills the pool) is committed and would be taken by another.
if env.raw("DUBAN_SPARE_SCHEMAS") is None:
    DUBAN_SPARE_SCHEMAS = 0
# The single sign-on tests' OpenID Connect provider runs on 127.0.0.1 over plain http (tests/oidc/).
if env.raw("DUBAN_SSO_HTTP_HOSTS") is None:
    DUBAN_SSO_HTTP_HOSTS = ["127.0.0.1"]
