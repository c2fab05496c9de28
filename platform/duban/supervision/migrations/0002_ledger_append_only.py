"""The points ledger is append-only in PostgreSQL itself: UPDATE, DELETE and TRUNCATE raise.
A wrong entry is corrected by a reversing entry with a reason (ledger.do_reverse_entry)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'supervision_ledgerentry is append-only: % refused (post a reversing entry instead)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER ledger_entry_no_update_delete
    BEFORE UPDATE OR DELETE ON supervision_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();
CREATE TRIGGER ledger_entry_no_truncate
    BEFORE TRUNCATE ON supervision_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON supervision_ledgerentry;
DROP TRIGGER IF EXISTS ledger_entry_no_update_delete ON supervision_ledgerentry;
DROP FUNCTION IF EXISTS ledger_entry_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
