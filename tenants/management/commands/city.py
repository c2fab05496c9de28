"""`duban city create|list` and `duban city user add|list|remove` (city government users)."""

from __future__ import annotations

import getpass
import secrets
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tenants import provisioning
from tenants.models import City


class Command(BaseCommand):
    help = "Create and list cities; add, list and remove a city's users."

    #: the actions this command handles (duban.comparison's `city` command adds its own)
    city_actions = ("create", "list", "user")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,user}")
        self.add_city_arguments(sub)

    @staticmethod
    def add_city_arguments(sub) -> None:
        create = sub.add_parser("create", help="add a city")
        create.add_argument("code", help="short code, e.g. shifan")
        create.add_argument("--name", required=True, help="e.g. 示范市")
        sub.add_parser("list", help="list cities")
        user = sub.add_parser("user", help="a city's government users (public schema): add, list, remove")
        verbs = user.add_subparsers(dest="user_action", required=True, metavar="{add,list,remove}")
        add = verbs.add_parser("add", help="add a city user (audited)")
        add.add_argument("city", help="city code")
        add.add_argument("username")
        add.add_argument("--full-name", default="", help="e.g. 王科长")
        add.add_argument("--email", default="")
        add.add_argument("--password-file", default=None,
                         help="read the password from the first line of this file (default: asked for on a "
                              "terminal, else a random one, printed once)")
        listing = verbs.add_parser("list", help="the city's users, current and removed")
        listing.add_argument("city", help="city code")
        remove = verbs.add_parser("remove", help="deactivate a city user and end the membership (kept; audited)")
        remove.add_argument("city", help="city code")
        remove.add_argument("username")

    def handle(self, *args, **options):
        try:
            if options["action"] == "create":
                city = provisioning.create_city(options["code"], options["name"], actor="cli")
                self.stdout.write(self.style.SUCCESS(_("已创建市：%(city)s（%(code)s）")
                                                     % {"city": city.name, "code": city.code}))
            elif options["action"] == "list":
                for city in City.objects.order_by("code"):
                    self.stdout.write(f"{city.code}\t{city.name}\t"
                                      + ngettext("%(count)d 个县",
                                                 "%(count)d 个县", city.counties.count()) % {"count": city.counties.count()})
            else:
                getattr(self, f"user_{options['user_action']}")(options)
        except provisioning.ProvisioningError as exc:
            raise CommandError(f"{exc} [{exc.field}]" if exc.field else str(exc)) from None

    def _password(self, options) -> tuple[str, bool]:
        """(password, generated?)."""
        if options["password_file"]:
            path = Path(options["password_file"])
            try:
                first = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CommandError(_("读不出密码文件 %(file)s：%(error)s") % {"file": path, "error": exc.strerror}) from None
            if not first or not first[0].strip():
                raise CommandError(_("密码文件 %(file)s 的第一行是空的。") % {"file": path})
            return first[0].strip(), False
        if sys.stdin.isatty():
            password = getpass.getpass(_("密码（直接回车则随机生成）："))
            if password:
                if getpass.getpass(_("再输入一次：")) != password:
                    raise CommandError(_("两次输入的密码不一致，未添加用户。"))
                return password, False
        return secrets.token_urlsafe(12), True

    def user_add(self, options):
        password, generated = self._password(options)
        user = provisioning.create_city_user(options["city"], options["username"], actor="cli", password=password,
                                             full_name=options["full_name"], email=options["email"])
        city = user.city_membership.city
        self.stdout.write(self.style.SUCCESS(_("已添加%(city)s（%(code)s）的市级用户 %(username)s。")
                                             % {"city": city.name, "code": city.code, "username": user.username}))
        if generated:
            self.stdout.write(_("  密码：%(password)s   （只显示这一次，请登录后修改）") % {"password": password})

    def user_list(self, options):
        city, members = provisioning.city_users(options["city"])
        current = [m for m in members if m.ended_at is None]
        ended = [m for m in members if m.ended_at is not None]
        self.stdout.write(_("%(city)s（%(code)s）：%(count)d 名市级用户") % {"city": city.name, "code": city.code,
                                                                       "count": len(current)})
        for m in current:
            self.stdout.write(f"  {m.user.username}\t{m.user.full_name or '—'}\t{m.user.email or '—'}\t"
                              + _("自 %(since)s") % {"since": _day(m.created_at)})
        if ended:
            self.stdout.write(_("已停用："))
            for m in ended:
                self.stdout.write(f"  {m.user.username}\t{m.user.full_name or '—'}\t"
                                  + _("%(since)s 至 %(until)s") % {"since": _day(m.created_at),
                                                                   "until": _day(m.ended_at)})

    def user_remove(self, options):
        membership = provisioning.remove_city_user(options["city"], options["username"], actor="cli")
        self.stdout.write(self.style.SUCCESS(
            _("已停用%(city)s的市级用户 %(username)s；其成员记录保留（止于 %(until)s）。")
            % {"city": membership.city.name, "username": membership.user.username,
               "until": _day(membership.ended_at)}))


def _day(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d")
