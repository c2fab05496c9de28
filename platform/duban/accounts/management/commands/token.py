"""`duban token issue|revoke --county SLUG USERNAME`: API tokens (one per user, per county).

The key is printed once, on issue; only its SHA-256 and first eight characters are stored."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from duban.accounts.actions import do_issue_token, do_revoke_token
from duban.core.commands import CountyCommand, county_by_slug, user_by_username
from duban.core.errors import Invalid
from tenants.provisioning import county_url


class Command(CountyCommand):
    help = "Issue (or rotate) and revoke API tokens of a county's users."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{issue,revoke}")
        for name, text in (("issue", "issue a token (replaces the user's previous one)"),
                           ("revoke", "revoke the user's token")):
            cmd = sub.add_parser(name, help=text)
            self.add_county_argument(cmd)
            cmd.add_argument("username")

    def handle(self, *args, **options):
        county_by_slug(options["county"], writing=True)  # the unit commands' messages: unknown, or not active
        return super().handle(*args, **options)

    def handle_county(self, county, **options):
        user = user_by_username(options["username"])
        try:
            if options["action"] == "issue":
                key = do_issue_token(user, actor="cli")
                self.stdout.write(key)
                self.stderr.write(_("这是 %(user)s 的 API 令牌，只显示这一次（系统只保存其摘要，无法再次查看）；"
                                    "仅在 %(url)sapi/v1/ 有效。") % {"user": user.username,
                                                                  "url": county_url(county)})
            elif do_revoke_token(user, actor="cli"):
                self.stdout.write(self.style.SUCCESS(_("已吊销 %(user)s 的 API 令牌") % {"user": user.username}))
            else:
                self.stdout.write(_("%(user)s 没有 API 令牌，无需吊销") % {"user": user.username})
        except Invalid as exc:
            raise CommandError(str(exc)) from None
