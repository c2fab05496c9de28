"""What the schema-per-county layout promises a sharding engine (docs/scaling.md, "Past one
primary").

Spread over several PostgreSQL nodes with Citus schema-based sharding, each county's schema
becomes a distributed schema living whole on one worker, the public schema stays on the
coordinator, and the public tables a county table references become reference tables (copied to
every node). That works only while the lists below hold; ``tests/test_scaling_constraints.py``
checks them against the catalogue of a migrated and of a cloned county schema and against the
clone's DDL, and docs/scaling.md names every entry — so a migration that adds a reference from
one county's schema into another, or into a public table not listed here, fails a test before it
reaches a cluster.
"""

from __future__ import annotations

# Public tables a county table may reference by foreign key (or a county view may read). Under
# Citus each must be a reference table (create_reference_table). None today: a county's tables
# reference only tables of their own schema; what they need from the public schema (the county's
# row, its pack) is read by the application, never joined or referenced in SQL.
PUBLIC_TABLES_REFERENCED: frozenset[str] = frozenset()

# The append-only tables (duban.core.sql.append_only; the audit trail's functions keep their
# own older name): table → its trigger function, created in each county schema.
APPEND_ONLY: dict[str, str] = {
    "audit_auditevent": "audit_event_append_only",
    "supervision_ledgerentry": "supervision_ledgerentry_append_only",
    "documents_document": "documents_document_append_only",
    "reports_weeklyreportrevision": "reports_weeklyreportrevision_append_only",
    "reports_weeklyreportreview": "reports_weeklyreportreview_append_only",
}


def _trigger_names(table: str) -> tuple[str, str]:
    prefix = "audit_event" if table == "audit_auditevent" else table
    return f"{prefix}_no_update_delete", f"{prefix}_no_truncate"


# Every user trigger of a county schema: name → (table, function, level). The row-level one
# refuses UPDATE and DELETE; the statement-level one refuses TRUNCATE (a TRUNCATE trigger can only
# be statement-level — which Citus does not propagate to distributed tables: docs/scaling.md).
TRIGGERS: dict[str, tuple[str, str, str]] = {
    name: (table, function, level)
    for table, function in APPEND_ONLY.items()
    for name, level in zip(_trigger_names(table), ("row", "statement"), strict=True)
}

# Every function a county schema holds: the trigger functions, nothing else.
FUNCTIONS: frozenset[str] = frozenset(APPEND_ONLY.values())

# Every sequence of a county schema belongs to an identity column of its own table and is a
# bigint (Citus writes the node's number into the high bits of bigint sequences on workers) —
# except these, of tables Django's and third-party apps create with integer keys. They are fine
# while every write goes through the coordinator; inserting on workers directly would need them
# altered to bigint first (docs/scaling.md).
SEQUENCE_TYPE = "bigint"
INTEGER_SEQUENCES: frozenset[str] = frozenset({
    "django_content_type_id_seq", "auth_permission_id_seq", "auth_group_id_seq", "django_admin_log_id_seq",
    "axes_accessattempt_id_seq", "axes_accesslog_id_seq", "axes_accessfailurelog_id_seq",
    "otp_totp_totpdevice_id_seq",
})

# The statements the clone (duban.core.cloning) issues, by their opening words: each is DDL Citus
# propagates for a distributed schema, or a row copy within the template's own rows.
CLONE_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("CREATE SCHEMA", r"CREATE SCHEMA \S+$"),
    ("SET search_path", r"SET search_path TO \S+, public$"),
    ("CREATE OR REPLACE FUNCTION (a trigger function)", r"CREATE OR REPLACE FUNCTION \S+\(\)\s+RETURNS trigger"),
    ("CREATE TABLE … (LIKE template …)", r"CREATE TABLE \S+ \(LIKE \S+ INCLUDING DEFAULTS "),
    ("INSERT INTO … OVERRIDING SYSTEM VALUE SELECT * FROM template …",
     r"INSERT INTO \S+ OVERRIDING SYSTEM VALUE SELECT \* FROM \S+$"),
    ("SELECT setval(pg_get_serial_sequence(…))", r"SELECT setval\(pg_get_serial_sequence\("),
    ("ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY", r"ALTER TABLE \S+ ADD CONSTRAINT \S+ FOREIGN KEY "),
    ("CREATE [UNIQUE] INDEX", r"CREATE (UNIQUE )?INDEX \S+ ON \S+ USING "),
    ("CREATE VIEW", r"CREATE VIEW \S+ AS "),
    ("CREATE TRIGGER", r"CREATE TRIGGER \S+ BEFORE "),
)

# What `duban county create` issues when it takes a spare schema from the pool (tenants.spares):
# one rename of a schema cloned ahead of time. Under Citus the spares are cloned on the coordinator
# as local schemas (schema-based sharding off), renamed, then distributed — like a fresh clone.
SPARE_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("ALTER SCHEMA … RENAME TO …", r'ALTER SCHEMA "[^"]+" RENAME TO "[^"]+"$'),
)
# A renamed schema keeps its functions' bodies as written: they may not name a schema (their own
# or another), or a spare renamed to a county would still point at the spare's old name.
FUNCTION_BODIES_NAME_NO_SCHEMA = True
