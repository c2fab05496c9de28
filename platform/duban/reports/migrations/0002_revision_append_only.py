"""Every version of a weekly report's text is kept: its revisions are append-only in PostgreSQL
(UPDATE, DELETE and TRUNCATE raise)."""

from django.db import migrations

from duban.core.sql import append_only


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunSQL(*append_only("reports_weeklyreportrevision"))]
