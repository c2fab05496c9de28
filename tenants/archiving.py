"""Archiving a county: the action function behind `duban county archive SLUG`.

A county that leaves the platform is archived, not deleted: a final backup is written first
(tenants.backup, its manifest and checksums read back), and only then, in one transaction, are its
schema and its host names removed and its row marked ``archived``. The row stays: the public audit
trail names counties by id, and the city's history names the county. An archived county is no
longer served (no host), swept, refreshed for the city's comparison or fanned out to by the beat
tasks (they all take active counties only). ``duban county restore FILE`` brings it back from the
final backup (schema, hosts, status as it was when archived).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_exists

from duban.audit import log as audit
from tenants import backup
from tenants.models import County, Domain
from tenants.provisioning import ProvisioningError


@dataclass
class Archived:
    county: County
    backup: backup.BackupResult
    hosts: list[str]
    files_removed: int


def _refuse(slug: str, why: str) -> ProvisioningError:
    return ProvisioningError(_("县“%(slug)s”未归档：%(why)s数据库模式、域名和文件都没有动。") % {"slug": slug, "why": why},
                             field="file")


def archive_county(slug: str, destination: str | Path, *, actor, reason: str = "", media_root=None) -> Archived:
    """Write county ``slug``'s final backup to ``destination`` (a new file), check it, then drop the
    county's schema, delete its host names and files, and mark its row archived (audited)."""
    connection.set_schema_to_public()
    slug = (slug or "").strip().lower()
    county = County.objects.filter(slug=slug).first()
    if county is None:
        raise ProvisioningError(_("没有标识为“%(slug)s”的县（见 duban county list）。") % {"slug": slug}, field="slug")
    if county.status == County.Status.ARCHIVED:
        raise ProvisioningError(_("县“%(slug)s”（%(name)s）已于%(when)s归档。")
                                % {"slug": slug, "name": county.name,
                                   "when": timezone.localtime(county.status_changed_at).strftime("%Y-%m-%d %H:%M")},
                                field="slug")
    target = Path(destination)
    try:
        written = backup.backup_county(slug, target, actor=actor, media_root=media_root)
    except backup.BackupError as exc:
        raise _refuse(slug, _("最终备份没有写成（%(error)s）。") % {"error": exc}) from None
    # Read the backup back before anything is removed: there, not empty, its manifest and checksums sound.
    if not target.is_file() or target.stat().st_size == 0:
        raise _refuse(slug, _("最终备份 %(file)s 不存在或是空文件。") % {"file": target})
    try:
        manifest = backup.describe(target)
    except backup.BackupError as exc:
        raise _refuse(slug, _("最终备份 %(file)s 读不出来（%(error)s）。") % {"file": target, "error": exc}) from None
    if manifest["county"]["slug"] != slug or manifest["county"]["schema"] != county.schema_name:
        raise _refuse(slug, _("最终备份 %(file)s 不是这个县的。") % {"file": target})

    schema = county.schema_name
    with transaction.atomic():
        county = County.objects.select_for_update().get(pk=county.pk)
        hosts = sorted(Domain.objects.filter(tenant=county).values_list("domain", flat=True))
        before = {"status": county.status, "reason": county.status_reason, "schema": schema, "hosts": hosts}
        Domain.objects.filter(tenant=county).delete()
        if schema_exists(schema):
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(schema)} CASCADE")
        county.status = County.Status.ARCHIVED
        county.status_reason = reason
        county.status_changed_at = timezone.now()
        county.save(update_fields=["status", "status_reason", "status_changed_at"])
        audit.record(actor=actor, action="county.archive", obj=county, before=before, after={
            "status": county.status, "reason": reason, "file": str(target), "bytes": target.stat().st_size,
            "backup_taken_at": manifest["created_at"], "hosts": hosts, "schema_dropped": schema})
    # The files are in the backup: remove the county's folder once the database has let go of it.
    media = backup.county_media(schema, media_root)
    files = sum(1 for p in media.rglob("*") if p.is_file()) if media.is_dir() else 0
    if media.is_dir():
        shutil.rmtree(media)
    return Archived(county=county, backup=written, hosts=hosts, files_removed=files)
