"""Settings of bench/api.py's "with tenant routing" gunicorn: the production profile plus the
benchmark's URLs; no HTTPS redirect (plain HTTP on 127.0.0.1), no API throttling."""

from duban.settings.production import *  # noqa: F403

ROOT_URLCONF = "_api_site"
SECURE_SSL_REDIRECT = False
DUBAN_API_THROTTLE = {"user": None, "anon": None}
