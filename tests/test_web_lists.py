"""The lists of the web UI (issue 20 points 8–10) through the Django test client on real
PostgreSQL: search by unit name, the exports of every list, bulk actions (assign a batch from the
plan, urge several overdue matters by phone, mark notifications read) with each row's outcome,
the Excel import page (upload → row-by-row preview → 全部导入, the CLI's importer), and files
reported with a feedback or a result."""
# ruff: noqa: F811 — the fixtures of test_web_matters (cast, web, media) are imported by name

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from conftest import REPO
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context
from matter_helpers import proposed, to_state
from test_web_matters import Web, cast, media, messages_of, ok, text, web  # noqa: F401 (fixtures)

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.clock import as_of
from duban.matters import actions
from duban.matters.models import Attachment, Feedback, Matter
from duban.notifications.models import Notification
from duban.supervision import steps
from duban.supervision.models import EscalationStep, LedgerEntry
from duban.units.models import Unit
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
WORK_REPORT = "政府工作报告、年度季度工作要点、重大项目"
MATTER_HEADER = ["事项名称", "事项内容", "督办类别", "建议责任单位", "要求完成时间", "来源", "时效性强"]


def workbook(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, text(response)[:2000]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    return list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def overdue(cast, title: str | None = None):
    with as_of(clock.today() - timedelta(days=70)):  # overdue today, whatever today is
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    if title:
        Matter.objects.filter(pk=matter.pk).update(title=title)
    return matter


# --- search and exports ------------------------------------------------------------------------------
def test_search_finds_matters_by_the_name_of_their_units(web, cast):
    assigned = to_state(cast, "in_progress")  # lead 一号局 (D01), co 一号镇 (T01)
    Unit.objects.create(code="D55", name="县自然资源局", kind="department")
    proposal = proposed(cast, title="耕地保护专项检查", proposed_units=["D55"])
    staff = web("staff")
    by_lead = ok(staff.get("/matters/", {"q": "一号局"}))
    assert f'id="matter-{assigned.pk}"' in by_lead and f'id="matter-{proposal.pk}"' not in by_lead
    by_co = ok(staff.get("/matters/", {"q": "一号镇"}))
    assert f'id="matter-{assigned.pk}"' in by_co
    by_proposed = ok(staff.get("/matters/", {"q": "自然资源"}))
    assert f'id="matter-{proposal.pk}"' in by_proposed and f'id="matter-{assigned.pk}"' not in by_proposed
    # the list's export follows the search
    numbers = {row[0] for row in sheet_rows(staff.get("/matters/", {"q": "自然资源", "export": "xlsx"}))[1:]}
    assert numbers == {proposal.number}


def test_the_register_book_exports_its_own_workbook_of_what_the_user_sees(web, cast):
    registered = to_state(cast, "registered")
    hostile = to_state(cast, "assigned")
    Matter.objects.filter(pk=hostile.pk).update(title='=HYPERLINK("http://evil.example","点此")')
    fresh = proposed(cast, title="还没登记")
    rows = sheet_rows(web("staff").get("/register/", {"export": "xlsx"}))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "登记编号")
    numbers = {row[0] for row in rows[header + 1:]}
    assert {registered.number, hostile.number} <= numbers and fresh.number not in numbers
    title = next(row[1] for row in rows[header + 1:] if row[0] == hostile.number)
    assert title.startswith("=HYPERLINK")  # kept as the text typed
    book = openpyxl.load_workbook(io.BytesIO(web("staff").get("/register/", {"export": "xlsx"}).content))
    cell = next(c for row in book.active.iter_rows() for c in row if c.value == title)
    assert cell.data_type == "s"  # text, never a formula
    # a county leader's register book has only their own matters
    cast_leader_numbers = {row[0] for row in sheet_rows(web("leader").get("/register/", {"export": "xlsx"}))[header + 1:]}
    assert registered.number in cast_leader_numbers
    other = do_create_user("x_leader", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD)
    other_rows = sheet_rows(Web(web("staff").host, other).get("/register/", {"export": "xlsx"}))
    assert not [row for row in other_rows[header + 1:] if row[0]]


def test_the_plan_and_the_lights_board_export_to_excel(web, cast):
    approved = to_state(cast, "approved")
    late = overdue(cast)
    staff = web("staff")
    plan = {row[0] for row in sheet_rows(staff.get("/plan/", {"export": "xlsx"}))[1:]}
    assert {approved.number, late.number} <= plan
    board = {row[0] for row in sheet_rows(staff.get("/board/", {"export": "xlsx"}))[1:]}
    assert late.number in board and approved.number not in board  # the board shows matters under way


def test_lists_carry_a_print_button_and_the_print_stylesheet(web, cast):
    to_state(cast, "in_progress")
    staff = web("staff")
    for path in ("/matters/", "/register/", "/plan/", "/board/"):
        page = ok(staff.get(path))
        assert 'data-print id="print-button"' in page and "web/lists.js" in page, path
        assert 'id="export-xlsx"' in page, path
    css = (REPO / "platform/duban/web/static/web/app.css").read_text(encoding="utf-8")
    assert re.search(r"@media print \{[^}]*\.no-print[^}]*\.bk-bar", css)


# --- bulk: urge several overdue matters by phone -----------------------------------------------------
def test_bulk_phone_urging_records_each_row_through_the_step_actions_and_reports_refusals(web, cast):
    swept = overdue(cast, title="排查已生成电话督办的事项")
    unswept = overdue(cast, title="尚未排查的逾期事项")
    on_time = to_state(cast, "in_progress", deadline=clock.today() + timedelta(days=30))
    steps.sweep(actor="sweep")
    step = EscalationStep.objects.get(matter=swept, tier="phone", status="due", unit__code="D01")
    # the sweep opened a step for unswept too; withdraw it by hand to have a matter without one
    EscalationStep.objects.filter(matter=unswept).delete()
    staff = web("staff")
    ids = [swept.pk, unswept.pk, on_time.pk]
    form = ok(staff.get("/matters/bulk/urge/", {"matter": ids}))
    assert f'id="row-m{swept.pk}s{step.pk}"' in form and f'id="row-m{unswept.pk}"' in form
    assert f'id="refusal-m{on_time.pk}"' in form and "未逾期" in form
    now = clock.now().strftime("%Y-%m-%dT%H:%M")
    promised = (clock.today() + timedelta(days=10)).isoformat()
    data = {"matter": ids}
    for key in (f"m{swept.pk}s{step.pk}", f"m{unswept.pk}"):
        data.update({f"{key}-ev_contact": "刘局长", f"{key}-ev_contacted_at": now, f"{key}-ev_promised_date": promised,
                     f"{key}-ev_note": "已说明原因", f"{key}-on": clock.today().isoformat()})
    page = ok(staff.post("/matters/bulk/urge/", data))
    assert "成功 2 项，未办理 1 项" in page
    assert re.search(rf'id="outcome-m{swept.pk}s{step.pk}" class="bk-done"', page)
    assert re.search(rf'id="outcome-m{unswept.pk}" class="bk-done"', page)
    assert re.search(rf'id="outcome-m{on_time.pk}" class="bk-refused"', page)
    step.refresh_from_db()
    assert step.status == "recorded" and step.evidence["contact"] == "刘局长"
    manual = EscalationStep.objects.get(matter=unswept, tier="phone", status="recorded")
    assert manual.source == "manual" and manual.unit.code == "D01"
    # each urging is audited on its own matter and deducted under the pack's schedule
    for matter in (swept, unswept):
        assert AuditEvent.objects.filter(action="matter.step_recorded", object_id=str(matter.pk)).exists()
    assert LedgerEntry.objects.filter(ref__in=[f"step:{step.pk}", f"step:{manual.pk}"]).count() == 2
    assert not EscalationStep.objects.filter(matter=on_time).exists()


def test_bulk_urging_with_a_missing_field_keeps_the_row_and_records_the_others(web, cast):
    first, second = overdue(cast), overdue(cast)
    EscalationStep.objects.filter(matter__in=[first, second]).delete()
    now = clock.now().strftime("%Y-%m-%dT%H:%M")
    good = {f"m{first.pk}-ev_contact": "刘局长", f"m{first.pk}-ev_contacted_at": now,
            f"m{first.pk}-ev_promised_date": (clock.today() + timedelta(days=5)).isoformat(),
            f"m{first.pk}-on": clock.today().isoformat()}
    bad = {f"m{second.pk}-ev_contacted_at": now, f"m{second.pk}-on": clock.today().isoformat()}
    page = ok(web("staff").post("/matters/bulk/urge/", {"matter": [first.pk, second.pk], **good, **bad}))
    assert "成功 1 项，未办理 1 项" in page
    assert f'id="row-m{second.pk}"' in page and f'id="row-m{first.pk}"' not in page  # only the one left to do
    assert "请填写“接听人”" in page
    assert EscalationStep.objects.filter(matter=first, status="recorded").count() == 1
    assert not EscalationStep.objects.filter(matter=second).exists()


def test_only_supervision_staff_urge_or_assign_in_bulk(web, cast):
    matter = overdue(cast)
    for who in ("office", "leader", "lead_clerk"):
        assert web(who).get("/matters/bulk/urge/", {"matter": matter.pk}).status_code == 403
        assert web(who).post("/matters/bulk/assign/", {"matter": matter.pk}).status_code == 403
    # another unit's matter ids are simply not there (scoped like the list)
    assert 'id="bulk-empty"' in ok(web("staff").get("/matters/bulk/urge/", {"matter": "999999"}))


def test_the_matter_list_offers_checkboxes_and_an_overdue_filter_to_staff(web, cast):
    late, fine = overdue(cast), to_state(cast, "in_progress", deadline=clock.today() + timedelta(days=30))
    page = ok(web("staff").get("/matters/", {"overdue": "on"}))
    assert f'id="pick-{late.pk}"' in page and f'id="matter-{fine.pk}"' not in page
    assert 'id="bulk-urge"' in page and 'id="bulk-assign"' in page
    assert 'id="pick-' not in ok(web("lead_clerk").get("/matters/"))


# --- bulk: assign a batch from the plan -------------------------------------------------------------
def test_bulk_assign_from_the_plan_assigns_each_approved_matter_with_its_own_units(web, cast):
    one = to_state(cast, "approved")
    Matter.proposed_units.through.objects.filter(matter=one).delete()
    one.proposed_units.add(Unit.objects.get(code="T01"), Unit.objects.get(code="D01"))
    two = to_state(cast, "approved")
    running = to_state(cast, "in_progress")
    staff = web("staff")
    plan = ok(staff.get("/plan/"))
    assert f'id="pick-{one.pk}"' in plan and f'id="pick-{running.pk}"' not in plan
    form = ok(staff.get("/matters/bulk/assign/", {"matter": [one.pk, two.pk, running.pk]}))
    assert re.search(rf'name="m{one.pk}-lead_unit".*?<option value="T01" selected>', form, re.S)
    assert f'id="refusal-m{running.pk}"' in form
    one.refresh_from_db()
    two.refresh_from_db()
    data = {"matter": [one.pk, two.pk, running.pk],
            f"m{one.pk}-expected_version": one.version, f"m{one.pk}-lead_unit": "T01", f"m{one.pk}-co_units": ["D01"],
            f"m{two.pk}-expected_version": two.version, f"m{two.pk}-lead_unit": "D01",
            "all-requirements": "按年度计划推进，每月反馈。", "all-feedback_every_working_days": "5"}
    page = ok(staff.post("/matters/bulk/assign/", data))
    assert "成功 2 项，未办理 1 项" in page
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.state == two.state == "assigned"
    assert one.lead_unit.code == "T01" and [u.unit.code for u in one.units.filter(role="co")] == ["D01"]
    assert one.deadline_working_days == 60  # the category's default (政府工作报告: 60 working days)
    assert one.notices.filter(kind="assignment_notice").exists() and two.notices.filter(kind="assignment_notice").exists()
    assert AuditEvent.objects.filter(action="matter.assign", object_id__in=[str(one.pk), str(two.pk)]).count() == 2


def test_bulk_assign_with_a_stale_row_reports_it_and_assigns_the_rest(web, cast):
    one, two = to_state(cast, "approved"), to_state(cast, "approved")
    data = {"matter": [one.pk, two.pk], f"m{one.pk}-expected_version": one.version - 1 or 99,
            f"m{one.pk}-lead_unit": "D01", f"m{two.pk}-expected_version": two.version, f"m{two.pk}-lead_unit": "D01",
            "all-requirements": "按期办结", "all-deadline_working_days": "15"}
    page = ok(web("staff").post("/matters/bulk/assign/", data))
    assert "该事项已被他人更新" in page and "成功 1 项，未办理 1 项" in page
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.state == "approved" and two.state == "assigned"


# --- bulk: mark notifications read ----------------------------------------------------------------
def test_ticked_notifications_are_marked_read_together(web, cast):
    clerk = cast.lead_clerk
    notes = [Notification.objects.create(recipient=clerk, event="matter.assigned", title=f"通知{i}") for i in range(3)]
    client = web("lead_clerk")
    page = ok(client.get("/notifications/"))
    assert 'id="bulk-read"' in page and f'id="pick-note-{notes[0].pk}"' in page
    response = client.post("/notifications/read/", {"id": [notes[0].pk, notes[1].pk]}, follow=True)
    assert "已将2条通知标为已读。" in messages_of(response)
    assert [n.pk for n in Notification.objects.filter(recipient=clerk, read_at__isnull=True, pk__in=[x.pk for x in notes])] \
        == [notes[2].pk]


# --- the Excel import page -------------------------------------------------------------------------
@pytest.fixture
def leader(cast):
    return cast.leader


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_import_matters_preview_shows_every_row_with_its_problems_and_imports_nothing(web, cast, media):
    future = (clock.today() + timedelta(days=60)).isoformat()
    data = workbook([MATTER_HEADER,
                     ["改造老旧小区", "完成城关片区改造", WORK_REPORT, "D01", future, "政府工作报告", "否"],
                     ["新建养老中心", "年底前建成", "不存在的类别", "没有这个单位", "明年", "", "也许"]])
    before = Matter.objects.count()
    staff = web("staff")
    page = ok(staff.post("/import/", {"kind": "matters", "proposed_by": cast.leader.pk,
                                      "file": upload("事项.xlsx", data)}), 400)
    assert 'id="import-row-2" class="im-row-ok"' in page and 'id="import-row-3" class="im-row-bad"' in page
    assert "未知类别" in page and "未知单位" in page and "不是有效日期" in page and "应填“是”或“否”" in page
    assert "共 2 行，其中 1 行有问题" in page and 'id="import-all"' not in page
    assert Matter.objects.count() == before


def test_import_matters_preview_then_import_all_uses_the_staged_file_once(web, cast, media):
    future = (clock.today() + timedelta(days=60)).isoformat()
    data = workbook([MATTER_HEADER,
                     ["改造老旧小区", "完成城关片区改造", "work_report", "一号局", future, "政府工作报告", "是"],
                     ["整治背街小巷", "完成20条背街小巷整治", "work_report", "D01、T01", "", "", ""]])
    before = Matter.objects.count()
    staff = web("staff")
    page = ok(staff.post("/import/", {"kind": "matters", "proposed_by": cast.leader.pk, "file": upload("m.xlsx", data)}))
    assert "检查无误：2 行都可以导入。" in page and Matter.objects.count() == before  # the dry run kept nothing
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    staged = list((media / "counties").rglob("*.xlsx"))
    assert len(staged) == 1 and "import-staging" in str(staged[0])
    # another person (even of the same role) cannot import someone else's staged file
    other_staff = do_create_user("staff2", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
    other = Web(staff.host, other_staff).post("/import/confirm/", {"token": token}, follow=True)
    assert "上传的文件已失效" in "".join(messages_of(other)) and Matter.objects.count() == before
    response = staff.post("/import/confirm/", {"token": token})
    assert response.status_code == 302 and response["Location"] == "/register/"
    imported = Matter.objects.filter(title__in=["改造老旧小区", "整治背街小巷"])
    assert imported.count() == 2 and {m.state for m in imported} == {"registered"}
    assert {m.proposed_by_id for m in imported} == {cast.leader.pk}
    assert AuditEvent.objects.filter(action="matter.import", after__count=2).exists()
    assert not list((media / "counties").rglob("*.xlsx"))  # the staged file is gone
    again = staff.post("/import/confirm/", {"token": token}, follow=True)  # a second click imports nothing more
    assert "上传的文件已失效" in "".join(messages_of(again)) and Matter.objects.count() == before + 2


def test_import_units_by_the_county_admin_all_or_nothing(web, cast, world, media):
    admin = User.objects.get(username="admin")
    client = Web(web("staff").host, admin)
    assert 'id="import-link"' in ok(client.get("/register/"))  # the way in
    page = ok(client.get("/import/"))
    assert 'value="units"' in page and 'value="matters"' not in page  # the importers' own rules
    bad = workbook([["单位编码", "单位名称", "类型"], ["T50", "五十镇", "乡镇"], ["D01", "重复的局", "部门"]])
    page = ok(client.post("/import/", {"kind": "units", "file": upload("u.xlsx", bad)}), 400)
    assert "单位编码“D01”已存在" in page and not Unit.objects.filter(code="T50").exists()
    good = workbook([["单位编码", "单位名称", "类型"], ["T50", "五十镇", "乡镇"], ["D50", "五十局", "部门"]])
    page = ok(client.post("/import/", {"kind": "units", "file": upload("u.xlsx", good)}))
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    response = client.post("/import/confirm/", {"token": token}, follow=True)
    assert "已导入 2 个承办单位。" in messages_of(response)
    assert set(Unit.objects.filter(code__in=["T50", "D50"]).values_list("name", flat=True)) == {"五十镇", "五十局"}


def test_import_refuses_who_may_not_and_files_that_are_not_xlsx(web, cast, media):
    assert web("office").get("/import/").status_code == 403
    assert web("lead_clerk").get("/import/").status_code == 403
    assert web("leader").get("/import/").status_code == 403
    staff = web("staff")
    page = ok(staff.post("/import/", {"kind": "units", "file": upload("u.xlsx", workbook([["单位编码"]]))}), 400)
    assert 'id="id_kind-error"' in page  # staff import matters, not units
    page = ok(staff.post("/import/", {"kind": "matters", "proposed_by": cast.leader.pk,
                                      "file": upload("m.csv", "事项名称,事项内容\n".encode())}), 400)
    assert "不是 .xlsx 文件" in page and 'id="import-all"' not in page
    page = ok(staff.post("/import/", {"kind": "matters", "file": upload("m.xlsx", workbook([MATTER_HEADER]))}), 400)
    assert "请选择代哪位领导提出" in page


def test_the_cli_dry_run_prints_the_same_row_by_row_preview(world, cast, tmp_path):
    path = tmp_path / "units.xlsx"
    path.write_bytes(workbook([["单位编码", "单位名称", "类型"], ["T60", "六十镇", "乡镇"], ["D61", "六十一局", "星球"]]))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("unit", "import", "--county", "alpha", str(path), "--dry-run", "--no-progress", stdout=out)
    printed = out.getvalue()
    assert "六十镇" in printed and "可以导入" in printed and "【类型】未知类型“星球”" in printed
    path.write_bytes(workbook([["单位编码", "单位名称", "类型"], ["T60", "六十镇", "乡镇"]]))
    out = io.StringIO()
    call_command("unit", "import", "--county", "alpha", str(path), "--dry-run", "--no-progress", stdout=out)
    assert "六十镇" in out.getvalue() and "全部无误（试运行" in out.getvalue()
    with tenant_context(world.alpha):
        assert not Unit.objects.filter(code="T60").exists()


# --- files reported with a feedback or a result (point 10) ---------------------------------------------
def pdf(name="说明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def test_feedback_and_result_carry_their_files_and_the_result_files_wait_for_review(web, cast, media):
    matter = to_state(cast, "in_progress")
    clerk = web("lead_clerk")
    files = [pdf("现场照片说明.pdf"), SimpleUploadedFile("进度表.txt", "进度".encode())]
    response = clerk.act(matter, "feedback", {"kind": "written", "text": "第一阶段完成。", "files": files})
    assert response.status_code == 302, text(response)[:2000]
    feedback = Feedback.objects.filter(matter=matter, text="第一阶段完成。").get()
    assert {a.original_name for a in feedback.attachments.all()} == {"进度表.txt", "现场照片说明.pdf"}
    assert all(a.matter_id == matter.pk and a.report_id is None for a in feedback.attachments.all())
    response = clerk.act(matter, "report", {"text": "全部完成。", "files": [pdf("验收报告.pdf")]})
    assert response.status_code == 302, text(response)[:2000]
    report = matter.reports.get()
    attachment = report.attachments.get()
    assert attachment.original_name == "验收报告.pdf" and attachment.feedback_id is None
    # shown with its record on the matter page, and on the timeline as sent with it
    page = ok(web("staff").get(f"/matters/{matter.pk}/"))
    assert f'id="record-file-{attachment.pk}"' in page and "随办理结果报送" in page and "随进展反馈报送" in page
    # the visibility rule holds: the leader sees the result's file only once it is reviewed
    leader_page = ok(web("leader").get(f"/matters/{matter.pk}/"))
    assert "验收报告.pdf" not in leader_page and "现场照片说明.pdf" in leader_page
    assert web("leader").get(f"/matters/{matter.pk}/attachments/{attachment.pk}/").status_code == 404
    actions.do_accept_result(matter.pk, actor=cast.office, reasons="同意")
    assert "验收报告.pdf" in ok(web("leader").get(f"/matters/{matter.pk}/"))


def test_a_refused_file_records_neither_the_feedback_nor_any_file(web, cast, media):
    matter = to_state(cast, "in_progress")
    before = (Feedback.objects.count(), Attachment.objects.count())
    response = web("lead_clerk").act(matter, "feedback", {
        "kind": "written", "text": "带了一个坏文件", "files": [pdf(), SimpleUploadedFile("tool.exe", b"MZ\x90\x00")]})
    assert response.status_code == 400
    assert "不能作为附件上传" in text(response)
    assert (Feedback.objects.count(), Attachment.objects.count()) == before
