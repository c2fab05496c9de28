"""Settings of bench/api.py's "without tenant routing" gunicorn: as _api_settings, with
tenants.middleware.CountyMiddleware replaced by _api_site.FixedCountyMiddleware."""

from _api_settings import *  # noqa: F403
from _api_settings import MIDDLEWARE

MIDDLEWARE = ["_api_site.FixedCountyMiddleware"
              if entry == "tenants.middleware.CountyMiddleware" else entry for entry in MIDDLEWARE]
assert "_api_site.FixedCountyMiddleware" in MIDDLEWARE
