"""Backing up and restoring ONE county: the action functions behind `duban county backup|restore`.

A backup file is a plain tar archive (``tar tf FILE`` lists it, ``tar xOf FILE manifest.json``
shows what it holds):

* ``manifest.json`` — what the archive is: the county's public-schema row (slug, name, city,
  rule pack, time zone, status, host names, id), its schema, the Duban version, the time, the
  PostgreSQL and pg_dump versions, the migrations applied in the schema, every table's row count,
  and the size and SHA-256 of every other member;
* ``schema.pgdump`` — ``pg_dump --schema=<schema> --format=custom --no-acl`` of the county's schema only
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
  audit trail is append-only and outlives the county row; they are not in the backup;
* an archived county (tenants.archiving: its final backup written, then its schema and hosts
  removed, its row kept as ``archived``): a restore of that backup brings back its schema and
  hosts and sets the row back to the status in the manifest.

A restore goes only into the county's own schema, and only when that schema is absent (or
exists empty): it never overwrites or merges data. The schema is restored in one transaction
(``pg_restore --single-transaction``); should anything after it fail (row counts, files, public
rows), the restored schema and the files written are removed again.

A backup file is not trusted: whoever can hand one to an operator could otherwise run SQL as the
application's database user. So, before a byte of the dump runs:

* the manifest's fields are matched whole, its host names must be ``<slug>.<base domain>`` (or
  listed in DUBAN_EXTRA_HOSTS and outside the base domain), and every member's declared size must
  be the manifest's and under DUBAN_RESTORE_MAX_FILE_MB / DUBAN_RESTORE_MAX_DUMP_MB (no sparse
  members) before it is read;
* the dump's table of contents (``pg_restore --list``) must name only the county's schema, and
  only tables, rows, sequences, defaults, constraints and indexes, plus the functions and
  triggers the template schema has, with the same definition (check_toc);
* pg_restore logs in as a role made for this restore, which owns the new schema and nothing else
  and can write nowhere else (restore_schema_confined): a dump's function, trigger or CHECK that
  slipped through still runs with no right outside the schema. The functions its defaults, CHECK
  constraints and index expressions call (run later, with the application's rights) must be ones
  the template's call. The objects then go to the application's role, like a cloned county's, and
  the role is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql
from psycopg.conninfo import make_conninfo

import duban
from duban.audit import log as audit
from duban.core import cloning, pgclient, schemas
from tenants.models import CITY_CODE_RE, SLUG_RE, City, County, Domain, schema_name_for, validate_city_code, validate_county_slug
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
# Matched whole (fullmatch, \Z): "$" would let a trailing newline through.
_HOST_RE = re.compile(r"(?=.{1,253}\Z)[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?\Z")
MANIFEST_MAX_BYTES = 16 << 20


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
        raise BackupError(_("%(what)s 运行失败（退出码 %(code)d）：%(detail)s")
                          % {"what": what, "code": result.returncode, "detail": " | ".join(detail)})


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
        return metadata.version("duban")
    except Exception:  # a checkout that was never installed
        return getattr(duban, "__version__", "unknown")


# --- backup -------------------------------------------------------------------------------------
def backup_county(slug: str, destination: str | Path | BinaryIO, *, actor, media_root=None) -> BackupResult:
    """Write county ``slug``'s backup to ``destination`` (a new file's path, or a binary stream)."""
    started = time.perf_counter()
    connection.set_schema_to_public()
    county = County.objects.select_related("city").filter(slug=(slug or "").strip().lower()).first()
    if county is None:
        raise BackupError(_("没有标识为“%(slug)s”的县。") % {"slug": slug}, field="slug")
    schema = county.schema_name
    if not schema_exists(schema):
        raise BackupError(_("县“%(slug)s”在本数据库中没有模式 %(schema)s，没有可备份的内容。")
                          % {"slug": county.slug, "schema": schema}, field="slug")
    target = None if hasattr(destination, "write") else Path(destination)
    if target is not None:
        if target.exists():
            raise BackupError(_("%(path)s 已存在：请换一个新文件名（备份从不覆盖已有文件）。") % {"path": target},
                              field="file")
        if not target.parent.is_dir():
            raise BackupError(_("文件夹 %(folder)s 不存在。") % {"folder": target.parent}, field="file")
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
            _run([pg_dump, "--format=custom", "--no-acl", f"--schema={_qi(schema)}", f"--snapshot={snapshot}",
                  "--lock-wait-timeout=60000", f"--file={dump_path}", f"--dbname={conninfo}"],
                 env, _("导出县库 %(schema)s（pg_dump）") % {"schema": schema})
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
    return BackupError(_("%(source)s 不是可用的督办县备份：%(why)s。") % {"source": source, "why": why}, field="file")


def read_manifest(tar: tarfile.TarFile, source: str) -> dict:
    """The archive's manifest, checked: format, names and members (nothing is trusted blindly —
    names end up in SQL and file paths)."""
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise _bad(source, _("缺少 %(name)s") % {"name": MANIFEST}) from None
    if not member.isfile() or member.issparse() or member.size > MANIFEST_MAX_BYTES:
        raise _too_big(source, MANIFEST, member.size, MANIFEST_MAX_BYTES)
    try:
        manifest = json.loads(tar.extractfile(member).read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise _bad(source, _("%(name)s 不是有效的 JSON（%(error)s）") % {"name": MANIFEST, "error": exc}) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(source, _("%(name)s 描述的不是 %(format)s") % {"name": MANIFEST, "format": FORMAT})
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _bad(source, _("缺少格式版本"))
    if version > FORMAT_VERSION:
        raise _bad(source, _("它由较新版本的督办写成（格式 %(version)d，本版本最高只能读取 %(max)d），请用那个版本恢复")
                   % {"version": version, "max": FORMAT_VERSION})
    try:
        county = manifest["county"]
        slug, schema = county["slug"], county["schema"]
        validate_county_slug(slug)
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
            raise ValueError(_("县标识“%(slug)s”不正确") % {"slug": slug})
        if schema != schema_name_for(slug):
            raise ValueError(_("模式“%(schema)s”与县标识“%(slug)s”不对应") % {"schema": schema, "slug": slug})
        validate_city_code(county["city"]["code"])
        if not isinstance(county["city"]["code"], str) or not CITY_CODE_RE.fullmatch(county["city"]["code"]):
            raise ValueError(_("市代码“%(code)s”不正确") % {"code": county["city"]["code"]})
        for key in ("name", "time_zone", "status"):
            if not isinstance(county[key], str) or not county[key]:
                raise ValueError(_("缺少 county.%(key)s") % {"key": key})
        if county["status"] not in County.Status.values:
            raise ValueError(_("未知的状态“%(status)s”") % {"status": county["status"]})
        for entry in county["domains"]:
            if not isinstance(entry.get("domain"), str) or not _HOST_RE.fullmatch(entry["domain"]):
                raise ValueError(_("主机名“%(host)s”不正确") % {"host": entry.get("domain")})
        tables = manifest["database"]["tables"]
        if not isinstance(tables, dict) or not all(isinstance(n, int) for n in tables.values()):
            raise ValueError(_("database.tables 格式有误"))
        dump = manifest["dump"]
        if (dump.get("name") != DUMP or not isinstance(dump.get("sha256"), str)
                or not isinstance(dump.get("bytes"), int)):
            raise ValueError(_("dump 格式有误"))
        for entry in manifest["media"]:
            if not isinstance(entry["path"], str) or not isinstance(entry.get("bytes"), int):
                raise ValueError(_("media 中的条目 %(entry)s 格式有误") % {"entry": entry})
            path = PurePosixPath(entry["path"])
            if (path.is_absolute() or ".." in path.parts
                    or path.parts[:2] != ("counties", schema) or len(path.parts) < 3):
                raise ValueError(_("media 中的路径“%(path)s”在县的文件夹以外") % {"path": entry["path"]})
    except ValidationError as exc:
        raise _bad(source, _("%(name)s：%(error)s") % {"name": MANIFEST, "error": " ".join(exc.messages)}) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(source, _("%(name)s 不完整或格式有误（%(error)s）") % {"name": MANIFEST, "error": exc}) from None
    _check_hosts(manifest["county"]["slug"], manifest["county"]["domains"])
    # Every member's size, as its header declares it, before a byte of it is read: it must be the
    # size the manifest gives and under the cap; sparse members (a backup never writes one) are refused.
    file_cap = settings.DUBAN_RESTORE_MAX_FILE_MB << 20
    declared = {DUMP: (manifest["dump"]["bytes"], settings.DUBAN_RESTORE_MAX_DUMP_MB << 20)}
    declared.update({f"{MEDIA}/{entry['path']}": (entry["bytes"], file_cap) for entry in manifest["media"]})
    expected = {MANIFEST} | set(declared)
    names = set()
    for info in tar.getmembers():
        if info.name not in expected or not info.isfile():
            raise _bad(source, _("有不该有的条目“%(name)s”") % {"name": info.name})
        if info.name in declared:
            size, cap = declared[info.name]
            if info.size > cap:
                raise _too_big(source, info.name, info.size, cap)
            if info.issparse():
                raise BackupError(_("%(source)s 中的 %(name)s 是稀疏文件，备份从不写入稀疏文件，不予恢复。")
                                  % {"source": source, "name": info.name}, field="file")
            if info.size != size:
                raise BackupError(_("%(source)s 中的 %(name)s 大小为 %(size)d 字节，与清单所记的 %(declared)d "
                                    "字节不符。") % {"source": source, "name": info.name, "size": info.size,
                                                  "declared": size}, field="file")
        names.add(info.name)
    if names != expected:
        raise _bad(source, _("缺少条目：%(names)s") % {"names": "、".join(sorted(expected - names))})
    return manifest


def _too_big(source: str, name: str, size: int, cap: int) -> BackupError:
    return BackupError(_("%(source)s 中的 %(name)s 过大：声明 %(size)d 字节，上限 %(cap)d 字节（见 "
                         "DUBAN_RESTORE_MAX_FILE_MB、DUBAN_RESTORE_MAX_DUMP_MB），未读取。")
                       % {"source": source, "name": name, "size": size, "cap": cap}, field="file")


def _check_hosts(slug: str, domains: list) -> None:
    """A county's host names come from its slug and the base domain: a manifest host is
    ``<slug>.<base>``, or a host the operator lists in DUBAN_EXTRA_HOSTS that is neither the base
    domain nor under it (where it could be another county's, present or future)."""
    base = settings.DUBAN_BASE_DOMAIN.lower()
    own = f"{slug}.{base}"
    extras = {h.strip().lower() for h in settings.DUBAN_EXTRA_HOSTS if h.strip()}
    for entry in domains:
        host = entry["domain"]
        if host == own or (host in extras and host.split(":")[0] != base
                           and not host.split(":")[0].endswith("." + base)):
            continue
        raise BackupError(_("清单中的主机名“%(host)s”不是该县的主机名：县的主机名只能是 %(own)s，或运维人员在 "
                            "DUBAN_EXTRA_HOSTS 中列出、且不与基础域名 %(base)s 及其下主机名冲突的主机名。")
                          % {"host": host, "own": own, "base": base}, field="domain")


def _extract_checked(tar: tarfile.TarFile, name: str, target: Path, sha256: str, source: str) -> None:
    digest = hashlib.sha256()
    with tar.extractfile(name) as src, open(target, "xb") as dst:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != sha256:
        target.unlink(missing_ok=True)
        raise _bad(source, _("%(name)s 已损坏（SHA-256 与清单所记不同）") % {"name": name})


def _open_archive(source: str | Path | BinaryIO, tmp: Path) -> tuple[tarfile.TarFile, str]:
    if hasattr(source, "read"):
        spooled = tmp / "input.tar"
        with open(spooled, "wb") as handle:
            shutil.copyfileobj(source, handle, CHUNK)
        path, label = spooled, "standard input"
    else:
        path, label = Path(source), str(source)
        if not path.is_file():
            raise BackupError(_("%(path)s：没有这个文件。") % {"path": label}, field="file")
    try:
        return tarfile.open(path, "r:"), label
    except (tarfile.TarError, OSError):
        raise _bad(label, _("它不是 tar 归档文件")) from None


def describe(source: str | Path | BinaryIO) -> dict:
    """The manifest of a backup file, after checking it, every member's size and SHA-256 and the
    dump's table of contents (``duban county restore --check``); changes nothing."""
    with tempfile.TemporaryDirectory(prefix="duban-restore-") as tmp:
        tar, label = _open_archive(source, Path(tmp))
        with tar:
            manifest = read_manifest(tar, label)
            _extract_checked(tar, DUMP, Path(tmp) / DUMP, manifest["dump"]["sha256"], label)
            with connection.cursor() as cursor:
                pg_restore, _major = _client("pg_restore", _server_major(cursor))
            check_toc(pg_restore, Path(tmp) / DUMP, manifest["county"]["schema"], Path(tmp), label)
            members = [(f"{MEDIA}/{entry['path']}", entry["sha256"]) for entry in manifest["media"]]
            for name, sha256 in members:
                digest = hashlib.sha256()
                with tar.extractfile(name) as src:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        digest.update(chunk)
                if digest.hexdigest() != sha256:
                    raise _bad(label, _("%(name)s 已损坏（SHA-256 与清单所记不同）") % {"name": name})
            return manifest


# --- what the dump would run: its table of contents ------------------------------------------------
# pg_dump's kinds of entry (ArchiveEntry's desc), longest first so that "FK CONSTRAINT" is not read as
# a "FK" named "CONSTRAINT …".
_KINDS = sorted((
    "ACCESS METHOD", "ACL", "AGGREGATE", "BLOB", "BLOBS", "BLOB METADATA", "CAST", "CHECK CONSTRAINT", "COLLATION",
    "COMMENT", "CONSTRAINT", "CONVERSION", "DATABASE", "DATABASE PROPERTIES", "DEFAULT", "DEFAULT ACL", "DOMAIN",
    "ENCODING", "EVENT TRIGGER", "EXTENSION", "FK CONSTRAINT", "FOREIGN DATA WRAPPER", "FOREIGN SERVER",
    "FOREIGN TABLE", "FUNCTION", "INDEX", "INDEX ATTACH", "LARGE OBJECT", "MATERIALIZED VIEW",
    "MATERIALIZED VIEW DATA", "OPERATOR", "OPERATOR CLASS", "OPERATOR FAMILY", "POLICY", "PROCEDURAL LANGUAGE",
    "PROCEDURE", "PUBLICATION", "PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA", "ROW SECURITY", "RULE",
    "SCHEMA", "SEARCHPATH", "SECURITY LABEL", "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET", "SERVER",
    "SHELL TYPE", "STATISTICS", "STATISTICS DATA", "STDSTRINGS", "SUBSCRIPTION", "SUBSCRIPTION TABLE", "TABLE",
    "TABLE ATTACH", "TABLE DATA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE", "TRANSFORM", "TRIGGER", "TYPE", "USER MAPPING", "VIEW"), key=len, reverse=True)
# What every county schema has, in the county's own schema: tables and their rows, sequences,
# defaults, constraints, indexes. Any other kind (functions, triggers, …) only as the template has it.
_SCHEMA_KINDS = frozenset({"TABLE", "TABLE DATA", "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET", "DEFAULT",
                           "CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "INDEX"})
_TOC_LINE = re.compile(r"(\d+); (\d+) (\d+) (.*)\Z")


@dataclass(frozen=True)
class TocEntry:
    line: str       # as pg_restore --list printed it (pg_restore -L reads its leading id)
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace} {self.name}"


def read_toc(pg_restore: str, dump_path: Path) -> list[TocEntry]:
    """The dump's table of contents (``pg_restore --list``): kind, schema and name of every entry."""
    result = subprocess.run([pg_restore, "--list", str(dump_path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-4:])
        raise BackupError(_("备份中的数据库转储无法读取（%(detail)s）。") % {"detail": detail}, field="file")
    entries = []
    for line in result.stdout.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        match = _TOC_LINE.match(line)
        rest = match.group(4) if match else ""
        kind = next((k for k in _KINDS if rest.startswith(k + " ")), rest.split(" ")[0])
        words = rest[len(kind):].strip().split(" ")
        # namespace, then the name (it may hold spaces), then the owner.
        namespace = words[0] if words else ""
        name = " ".join(words[1:-1]) if len(words) > 2 else " ".join(words[1:])
        entries.append(TocEntry(line=line, kind=kind if match else "?", namespace=namespace, name=name))
    return entries


def _entry_sql(pg_restore: str, dump_path: Path, entry: TocEntry, schema: str, tmp: Path) -> str:
    """What pg_restore would run for ``entry``, without comments (nor the random key of the
    script's ``\\restrict`` line) and with ``schema``'s qualification taken out, to compare a
    backup's entry with the template's."""
    listing = tmp / f"entry-{secrets.token_hex(6)}.list"
    listing.write_text(entry.line + "\n")
    result = subprocess.run([pg_restore, "--no-owner", "--no-acl", "--file=-", f"--use-list={listing}",
                             str(dump_path)], capture_output=True, text=True, check=False)
    listing.unlink()
    if result.returncode != 0:
        return f"(unreadable: {result.returncode})"
    qualified = re.compile(r'(?<![\w"])(?:"' + re.escape(schema) + r'"|' + re.escape(schema) + r")\.")
    lines = [qualified.sub("@schema@.", line) for line in result.stdout.splitlines()
             if line.strip() and not line.startswith(("--", "\\restrict ", "\\unrestrict "))]
    return "\n".join(lines)


def check_toc(pg_restore: str, dump_path: Path, schema: str, tmp: Path, source: str) -> list[TocEntry]:
    """The entries to restore (all but the county's SCHEMA entry: the restore creates the schema
    itself), or a BackupError naming the first entry a county's dump must not hold: one outside
    the county's schema, or of a kind a county schema never has unless the template schema has the
    very same (same kind, name and definition)."""
    entries = read_toc(pg_restore, dump_path)
    restore, compare = [], []
    for entry in entries:
        if entry.kind == "SCHEMA" and entry.namespace == "-" and entry.name == schema:
            continue
        if entry.kind in ("ACL", "DEFAULT ACL") and (
                entry.namespace == schema or (entry.namespace == "-" and entry.name == f"SCHEMA {schema}")):
            # Privileges of the county's own objects are never restored (pg_restore --no-acl): the
            # restored schema takes the template's. Backups before the app role carried some.
            continue
        if entry.namespace != schema:
            raise BackupError(_("%(source)s 不予恢复：备份中有县的模式以外的条目：%(entry)s（依次为类型、模式、"
                                "名称），恢复只写入县自己的模式 %(schema)s。")
                              % {"source": source, "entry": entry, "schema": schema}, field="file")
        if entry.kind not in _SCHEMA_KINDS:
            compare.append(entry)
        restore.append(entry)
    if compare:
        template = schemas.template_schema()
        template_dump = tmp / f"template-{secrets.token_hex(6)}.pgdump"
        conninfo, env = _conninfo()
        with connection.cursor() as cursor:
            pg_dump, _major = _client("pg_dump", _server_major(cursor))
        _run([pg_dump, "--format=custom", "--schema-only", f"--schema={_qi(template)}", f"--file={template_dump}",
              f"--dbname={conninfo}"], env, _("导出模板库 %(schema)s（pg_dump）") % {"schema": template})
        theirs = {(e.kind, e.name): e for e in read_toc(pg_restore, template_dump) if e.namespace == template}
        for entry in compare:
            twin = theirs.get((entry.kind, entry.name))
            if (twin is None or _entry_sql(pg_restore, dump_path, entry, schema, tmp)
                    != _entry_sql(pg_restore, template_dump, twin, template, tmp)):
                raise BackupError(_("%(source)s 不予恢复：备份中有县的模式不该有的条目：%(entry)s（依次为类型、"
                                    "模式、名称）；模板模式中没有定义相同的对象。")
                                  % {"source": source, "entry": entry}, field="file")
    return restore


# --- the restore's own role -------------------------------------------------------------------------
def restore_schema_confined(dump_path: Path, schema: str, entries: list[TocEntry] | None = None) -> None:
    """pg_restore ``entries`` of the dump (default: all but its SCHEMA entry) into the new schema
    ``schema``, logged in as a role made for this one restore, which owns that schema and nothing
    else: no superuser, no ownership in public or another county, no right to create or write
    anywhere else (checked before it is used). Whatever a dump carries runs as that role, so even an
    entry the table-of-contents check missed cannot reach outside the schema. It logs in (rather
    than SET ROLE) because a dump's SQL could RESET ROLE. Afterwards the objects go to the role
    that owns cloned counties (the application's), and the role is dropped, in every outcome."""
    # The role is made and committed on a connection of its own.
    params, password = _connection_params()
    with connection.cursor() as cursor:
        pg_restore, _major = _client("pg_restore", _server_major(cursor))
    if entries is None:
        entries = [e for e in read_toc(pg_restore, dump_path)
                   if not (e.kind == "SCHEMA" and e.namespace == "-" and e.name == schema)]
    role = f"duban_restore_{secrets.token_hex(8)}"
    role_password = secrets.token_urlsafe(32)
    with psycopg.connect(**params, password=password, autocommit=True) as admin:
        ident = sql.Identifier(role)
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION "
                              "NOBYPASSRLS CONNECTION LIMIT 2 PASSWORD {}").format(
                                  ident, sql.Literal(_scram_verifier(role_password))))
        try:
            admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(ident))
            database = admin.execute("SELECT current_database()").fetchone()[0]
            if not admin.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT')",
                                 [role]).fetchone()[0]:
                admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), ident))
            _refuse_if_role_can_write(admin, role)
            admin.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(schema), ident))
            try:
                listing = dump_path.with_name(dump_path.name + ".list")
                listing.write_text("".join(entry.line + "\n" for entry in entries))
                env = dict(os.environ, PGPASSWORD=role_password)
                conninfo = make_conninfo(**{**params, "user": role, "application_name": "duban-restore"})
                _run([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-acl",
                      f"--use-list={listing}", f"--dbname={conninfo}", str(dump_path)],
                     env, _("恢复县库 %(schema)s（pg_restore）") % {"schema": schema})
                with admin.transaction():
                    outside = admin.execute(
                        "SELECT o.type, coalesce(o.schema, ''), o.identity FROM pg_shdepend d, "
                        "LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) o "
                        "WHERE d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = %s) AND d.deptype = 'o' "
                        "AND d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "AND coalesce(o.schema, '') <> %s AND NOT (o.type = 'schema' AND o.identity = quote_ident(%s))",
                        [role, schema, schema]).fetchall()
                    if outside:
                        raise BackupError(_("恢复用的角色在县的模式以外建立了对象（%(what)s），已全部删除。")
                                          % {"what": ", ".join(f"{t} {i}" for t, _s, i in outside[:5])},
                                          field="file")
                    _refuse_foreign_expressions(admin, schema)
                    admin.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(ident))
            except BaseException:
                admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
                raise
            finally:
                listing.unlink(missing_ok=True)
        finally:
            # Whatever happened: nothing of the role's is left, nor the role.
            admin.execute(sql.SQL("DROP OWNED BY {}").format(ident))
            admin.execute(sql.SQL("DROP ROLE {}").format(ident))


# Expressions that run after the restore, as the application's user: column defaults (and
# generated columns), CHECK constraints, expression and partial indexes.
_EXPRESSIONS = """
SELECT 'default', c.relname || '.' || a.attname, pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
UNION ALL
SELECT 'check', c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
 WHERE k.contype = 'c' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
UNION ALL
SELECT 'index', c.relname || '.' || i.relname, pg_get_indexdef(x.indexrelid)
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
 WHERE (x.indexprs IS NOT NULL OR x.indpred IS NOT NULL)
   AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
"""
_CALL = re.compile(r'((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))*)\s*\(')
_NOT_CALLS = frozenset({
    "any", "all", "array", "in", "exists", "not", "and", "or", "check", "case", "when", "then", "else", "row",
    "using", "on", "where", "include", "with", "is", "null", "between", "like", "similar", "values", "cast",
    "btree", "hash", "gist", "gin", "brin", "spgist", "varying", "character", "char", "varchar", "numeric",
    "decimal", "timestamp", "time", "interval", "bit", "float", "coalesce", "nullif", "greatest", "least"})


def _calls(text: str, schema: str) -> set[str]:
    """The functions an expression calls, by name (the schema's own qualification as ``@schema@``)."""
    text = re.sub(r"'(?:[^']|'')*'", "''", text)
    qualified = re.compile(r'(?<![\w"])(?:"' + re.escape(schema) + r'"|' + re.escape(schema) + r")\.")
    text = qualified.sub("@schema@.", text)
    names = {name.lower().removeprefix("pg_catalog.") for name in _CALL.findall(text.replace("@schema@.", "_s_."))}
    return {name.replace("_s_.", "@schema@.") for name in names if name not in _NOT_CALLS}


def _refuse_foreign_expressions(admin, schema: str) -> None:
    """Every function the restored schema's defaults, CHECK constraints and index expressions call
    must be one the template's expressions call (or nextval): they run later, on the
    application's inserts and updates, with the application's rights, not the restore role's."""
    template = schemas.template_schema()
    allowed = {"nextval"}
    for _kind, _where, text in admin.execute(_EXPRESSIONS, {"schema": template}).fetchall():
        allowed |= _calls(text, template)
    labels = {"default": _("列默认值"), "check": _("检查约束"), "index": _("索引")}
    for kind, where, text in admin.execute(_EXPRESSIONS, {"schema": schema}).fetchall():
        foreign = sorted(_calls(text, schema) - allowed)
        if foreign:
            raise BackupError(_("恢复的模式 %(schema)s 中，%(kind)s %(where)s 调用了函数 %(function)s，模板模式的表达式"
                                "（列默认值、检查约束、索引）从不调用它；不予恢复，未保留任何内容。")
                              % {"schema": schema, "kind": labels[kind], "where": where,
                                 "function": ", ".join(foreign)}, field="file")


def _scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677), so that the
    password itself is never sent in a statement a server log could keep."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server).decode()}"


def _refuse_if_role_can_write(admin, role: str) -> None:
    """The restore's role must have no way to create or write outside the schema it is about to
    own (say, CREATE on public granted to PUBLIC, as databases made before PostgreSQL 15 have)."""
    where = admin.execute(
        "SELECT n.nspname FROM pg_namespace n WHERE has_schema_privilege(%s, n.oid, 'CREATE') "
        "UNION ALL SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm', 'S') AND n.nspname NOT LIKE 'pg\\_%%' "
        "AND n.nspname <> 'information_schema' AND (has_table_privilege(%s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')"
        " OR pg_has_role(%s, c.relowner, 'USAGE')) LIMIT 5", [role, role, role]).fetchall()
    if where:
        raise BackupError(_("恢复被拒绝：数据库授予了所有角色（PUBLIC）在 %(where)s 上建立或写入的权限，恢复用的角色"
                            "就能写到县的模式以外。请先收回（如 REVOKE CREATE ON SCHEMA public FROM PUBLIC;），"
                            "见 docs/operations.md。") % {"where": ", ".join(name for (name,) in where)},
                          field="database")


# --- restore ------------------------------------------------------------------------------------
def _preflight(manifest: dict, media_root) -> dict:
    """What the restore will do in the public schema, or a BackupError saying why it must not."""
    info = manifest["county"]
    slug, schema = info["slug"], info["schema"]
    connection.set_schema_to_public()
    unknown = {tuple(m) for m in manifest["database"].get("migrations", [])} - schemas.all_migration_nodes()
    if unknown:
        shown = ", ".join(f"{app}.{name}" for app, name in sorted(unknown)[:5])
        raise BackupError(_("备份中有本版本督办不认识的迁移（%(shown)s…）：它由较新的版本（%(version)s）写成，请先升级再恢复。")
                          % {"shown": shown, "version": manifest.get("duban_version")}, field="file")
    if schema_exists(schema):
        if not schema_is_empty(schema):
            raise BackupError(
                _("模式 %(schema)s 已存在且有数据：恢复从不覆盖县。如要回滚，请先备份，再删除该模式"
                  "（DROP SCHEMA %(schema)s CASCADE；见 docs/operations.md），或恢复到另一套安装中。")
                % {"schema": schema}, field="schema")
    elif schema_exists(schema, case_sensitive=False):
        raise BackupError(_("已有与 %(schema)s 仅大小写不同的模式。") % {"schema": schema}, field="schema")
    row = County.objects.filter(slug=slug).first()
    if row is not None and row.schema_name != schema:
        raise BackupError(_("县“%(slug)s”已存在，其模式是 %(actual)s，不是 %(schema)s。")
                          % {"slug": slug, "actual": row.schema_name, "schema": schema}, field="slug")
    other = County.objects.filter(schema_name=schema).exclude(slug=slug).first()
    if other is not None:
        raise BackupError(_("模式 %(schema)s 属于县“%(other)s”。") % {"schema": schema, "other": other.slug}, field="schema")
    for entry in info["domains"]:
        taken = (Domain.objects.filter(domain=entry["domain"]).exclude(tenant__slug=slug)
                 .select_related("tenant").first())
        if taken is not None:
            raise BackupError(_("主机名 %(host)s 已被县“%(other)s”使用。")
                              % {"host": entry["domain"], "other": taken.tenant.slug}, field="domain")
    root = _media_root(media_root)
    for entry in manifest["media"]:
        existing = root / entry["path"]
        if existing.exists() and (not existing.is_file() or _sha256(existing) != entry["sha256"]):
            raise BackupError(_("文件 %(path)s 已存在且内容不同：恢复从不覆盖文件。") % {"path": existing},
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
            schema = manifest["county"]["schema"]
            plan = _preflight(manifest, root)
            with connection.cursor() as cursor:
                pg_restore, _major = _client("pg_restore", _server_major(cursor))
            dump_path = tmp / DUMP
            _extract_checked(tar, DUMP, dump_path, manifest["dump"]["sha256"], label)
            # Before anything of the dump runs: its table of contents.
            entries = check_toc(pg_restore, dump_path, schema, tmp, label)
            media_tmp = tmp / MEDIA
            for n, entry in enumerate(manifest["media"]):
                staged = media_tmp / f"{n:06d}"
                staged.parent.mkdir(parents=True, exist_ok=True)
                _extract_checked(tar, f"{MEDIA}/{entry['path']}", staged, entry["sha256"], label)

        if plan["schema_exists"]:
            with connection.cursor() as cursor:  # empty (checked): the restore creates it anew
                cursor.execute(f"DROP SCHEMA {_qi(schema)}")
        restore_schema_confined(dump_path, schema, entries)

        written: list[Path] = []
        try:
            # pg_restore --no-acl left the owner's default privileges: the app role's are the template's.
            cloning.copy_privileges(schemas.template_schema(), schema)
            with connection.cursor() as cursor:
                counts = _row_counts(cursor, schema)
            if counts != manifest["database"]["tables"]:
                differ = sorted(t for t in set(counts) | set(manifest["database"]["tables"])
                                if counts.get(t) != manifest["database"]["tables"].get(t))
                raise BackupError(_("恢复出的模式与清单不符（表 %(tables)s），没有保留任何内容。")
                                  % {"tables": "、".join(differ)}, field="file")
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
        unarchived = county.status == County.Status.ARCHIVED
        if unarchived:  # `duban county archive` kept the row: back to the status the backup was taken in
            county.status = info["status"] if info["status"] != County.Status.ARCHIVED else County.Status.ACTIVE
            county.status_reason = info.get("status_reason") or ""
            county.status_changed_at = timezone.now()
            county.save(update_fields=["status", "status_reason", "status_changed_at"])
        domains_created = []
        for entry in info["domains"]:
            if not Domain.objects.filter(domain=entry["domain"]).exists():
                Domain.objects.create(domain=entry["domain"], tenant=county, is_primary=bool(entry.get("is_primary")))
                domains_created.append(entry["domain"])
        change = {"slug": county.slug, "schema": county.schema_name, "file": source,
                  "backup_taken_at": manifest["created_at"], "backup_duban_version": manifest.get("duban_version"),
                  "tables": len(manifest["database"]["tables"]), "rows": sum(manifest["database"]["tables"].values()),
                  "files": len(manifest["media"]), "row_recreated": row_recreated, "domains_created": domains_created,
                  "unarchived": unarchived}
        audit.record(actor=actor, action="county.restore", obj=county, after=change)
        # The county's own event goes into the county's own trail: its schema must hold the audit
        # table, else the search path (county, then public) would put the event into public's.
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [f"{_qi(county.schema_name)}.audit_auditevent"])
            if cursor.fetchone()[0] is None:
                raise BackupError(_("恢复的模式 %(schema)s 中没有审计表 audit_auditevent，这不是督办县的备份；"
                                    "未保留任何内容。") % {"schema": county.schema_name}, field="file")
        with schema_context(county.schema_name):
            own = audit.record(actor=actor, action="county.restore", obj=county, object_type="tenants.county",
                               after=change)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {_qi(county.schema_name)}.audit_auditevent WHERE id = %s",
                           [own.pk])
            if cursor.fetchone()[0] != 1:
                raise BackupError(_("恢复事件未能记入县 %(schema)s 自己的审计记录；未保留任何内容。")
                                  % {"schema": county.schema_name}, field="file")
    return county, row_recreated, city_created, domains_created
