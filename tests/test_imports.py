"""Batch imports from Excel: units and matters, all or nothing, with a row-by-row report."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.errors import Invalid
from duban.core.errors import NotAllowed as MatterNotAllowed
from duban.core.errors import NotAllowed as UnitNotAllowed
from duban.core.imports import ImportErrorReport, ImportResult, RowError
from duban.matters.imports import import_matters
from duban.matters.models import Matter
from duban.units.imports import import_units
from duban.units.models import Unit
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

UNIT_HEADER = ["单位编码", "单位名称", "类型", "联系人", "联系电话"]
MATTER_HEADER = ["事项名称", "事项内容", "督办类别", "建议责任单位", "要求完成时间", "来源", "时效性强"]
WORK_REPORT_LABEL = "政府工作报告、年度季度工作要点、重大项目"


def xlsx(path, rows, *, title_row: str | None = None, merge: str | None = None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "导入"
    if title_row:
        ws.append([title_row])
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    wb.save(path)
    return path


def future(days: int = 60):
    return clock.today() + timedelta(days=days)


@pytest.fixture
def alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def people(alpha):
    staff = User.objects.get(username="staff")
    leader = do_create_user("leader1", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD, full_name="王县长")
    admin = User.objects.get(username="admin")
    return {"staff": staff, "leader": leader, "admin": admin}


# --- the report ------------------------------------------------------------------------------
def test_report_formats_rows_and_columns():
    result = ImportResult(errors=[RowError(3, "督办类别", "未知类别“xyz”"), RowError(None, "", "文件坏了"),
                                  RowError(2, "", "整行有问题")])
    assert not result.ok and ImportResult(created=2).ok
    assert result.lines() == ["文件：文件坏了", "第2行：整行有问题", "第3行【督办类别】：未知类别“xyz”"]
    assert result.format() == "\n".join(result.lines())
    report = ImportErrorReport(result.errors, source="a.xlsx")
    assert "a.xlsx有3处问题，没有导入任何内容。" in str(report)
    assert report.errors[0] == (None, "", "文件坏了")


# --- units -------------------------------------------------------------------------------------
def test_good_unit_file_imports_every_unit(alpha, people, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [
        UNIT_HEADER,
        ["T02", "二号镇", "乡镇", "赵六", 13800000000],
        ["D02", "二号局", "部门", "", ""],
        [],  # blank lines are skipped
        ["T03", "三号镇", "township", "钱七", "0571-1234567"],
    ])
    before = Unit.objects.count()
    result = import_units(path, actor=people["admin"])
    assert result.ok and result.created == 3 and not result.dry_run
    assert Unit.objects.count() == before + 3
    t02 = Unit.objects.get(code="T02")
    assert (t02.name, t02.kind, t02.contact_person, t02.contact_phone) == ("二号镇", "township", "赵六", "13800000000")
    assert Unit.objects.get(code="D02").kind == "department"
    assert Unit.objects.get(code="T03").kind == "township"
    summary = AuditEvent.objects.get(action="unit.import")
    assert summary.actor == people["admin"]
    assert summary.after["count"] == 3 and summary.after["codes"] == ["T02", "D02", "T03"]
    assert AuditEvent.objects.filter(action="unit.create", object_id=str(t02.pk)).exists()


def test_english_headers_and_a_title_row_above_them(alpha, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [
        ["Code", "NAME", "kind", "contact_person", "contact_phone"],
        ["D07", "七号局", "Department", "", ""],
    ], title_row="甲县承办单位名单")
    assert import_units(path, actor="cli").created == 1
    assert Unit.objects.get(code="D07").kind == "department"


def test_one_bad_unit_row_imports_nothing_and_names_row_and_column(alpha, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [
        UNIT_HEADER,
        ["T02", "二号镇", "乡镇", "", ""],
        ["T04", "四号镇", "街道办", "", ""],
        ["T05", "", "乡镇", "", ""],
        ["X" * 40, "五号局", "部门", "", ""],
    ])
    before = Unit.objects.count()
    with pytest.raises(ImportErrorReport) as excinfo:
        import_units(path, actor="cli")
    assert Unit.objects.count() == before
    assert not Unit.objects.filter(code="T02").exists()
    errors = excinfo.value.errors
    assert [(e.row, e.column) for e in errors] == [(3, "类型"), (4, "单位名称"), (5, "单位编码")]
    assert "未知类型“街道办”" in errors[0].message
    assert "不能为空" in errors[1].message
    assert "最多 32 字" in errors[2].message
    assert excinfo.value.format().splitlines()[0].startswith("第3行【类型】：未知类型“街道办”")
    assert not AuditEvent.objects.filter(action="unit.import").exists()


def test_duplicate_unit_codes_and_names_in_the_file_or_the_county(alpha, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [
        UNIT_HEADER,
        ["T08", "八号镇", "乡镇", "", ""],
        ["T08", "另一个八号镇", "乡镇", "", ""],
        ["T01", "新一号镇", "乡镇", "", ""],  # the code is taken in the county
        ["D09", "一号局", "部门", "", ""],  # the name is taken in the county
        ["D10", "八号镇", "部门", "", ""],  # the name repeats row 2
    ])
    with pytest.raises(ImportErrorReport) as excinfo:
        import_units(path, actor="cli")
    lines = excinfo.value.format().splitlines()
    assert lines == [
        "第3行【单位编码】：单位编码“T08”与第2行重复",
        "第4行【单位编码】：单位编码“T01”已存在（一号镇）",
        "第5行【单位名称】：单位名称“一号局”已存在（编码 D01）",
        "第6行【单位名称】：单位名称“八号镇”与第2行重复",
    ]
    assert not Unit.objects.filter(code__in=["T08", "D09", "D10"]).exists()


def test_unit_header_problems_name_the_column(alpha, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [["单位编码", "类型", "备注"], ["T02", "乡镇", "x"]])
    with pytest.raises(ImportErrorReport) as excinfo:
        import_units(path, actor="cli")
    assert [(e.row, e.column) for e in excinfo.value.errors] == [(1, "备注"), (1, "单位名称")]
    assert "未知的列" in excinfo.value.errors[0].message
    assert excinfo.value.errors[1].message == "缺少必需的列"


def test_only_the_county_admin_imports_units(alpha, people, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [UNIT_HEADER, ["T02", "二号镇", "乡镇", "", ""]])
    with pytest.raises(UnitNotAllowed):
        import_units(path, actor=people["staff"])
    assert not Unit.objects.filter(code="T02").exists()


def test_dry_run_checks_and_keeps_nothing(alpha, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [UNIT_HEADER, ["T02", "二号镇", "乡镇", "", ""]])
    result = import_units(path, actor="cli", dry_run=True)
    assert result.ok and result.dry_run and result.created == 1
    assert not Unit.objects.filter(code="T02").exists()
    assert not AuditEvent.objects.filter(action="unit.import").exists()


# --- files that are not what they claim -----------------------------------------------------
@pytest.mark.parametrize(("name", "content", "message"), [
    ("units.csv", "单位编码,单位名称,类型\nT02,二号镇,乡镇\n".encode(), "不是 .xlsx 文件（看起来是 CSV/文本文件）"),
    ("units.xlsx", b"this is not a workbook", "不是 .xlsx 文件"),
    ("units.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 .xls 格式或受密码保护"),
    ("units.xlsx", b"PK\x03\x04broken zip", "无法读取该 .xlsx 文件"),
    ("units.xlsx", b"", "文件是空的"),
])
def test_a_file_that_is_not_xlsx_gives_a_clear_error(alpha, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportErrorReport) as excinfo:
        import_units(path, actor="cli")
    assert excinfo.value.errors[0].row is None
    assert message in excinfo.value.format()
    assert "没有导入任何内容" in str(excinfo.value)


def test_missing_file_empty_sheet_and_header_only(alpha, tmp_path):
    with pytest.raises(ImportErrorReport, match="找不到文件"):
        import_units(tmp_path / "nope.xlsx", actor="cli")
    with pytest.raises(ImportErrorReport, match="是空的"):
        import_units(xlsx(tmp_path / "empty.xlsx", []), actor="cli")
    with pytest.raises(ImportErrorReport, match="只有表头"):
        import_units(xlsx(tmp_path / "header.xlsx", [UNIT_HEADER]), actor="cli")


def test_an_uploaded_file_object_is_read_too(alpha, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [UNIT_HEADER, ["T02", "二号镇", "乡镇", "", ""]])
    upload = io.BytesIO(path.read_bytes())
    upload.name = "上传.xlsx"
    result = import_units(upload, actor="cli")
    assert result.created == 1 and result.source == "上传.xlsx"


# --- matters -------------------------------------------------------------------------------------
def test_good_matter_file_imports_registered_matters_awaiting_the_leader(alpha, people, tmp_path):
    due = future()
    path = xlsx(tmp_path / "gwr.xlsx", [
        ["序号", *MATTER_HEADER],
        [1, "新建城南污水处理厂", "年内完成主体工程", WORK_REPORT_LABEL, "T01、D01", datetime(due.year, due.month, due.day),
         "县政府工作报告", "是"],
        [2, "老旧小区改造", "改造老旧小区12个", "work_report", "D01", due.isoformat(), "", "否"],
        [3, "落实县委常委会决定", "按会议纪要落实", "major_decision", "", "", "县委常委会纪要〔2026〕3号", ""],
    ], title_row="2026年县政府工作报告重点任务分解表")
    before = Matter.objects.count()
    result = import_matters(path, actor=people["staff"], proposed_by=people["leader"])
    assert result.ok and result.created == 3
    assert Matter.objects.count() == before + 3
    first, second, third = result.objects
    for matter in result.objects:
        matter.refresh_from_db()
        assert matter.state == "registered"
        assert matter.proposed_by == people["leader"] and matter.registered_by == people["staff"]
    assert first.category == "work_report" and second.category == "work_report" and third.category == "major_decision"
    assert sorted(first.proposed_units.values_list("code", flat=True)) == ["D01", "T01"]
    assert list(second.proposed_units.values_list("code", flat=True)) == ["D01"]
    assert not third.proposed_units.exists()
    assert first.requested_deadline == due and second.requested_deadline == due and third.requested_deadline is None
    assert first.time_sensitive and not second.time_sensitive and not third.time_sensitive
    assert third.source_reference == "县委常委会纪要〔2026〕3号"
    summary = AuditEvent.objects.get(action="matter.import")
    assert summary.after["count"] == 3 and summary.after["proposed_by"] == "leader1"
    assert summary.after["numbers"] == [m.number for m in result.objects]
    assert AuditEvent.objects.filter(action="matter.register", object_id=str(first.pk)).exists()


def test_matter_units_merged_across_rows_belong_to_each_row(alpha, people, tmp_path):
    path = xlsx(tmp_path / "gwr.xlsx", [
        MATTER_HEADER,
        ["任务一", "内容一", "work_report", "T01;D01", "", "", ""],
        ["任务二", "内容二", "work_report", None, "", "", ""],
    ], merge="D2:D3")
    result = import_matters(path, actor=people["staff"], proposed_by=people["leader"])
    assert [sorted(m.proposed_units.values_list("code", flat=True)) for m in result.objects] == [["D01", "T01"]] * 2


def test_bad_matter_rows_import_nothing_and_each_is_reported(alpha, people, tmp_path):
    due = future().isoformat()
    path = xlsx(tmp_path / "gwr.xlsx", [
        MATTER_HEADER,
        ["好的事项", "内容", "work_report", "T01", due, "", ""],
        ["类别不对", "内容", "xyz", "T01", due, "", ""],
        ["单位不对", "内容", "work_report", "T01，Z99", due, "", ""],
        ["日期不对", "内容", "work_report", "D01", "2026-13-45", "", ""],
        ["", "没有名称", "work_report", "D01", due, "", ""],
        ["日期已过", "内容", "work_report", "D01", "2020-01-01", "", "也许"],
    ])
    before = Matter.objects.count()
    with pytest.raises(ImportErrorReport) as excinfo:
        import_matters(path, actor=people["staff"], proposed_by=people["leader"])
    assert Matter.objects.count() == before
    assert not AuditEvent.objects.filter(action__in=["matter.import", "matter.propose"]).exists()
    errors = excinfo.value.errors
    assert [(e.row, e.column) for e in errors] == [
        (3, "督办类别"), (4, "建议责任单位"), (5, "要求完成时间"), (6, "事项名称"), (7, "要求完成时间"), (7, "时效性强")]
    lines = excinfo.value.format().splitlines()
    assert lines[0].startswith("第3行【督办类别】：未知类别“xyz”")
    assert lines[1] == "第4行【建议责任单位】：未知单位“Z99”（填单位编码或单位名称）"
    assert "不是有效日期“2026-13-45”" in lines[2]
    assert lines[3] == "第6行【事项名称】：不能为空"
    assert "2020年1月1日已过" in lines[4]
    assert "应填“是”或“否”" in lines[5]


def test_matter_header_missing_a_required_column_names_it(alpha, people, tmp_path):
    path = xlsx(tmp_path / "gwr.xlsx", [["事项名称", "事项内容"], ["任务", "内容"]])
    with pytest.raises(ImportErrorReport) as excinfo:
        import_matters(path, actor=people["staff"], proposed_by=people["leader"])
    assert excinfo.value.format() == "第1行【督办类别】：缺少必需的列"


def test_duplicate_matter_rows_are_reported(alpha, people, tmp_path):
    path = xlsx(tmp_path / "gwr.xlsx", [
        MATTER_HEADER,
        ["任务", "内容", "work_report", "", "", "", ""],
        ["任务", "内容", "work_report", "", "", "", ""],
    ])
    with pytest.raises(ImportErrorReport, match=r"第3行【事项名称】：与第2行重复"):
        import_matters(path, actor=people["staff"], proposed_by=people["leader"])


def test_a_refusal_by_the_action_becomes_a_row_error_and_rolls_back_everything(alpha, people, tmp_path, monkeypatch):
    """The checks pass, then the action refuses row 3 (here: the date rolled over between the
    check and the write, so its deadline is now past). Row 2 was already written; it goes too."""
    import duban.matters.imports as imports

    today = clock.today()
    monkeypatch.setattr(imports, "today", lambda: today - timedelta(days=10))
    path = xlsx(tmp_path / "gwr.xlsx", [
        MATTER_HEADER,
        ["任务一", "内容", "work_report", "", future().isoformat(), "", ""],
        ["任务二", "内容", "work_report", "", (today - timedelta(days=1)).isoformat(), "", ""],
    ])
    before = Matter.objects.count()
    with pytest.raises(ImportErrorReport) as excinfo:
        import_matters(path, actor=people["staff"], proposed_by=people["leader"])
    assert excinfo.value.format() == "第3行【要求完成时间】：建议办结时限不能早于今天。"
    assert Matter.objects.count() == before
    assert not AuditEvent.objects.filter(action__startswith="matter.").exists()


def test_only_staff_import_matters_and_only_for_a_leader(alpha, people, tmp_path):
    path = xlsx(tmp_path / "gwr.xlsx", [MATTER_HEADER, ["任务", "内容", "work_report", "", "", "", ""]])
    with pytest.raises(MatterNotAllowed):
        import_matters(path, actor=people["leader"], proposed_by=people["leader"])
    with pytest.raises(Invalid) as excinfo:
        import_matters(path, actor=people["staff"], proposed_by=people["staff"])
    assert excinfo.value.field == "proposed_by"
    assert not Matter.objects.filter(title="任务").exists()


# --- the CLI ------------------------------------------------------------------------------------
def test_cli_unit_import_and_list(world, tmp_path, capsys):
    path = xlsx(tmp_path / "units.xlsx", [UNIT_HEADER, ["T02", "二号镇", "乡镇", "", ""], ["D02", "二号局", "部门", "", ""]])
    call_command("unit", "import", "--county", "alpha", str(path), "--actor", "admin")
    assert "已向甲县（alpha）导入 2 个单位" in capsys.readouterr().out
    call_command("unit", "list", "--county", "alpha")
    listing = capsys.readouterr().out
    assert "T02" in listing and "二号局" in listing and "共 4 个单位" in listing
    with tenant_context(world.beta):
        assert not Unit.objects.filter(code="T02").exists()  # the other county is untouched


def test_cli_unit_import_of_a_bad_file_fails_and_imports_nothing(world, tmp_path):
    path = xlsx(tmp_path / "units.xlsx", [UNIT_HEADER, ["T02", "二号镇", "乡镇", "", ""], ["T01", "x", "乡镇", "", ""]])
    with pytest.raises(CommandError, match=r"(?s)第3行【单位编码】.*units.xlsx有1处问题，没有导入任何内容"):
        call_command("unit", "import", "--county", "alpha", str(path), "--no-progress")
    with pytest.raises(CommandError, match="没有代码为“nowhere”的县"):
        call_command("unit", "import", "--county", "nowhere", str(path))
    not_xlsx = tmp_path / "units.csv"
    not_xlsx.write_text("单位编码,单位名称\n")
    with pytest.raises(CommandError, match=r"不是 \.xlsx 文件.*\n.*没有导入任何内容"):
        call_command("unit", "import", "--county", "alpha", str(not_xlsx))
    with tenant_context(world.alpha):
        assert not Unit.objects.filter(code="T02").exists()


def test_cli_import_matters(world, tmp_path, capsys):
    with tenant_context(world.alpha):
        do_create_user("leader1", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD, full_name="王县长")
    path = xlsx(tmp_path / "gwr.xlsx", [
        MATTER_HEADER,
        ["任务一", "内容一", WORK_REPORT_LABEL, "T01", future().isoformat(), "", ""],
        ["任务二", "内容二", "work_report", "D01", "", "", ""],
    ])
    call_command("import_matters", "--county", "alpha", str(path), "--actor", "staff", "--proposed-by", "leader1")
    out = capsys.readouterr().out
    assert "已向甲县（alpha）导入 2 件事项" in out and "等待王县长审批" in out
    with tenant_context(world.alpha):
        assert set(Matter.objects.filter(title__in=["任务一", "任务二"]).values_list("state", flat=True)) == {"registered"}

    bad = xlsx(tmp_path / "bad.xlsx", [MATTER_HEADER, ["任务三", "内容", "xyz", "", "", "", ""]])
    with pytest.raises(CommandError, match=r"(?s)第2行【督办类别】：未知类别“xyz”.*没有导入任何内容"):
        call_command("import_matters", "--county", "alpha", str(bad), "--actor", "staff", "--proposed-by", "leader1")
    with pytest.raises(CommandError, match=r"只有督查督办人员可以导入事项。没有导入任何内容。"):
        call_command("import_matters", "--county", "alpha", str(path), "--actor", "clerk", "--proposed-by", "leader1")
    with pytest.raises(CommandError, match=r"县领导或督查室主任"):
        call_command("import_matters", "--county", "alpha", str(path), "--actor", "staff", "--proposed-by", "staff")
    with pytest.raises(CommandError, match="本县没有用户名为“ghost”的用户"):
        call_command("import_matters", "--county", "alpha", str(path), "--actor", "ghost", "--proposed-by", "leader1")
    with tenant_context(world.alpha):
        assert not Matter.objects.filter(title="任务三").exists()
        assert Matter.objects.filter(title__in=["任务一", "任务二"]).count() == 2
