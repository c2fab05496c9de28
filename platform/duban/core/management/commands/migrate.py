from duban.core.management.commands.migrate_schemas import Command  # noqa: F401
