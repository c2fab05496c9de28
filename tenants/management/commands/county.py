"""`duban county create|list|suspend|resume|set-rulepack|set-abbreviation|backup|restore|archive|spares|sso`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tenants.utils import tenant_context
from rich.console import Console
from rich.table import Table

from duban.core import clock, dbowner, schemas
from duban.core.commands import action_errors, county_by_slug, user_by_username
from duban.identity.access import county_provider
from duban.identity.actions import (
    do_configure_sso,
    do_link_sso_subject,
    do_remove_sso,
    do_remove_sso_mapping,
    do_set_sso_mapping,
)
from tenants import archiving, backup, provisioning, spares
from tenants.models import County


class Command(BaseCommand):
    help = "Create, list, suspend and resume counties (tenants); back up and restore one county."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{create,list,suspend,resume,set-rulepack,set-abbreviation,backup,restore,"
                                            "archive,spares,sso}")
        create = sub.add_parser("create", help="create a county: a spare schema renamed, or a clone of the template")
        create.add_argument("slug", help="host label and identifier, e.g. qingshui → qingshui.<base domain>")
        create.add_argument("--name", required=True, help="the county's name, e.g. 清水县")
        create.add_argument("--city", required=True, dest="city", help="code of the city it belongs to")
        create.add_argument("--rulepack", default=None, help="NAME or NAME==VERSION (default: county_default)")
        create.add_argument("--abbreviation", default="",
                            help="the county's 发文机关代字, e.g. 东 (its document numbers: 东政督〔2026〕3号)")
        create.add_argument("--admin", default="admin", help="user name of the county admin (default: admin)")
        create.add_argument("--admin-password", default=None,
                            help="the admin's password (default: a random one, printed once)")
        sub.add_parser("list", help="list counties")
        pool = sub.add_parser("spares", help="show the pool of spare schemas; --fill clones it back to size (audited)")
        pool.add_argument("--fill", action="store_true", help="drop stale spares and clone new ones up to "
                                                              "DUBAN_SPARE_SCHEMAS (what beat does)")
        pool.add_argument("--size", type=int, default=None, help="with --fill: this many instead of DUBAN_SPARE_SCHEMAS")
        abbr = sub.add_parser("set-abbreviation", help="set a county's 发文机关代字 for its document numbers (audited)")
        abbr.add_argument("slug")
        abbr.add_argument("abbreviation", help="one to four Chinese characters, e.g. 东")
        pack = sub.add_parser("set-rulepack", help="switch a county to another rule pack (audited)")
        pack.add_argument("slug")
        pack.add_argument("rulepack", help="NAME or NAME==VERSION")
        for verb in ("suspend", "resume"):
            p = sub.add_parser(verb, help=f"{verb} a county (its data is kept)")
            p.add_argument("slug")
            p.add_argument("--reason", default="", help="why (kept in the audit trail)")
        dump = sub.add_parser("backup", help="write one county's schema (pg_dump) and files to FILE (audited)")
        dump.add_argument("slug")
        dump.add_argument("file", help="a new file (never overwritten), or - for standard output")
        load = sub.add_parser("restore", help="restore a county from FILE into its own schema, which must be "
                                              "absent; recreates its public rows if missing (audited)")
        load.add_argument("file", help="a backup file, or - for standard input")
        load.add_argument("--check", action="store_true", help="only read and verify FILE; change nothing")
        gone = sub.add_parser("archive", help="a county leaves the platform: write its final backup, then remove its "
                                              "schema, hosts and files; its row stays, marked archived (audited)")
        gone.add_argument("slug")
        gone.add_argument("--file", default=None,
                          help="the final backup, a new file (default: SLUG-final-YYYYMMDD-HHMMSS.tar here)")
        gone.add_argument("--reason", default="", help="why (kept in the audit trail)")
        gone.add_argument("--yes", action="store_true", help="do it without asking (it cannot be undone but by "
                                                             "`duban county restore` of the final backup)")

        self._add_sso_arguments(sub)

    @staticmethod
    def _add_sso_arguments(sub):
        sso = sub.add_parser("sso", help="the county's single sign-on with OpenID Connect (docs/identity.md; audited)")
        verbs = sso.add_subparsers(dest="sso_action", required=True, metavar="{show,set,map,unmap,link,remove}")
        show = verbs.add_parser("show", help="the provider, the switches, the role mapping and the URLs to register")
        show.add_argument("slug")
        put = verbs.add_parser("set", help="configure the provider (options not given keep their value)")
        put.add_argument("slug")
        put.add_argument("--issuer", help="the provider's issuer URL (its /.well-known/openid-configuration is read)")
        put.add_argument("--client-id", help="the client id registered at the provider")
        put.add_argument("--client-secret-file", metavar="FILE",
                         help="a file holding the client secret, or - to read it from standard input "
                              "(required the first time; stored encrypted, never shown again)")
        put.add_argument("--scopes", help='scopes to ask for (default "openid profile")')
        put.add_argument("--username-claim", help="the claim naming the user (default preferred_username)")
        put.add_argument("--role-claim", help='the claim whose values map to roles (e.g. groups; "" for none)')
        put.add_argument("--create-users", action=argparse.BooleanOptionalAction, default=None,
                         help="open an account (with no role) at an unknown user's first login")
        put.add_argument("--password-login", action=argparse.BooleanOptionalAction, default=None,
                         help="let users sign in with a password too (county admins always may)")
        put.add_argument("--trust-mfa", action=argparse.BooleanOptionalAction, default=None,
                         help="a login whose ID token's amr asserts MFA skips our one-time password")
        put.add_argument("--enable", action=argparse.BooleanOptionalAction, default=None,
                         help="show the single sign-on button on the login page")
        put.add_argument("--no-check", action="store_true", help="save without reading the discovery document")
        mapping = verbs.add_parser("map", help="a value of the role claim → a role (and a unit for unit staff)")
        mapping.add_argument("slug")
        mapping.add_argument("value", help="the claim's value, e.g. a group name")
        mapping.add_argument("role", help="county_admin, county_leader, office_leader, supervision_staff, unit_staff")
        mapping.add_argument("--unit", default="", help="the unit's code (unit_staff only)")
        unmap = verbs.add_parser("unmap", help="remove a value's mapping")
        unmap.add_argument("slug")
        unmap.add_argument("value")
        link = verbs.add_parser("link", help="tie an existing account to its provider identity (the user claim's value)")
        link.add_argument("slug")
        link.add_argument("username")
        link.add_argument("subject", help='the value of the user claim; "" unties the account')
        drop = verbs.add_parser("remove", help="remove the provider and its mapping: password logins only again")
        drop.add_argument("slug")

    def handle(self, *args, **options):
        # Creating, backing up and restoring counties is DDL: the owner role's work.
        dbowner.use_owner_connection()
        try:
            return getattr(self, f"do_{options['action'].replace('-', '_')}")(options)
        except provisioning.ProvisioningError as exc:
            field = f" [{exc.field}]" if exc.field else ""
            raise CommandError(str(exc) + field) from None
        except DatabaseError as exc:
            if not dbowner.permission_denied(exc):
                raise
            raise CommandError(_("数据库拒绝了这项操作（%(detail)s）：建立、备份和恢复县须以属主角色连接，"
                                 "请为这条命令设置 DUBAN_OWNER_DATABASE_URL（见运维手册“数据库角色”）。")
                               % {"detail": str(exc).splitlines()[0]}) from None

    def do_create(self, options):
        result = provisioning.create_county(
            options["slug"], options["name"], options["city"], actor="cli",
            rulepack=options["rulepack"], admin_username=options["admin"],
            admin_password=options["admin_password"], abbreviation=options["abbreviation"])
        county = result.county
        made = {"spare": _("取自备用模式"), "clone": _("由模板复制"), "migrate": _("逐个执行迁移")}[result.method]
        self.stdout.write(self.style.SUCCESS(
            _("已创建县：%(county)s（%(slug)s），数据库模式 %(schema)s（%(made)s），用时 %(seconds).2f 秒")
            % {"county": county.name, "slug": county.slug, "schema": county.schema_name, "made": made,
               "seconds": result.seconds}))
        self.stdout.write(_("  网址：%(url)s") % {"url": provisioning.county_url(county)})
        self.stdout.write(_("  规则包：%(pack)s") % {"pack": f"{county.rulepack_name}=={county.rulepack_version}"})
        if not county.abbreviation:
            self.stdout.write(self.style.WARNING(
                _("  尚未设置发文机关代字，发文前请先设置（duban county set-abbreviation %(slug)s 东）")
                % {"slug": county.slug}))
        if result.admin_username:
            self.stdout.write(_("  管理员：%(username)s / %(password)s")
                              % {"username": result.admin_username, "password": result.admin_password}
                              + ("" if options["admin_password"] else _("   （只显示这一次，请登录后修改）")))
        self._refill_after_create()

    def _refill_after_create(self):
        """The county exists; put a spare back for the next one (the owner's connection is here)."""
        if not spares.pool_size():
            return
        try:
            done = spares.refill(actor="cli")
        except spares.SpareError as exc:
            self.stdout.write(self.style.WARNING(_("  备用模式未补充：%(error)s") % {"error": exc}))
            return
        if done.created:
            self.stdout.write(_("  已补充备用模式 %(created)d 个（现有 %(pool)d 个）")
                              % {"created": len(done.created), "pool": done.pool})

    def do_list(self, options):
        counties = County.objects.select_related("city").order_by("city__code", "slug")
        rows = [(c.slug, c.name, c.city.code, c.schema_name, f"{c.rulepack_name}=={c.rulepack_version}",
                 c.status, provisioning.county_url(c)) for c in counties]
        headers = (_("代码"), _("名称"), _("所属市"), _("数据库模式"), _("规则包"), _("状态"), _("网址"))
        table = Table(*headers, title=ngettext("共 %(count)d 个县",
                                               "共 %(count)d 个县", len(rows)) % {"count": len(rows)})
        for row in rows:
            table.add_row(*row)
        Console(file=self.stdout, width=160).print(table)

    def do_spares(self, options):
        if options["size"] is not None and not options["fill"]:
            raise CommandError(_("--size 只能与 --fill 一起使用。"))
        if options["size"] is not None and not 0 <= options["size"] <= 100:
            raise CommandError(_("--size 应为0至100。"))
        if options["fill"]:
            try:
                done = spares.refill(options["size"], actor="cli")
            except spares.SpareError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(self.style.SUCCESS(done.summary()))
            return
        names = spares.spare_names()
        template = schemas.applied_migrations(schemas.template_schema())
        current = sum(spares.matches_template(name, template) for name in names)
        self.stdout.write(_("备用模式：%(count)d 个（与模板一致的 %(current)d 个），目标 %(target)d 个（DUBAN_SPARE_SCHEMAS）。")
                          % {"count": len(names), "current": current, "target": spares.pool_size()})
        for name in names:
            self.stdout.write(f"  {name}")

    def do_suspend(self, options):
        county = provisioning.set_status(options["slug"], County.Status.SUSPENDED, actor="cli",
                                         reason=options["reason"])
        self.stdout.write(self.style.WARNING(_("已暂停%(county)s（%(slug)s），数据保留。")
                                             % {"county": county.name, "slug": county.slug}))

    def do_resume(self, options):
        county = provisioning.set_status(options["slug"], County.Status.ACTIVE, actor="cli",
                                         reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(_("已恢复%(county)s（%(slug)s）。")
                                             % {"county": county.name, "slug": county.slug}))

    def do_set_abbreviation(self, options):
        county = provisioning.set_abbreviation(options["slug"], options["abbreviation"], actor="cli")
        self.stdout.write(self.style.SUCCESS(
            _("%(county)s（%(slug)s）：发文机关代字为“%(abbreviation)s”，此后编发的文号以其开头。")
            % {"county": county.name, "slug": county.slug, "abbreviation": county.abbreviation}))

    def do_set_rulepack(self, options):
        county = provisioning.set_rulepack(options["slug"], options["rulepack"], actor="cli")
        self.stdout.write(self.style.SUCCESS(
            _("%(county)s（%(slug)s）现使用规则包 %(pack)s；已有的记分台账仍按原规则包记录。")
            % {"county": county.name, "slug": county.slug,
               "pack": f"{county.rulepack_name}=={county.rulepack_version}"}))

    def do_backup(self, options):
        to_stdout = options["file"] == "-"
        out = self.stderr if to_stdout else self.stdout
        result = backup.backup_county(options["slug"], sys.stdout.buffer if to_stdout else options["file"],
                                      actor="cli")
        county = result.county
        out.write(self.style.SUCCESS(
            _("已备份%(county)s（%(slug)s），数据库模式 %(schema)s：%(tables)d 张表，%(rows)d 行，%(files)d 个文件，"
              "%(size)s → %(path)s，用时 %(seconds).2f 秒")
            % {"county": county.name, "slug": county.slug, "schema": county.schema_name, "tables": result.tables,
               "rows": result.rows, "files": result.files, "size": _size(result.bytes), "path": result.path,
               "seconds": result.seconds}))
        out.write(_("  所属市：%(city)s（%(code)s）") % {"city": county.city.name, "code": county.city.code})
        out.write(_("  规则包：%(pack)s") % {"pack": f"{county.rulepack_name}=={county.rulepack_version}"})
        out.write(_("  恢复：duban county restore %(file)s   （须在数据库模式 %(schema)s 不存在时执行）")
                  % {"file": "-" if to_stdout else result.path, "schema": county.schema_name})

    def do_restore(self, options):
        source = sys.stdin.buffer if options["file"] == "-" else options["file"]
        if options["check"]:
            manifest = backup.describe(source)
            county = manifest["county"]
            tables = manifest["database"]["tables"]
            name = _("标准输入") if options["file"] == "-" else options["file"]
            self.stdout.write(self.style.SUCCESS(
                _("%(name)s：%(county)s（%(slug)s），数据库模式 %(schema)s，所属市 %(city)s，规则包 %(pack)s")
                % {"name": name, "county": county["name"], "slug": county["slug"], "schema": county["schema"],
                   "city": county["city"]["code"],
                   "pack": f"{county['rulepack']['name']}=={county['rulepack']['version']}"}))
            self.stdout.write(_("  备份时间：%(taken)s，督办系统版本 %(version)s（PostgreSQL %(server)s）")
                              % {"taken": manifest["created_at"], "version": manifest.get("duban_version"),
                                 "server": manifest["database"].get("server_version")})
            self.stdout.write(_("  内容：%(tables)d 张表，%(rows)d 行，%(files)d 个文件；校验和无误")
                              % {"tables": len(tables), "rows": sum(tables.values()),
                                 "files": len(manifest["media"])})
            return
        result = backup.restore_county(source, actor="cli")
        county, manifest = result.county, result.manifest
        self.stdout.write(self.style.SUCCESS(
            _("已恢复%(county)s（%(slug)s）到数据库模式 %(schema)s：%(tables)d 张表，%(rows)d 行，%(files)d 个文件")
            % {"county": county.name, "slug": county.slug, "schema": county.schema_name, "tables": result.tables,
               "rows": result.rows, "files": result.files}
            + (_("（另有 %(count)d 个文件原已存在）") % {"count": result.files_present} if result.files_present else "")
            + _("，用时 %(seconds).2f 秒") % {"seconds": result.seconds}))
        self.stdout.write(_("  备份：%(taken)s 由督办系统 %(version)s 生成")
                          % {"taken": manifest["created_at"], "version": manifest.get("duban_version")})
        row = _("已重建") if result.row_recreated else _("原已存在，保留")
        self.stdout.write(_("  县记录：%(row)s；所属市 %(city)s%(city_note)s；状态 %(status)s")
                          % {"row": row, "city": county.city.code,
                             "city_note": _("（已重建）") if result.city_created else "",
                             "status": county.get_status_display()})
        if result.domains_created:
            self.stdout.write(_("  域名：%(hosts)s（已重建）") % {"hosts": "，".join(result.domains_created)})
        if result.migrated:
            self.stdout.write(_("  迁移：执行了 %(count)d 个比备份更新的数据库迁移") % {"count": len(result.migrated)})
        self.stdout.write(_("  网址：%(url)s") % {"url": provisioning.county_url(county)})
        self.stdout.write(_("  下一步：县际对比数据每晚重新计算；如需立即刷新：duban city refresh %(city)s --county %(slug)s")
                          % {"city": county.city.code, "slug": county.slug})


    def do_archive(self, options):
        slug = options["slug"].strip().lower()
        county = County.objects.filter(slug=slug).first()
        if county is None:
            raise CommandError(_("没有标识为“%(slug)s”的县（见 duban county list）。") % {"slug": slug})
        target = Path(options["file"] or f"{slug}-final-{timezone.localtime(clock.now()):%Y%m%d-%H%M%S}.tar").absolute()
        if not options["yes"]:
            question = (_("归档县“%(slug)s”（%(name)s）：先写最终备份 %(file)s，再删除它的数据库模式、域名和文件。"
                          "确认请输入县标识 %(slug)s：") % {"slug": slug, "name": county.name, "file": target})
            if not sys.stdin.isatty():
                raise CommandError(_("归档会删除县的数据库模式和域名，须确认：请加 --yes，或在终端里运行并输入县标识。"))
            if input(question).strip() != slug:
                raise CommandError(_("没有确认，未归档。"))
        result = archiving.archive_county(slug, target, actor="cli", reason=options["reason"])
        written = result.backup
        self.stdout.write(self.style.SUCCESS(
            _("县 %(slug)s（%(name)s）已归档。") % {"slug": slug, "name": result.county.name}))
        self.stdout.write(_("  最终备份：%(file)s（%(tables)d 张表，%(rows)d 行，%(files)d 个文件，%(size)s）")
                          % {"file": target, "tables": written.tables, "rows": written.rows, "files": written.files,
                             "size": _size(written.bytes)})
        self.stdout.write(_("  已删除：数据库模式 %(schema)s；域名 %(hosts)s；%(files)d 个文件")
                          % {"schema": result.county.schema_name, "hosts": "、".join(result.hosts) or "—",
                             "files": result.files_removed})
        self.stdout.write(_("  恢复：duban county restore %(file)s") % {"file": target})


    # --- single sign-on -------------------------------------------------------------------------
    def do_sso(self, options):
        county = county_by_slug(options["slug"].strip().lower(), writing=options["sso_action"] != "show")
        with tenant_context(county), action_errors():
            getattr(self, f"sso_{options['sso_action']}")(county, options)

    def sso_show(self, county, options):
        provider = county_provider()
        base = provisioning.county_url(county)
        self.stdout.write(_("%(county)s（%(slug)s）的统一身份认证：") % {"county": county.name, "slug": county.slug})
        if provider is None:
            self.stdout.write(_("  尚未设置（duban county sso set %(slug)s --issuer … --client-id … --client-secret-file …）")
                              % {"slug": county.slug})
        else:
            yes, no = _("是"), _("否")
            lines = [
                (_("状态"), _("已启用") if provider.enabled else _("已停用")),
                (_("身份认证平台"), provider.issuer),
                (_("客户端标识"), provider.client_id),
                (_("客户端密钥"), _("已设置") if provider.secret_is_set else _("未设置")),
                (_("申请的信息范围"), provider.scopes),
                (_("识别用户的声明"), provider.username_claim),
                (_("映射角色的声明"), provider.role_claim or "—"),
                (_("首次登录自动开通账号"), yes if provider.create_unknown_users else no),
                (_("允许用户名密码登录"), yes if provider.password_login else _("否（县管理员仍可用密码登录）")),
                (_("认可身份认证平台的多因素认证"), yes if provider.trust_provider_mfa else no),
            ]
            for label, value in lines:
                self.stdout.write(f"  {label}：{value}")
            mappings = list(provider.mappings.all())
            self.stdout.write(_("  角色映射（%(count)d 条，按顺序取第一条符合的）：") % {"count": len(mappings)})
            for m in mappings:
                unit = f" · {m.unit.code} {m.unit.name}" if m.unit_id else ""
                self.stdout.write(f"    {m.claim_value} → {m.get_role_display()}{unit}")
        self.stdout.write(_("  在身份认证平台登记的回调地址：%(url)s") % {"url": base + "login/sso/callback/"})
        self.stdout.write(_("  登记的退出后返回地址：%(url)s") % {"url": base + "login/"})

    def sso_set(self, county, options):
        current = county_provider()
        secret = None
        if options["client_secret_file"]:
            secret = _read_secret(options["client_secret_file"])
        elif current is None:
            raise CommandError(_("首次设置须用 --client-secret-file 提供客户端密钥（文件路径，或 - 表示从标准输入读取）。"))

        def pick(name, attribute, default):
            if options[name] is not None:
                return options[name]
            return getattr(current, attribute) if current is not None else default

        if current is None and not options["issuer"]:
            raise CommandError(_("首次设置须用 --issuer 给出身份认证平台的地址。"))
        if current is None and not options["client_id"]:
            raise CommandError(_("首次设置须用 --client-id 给出在身份认证平台登记的客户端标识。"))
        provider = do_configure_sso(
            actor="cli", issuer=pick("issuer", "issuer", ""), client_id=pick("client_id", "client_id", ""),
            client_secret=secret, scopes=pick("scopes", "scopes", "openid profile"),
            username_claim=pick("username_claim", "username_claim", "preferred_username"),
            role_claim=pick("role_claim", "role_claim", ""),
            create_unknown_users=pick("create_users", "create_unknown_users", False),
            password_login=pick("password_login", "password_login", True),
            trust_provider_mfa=pick("trust_mfa", "trust_provider_mfa", True),
            enabled=pick("enable", "enabled", True), check=not options["no_check"])
        self.stdout.write(self.style.SUCCESS(
            _("%(county)s（%(slug)s）的统一身份认证已保存：%(issuer)s，客户端 %(client)s，客户端密钥%(secret)s。")
            % {"county": county.name, "slug": county.slug, "issuer": provider.issuer, "client": provider.client_id,
               "secret": _("已更换") if secret and current is not None else _("已设置")}))
        self.sso_show(county, options)

    def sso_map(self, county, options):
        mapping = do_set_sso_mapping(actor="cli", claim_value=options["value"], role=options["role"],
                                     unit_code=options["unit"])
        unit = f"（{mapping.unit.name}）" if mapping.unit_id else ""
        self.stdout.write(self.style.SUCCESS(_("角色映射：%(value)s → %(role)s%(unit)s")
                                             % {"value": mapping.claim_value, "role": mapping.get_role_display(),
                                                "unit": unit}))

    def sso_unmap(self, county, options):
        do_remove_sso_mapping(actor="cli", claim_value=options["value"])
        self.stdout.write(self.style.SUCCESS(_("已删除角色映射：%(value)s") % {"value": options["value"]}))

    def sso_link(self, county, options):
        user = user_by_username(options["username"])
        user = do_link_sso_subject(user, actor="cli", subject=options["subject"])
        if user.sso_subject:
            self.stdout.write(self.style.SUCCESS(_("用户“%(username)s”已关联统一身份认证标识“%(subject)s”。")
                                                 % {"username": user.username, "subject": user.sso_subject}))
        else:
            self.stdout.write(self.style.SUCCESS(_("用户“%(username)s”已解除统一身份认证关联。")
                                                 % {"username": user.username}))

    def sso_remove(self, county, options):
        if do_remove_sso(actor="cli"):
            self.stdout.write(self.style.SUCCESS(_("%(county)s（%(slug)s）已删除统一身份认证设置，今后只能用用户名和密码登录。")
                                                 % {"county": county.name, "slug": county.slug}))
        else:
            self.stdout.write(_("%(county)s（%(slug)s）没有统一身份认证设置。") % {"county": county.name, "slug": county.slug})


def _read_secret(source: str) -> str:
    if source == "-":
        secret = sys.stdin.readline()
    else:
        try:
            secret = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(_("无法读取客户端密钥文件“%(file)s”：%(error)s")
                               % {"file": source, "error": exc.strerror or exc}) from None
    secret = secret.strip()
    if not secret:
        raise CommandError(_("客户端密钥文件“%(file)s”是空的。") % {"file": source})
    return secret


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"
