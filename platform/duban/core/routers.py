"""``duban.core`` is both a shared app (the platform's periodic-run claims, public schema) and a
tenant app (each county's calendar corrections and sequences). This router, ahead of
django-tenants' own, keeps the public-only model out of county schemas."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name

# (app label, model name) of the shared apps' models that only the public schema holds.
PUBLIC_ONLY_MODELS = {("core", "periodicrun")}


class PublicOnlyModels:
    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if (app_label, model_name) in PUBLIC_ONLY_MODELS:
            return connection.schema_name == get_public_schema_name()
        return None
