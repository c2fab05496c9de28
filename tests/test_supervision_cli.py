"""`duban supervision …`: scores, statements, reversals, lights, rescoring, circulars and the
inspection, as the office uses them from the command line."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context
from matter_helpers import led_by, make_cast, to_state
from packs_fixture import on_path, pip_install

from duban.core.clock import as_of
from duban.matters import actions
from duban.supervision.actions import do_record_manual_step
from duban.supervision.models import Circular, EscalationStep, InspectionItem, LedgerEntry

# Steps are recorded on 20 November 2026 and circulars cover October–November: the tests run as of
# 26 November 2026.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-12-05"},
}


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


@pytest.fixture
def supervised(cast):
    """D01 is phoned and sent a written notice on an overdue matter: 3.0 − 0.1 − 0.2 = 2.7."""
    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    for tier in ("phone", "written_notice"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 20))
    return matter


def run(capsys, *args) -> str:
    call_command("supervision", *args)
    return capsys.readouterr().out


def row(out: str, code: str) -> list[str]:
    """The cells of the table row that starts with unit ``code``."""
    for line in out.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and cells[0] == code:
            return cells
    raise AssertionError(f"no row for {code} in:\n{out}")


def test_scores_table(cast, supervised, capsys):
    out = run(capsys, "scores", "--county", "alpha", "--year", "2026")
    assert "county_default==1.0.0" in out and "phone_urging" in out and "criticism_circular" in out
    d01 = row(out, "D01")
    assert d01[1] == "一号局" and d01[-2:] == ["0.3", "2.70"]
    assert "0.1" in d01 and "0.2" in d01
    assert row(out, "T01")[-2:] == ["0", "3.00"]


def test_statement_explains_every_entry(cast, supervised, capsys):
    out = run(capsys, "statement", "--county", "alpha", "D01", "--year", "2026")
    assert "D01 一号局 — 2026 年：基础分 3.0，台账记录 2 条" in out
    assert "county_default==1.0.0:phone_urging" in out and "county_default==1.0.0:written_notice" in out
    assert supervised.number in out and "2026-11-20" in out
    lines = [line for line in out.splitlines() if supervised.number in line]
    assert "phone" in lines[0] and "+0.10" in lines[0] and "0.10" in lines[0] and "2.90" in lines[0]
    assert "written_notice" in lines[1] and "+0.20" in lines[1] and "0.30" in lines[1] and "2.70" in lines[1]
    assert "2026 年得分：2.70" in out
    with pytest.raises(CommandError, match="本县没有编码为“X01”的单位"):
        call_command("supervision", "statement", "--county", "alpha", "X01", "--year", "2026")


def test_reverse_by_the_office_leader_only(cast, supervised, capsys):
    entry = LedgerEntry.objects.get(matter=supervised, rule_code="phone_urging")
    with pytest.raises(CommandError, match="无权操作：只有督查室主任可以冲正扣分记录"):
        call_command("supervision", "reverse", "--county", "alpha", str(entry.pk), "--actor", "staff",
                     "--reason", "误记")
    with pytest.raises(CommandError, match="冲正须说明理由"):
        call_command("supervision", "reverse", "--county", "alpha", str(entry.pk), "--actor", "m_office",
                     "--reason", " ")
    with pytest.raises(CommandError, match="--actor：本县没有用户名为“nobody”的在职用户"):
        call_command("supervision", "reverse", "--county", "alpha", str(entry.pk), "--actor", "nobody",
                     "--reason", "误记")
    out = run(capsys, "reverse", "--county", "alpha", str(entry.pk), "--actor", "m_office", "--reason", "电话误拨")
    reversal = LedgerEntry.objects.get(reverses=entry)
    assert f"已用记录 #{reversal.pk} 冲正记录 #{entry.pk}：D01（2026 年）-0.10 分；理由：电话误拨" in out
    assert row(run(capsys, "scores", "--county", "alpha", "--year", "2026"), "D01")[-1] == "2.80"
    statement = run(capsys, "statement", "--county", "alpha", "D01", "--year", "2026")
    assert f"（冲正记录 #{entry.pk}）" in statement and "-0.10" in statement
    with pytest.raises(CommandError, match="这条记录已经冲正"):
        call_command("supervision", "reverse", "--county", "alpha", str(entry.pk), "--actor", "m_office",
                     "--reason", "again")


def test_lights(cast, supervised, capsys):
    with as_of(date(2026, 11, 24)):
        green = to_state(cast, "in_progress", deadline_working_days=20)
    out = run(capsys, "lights", "--county", "alpha", "--on", "2026-11-25")
    assert "2026-11-25 亮灯情况：红灯 1 件，黄灯 0 件，绿灯 1 件" in out
    assert supervised.number in out and green.number not in out
    assert row(out, supervised.number)[2] == "D01"
    with pytest.raises(CommandError, match="--on：“25.11.2026”不是有效的日期"):
        call_command("supervision", "lights", "--county", "alpha", "--on", "25.11.2026")


@pytest.fixture(scope="module")
def strict_dir(tmp_path_factory):
    return pip_install(tmp_path_factory.mktemp("packs") / "strict", "duban-pack-strict")


def test_rescore_side_by_side(cast, supervised, capsys, strict_dir):
    before = LedgerEntry.objects.count()
    with on_path(strict_dir):
        out = run(capsys, "rescore", "--county", "alpha", "--year", "2026", "--pack", "county_strict")
        assert row(out, "D01")[2:] == ["2.70", "2.65", "-0.05"]  # a phone call costs 0.15 there
        assert row(out, "T01")[2:] == ["3.00", "3.00", "+0.00"]
        assert "本县规则包 county_default==1.0.0 与 county_strict==2.1.0 对比" in out
        assert "按 county_strict==2.1.0 计算，3 个单位中有 1 个得分会不同" in out
        with pytest.raises(CommandError, match="--pack 参数有误：规则包“county_strict”已安装的版本是 2.1.0，不是 9.9"):
            call_command("supervision", "rescore", "--county", "alpha", "--year", "2026", "--pack",
                         "county_strict==9.9")
    with pytest.raises(CommandError, match="--pack 参数有误：没有安装规则包“nope”"):
        call_command("supervision", "rescore", "--county", "alpha", "--year", "2026", "--pack", "nope")
    assert LedgerEntry.objects.count() == before


def test_circular_draft_lists_publish_show(cast, supervised, capsys):
    with as_of(date(2026, 11, 2)):  # T01 closes a matter on time: what praising it rests on
        closed = led_by(cast, "T01", cast.co_clerk)
        actions.do_report_result(closed.pk, actor=cast.co_clerk, text="已完成。")
        actions.do_accept_result(closed.pk, actor=cast.office)
    out = run(capsys, "circular", "draft", "--county", "alpha", "--actor", "staff", "--title", "第四季度通报",
              "--from", "2026-10-01", "--to", "2026-11-25")
    circular = Circular.objects.get()
    assert f"已起草通报 #{circular.pk} 第四季度通报（2026-10-01 至 2026-11-25）" in out
    assert row(out, "3")[1:3] == ["D01", "一号局"] and "phone×1, written_notice×1" in out
    with pytest.raises(CommandError, match="同一单位不能既受表扬又被通报批评：一号局"):
        call_command("supervision", "circular", "lists", "--county", "alpha", str(circular.pk), "--actor", "staff",
                     "--praise", "D01", "--criticise", "D01")
    out = run(capsys, "circular", "lists", "--county", "alpha", str(circular.pk), "--actor", "staff",
              "--praise", "T01", "--criticise", "D01", "--body", "予以通报批评。")
    assert "表扬 T01；批评 D01" in out
    with pytest.raises(CommandError, match="无权操作：通报须经督查室主任审核"):
        call_command("supervision", "circular", "publish", "--county", "alpha", str(circular.pk), "--actor", "staff")
    with as_of(date(2026, 11, 26)):
        out = run(capsys, "circular", "publish", "--county", "alpha", str(circular.pk), "--actor", "m_office")
    assert re.search(r"通报 #\d+ 已于 2026-11-26 发布，文号 甲政督通〔2026〕\d+号", out)
    assert "D01 一号局 −0.50（county_default==1.0.0:criticism_circular，2026 年）" in out
    assert row(run(capsys, "scores", "--county", "alpha", "--year", "2026"), "D01")[-1] == "2.20"
    with pytest.raises(CommandError, match="该通报已发布（.*），不能再修改"):
        call_command("supervision", "circular", "publish", "--county", "alpha", str(circular.pk), "--actor",
                     "m_office")
    out = run(capsys, "circular", "show", "--county", "alpha", str(circular.pk))
    assert "已发布" in out and "表扬：T01" in out and "批评：D01" in out and "予以通报批评。" in out
    listing = run(capsys, "circular", "show", "--county", "alpha")
    assert "第四季度通报" in listing and "甲政督通〔2026〕" in listing
    with pytest.raises(CommandError, match="--from：“2026/10/01”不是有效的日期"):
        call_command("supervision", "circular", "draft", "--county", "alpha", "--actor", "staff", "--title", "x",
                     "--from", "2026/10/01", "--to", "2026-11-25")
    with pytest.raises(CommandError, match="本县没有这份通报"):
        call_command("supervision", "circular", "show", "--county", "alpha", "999999")


def test_inspection_open_show_record(cast, supervised, capsys):
    out = run(capsys, "inspection", "open", "--county", "alpha", "--on", "2026-12-10")
    assert "2026-12-10 未开启检查：2026 年第 4 季度检查期（2026-12-18 至 2026-12-31）尚未开始" in out
    out = run(capsys, "inspection", "open", "--county", "alpha", "--on", "2026-12-20")
    assert "已开启 2026 年第 4 季度督查检查（2026-12-18 至 2026-12-31），共 1 项" in out
    assert "已在进行中" in run(capsys, "inspection", "open", "--county", "alpha", "--on", "2026-12-21")
    item = InspectionItem.objects.get()
    out = run(capsys, "inspection", "show", "--county", "alpha")
    assert "2026 年第 4 季度督查检查，2026-12-18 至 2026-12-31" in out and supervised.number in out
    assert row(out, str(item.pk))[1] == "D01"
    out = run(capsys, "inspection", "record", "--county", "alpha", str(item.pk), "--actor", "staff",
              "--result", "behind", "--findings", "进度滞后")
    step = EscalationStep.objects.get(matter=supervised, status="due")
    assert f"已列入督办：onsite（督办措施 #{step.pk}，待经办人办理）" in out
    with pytest.raises(CommandError, match="该事项已记录为"):
        call_command("supervision", "inspection", "record", "--county", "alpha", str(item.pk), "--actor", "staff",
                     "--result", "done")
    with pytest.raises(CommandError, match="该季度没有督查检查"):
        call_command("supervision", "inspection", "show", "--county", "alpha", "--year", "2025")


def test_unknown_county(cast):
    with pytest.raises(CommandError, match="没有代码为“gamma”的县"):
        call_command("supervision", "lights", "--county", "gamma")
