"""The points ledger is append-only in PostgreSQL itself: UPDATE, DELETE and TRUNCATE raise.
A wrong entry is corrected by a reversing entry with a reason (ledger.do_reverse_entry)."""

from django.db import migrations

from duban.core.sql import append_only


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial")]

    operations = [migrations.RunSQL(*append_only("supervision_ledgerentry"))]
