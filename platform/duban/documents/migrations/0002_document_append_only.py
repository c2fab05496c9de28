"""The register of issued documents is append-only in PostgreSQL itself: UPDATE, DELETE and
TRUNCATE raise. A printed document is a fact; printing again returns the same row."""

from django.db import migrations

from duban.core.sql import append_only


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [migrations.RunSQL(*append_only("documents_document"))]
