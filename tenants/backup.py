"""Backing up and restoring ONE county: the action functions behind `duban county backup|restore`.

A backup file is a plain tar archive (``tar tf FILE`` lists it, ``tar xOf FILE manifest.json``
shows what it holds):

* ``manifest.json`` — what the archive is: the county's public-schema row (slug, name, city,
  rule pack, time zone, status, host names, id), its schema, the Duban version, the time, the
  PostgreSQL and pg_dump versions, the migrations applied in the schema, every table's row count,
  and the size and SHA-256 of every other member;
* ``schema.pgdump`` — ``pg_dump --schema=<schema> --format=custom`` of the county's schema only
  (tables, rows, sequences, indexes, constraints, functions, triggers), taken in the same
  REPEATABLE READ snapshot the manifest's row counts were read in;
* ``media/counties/<schema>/…`` — the county's files (attachments, issued documents) under
  MEDIA_ROOT, copied after the dump, so that every file a dumped row names is in the archive.

What of the county lives in the PUBLIC schema, and what a restore does with it:

* its ``tenants.County`` row and its ``tenants.Domain`` rows: in the manifest; recreated by a
  restore when missing (with the county's old id when that id is free, so that the public audit
  trail, which names counties by id, still points at it);
* its city (``tenants.City``): code and name in the manifest; recreated when missing;
* the city comparison snapshots (``comparison.CountySnapshot``): derived data, deleted with the
  county row; recomputed by the nightly refresh or at once by ``duban city refresh CITY --county SLUG``;
* city users (``CityMembership``) and the city's reference pack belong to the city, not to the
  county: neither is in a county backup (back up the whole database for those);
* public audit events about the county (create, suspend, set-rulepack, backup, restore): the
  audit trail is append-only and outlives the county row; they are not in the backup.

A restore goes only into the county's own schema, and only when that schema is absent (or
exists empty): it never overwrites or merges data. The schema is restored in one transaction
(``pg_restore --single-transaction``); should anything after it fail (row counts, files, public
rows), the restored schema and the files written are removed again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from duban.audit import log as audit
from duban.core import cloning, pgclient, schemas
from tenants.models import City, County, Domain, schema_name_for, validate_city_code, validate_county_slug
from tenants.provisioning import ProvisioningError

FORMAT = "duban-county-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMP = "schema.pgdump"
MEDIA = "media"
CHUNK = 1 << 20
# Options of Django's PostgreSQL backend that are not libpq connection parameters.
_NOT_LIBPQ = frozenset({"isolation_level", "server_side_binding", "assume_role", "pool", "cursor_factory",
                        "context", "prepare_threshold"})
_HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


class BackupError(ProvisioningError):
    """A backup or restore cannot go ahead; the message says what and why (nothing was changed)."""


@dataclass
class BackupResult:
    county: County
    path: str
    bytes: int
    tables: int
    rows: int
    files: int
    seconds: float


@dataclass
class RestoreResult:
    county: County
    manifest: dict
    tables: int
    rows: int
    files: int          # written
    files_present: int  # already in place, with the same content
    seconds: float
    row_recreated: bool
    city_created: bool
    domains_created: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)


# --- the database, as the PostgreSQL client tools see it ----------------------------------------
def _connection_params() -> tuple[dict, str | None]:
    """libpq parameters (without the password) and the password, from the default database."""
    db = connections["default"].settings_dict
    params = {"dbname": db["NAME"], "user": db.get("USER"), "host": db.get("HOST"),
              "port": str(db["PORT"]) if db.get("PORT") else None}
    for key, value in (db.get("OPTIONS") or {}).items():
        if key not in _NOT_LIBPQ and value is not None:
            params[key] = str(value)
    params["application_name"] = "duban-backup"
    return {k: v for k, v in params.items() if v not in (None, "")}, db.get("PASSWORD") or None


def _conninfo() -> tuple[str, dict]:
    """A conninfo string for ``--dbname`` and the environment carrying the password (never argv)."""
    from psycopg.conninfo import make_conninfo

    params, password = _connection_params()
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    return make_conninfo(**params), env


def _client(name: str, server_major: int) -> tuple[str, int]:
    """The ``name`` program of the server's major version (duban.core.pgclient)."""
    try:
        client = pgclient.client_for(name, server_major)
    except pgclient.ClientNotFound as exc:
        raise BackupError(str(exc)) from None
    return client.path, client.major


def _server_major(cursor) -> int:
    cursor.execute("SHOW server_version_num")
    return int(cursor.fetchone()[0]) // 10000


def _run(argv: list[str], env: dict, what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-8:]
        raise BackupError(f"{what} failed (exit {result.returncode}): " + " | ".join(detail))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schema_tables(cursor, schema: str) -> list[str]:
    cursor.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname", [schema])
    return [name for (name,) in cursor.fetchall()]


def _row_counts(cursor, schema: str) -> dict[str, int]:
    counts = {}
    for table in schema_tables(cursor, schema):
        cursor.execute(f"SELECT count(*) FROM {_qi(schema)}.{_qi(table)}")
        counts[table] = cursor.fetchone()[0]
    return counts


def schema_is_empty(schema: str) -> bool:
    """True if ``schema`` holds no relation, function or type (an empty ``CREATE SCHEMA``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid)"
            " + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid)"
            " + (SELECT count(*) FROM pg_type t WHERE t.typnamespace = n.oid AND t.typrelid = 0"
            "    AND t.typelem = 0) FROM pg_namespace n WHERE n.nspname = %s", [schema])
        row = cursor.fetchone()
    return row is None or row[0] == 0


def _media_root(media_root) -> Path:
    return Path(media_root if media_root is not None else settings.MEDIA_ROOT)


def county_media(schema: str, media_root=None) -> Path:
    """The folder of the county's files: attachments and documents are stored under
    ``counties/<schema>/`` (duban.matters.models.attachment_path, duban.documents.models.document_path)."""
    return _media_root(media_root) / "counties" / schema


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("duban")
    except Exception:  # noqa: BLE001 — a checkout that was never installed
        import duban

        return getattr(duban, "__version__", "unknown")


# --- backup -------------------------------------------------------------------------------------
def backup_county(slug: str, destination: str | Path | BinaryIO, *, actor, media_root=None) -> BackupResult:
    """Write county ``slug``'s backup to ``destination`` (a new file's path, or a binary stream)."""
    import psycopg

    started = time.perf_counter()
    connection.set_schema_to_public()
    county = County.objects.select_related("city").filter(slug=(slug or "").strip().lower()).first()
    if county is None:
        raise BackupError(f"no county with slug {slug!r}", field="slug")
    schema = county.schema_name
    if not schema_exists(schema):
        raise BackupError(f"county {county.slug!r} has no schema {schema} in this database: nothing to back up",
                          field="slug")
    target = None if hasattr(destination, "write") else Path(destination)
    if target is not None:
        if target.exists():
            raise BackupError(f"{target} already exists: choose a new file name (backups are never overwritten)",
                              field="file")
        if not target.parent.is_dir():
            raise BackupError(f"folder {target.parent} does not exist", field="file")
    conninfo, env = _conninfo()
    params, password = _connection_params()
    media_dir = county_media(schema, media_root)

    # Temporary files beside the target (no second copy of a large dump in /tmp), else in TMPDIR.
    with tempfile.TemporaryDirectory(prefix=".duban-backup-", dir=target.parent if target else None) as tmp:
        dump_path = Path(tmp) / DUMP
        with psycopg.connect(**params, password=password, autocommit=False) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.cursor() as cursor:
                server_major = _server_major(cursor)
                pg_dump, dump_major = _client("pg_dump", server_major)
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                snapshot, server_version = cursor.fetchone()
                # Row counts and migrations in the very snapshot pg_dump will read.
                counts = _row_counts(cursor, schema)
                migrations = []
                if "django_migrations" in counts:
                    cursor.execute(f"SELECT app, name FROM {_qi(schema)}.django_migrations ORDER BY id")
                    migrations = [list(row) for row in cursor.fetchall()]
            _run([pg_dump, "--format=custom", f"--schema={_qi(schema)}", f"--snapshot={snapshot}",
                  "--lock-wait-timeout=60000", f"--file={dump_path}", f"--dbname={conninfo}"],
                 env, f"pg_dump of schema {schema}")
            conn.rollback()

        # Files after the dump: a row in the dump names a file written before it.
        files = []
        if media_dir.is_dir():
            for path in sorted(p for p in media_dir.rglob("*") if p.is_file() and not p.is_symlink()):
                relative = path.relative_to(_media_root(media_root)).as_posix()
                files.append({"path": relative, "bytes": path.stat().st_size, "sha256": _sha256(path)})

        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "duban_version": _version(),
            "county": {
                "id": county.pk, "slug": county.slug, "name": county.name, "schema": schema,
                "city": {"code": county.city.code, "name": county.city.name},
                "rulepack": {"name": county.rulepack_name, "version": county.rulepack_version},
                "time_zone": county.time_zone, "status": county.status, "status_reason": county.status_reason,
                "status_changed_at": county.status_changed_at.isoformat() if county.status_changed_at else None,
                "created_at": county.created_at.isoformat(),
                "domains": [{"domain": d.domain, "is_primary": d.is_primary}
                            for d in Domain.objects.filter(tenant=county).order_by("-is_primary", "domain")],
            },
            "database": {"server_version": server_version, "pg_dump_major": dump_major,
                         "migrations": migrations, "tables": counts},
            "dump": {"name": DUMP, "bytes": dump_path.stat().st_size, "sha256": _sha256(dump_path)},
            "media": files,
        }
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")

        def write(stream: BinaryIO) -> None:
            with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(manifest_bytes), int(time.time()), 0o644
                tar.addfile(info, io.BytesIO(manifest_bytes))
                tar.add(dump_path, arcname=DUMP, recursive=False)
                root = _media_root(media_root)
                for entry in files:
                    tar.add(root / entry["path"], arcname=f"{MEDIA}/{entry['path']}", recursive=False)

        if target is None:
            counter = _CountingWriter(destination)
            write(counter)
            destination.flush()
            size, where = counter.count, "(stream)"
        else:
            partial = target.with_name(target.name + ".partial")
            try:
                with open(partial, "xb") as handle:
                    write(handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            size, where = target.stat().st_size, str(target)

    rows = sum(counts.values())
    audit.record(actor=actor, action="county.backup", obj=county, after={
        "file": where, "bytes": size, "tables": len(counts), "rows": rows, "files": len(files)})
    return BackupResult(county=county, path=where, bytes=size, tables=len(counts), rows=rows, files=len(files),
                        seconds=time.perf_counter() - started)


class _CountingWriter:
    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.count = 0

    def write(self, data: bytes) -> int:
        self.stream.write(data)
        self.count += len(data)
        return len(data)


# --- reading a backup ---------------------------------------------------------------------------
def _bad(source: str, why: str) -> BackupError:
    return BackupError(f"{source} is not a usable Duban county backup: {why}", field="file")


def read_manifest(tar: tarfile.TarFile, source: str) -> dict:
    """The archive's manifest, checked: format, names and members (nothing is trusted blindly —
    names end up in SQL and file paths)."""
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise _bad(source, f"it has no {MANIFEST}") from None
    try:
        manifest = json.loads(tar.extractfile(member).read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise _bad(source, f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(source, f"{MANIFEST} does not describe a {FORMAT}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _bad(source, "its format version is missing")
    if version > FORMAT_VERSION:
        raise _bad(source, f"it was written by a newer Duban (format {version}; this one reads up to "
                           f"{FORMAT_VERSION}): restore it with that version")
    try:
        county = manifest["county"]
        slug, schema = county["slug"], county["schema"]
        validate_county_slug(slug)
        if schema != schema_name_for(slug):
            raise ValueError(f"schema {schema!r} does not belong to slug {slug!r}")
        validate_city_code(county["city"]["code"])
        for key in ("name", "time_zone", "status"):
            if not isinstance(county[key], str) or not county[key]:
                raise ValueError(f"county.{key} is missing")
        if county["status"] not in County.Status.values:
            raise ValueError(f"unknown status {county['status']!r}")
        for entry in county["domains"]:
            if not isinstance(entry.get("domain"), str) or not _HOST_RE.match(entry["domain"]):
                raise ValueError(f"bad host name {entry.get('domain')!r}")
        tables = manifest["database"]["tables"]
        if not isinstance(tables, dict) or not all(isinstance(n, int) for n in tables.values()):
            raise ValueError("database.tables is malformed")
        dump = manifest["dump"]
        if dump.get("name") != DUMP or not isinstance(dump.get("sha256"), str):
            raise ValueError("dump is malformed")
        for entry in manifest["media"]:
            path = PurePosixPath(entry["path"])
            if (path.is_absolute() or ".." in path.parts
                    or path.parts[:2] != ("counties", schema) or len(path.parts) < 3):
                raise ValueError(f"media path {entry['path']!r} is outside the county's folder")
    except ValidationError as exc:
        raise _bad(source, f"{MANIFEST}: {' '.join(exc.messages)}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(source, f"{MANIFEST} is incomplete or malformed ({exc})") from None
    expected = {MANIFEST, DUMP} | {f"{MEDIA}/{entry['path']}" for entry in manifest["media"]}
    names = set()
    for info in tar.getmembers():
        if info.name not in expected or not info.isfile():
            raise _bad(source, f"unexpected member {info.name!r}")
        names.add(info.name)
    if names != expected:
        raise _bad(source, f"members missing: {', '.join(sorted(expected - names))}")
    return manifest


def _extract_checked(tar: tarfile.TarFile, name: str, target: Path, sha256: str, source: str) -> None:
    digest = hashlib.sha256()
    with tar.extractfile(name) as src, open(target, "xb") as dst:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != sha256:
        target.unlink(missing_ok=True)
        raise _bad(source, f"{name} is damaged (its SHA-256 differs from the manifest's)")


def _open_archive(source: str | Path | BinaryIO, tmp: Path) -> tuple[tarfile.TarFile, str]:
    if hasattr(source, "read"):
        spooled = tmp / "input.tar"
        with open(spooled, "wb") as handle:
            shutil.copyfileobj(source, handle, CHUNK)
        path, label = spooled, "standard input"
    else:
        path, label = Path(source), str(source)
        if not path.is_file():
            raise BackupError(f"{label}: no such file", field="file")
    try:
        return tarfile.open(path, "r:"), label
    except (tarfile.TarError, OSError):
        raise _bad(label, "not a tar archive") from None


def describe(source: str | Path | BinaryIO) -> dict:
    """The manifest of a backup file, after checking it and every member's SHA-256
    (``duban county restore --check``); changes nothing."""
    with tempfile.TemporaryDirectory(prefix="duban-restore-") as tmp:
        tar, label = _open_archive(source, Path(tmp))
        with tar:
            manifest = read_manifest(tar, label)
            members = [(DUMP, manifest["dump"]["sha256"])]
            members += [(f"{MEDIA}/{entry['path']}", entry["sha256"]) for entry in manifest["media"]]
            for name, sha256 in members:
                digest = hashlib.sha256()
                with tar.extractfile(name) as src:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        digest.update(chunk)
                if digest.hexdigest() != sha256:
                    raise _bad(label, f"{name} is damaged (its SHA-256 differs from the manifest's)")
            return manifest


# --- restore ------------------------------------------------------------------------------------
def _preflight(manifest: dict, media_root) -> dict:
    """What the restore will do in the public schema, or a BackupError saying why it must not."""
    info = manifest["county"]
    slug, schema = info["slug"], info["schema"]
    connection.set_schema_to_public()
    unknown = {tuple(m) for m in manifest["database"].get("migrations", [])} - schemas.all_migration_nodes()
    if unknown:
        shown = ", ".join(f"{app}.{name}" for app, name in sorted(unknown)[:5])
        raise BackupError(f"the backup has migrations this Duban does not know ({shown}…): it was taken by a "
                          f"newer version ({manifest.get('duban_version')}); upgrade before restoring",
                          field="file")
    if schema_exists(schema):
        if not schema_is_empty(schema):
            raise BackupError(
                f"schema {schema} already exists and holds data: a restore never overwrites a county. "
                f"To roll it back, back it up first, then drop the schema (DROP SCHEMA {schema} CASCADE; "
                f"see docs/operations.md); or restore into another installation",
                field="schema")
    elif schema_exists(schema, case_sensitive=False):
        raise BackupError(f"a schema named like {schema} (other letter case) exists", field="schema")
    row = County.objects.filter(slug=slug).first()
    if row is not None and row.schema_name != schema:
        raise BackupError(f"county {slug!r} exists with schema {row.schema_name}, not {schema}", field="slug")
    other = County.objects.filter(schema_name=schema).exclude(slug=slug).first()
    if other is not None:
        raise BackupError(f"schema {schema} belongs to county {other.slug!r}", field="schema")
    for entry in info["domains"]:
        taken = (Domain.objects.filter(domain=entry["domain"]).exclude(tenant__slug=slug)
                 .select_related("tenant").first())
        if taken is not None:
            raise BackupError(f"host {entry['domain']} is taken by county {taken.tenant.slug!r}", field="domain")
    root = _media_root(media_root)
    for entry in manifest["media"]:
        existing = root / entry["path"]
        if existing.exists() and (not existing.is_file() or _sha256(existing) != entry["sha256"]):
            raise BackupError(f"file {existing} exists with other content: a restore never overwrites files",
                              field="media")
    return {"row": row, "city": City.objects.filter(code=info["city"]["code"]).first(),
            "schema_exists": schema_exists(schema)}


def _drop_schema(schema: str) -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_qi(schema)} CASCADE")


def _parse_time(value):
    return datetime.fromisoformat(value) if value else None


def restore_county(source: str | Path | BinaryIO, *, actor, media_root=None) -> RestoreResult:
    """Restore a county from a backup file (or stream) into its own, absent schema; recreate its
    public rows (city, county, host names) where missing. Audited in the public schema and in the
    county's own trail (``county.restore``)."""
    started = time.perf_counter()
    root = _media_root(media_root)
    with tempfile.TemporaryDirectory(prefix="duban-restore-") as tmp_dir:
        tmp = Path(tmp_dir)
        tar, label = _open_archive(source, tmp)
        with tar:
            manifest = read_manifest(tar, label)
            info = manifest["county"]
            slug, schema = info["slug"], info["schema"]
            plan = _preflight(manifest, root)
            with connection.cursor() as cursor:
                pg_restore, _ = _client("pg_restore", _server_major(cursor))
            dump_path = tmp / DUMP
            _extract_checked(tar, DUMP, dump_path, manifest["dump"]["sha256"], label)
            media_tmp = tmp / MEDIA
            for n, entry in enumerate(manifest["media"]):
                staged = media_tmp / f"{n:06d}"
                staged.parent.mkdir(parents=True, exist_ok=True)
                _extract_checked(tar, f"{MEDIA}/{entry['path']}", staged, entry["sha256"], label)

        conninfo, env = _conninfo()
        if plan["schema_exists"]:
            with connection.cursor() as cursor:  # empty (checked): pg_restore creates it anew
                cursor.execute(f"DROP SCHEMA {_qi(schema)}")
        _run([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-acl",
              f"--dbname={conninfo}", str(dump_path)], env, f"pg_restore of schema {schema}")

        written: list[Path] = []
        try:
            # pg_restore --no-acl left the owner's default privileges: the app role's are the template's.
            cloning.copy_privileges(schemas.template_schema(), schema)
            with connection.cursor() as cursor:
                counts = _row_counts(cursor, schema)
            if counts != manifest["database"]["tables"]:
                differ = sorted(t for t in set(counts) | set(manifest["database"]["tables"])
                                if counts.get(t) != manifest["database"]["tables"].get(t))
                raise BackupError(f"the restored schema does not match the manifest (tables {', '.join(differ)}); "
                                  f"nothing was kept", field="file")
            for n, entry in enumerate(manifest["media"]):
                final = root / entry["path"]
                if final.exists():
                    continue  # the same content (checked in the preflight)
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(media_tmp / f"{n:06d}", final)
                written.append(final)
            result = _recreate_public_rows(manifest, plan, actor=actor, source=label)
        except BaseException:
            _drop_schema(schema)
            for path in written:
                path.unlink(missing_ok=True)
            raise

    migrated = []
    if schemas.pending_migrations(schema):
        from django.core.management import call_command

        migrated = sorted(f"{app}.{name}" for app, name in schemas.pending_migrations(schema))
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
        connection.set_schema_to_public()
        cloning.copy_privileges(schemas.template_schema(), schema)  # tables the migrations added
    county, row_recreated, city_created, domains_created = result
    return RestoreResult(county=county, manifest=manifest, tables=len(counts), rows=sum(counts.values()),
                         files=len(written), files_present=len(manifest["media"]) - len(written),
                         seconds=time.perf_counter() - started, row_recreated=row_recreated,
                         city_created=city_created, domains_created=domains_created, migrated=migrated)


def _recreate_public_rows(manifest: dict, plan: dict, *, actor, source: str):
    info = manifest["county"]
    connection.set_schema_to_public()
    with transaction.atomic():
        city, city_created = plan["city"], False
        if city is None:
            city = City.objects.create(code=info["city"]["code"], name=info["city"]["name"])
            city_created = True
            audit.record(actor=actor, action="city.create", obj=city,
                         after={"code": city.code, "name": city.name, "via": "county.restore"})
        county, row_recreated = plan["row"], False
        if county is None:
            county = County(slug=info["slug"], name=info["name"], city=city, schema_name=info["schema"],
                            rulepack_name=info["rulepack"]["name"], rulepack_version=info["rulepack"]["version"],
                            time_zone=info["time_zone"], status=info["status"],
                            status_reason=info.get("status_reason") or "",
                            status_changed_at=_parse_time(info.get("status_changed_at")))
            if isinstance(info.get("id"), int) and not County.objects.filter(pk=info["id"]).exists():
                county.pk = info["id"]  # the public audit trail names the county by this id
            county.full_clean(validate_unique=True)
            county.save()
            row_recreated = True
        domains_created = []
        for entry in info["domains"]:
            if not Domain.objects.filter(domain=entry["domain"]).exists():
                Domain.objects.create(domain=entry["domain"], tenant=county, is_primary=bool(entry.get("is_primary")))
                domains_created.append(entry["domain"])
        change = {"slug": county.slug, "schema": county.schema_name, "file": source,
                  "backup_taken_at": manifest["created_at"], "backup_duban_version": manifest.get("duban_version"),
                  "tables": len(manifest["database"]["tables"]), "rows": sum(manifest["database"]["tables"].values()),
                  "files": len(manifest["media"]), "row_recreated": row_recreated, "domains_created": domains_created}
        audit.record(actor=actor, action="county.restore", obj=county, after=change)
        with schema_context(county.schema_name):
            audit.record(actor=actor, action="county.restore", obj=county, object_type="tenants.county",
                         after=change)
    return county, row_recreated, city_created, domains_created
