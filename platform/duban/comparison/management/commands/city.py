"""`duban city create|list|user|compare|refresh`: tenants' city command plus the city comparison.

(This app comes before ``tenants`` in SHARED_APPS, so this command is the one `duban city` runs.)"""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.comparison import service
from duban.comparison.actions import do_set_reference_pack
from duban.comparison.refresh import refresh_all
from duban.core.commands import CountyCommand
from duban.core.errors import Invalid
from tenants.management.commands.city import Command as CityCommand
from tenants.models import City, County


class Command(CountyCommand, CityCommand):
    help = "Create and list cities and their users; compare a city's counties; refresh comparison snapshots."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,user,compare,refresh}")
        self.add_city_arguments(sub)
        compare = sub.add_parser("compare", help="the city's counties side by side (from snapshots)")
        compare.add_argument("code", help="city code")
        compare.add_argument("--period", default="quarter", choices=["month", "quarter", "year"])
        compare.add_argument("--start", help="first day of the period (default: the current one)")
        compare.add_argument("--rank-by", default="reference_mean_score")
        refresh = sub.add_parser("refresh", help="recompute comparison snapshots now")
        refresh.add_argument("code", nargs="?", help="city code (default: every city)")
        self.add_county_argument(refresh, required=False)
        refresh.add_argument("--reference-pack", help="set the city's reference pack first: NAME[==VERSION]")

    def handle(self, *args, **options):
        if options["action"] in CityCommand.city_actions:
            return CityCommand.handle(self, *args, **options)
        return super().handle(*args, **options)

    def handle_county(self, county, /, **options):
        """``county``: the one ``city refresh --county SLUG`` names (None: every county)."""
        if options["action"] == "refresh":
            counties = County.objects.filter(status=County.Status.ACTIVE).select_related("city").order_by("slug")
            if options["code"]:
                city = City.objects.filter(code=options["code"]).first()
                if city is None:
                    raise CommandError(_("没有代码为“%(code)s”的市。") % {"code": options["code"]})
                if options["reference_pack"]:
                    try:
                        do_set_reference_pack(city, options["reference_pack"], actor="cli")
                    except Invalid as exc:
                        raise CommandError(str(exc)) from None
                counties = counties.filter(city=city)
            if county is not None:
                counties = counties.filter(pk=county.pk)
            rows, seconds = refresh_all(list(counties), kind="full")
            self.stdout.write(self.style.SUCCESS(_("已刷新 %(counties)d 个县的对比数据 %(rows)d 条，用时 %(seconds).2f 秒")
                                                 % {"counties": counties.count(), "rows": rows, "seconds": seconds}))
            return
        city = City.objects.filter(code=options["code"]).first()
        if city is None:
            raise CommandError(_("没有代码为“%(code)s”的市。") % {"code": options["code"]})
        start = date.fromisoformat(options["start"]) if options["start"] else None
        try:
            table = service.comparison(city, options["period"], start, rank_by=options["rank_by"])
        except Invalid as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_("%(city)s · %(period)s · 参照规则包 %(pack)s · 排名依据 %(rank_by)s") % {
            "city": city.name, "period": table["period"]["label"],
            "pack": table["reference_pack"] or _("（未选择）"), "rank_by": table["rank_by"]})
        self.stdout.write("{:>3} {:<14} {:<24} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8}  {}".format(
            "#", _("县"), _("本县规则包"), _("本包均分"), _("参照均分"), _("按时率"), _("平均逾期"), _("返工率"),
            _("未答复"), _("刷新时间")))
        now = timezone.now()
        for row in table["counties"]:
            m = row["metrics"] or {}

            def fmt(value, pct=False):
                if value is None:
                    return "—"
                return f"{value:.0%}" if pct else f"{value:.2f}"
            own = (row["own_pack_scores"] or {}).get("mean")
            ref = (row["reference_pack_scores"] or {}).get("mean")
            age = (_("从未刷新") if not row["refreshed_at"]
                   else _("%(seconds)d 秒前") % {"seconds": (now - row["refreshed_at"]).total_seconds()})
            self.stdout.write(f"{row['rank'] or '-':>3} {row['slug']:<14} {row['own_pack']:<24} {fmt(own):>8} "
                              f"{fmt(ref):>8} {fmt(m.get('on_time_rate'), True):>8} "
                              f"{fmt(m.get('avg_overdue_working_days')):>8} {fmt(m.get('redo_rate'), True):>6} "
                              f"{fmt(m.get('no_answer_share'), True):>8}  {age}")
