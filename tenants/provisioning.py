"""Provisioning counties: the action functions behind `duban county …`.

A new county's schema is a clone of the template schema (``settings.TENANT_BASE_SCHEMA``),
which `duban migrate_schemas` keeps current; cloning (duban.core.cloning) copies tables,
constraints, indexes, functions, triggers and the migration records in one round trip, instead
of replaying every migration. Everything happens in one transaction: a county is created whole or not at all.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists

from duban.accounts.actions import do_create_user, do_revoke_token, do_update_user
from duban.accounts.models import Role, User
from duban.audit import log as audit
from duban.core import cloning, schemas
from duban.core.actions import action_scope
from duban.core.errors import Invalid
from plugins.manager import DEFAULT_PACK, get_registry
from tenants import spares
from tenants.models import (
    City,
    CityMembership,
    County,
    Domain,
    schema_name_for,
    validate_abbreviation,
    validate_city_code,
    validate_county_slug,
)


class ProvisioningError(Exception):
    """Bad input or state for a provisioning action; the message says what and why."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


@dataclass
class Provisioned:
    county: County
    domain: str
    admin_username: str
    admin_password: str
    seconds: float
    method: str = "clone"  # how the schema was made: "spare" (renamed from the pool), "clone", "migrate"


def county_host(slug: str) -> str:
    return f"{slug}.{settings.DUBAN_BASE_DOMAIN}"


def _url(host: str) -> str:
    port = settings.DUBAN_PUBLIC_PORT
    default_port = 443 if settings.DUBAN_URL_SCHEME == "https" else 80
    suffix = "" if port == default_port else f":{port}"
    return f"{settings.DUBAN_URL_SCHEME}://{host}{suffix}/"


def county_url(county: County | str) -> str:
    return _url(county_host(county if isinstance(county, str) else county.slug))


def public_url() -> str:
    """The public host (the base domain): the landing page, the city portal, the operator's page."""
    return _url(settings.DUBAN_BASE_DOMAIN)


def resolve_rulepack(requested: str | None) -> tuple[str, str]:
    """(name, version) of an installed, working rule pack; the default pack when None."""
    registry = get_registry()
    name, _sep, version = (requested or DEFAULT_PACK).strip().partition("==")
    pack = registry.get(name)
    if pack is None:
        known = "、".join(sorted(registry.names())) or _("无")
        raise ProvisioningError(_("没有名为“%(name)s”的规则包（已安装：%(known)s）。") % {"name": name, "known": known},
                                field="rulepack")
    if not pack.ok:
        raise ProvisioningError(_("规则包“%(name)s”无法使用：%(error)s") % {"name": name, "error": pack.error},
                                field="rulepack")
    if version and version != pack.version:
        raise ProvisioningError(_("规则包“%(name)s”已安装的版本是 %(installed)s，不是 %(version)s。")
                                % {"name": name, "installed": pack.version, "version": version}, field="rulepack")
    return pack.name, pack.version


def county_side(actor):
    """The actor as a county's schema can record it. A platform operator is a user of the public
    schema; a county's audit rows and users point at the county's own users table, so there the
    operator is named by label (``user:<name>``), as the CLI is (``cli``)."""
    return audit.actor_label(actor) if hasattr(actor, "_meta") else actor


def refuse_archived(county: County) -> None:
    """An archived county has no schema and no hosts left: only a restore brings it back."""
    if county.status == County.Status.ARCHIVED:
        raise ProvisioningError(
            _("县“%(slug)s”（%(name)s）已归档，数据库模式和域名均已删除；如需恢复，请用归档时的备份："
              "duban county restore 备份文件。") % {"slug": county.slug, "name": county.name}, field="slug")


def set_rulepack(slug: str, requested: str, *, actor) -> County:
    """Switch a county to another rule pack (or version). History is never rewritten: ledger
    entries keep the pack, version and rule that produced them; only new events use the new pack."""
    connection.set_schema_to_public()
    name, version = resolve_rulepack(requested)
    with transaction.atomic():
        county = County.objects.select_for_update().filter(slug=slug).first()
        if county is None:
            raise ProvisioningError(_("没有标识为“%(slug)s”的县。") % {"slug": slug}, field="slug")
        refuse_archived(county)
        before = {"rulepack": f"{county.rulepack_name}=={county.rulepack_version}"}
        if (county.rulepack_name, county.rulepack_version) == (name, version):
            raise ProvisioningError(_("县“%(slug)s”已在使用规则包 %(pack)s。") % {"slug": slug, "pack": f"{name}=={version}"},
                                    field="rulepack")
        county.rulepack_name, county.rulepack_version = name, version
        county.save(update_fields=["rulepack_name", "rulepack_version"])
        after = {"rulepack": f"{name}=={version}"}
        audit.record(actor=actor, action="county.set_rulepack", obj=county, before=before, after=after)
        with schema_context(county.schema_name):
            audit.record(actor=county_side(actor), action="county.set_rulepack", obj=county, object_type="tenants.county",
                         before=before, after=after)
    return county


def set_abbreviation(slug: str, abbreviation: str, *, actor) -> County:
    """Set a county's 发文机关代字 (audited in the public schema and the county's own). Numbers
    already issued keep what they were; the next ones begin with the new 代字."""
    connection.set_schema_to_public()
    abbreviation = (abbreviation or "").strip()
    try:
        validate_abbreviation(abbreviation)
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages), field="abbreviation") from None
    with transaction.atomic():
        county = County.objects.select_for_update().filter(slug=slug).first()
        if county is None:
            raise ProvisioningError(_("没有标识为“%(slug)s”的县。") % {"slug": slug}, field="slug")
        refuse_archived(county)
        before, after = {"abbreviation": county.abbreviation}, {"abbreviation": abbreviation}
        county.abbreviation = abbreviation
        county.save(update_fields=["abbreviation"])
        audit.record(actor=actor, action="county.set_abbreviation", obj=county, before=before, after=after)
        with schema_context(county.schema_name):
            audit.record(actor=county_side(actor), action="county.set_abbreviation", obj=county, object_type="tenants.county",
                         before=before, after=after)
    return county


def _validate(slug: str, name: str, city_code: str) -> City:
    try:
        validate_county_slug(slug)
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages), field="slug") from None
    if not name or not name.strip():
        raise ProvisioningError(_("请填写县名称（--name）。"), field="name")
    if len(name) > 100:
        raise ProvisioningError(_("县名称不能超过100个字。"), field="name")
    try:
        validate_city_code(city_code)
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages), field="city") from None
    city = City.objects.filter(code=city_code).first()
    if city is None:
        known = "、".join(City.objects.values_list("code", flat=True)) or _("尚无")
        raise ProvisioningError(_("没有代码为“%(code)s”的市（已有：%(known)s；可用 duban city create 添加）。")
                                % {"code": city_code, "known": known}, field="city")
    if County.objects.filter(slug=slug).exists():
        raise ProvisioningError(_("县标识“%(slug)s”已被使用。") % {"slug": slug}, field="slug")
    if Domain.objects.filter(domain=county_host(slug)).exists():
        raise ProvisioningError(_("域名 %(host)s 已被占用。") % {"host": county_host(slug)}, field="slug")
    if schema_exists(schema_name_for(slug), case_sensitive=False):
        raise ProvisioningError(_("数据库模式 %(schema)s 已存在，但没有对应的县；请先删除或改名。")
                                % {"schema": schema_name_for(slug)}, field="slug")
    return city


def clone_template(schema_name: str) -> None:
    cloning.clone_schema(schemas.template_schema(), schema_name)


def migrate_new_schema(schema_name: str) -> None:
    """The slow way, for comparison and as a fallback: create the schema, run every migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    # Tables made by migrations carry the owner's default privileges: give them the template's.
    cloning.copy_privileges(schemas.template_schema(), schema_name)


def create_county(slug: str, name: str, city_code: str, *, actor, rulepack: str | None = None,
                  admin_username: str | None = "admin", admin_password: str | None = None,
                  time_zone: str = "Asia/Shanghai", method: str = "spare", abbreviation: str = "") -> Provisioned:
    """Create a county: its row, host, schema (a spare from the pool, renamed; or cloned from the
    template) and admin user. ``abbreviation`` is its 发文机关代字 (e.g. 东), which its documents'
    numbers begin with.

    ``method="spare"`` (the default) takes a spare schema (tenants.spares) and clones only when
    the pool is empty; ``"clone"`` always clones; ``"migrate"`` builds the schema by running every
    migration (slower; kept for comparison in bench/provision.py and as a fallback).
    """
    started = time.perf_counter()
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    connection.set_schema_to_public()
    city = _validate(slug, name, city_code)
    pack_name, pack_version = resolve_rulepack(rulepack)
    if admin_username is not None and not admin_username.strip():
        raise ProvisioningError(_("请填写县管理员用户名。"), field="admin")
    if method not in ("spare", "clone", "migrate"):
        raise ProvisioningError(_("未知的开通方式“%(method)s”。") % {"method": method}, field="method")
    if method in ("spare", "clone"):
        schemas.ensure_template_current()
    password = admin_password or secrets.token_urlsafe(12)

    with action_scope():  # the admin user is made by an action, which joins this transaction
        county = County(slug=slug, name=name, city=city, schema_name=schema_name_for(slug),
                        rulepack_name=pack_name, rulepack_version=pack_version, time_zone=time_zone,
                        abbreviation=(abbreviation or "").strip())
        try:
            validate_abbreviation(county.abbreviation)
        except ValidationError as exc:
            raise ProvisioningError(" ".join(exc.messages), field="abbreviation") from None
        county.full_clean()
        county.save()
        Domain.objects.create(domain=county_host(slug), tenant=county, is_primary=True)
        if method == "spare" and spares.claim(county.schema_name):
            made = "spare"
        elif method == "migrate":
            migrate_new_schema(county.schema_name)
            made = "migrate"
        else:
            clone_template(county.schema_name)
            made = "clone"
        audit.record(actor=actor, action="county.create", obj=county, after={
            "slug": slug, "name": name, "city": city.code, "schema": county.schema_name,
            "rulepack": f"{pack_name}=={pack_version}", "schema_made_by": made})
        with schema_context(county.schema_name):
            if admin_username:
                try:
                    do_create_user(admin_username, actor=county_side(actor), role=Role.COUNTY_ADMIN, password=password,
                                   full_name="县管理员")
                except Invalid as exc:
                    raise ProvisioningError(_("县管理员：%(error)s") % {"error": exc}, field="admin") from None
            audit.record(actor=county_side(actor), action="county.create", obj=county, object_type="tenants.county",
                         after={"slug": slug, "name": name})
    return Provisioned(county=county, domain=county_host(slug), admin_username=admin_username or "",
                       admin_password=password if admin_username else "",
                       seconds=time.perf_counter() - started, method=made)


def set_status(slug: str, status: str, *, actor, reason: str = "") -> County:
    """Suspend or resume a county. Its data stays; its host answers with a suspended page."""
    connection.set_schema_to_public()
    if status not in (County.Status.ACTIVE, County.Status.SUSPENDED):  # archiving: tenants.archiving
        raise ProvisioningError(_("未知的状态“%(status)s”。") % {"status": status}, field="status")
    with transaction.atomic():
        county = County.objects.select_for_update().filter(slug=slug).first()
        if county is None:
            raise ProvisioningError(_("没有标识为“%(slug)s”的县。") % {"slug": slug}, field="slug")
        refuse_archived(county)
        if county.status == status:
            raise ProvisioningError(_("县“%(slug)s”的状态已是“%(status)s”。")
                                    % {"slug": slug, "status": county.get_status_display()}, field="status")
        before = {"status": county.status, "reason": county.status_reason}
        county.status = status
        county.status_reason = reason
        county.status_changed_at = timezone.now()
        county.save(update_fields=["status", "status_reason", "status_changed_at"])
        action = "county.suspend" if status == County.Status.SUSPENDED else "county.resume"
        audit.record(actor=actor, action=action, obj=county, before=before,
                     after={"status": status, "reason": reason})
    return county


def _city(city_code: str) -> City:
    city = City.objects.filter(code=(city_code or "").strip().lower()).first()
    if city is None:
        known = "、".join(City.objects.values_list("code", flat=True)) or _("尚无")
        raise ProvisioningError(_("没有代码为“%(code)s”的市（已有：%(known)s）。") % {"code": city_code, "known": known},
                                field="city")
    return city


def create_city_user(city_code: str, username: str, *, actor, password: str | None, full_name: str = "",
                     email: str = "") -> User:
    """A city government user (public schema), who sees that city's counties' aggregates only."""
    connection.set_schema_to_public()
    city = _city(city_code)
    username = (username or "").strip()
    existing = User.objects.filter(username=username).first() if username else None
    if existing is not None:
        membership = CityMembership.objects.filter(user=existing).select_related("city").first()
        where = ""
        if membership is not None:
            where = (_("，是%(city)s已停用的市级用户") if membership.ended_at else _("，现为%(city)s的市级用户")) % {
                "city": membership.city.name}
        raise ProvisioningError(_("用户名“%(username)s”已被使用%(where)s；请换一个用户名。")
                                % {"username": username, "where": where}, field="username")
    with action_scope():  # do_create_user joins: the user and the membership, or neither
        try:
            user = do_create_user(username, actor=actor, role=Role.CITY_USER, password=password, full_name=full_name,
                                  email=email)
        except Invalid as exc:
            raise ProvisioningError(str(exc), field=exc.field) from None
        CityMembership.objects.create(user=user, city=city)
        audit.record(actor=actor, action="city.member", obj=city, after={"user": username})
    return user


def city_users(city_code: str) -> tuple[City, list[CityMembership]]:
    """A city's users, current first then removed ones (newest first), with their memberships."""
    connection.set_schema_to_public()
    city = _city(city_code)
    members = (CityMembership.objects.filter(city=city).select_related("user")
               .order_by(models.F("ended_at").desc(nulls_first=True), "user__username"))
    return city, list(members)


def remove_city_user(city_code: str, username: str, *, actor) -> CityMembership:
    """End a city user's membership and deactivate the user (their API token revoked). The
    membership row stays, with the time it ended: the history of who belonged to the city."""
    connection.set_schema_to_public()
    city = _city(city_code)
    with action_scope():
        membership = (CityMembership.objects.select_for_update().select_related("user", "city")
                      .filter(user__username=(username or "").strip()).first())
        if membership is None or membership.city_id != city.pk:
            raise ProvisioningError(_("%(city)s没有用户名为“%(username)s”的市级用户（见 duban city user list %(code)s）。")
                                    % {"city": city.name, "username": username, "code": city.code},
                                    field="username")
        if membership.ended_at is not None:
            raise ProvisioningError(_("市级用户“%(username)s”已停用（%(when)s）。")
                                    % {"username": username,
                                       "when": timezone.localtime(membership.ended_at).strftime("%Y-%m-%d %H:%M")},
                                    field="username")
        user = membership.user
        do_update_user(user, actor=actor, changes={"is_active": False})
        do_revoke_token(user, actor=actor)
        membership.ended_at = timezone.now()
        membership.save(update_fields=["ended_at"])
        audit.record(actor=actor, action="city.member_remove", obj=city,
                     after={"user": user.username, "ended_at": membership.ended_at.isoformat()})
    return membership


def create_city(code: str, name: str, *, actor) -> City:
    connection.set_schema_to_public()
    code = (code or "").strip().lower()
    try:
        validate_city_code(code)
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages), field="code") from None
    if not (name or "").strip():
        raise ProvisioningError(_("请填写市名称（--name）。"), field="name")
    with transaction.atomic():
        if City.objects.filter(code=code).exists():
            raise ProvisioningError(_("市代码“%(code)s”已被使用。") % {"code": code}, field="code")
        city = City.objects.create(code=code, name=name.strip())
        audit.record(actor=actor, action="city.create", obj=city, after={"code": code, "name": city.name})
    return city
