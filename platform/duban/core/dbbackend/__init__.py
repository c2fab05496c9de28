"""The database backend: django-tenants' PostgreSQL backend, counting the county schemas each
connection has visited (see :mod:`duban.core.connections`)."""
