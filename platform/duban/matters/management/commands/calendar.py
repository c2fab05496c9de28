"""`duban calendar show|set|import|retime` — a county's working-day calendar (节假日、调休).

The ``chinesecalendar`` package knows only the years the State Council has announced. For a
later year the county admin enters the holidays and make-up workdays by hand (``set`` or
``import``), then re-times the provisional deadlines given in working days (``retime``).
Every write goes through ``do_set_workdays`` / ``do_retime_deadlines`` (audited).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from duban.core.commands import CountyCommand, year_option
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Invalid, NotAllowed
from duban.core.models import CalendarYear, WorkdayOverride
from duban.matters.actions import do_confirm_calendar_year, do_retime_deadlines, do_set_workdays
from duban.matters.models import Matter
from duban.matters.states import OPEN_STATES
from duban.workcalendar import official_years
from tenants.models import County

WEEKDAYS = "一二三四五六日"
WORKDAY_WORDS = {"1": True, "上班": True, "0": False, "放假": False}
NOTE_MAX = WorkdayOverride._meta.get_field("note").max_length
MAX_IMPORT_ERRORS_SHOWN = 50


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("“%(text)s”不是日期（应为YYYY-MM-DD）") % {"text": text.strip()}) from None


def read_csv(path: Path) -> list[tuple[date, bool, str]]:
    """Rows of ``date,workday,note`` (``workday``: 1/0 or 上班/放假; a header row is optional).
    Every row is checked first; any bad row raises :class:`CommandError` listing them all."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CommandError(_("无法读取%(path)s：%(error)s") % {"path": path, "error": exc.strerror or exc}) from None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CommandError(_("%(path)s不是UTF-8或GB18030编码的文字。") % {"path": path})
    entries: list[tuple[date, bool, str]] = []
    errors: list[str] = []
    seen: dict[date, int] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if line == 1 and cells[0].lower() in ("date", "日期"):
            continue
        if len(cells) < 2 or len(cells) > 3:
            errors.append(_("第%(line)d行：应为2或3列（日期,是否工作日,备注），实际为%(count)d列")
                          % {"line": line, "count": len(cells)})
            continue
        problems = []
        try:
            day = parse_day(cells[0])
        except ValueError as exc:
            problems.append(str(exc))
            day = None
        workday = WORKDAY_WORDS.get(cells[1])
        if workday is None:
            problems.append(_("是否工作日应为1、0、上班或放假，不能是“%(value)s”") % {"value": cells[1]})
        note = cells[2] if len(cells) == 3 else ""
        if len(note) > NOTE_MAX:
            problems.append(_("备注超过%(max)d个字") % {"max": NOTE_MAX})
        if day is not None and day in seen:
            problems.append(_("%(day)s已在第%(other)d行出现") % {"day": day, "other": seen[day]})
        if problems:
            errors.append(_("第%(line)d行：%(problems)s") % {"line": line, "problems": "；".join(problems)})
            continue
        seen[day] = line
        entries.append((day, workday, note))
    if errors:
        shown = errors[:MAX_IMPORT_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        raise CommandError(_("%(path)s：%(count)d行有误，没有导入任何内容。") % {"path": path, "count": len(errors)}
                           + "\n  " + "\n  ".join(shown)
                           + ("\n  " + _("……另有%(more)d行") % {"more": more} if more else ""))
    if not entries:
        raise CommandError(_("%(path)s没有数据行（应为：日期,是否工作日,备注）。") % {"path": path})
    return entries


class Command(CountyCommand):
    help = "Show and maintain a county's working-day calendar, and re-time provisional deadlines."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{show,set,import,confirm,retime}")
        show = sub.add_parser("show", help="holidays and make-up workdays of a year, and where they come from")
        self.add_county_argument(show)
        show.add_argument("year", type=year_option)

        set_ = sub.add_parser("set", help="declare one day a workday or a holiday (county override)")
        self.add_county_argument(set_)
        set_.add_argument("--actor", required=True, help="user name of the county admin")
        set_.add_argument("day", metavar="DATE", help="YYYY-MM-DD")
        kind = set_.add_mutually_exclusive_group(required=True)
        kind.add_argument("--workday", dest="workday", action="store_true", default=None,
                          help="a working day (e.g. 调休上班)")
        kind.add_argument("--holiday", dest="workday", action="store_false", help="a day off (放假)")
        set_.add_argument("--note", default="", help=f"what the day is, e.g. 国庆节 (at most {NOTE_MAX} characters)")

        imp = sub.add_parser("import", help="import a CSV of date,workday,note (all rows or none)")
        self.add_county_argument(imp)
        imp.add_argument("--actor", required=True, help="user name of the county admin")
        imp.add_argument("file", metavar="FILE.csv", type=Path)
        imp.add_argument("--complete", action="store_true",
                         help="the file holds every holiday and make-up workday of its year(s): confirm them")
        imp.add_argument("--basis", default="", help="the announcement it comes from, e.g. 国办发明电〔2026〕7号")
        confirm = sub.add_parser("confirm", help="confirm that a year's holidays are all entered")
        self.add_county_argument(confirm)
        confirm.add_argument("--actor", required=True, help="user name of the county admin")
        confirm.add_argument("year", type=year_option)
        confirm.add_argument("--basis", default="", help="the announcement it comes from")

        retime = sub.add_parser("retime", help="recompute provisional deadlines given in working days")
        self.add_county_argument(retime)
        retime.add_argument("--actor", required=True, help="user name of the county admin or supervision staff")

    def handle(self, *args, **options):
        if not County.objects.filter(slug=options["county"]).exists():  # this command's own message
            raise CommandError(_("没有代码为“%(slug)s”的县（见 duban county list）。") % {"slug": options["county"]})
        return super().handle(*args, **options)

    def handle_county(self, county, **options):
        try:
            return getattr(self, f"do_{options['action']}")(county, options)
        except (NotAllowed, Invalid) as exc:
            raise CommandError(_("%(county)s：%(message)s") % {"county": county.name, "message": exc}) from None

    def _actor(self, county, username: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not user.is_active:
            raise CommandError(_("%(county)s没有用户名为“%(username)s”的在职用户。")
                % {"county": county.name, "username": username})
        return user

    # --- show ------------------------------------------------------------------------------
    def do_show(self, county, options):
        year = options["year"]
        if not 1900 <= year <= 2999:
            raise CommandError(_("年份%(year)s不正确。") % {"year": year})
        calendar = county_calendar()
        pack_days = {o.day for o in county_pack().calendar.overrides}
        county_rows = {o.day: o for o in WorkdayOverride.objects.filter(day__year=year).select_related("entered_by")}
        official = calendar.source == "chinese_calendar" and year in official_years()
        in_year = [d for d in calendar.overrides if d.year == year]

        self.stdout.write(_("%(county)s（%(slug)s）%(year)d 年工作日历")
                          % {"county": county.name, "slug": county.slug, "year": year})
        if calendar.source == "weekends_only":
            self.stdout.write(_("  来源：本县规则包只按双休日计算，不含法定节假日"))
        elif official:
            self.stdout.write(_("  来源：国家公布的安排（chinesecalendar 已收录 %(year)d 年）；另有本县或规则包调整 %(count)d 天")
                              % {"year": year, "count": len(in_year)})
        elif year in calendar.confirmed_years:
            self.stdout.write(_("  来源：手工录入并已确认完整（%(count)d 天）；chinesecalendar 未收录 %(year)d 年")
                              % {"count": len(in_year), "year": year})
        elif in_year:
            self.stdout.write(self.style.WARNING(
                _("  来源：仅有手工调整，尚未确认完整（执行 duban calendar confirm 之前，期限都是暂定的）；"
                  "chinesecalendar 未收录 %(year)d 年（已收录 %(known)s）；以下 %(count)d 天为手工录入")
                % {"year": year, "known": _years(official_years()), "count": len(in_year)}))
        else:
            self.stdout.write(self.style.WARNING(
                _("  来源：未知。chinesecalendar 未收录 %(year)d 年（已收录 %(known)s），也没有录入节假日；"
                  "目前只按双休日放假，%(year)d 年的期限都是暂定的。请用 duban calendar import 录入。")
                % {"year": year, "known": _years(official_years())}))

        names = {h.value: getattr(h, "chinese", h.value) for h in chinese_calendar.Holiday}
        rows = []
        day = date(year, 1, 1)
        while day.year == year:
            workday, weekend = calendar.is_workday(day), day.weekday() >= 5
            row = county_rows.get(day)
            if workday == weekend or row is not None or day in pack_days:  # differs from Mon–Fri, or set by hand
                if row is not None:
                    source, note = _("本县，%(username)s 录入") % {"username": row.entered_by.username}, row.note
                elif day in pack_days:
                    source, note = _("规则包"), ""
                else:
                    detail = chinese_calendar.get_holiday_detail(day)[1] if official else None
                    source, note = _("国家安排"), names.get(detail, detail or "")
                kind = (_("调休上班") if weekend else _("上班")) if workday else _("放假")
                rows.append(f"  {day}  周{WEEKDAYS[day.weekday()]}  {kind:<6} {note or '—'}  ［{source}］")
            day += timedelta(days=1)
        if rows:
            self.stdout.write("\n".join(rows))
        else:
            self.stdout.write(_("  本年没有已知的节假日或调休上班日"))
        self._hint_retime()

    # --- set / import ----------------------------------------------------------------------
    def do_set(self, county, options):
        actor = self._actor(county, options["actor"])
        try:
            day = parse_day(options["day"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        note = options["note"].strip()
        existing = WorkdayOverride.objects.filter(day=day).first()
        if not note and existing:
            note = existing.note  # no --note: keep the one entered before
        if len(note) > NOTE_MAX:
            raise CommandError(_("备注不能超过%(limit)d个字。") % {"limit": NOTE_MAX})
        changed = do_set_workdays([(day, options["workday"], note)], actor=actor)
        word = _("上班") if options["workday"] else _("放假")
        if changed:
            self.stdout.write(self.style.SUCCESS(_("%(slug)s：%(day)s 已设为%(word)s。")
                                                 % {"slug": county.slug, "day": day, "word": word}))
        else:
            self.stdout.write(_("%(slug)s：%(day)s 原本就是%(word)s，未作改动。")
                              % {"slug": county.slug, "day": day, "word": word})
        self._hint_retime()

    def do_import(self, county, options):
        actor = self._actor(county, options["actor"])
        entries = read_csv(options["file"])
        changed = do_set_workdays(entries, actor=actor)
        years = sorted({day.year for day, _, _ in entries})
        self.stdout.write(self.style.SUCCESS(
            _("%(slug)s：读入 %(years)s 年的 %(count)d 天；改动 %(changed)d 天，%(same)d 天原本如此。")
            % {"slug": county.slug, "years": "、".join(map(str, years)), "count": len(entries),
               "changed": changed, "same": len(entries) - changed}))
        if options["complete"]:
            for year in years:
                if not CalendarYear.objects.filter(year=year).exists():
                    self._confirm(year, actor, options["basis"])
        self._hint_retime()

    def do_confirm(self, county, options):
        self._confirm(options["year"], self._actor(county, options["actor"]), options["basis"])
        self._hint_retime()

    def _confirm(self, year, actor, basis):
        try:
            do_confirm_calendar_year(year, actor=actor, note=basis)
        except (Invalid, NotAllowed) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(_("%(year)d 年：节假日已确认完整，该年的期限不再是暂定的。")
                                             % {"year": year}))

    def _hint_retime(self):
        # The matters do_retime_deadlines looks at: open, with a provisional deadline.
        provisional = Matter.objects.filter(deadline_provisional=True, state__in=OPEN_STATES).count()
        if provisional:
            message = ngettext("有 %(count)d 件未办结事项的期限是暂定的；执行 duban calendar retime 重新计算。",
                               "有 %(count)d 件未办结事项的期限是暂定的；执行 duban calendar retime 重新计算。", provisional)
            self.stdout.write(message % {"count": provisional})

    # --- retime ----------------------------------------------------------------------------
    def do_retime(self, county, options):
        actor = self._actor(county, options["actor"])
        changes = do_retime_deadlines(actor=actor)
        if not changes:
            self.stdout.write(_("%(slug)s：没有暂定期限发生变化。") % {"slug": county.slug})
            return
        for matter, old, new in changes:
            status = _("仍为暂定") if matter.deadline_provisional else _("已确定")
            self.stdout.write(f"  {matter.number}  {matter.title}：{old} → {new}（{status}）")
        self.stdout.write(self.style.SUCCESS(ngettext("%(slug)s：%(count)d 件事项已重新计算期限。",
                                                      "%(slug)s：%(count)d 件事项已重新计算期限。", len(changes))
                                             % {"slug": county.slug, "count": len(changes)}))


def _years(years: range) -> str:
    return f"{years.start}–{years.stop - 1}" if years else "no years"
