"""The working-day calendar CLI: a year the calendar package does not know, holidays entered by
hand, and provisional deadlines re-timed (with their history and audit trail)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role
from duban.audit.models import AuditEvent
from duban.core.errors import NotAllowed
from duban.core.models import WorkdayOverride
from duban.matters import actions
from duban.matters.models import DeadlineChange, Matter
from duban.workcalendar import official_years
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

YEAR = 2027
ASSIGNED_ON = date(2027, 9, 27)  # a Monday
# 10 working days from Mon 27 Sep 2027 counting weekends only: 28, 29, 30 Sep, 1, 4–8, 11 Oct.
WEEKENDS_ONLY_DUE = date(2027, 10, 11)
# With 1–7 Oct off and Sat 9 Oct a make-up workday: 28, 29, 30 Sep, 8, 9, 11–15 Oct.
OFFICIAL_DUE = date(2027, 10, 15)

HOLIDAYS_CSV = "date,workday,note\n" + "".join(f"2027-10-0{d},放假,国庆节\n" for d in range(1, 8)) + \
    "2027-10-09,上班,国庆节调休\n"


def run(*args) -> str:
    out = io.StringIO()
    call_command("calendar", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def matter_in_2027(world):
    """A matter assigned with a deadline of 10 working days, moved to start in 2027 (a year the
    calendar package does not know), and re-timed once on the weekends-only fallback."""
    assert YEAR not in official_years(), f"this test needs a year chinesecalendar does not know; it knows {YEAR}"
    with tenant_context(world.alpha):
        users = get_user_model().objects
        leader = do_create_user("leader_cal", actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD)
        staff = users.get(username="staff")
        matter = actions.do_propose_matter(actor=leader, title="编制2027年防汛预案", content="汛期前印发",
                                           category="major_decision")
        actions.do_register_matter(matter.pk, actor=staff)
        actions.do_approve_matter(matter.pk, actor=leader)
        actions.do_assign_matter(matter.pk, actor=staff, lead_unit="D01", requirements="按期印发",
                                 deadline_working_days=10)
        Matter.objects.filter(pk=matter.pk).update(assigned_on=ASSIGNED_ON, deadline_provisional=True)
        out = run("retime", "--county", "alpha", "--actor", "staff")
        matter.refresh_from_db()
        assert f"{matter.number}" in out and "仍为暂定" in out
        yield matter


def test_unknown_year_is_provisional_until_its_holidays_are_imported(world, matter_in_2027, tmp_path):
    matter = matter_in_2027
    assert matter.deadline == WEEKENDS_ONLY_DUE and matter.deadline_provisional is True

    with tenant_context(world.alpha):
        shown = run("show", "--county", "alpha", str(YEAR))
        assert "来源：未知" in shown and "目前只按双休日放假" in shown

        csv_file = tmp_path / "2027.csv"
        csv_file.write_text(HOLIDAYS_CSV, encoding="utf-8")
        out = run("import", "--county", "alpha", "--actor", "admin", str(csv_file))
        assert "读入 2027 年的 8 天；改动 8 天" in out
        assert WorkdayOverride.objects.filter(day__year=YEAR).count() == 8
        assert AuditEvent.objects.filter(action="calendar.set", object_id="2027-10-09").exists()

        shown = run("show", "--county", "alpha", str(YEAR))
        assert "仅有手工调整，尚未确认完整" in shown
        assert "2027-10-01  周五  放假" in shown and "2027-10-09  周六  调休上班" in shown
        assert "本县，admin 录入" in shown

        # Entered days count at once; the deadline stays provisional until the year is confirmed.
        out = run("retime", "--county", "alpha", "--actor", "admin")
        assert f"{matter.number}" in out and f"{WEEKENDS_ONLY_DUE} → {OFFICIAL_DUE}" in out and "仍为暂定" in out
        out = run("confirm", "--county", "alpha", "--actor", "admin", str(YEAR), "--basis", "国办发明电〔2026〕7号")
        assert "2027 年：节假日已确认完整" in out
        assert AuditEvent.objects.filter(action="calendar.confirm_year", object_id=str(YEAR)).exists()
        assert "已确认完整" in run("show", "--county", "alpha", str(YEAR))
        out = run("retime", "--county", "alpha", "--actor", "admin")
        assert f"{matter.number}" in out and f"{OFFICIAL_DUE} → {OFFICIAL_DUE}" in out and "（已确定）" in out

        matter.refresh_from_db()
        assert matter.deadline == OFFICIAL_DUE and matter.deadline_provisional is False
        change = DeadlineChange.objects.filter(matter=matter, kind=DeadlineChange.Kind.RETIME).latest("id")
        assert (change.old_deadline, change.new_deadline) == (WEEKENDS_ONLY_DUE, OFFICIAL_DUE)
        assert change.changed_by.username == "admin"
        event = AuditEvent.objects.filter(action="matter.retime", object_id=str(matter.pk),
                                          before__deadline=WEEKENDS_ONLY_DUE.isoformat()).get()
        assert event.before["deadline"] == WEEKENDS_ONLY_DUE.isoformat()
        assert event.after["deadline"] == OFFICIAL_DUE.isoformat()

        # Nothing is provisional any more: a second run changes nothing.
        assert "没有暂定期限发生变化" in run("retime", "--county", "alpha", "--actor", "admin")


def test_a_csv_with_a_bad_row_imports_nothing(world, tmp_path):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("date,workday,note\n2027-10-01,放假,国庆节\n2027-02-30,0,\n2027-10-02,maybe,\n"
                        "2027-10-01,1,重复\n2027-10-03\n", encoding="utf-8")
    with tenant_context(world.alpha):
        with pytest.raises(CommandError) as excinfo:
            run("import", "--county", "alpha", "--actor", "admin", str(csv_file))
        message = str(excinfo.value)
        assert "4行有误，没有导入任何内容。" in message
        assert "第3行：“2027-02-30”不是日期（应为YYYY-MM-DD）" in message
        assert "第4行：是否工作日应为1、0、上班或放假，不能是“maybe”" in message
        assert "第5行：2027-10-01已在第2行出现" in message
        assert "第6行：应为2或3列" in message
        assert not WorkdayOverride.objects.exists()


def test_a_gb18030_csv_without_header_is_read(world, tmp_path):
    csv_file = tmp_path / "gbk.csv"
    csv_file.write_bytes("2027-01-01,放假,元旦\n2027-02-20,1,春节调休\n".encode("gb18030"))
    with tenant_context(world.alpha):
        run("import", "--county", "alpha", "--actor", "admin", str(csv_file))
        assert dict(WorkdayOverride.objects.values_list("day", "note")) == {
            date(2027, 1, 1): "元旦", date(2027, 2, 20): "春节调休"}


def test_only_the_county_admin_sets_the_calendar(world, tmp_path):
    csv_file = tmp_path / "2027.csv"
    csv_file.write_text(HOLIDAYS_CSV, encoding="utf-8")
    with tenant_context(world.alpha):
        for username in ("staff", "clerk"):
            with pytest.raises(CommandError, match="只有县级管理员可以维护工作日历"):
                run("set", "--county", "alpha", "--actor", username, "2027-10-01", "--holiday")
            with pytest.raises(CommandError, match="只有县级管理员"):
                run("import", "--county", "alpha", "--actor", username, str(csv_file))
        with pytest.raises(NotAllowed):
            actions.do_set_workdays([(date(2027, 10, 1), False, "")],
                                    actor=get_user_model().objects.get(username="staff"))
        assert not WorkdayOverride.objects.exists()

        out = run("set", "--county", "alpha", "--actor", "admin", "2027-10-01", "--holiday", "--note", "国庆节")
        assert "2027-10-01 已设为放假" in out
        assert "原本就是放假" in run("set", "--county", "alpha", "--actor", "admin", "2027-10-01", "--holiday")
        assert WorkdayOverride.objects.get(day=date(2027, 10, 1)).workday is False
        with pytest.raises(CommandError, match="只有县级管理员或督查督办人员可以重新计算办结时限"):
            run("retime", "--county", "alpha", "--actor", "clerk")


def test_show_an_official_year(world):
    with tenant_context(world.alpha):
        shown = run("show", "--county", "alpha", "2026")
    assert "国家公布的安排（chinesecalendar 已收录 2026 年）" in shown
    assert "2026-10-01  周四  放假" in shown and "国庆节" in shown
    assert "2026-10-10  周六  调休上班" in shown


def test_errors_name_the_problem(world):
    with tenant_context(world.alpha):
        with pytest.raises(CommandError, match="没有代码为“nowhere”的县"):
            run("show", "--county", "nowhere", "2027")
        with pytest.raises(CommandError, match="甲县没有用户名为“ghost”的在职用户"):
            run("set", "--county", "alpha", "--actor", "ghost", "2027-10-01", "--workday")
        with pytest.raises(CommandError, match="“2027-13-01”不是日期"):
            run("set", "--county", "alpha", "--actor", "admin", "2027-13-01", "--workday")
        with pytest.raises(CommandError, match="无法读取"):
            run("import", "--county", "alpha", "--actor", "admin", "/nonexistent/holidays.csv")
