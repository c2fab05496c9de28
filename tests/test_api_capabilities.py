"""Issue 24 point 2: what a clerk does in the browser or an operator on the command line, an
integrator does through /api/v1/ — with the same action, the same permissions and the same
audit row:

- a circular's document (通报), as PDF or Word, like any document's download;
- drafting the week's 督查专报 (``duban report weekly draft``, the web's 起草本周专报);
- the quarterly inspection as the county leaders read it (its results reported to them);
- Excel imports of units and matters: a dry run that previews every row with its problems, then
  the import itself, all rows or none (``duban unit import``, ``duban import_matters``, /import/);
- withdrawing a step recorded in error (the web's 撤销) and the annual assessment table
  (``duban report annual``, /scores/annual.pdf).
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import openpyxl
import pytest
from conftest import api_key
from django.db.models import Q
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, to_state

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.clock import as_of
from duban.documents.models import Document
from duban.matters.models import Matter
from duban.units.models import Unit

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]

CJK = re.compile(r"[\u4e00-\u9fff]")
UNIT_HEADER = ["单位编码", "单位名称", "类型", "联系人", "联系电话"]
MATTER_HEADER = ["事项名称", "事项内容", "督办类别", "建议责任单位", "要求完成时间", "来源", "时效性强"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Api:
    def __init__(self, world, user):
        with tenant_context(world.alpha):
            token = api_key(user)
        self.client = Client()
        self.headers = {"HTTP_HOST": world.owner.host, "HTTP_AUTHORIZATION": f"Token {token}"}

    def get(self, path, **query):
        return self.client.get(f"/api/v1/{path}", query, **self.headers)

    def post(self, path, data=None, **extra):
        return self.client.post(f"/api/v1/{path}", data or {}, content_type="application/json", **self.headers, **extra)

    def upload(self, path, data):
        return self.client.post(f"/api/v1/{path}", data, **self.headers)  # multipart/form-data


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


@pytest.fixture
def admin(world):
    from duban.accounts.models import User

    with tenant_context(world.alpha):
        return User.objects.get(username="admin")


def audited(world, action: str, **filters) -> list[AuditEvent]:
    with tenant_context(world.alpha):
        return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- a circular's document --------------------------------------------------------------------------
def _published_circular(cast):
    from duban.supervision.actions import do_draft_circular, do_publish_circular, do_set_circular_lists

    circular_record(cast, on=date(2026, 3, 2))
    circular = do_draft_circular(actor=cast.staff, title="第一季度通报", period_start=date(2026, 1, 1),
                                 period_end=date(2026, 3, 31))
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=[])
    return circular, do_publish_circular(circular.pk, actor=cast.office)


def test_a_circulars_document_downloads_as_pdf_and_word(world, cast):
    with tenant_context(world.alpha):
        circular, published = _published_circular(cast)
    clerk = Api(world, cast.lead_clerk)  # a published circular is every county user's to read
    pdf = clerk.get(f"circulars/{circular.pk}/document/", format="pdf")
    assert pdf.status_code == 200, pdf.content[:300]
    assert pdf["Content-Type"] == "application/pdf" and body_of(pdf).startswith(b"%PDF")
    word = clerk.get(f"circulars/{circular.pk}/document/", format="docx")
    assert word.status_code == 200 and word["Content-Type"] == DOCX and body_of(word).startswith(b"PK")
    assert clerk.get(f"circulars/{circular.pk}/document/").status_code == 200  # pdf by default
    # One document, the same the web's /circulars/<id>/document/ leads to.
    with tenant_context(world.alpha):
        documents = list(Document.objects.filter(kind="circular", circular=circular))
    assert len(documents) == 1 and documents[0].number == published.notice.number
    web = Client()
    web.force_login(cast.lead_clerk)
    redirect = web.get(f"/circulars/{circular.pk}/document/", HTTP_HOST=world.owner.host)
    assert redirect.status_code == 302 and redirect["Location"].startswith(f"/documents/{documents[0].pk}/download/")
    bad = clerk.get(f"circulars/{circular.pk}/document/", format="xlsx")
    assert bad.status_code == 400 and "format" in bad.json()["error"]["fields"]


def test_a_draft_circular_has_no_document_yet(world, cast):
    from duban.supervision.actions import do_draft_circular

    with tenant_context(world.alpha):
        circular_record(cast, on=date(2026, 3, 2))
        draft = do_draft_circular(actor=cast.staff, title="第一季度通报", period_start=date(2026, 1, 1),
                                  period_end=date(2026, 3, 31))
    response = Api(world, cast.staff).get(f"circulars/{draft.pk}/document/")
    assert response.status_code == 409, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid_state" and CJK.search(error["message"])
    # Unit staff do not see drafts at all: 404, as for a circular that does not exist.
    assert Api(world, cast.lead_clerk).get(f"circulars/{draft.pk}/document/").status_code == 404


# --- drafting the weekly report -----------------------------------------------------------------------
def test_staff_draft_the_weeks_report_through_the_api(world, cast):
    with tenant_context(world.alpha), as_of(date(2026, 9, 1)):
        to_state(cast, "in_progress", deadline_working_days=10)
    staff = Api(world, cast.staff)
    first = staff.post("weekly-reports/draft/")
    assert first.status_code == 201, first.content[:500]
    report = first.json()
    assert report["status"] == "draft" and report["week_of"] == "2026-12-21" and report["sections"]["totals"]
    again = staff.post("weekly-reports/draft/")
    assert again.status_code == 200 and again.json()["id"] == report["id"]  # the week's report, drafted once
    events = audited(world, "weekly_report.draft")
    assert [(e.actor.username, e.object_id) for e in events] == [("staff", str(report["id"]))]
    # Only supervision staff draft it (the web's rule): the office leader and a clerk are refused.
    for user in (cast.office, cast.lead_clerk):
        refused = Api(world, user).post("weekly-reports/draft/")
        assert refused.status_code == 403 and CJK.search(refused.json()["error"]["message"])
    assert len(audited(world, "weekly_report.draft")) == 1


def test_the_cli_drafts_it_now_for_a_staff_member_as_the_web_and_the_api_do(world, cast, capsys):
    """`duban report weekly draft --actor USER` is the web's 起草 button: now, on any day (not only
    after the pack's weekly time, as beat and the plain command do), audited under the person;
    only supervision staff; not with --on."""
    from django.core.management import CommandError, call_command

    with tenant_context(world.alpha), as_of(date(2026, 9, 1)):
        to_state(cast, "in_progress", deadline_working_days=10)
    with pytest.raises(CommandError, match="只有督查督办人员"):
        call_command("report", "weekly", "draft", "--county", "alpha", "--actor", cast.office.username)
    with pytest.raises(CommandError, match="--on"):
        call_command("report", "weekly", "draft", "--county", "alpha", "--actor", "staff", "--on", "2026-12-21")
    capsys.readouterr()
    call_command("report", "weekly", "draft", "--county", "alpha", "--actor", "staff")
    assert "已起草" in capsys.readouterr().out
    events = audited(world, "weekly_report.draft")
    assert [e.actor.username for e in events] == ["staff"]


# --- the quarterly inspection, as the county leaders read it ------------------------------------------
def test_county_leaders_read_the_reported_inspection(world, cast):
    from duban.supervision.actions import do_record_inspection
    from duban.supervision.inspection import open_inspection_if_due, report_inspection_if_due, round_summary

    with tenant_context(world.alpha):
        with as_of(date(2026, 9, 1)):
            to_state(cast, "in_progress", deadline_working_days=10)
            to_state(cast, "in_progress", deadline_working_days=10)
        with as_of(date(2026, 12, 20)):
            round_ = open_inspection_if_due()
        item = round_.items.order_by("id").first()
        do_record_inspection(item.pk, actor=cast.staff, result="behind", findings="现场进度滞后约两周",
                             on=date(2026, 12, 20))
    leader = Api(world, cast.leader)
    # Before it is reported the round is the office's working list: the leaders do not see it.
    assert leader.get("inspection-rounds/")["Content-Type"] and leader.get("inspection-rounds/").json()["results"] == []
    assert leader.get(f"inspection-rounds/{round_.pk}/report/").status_code == 404
    staff_view = Api(world, cast.staff).get(f"inspection-rounds/{round_.pk}/report/")
    assert staff_view.status_code == 200 and staff_view.json()["reported_at"] is None
    with tenant_context(world.alpha):
        report_inspection_if_due(on=date(2027, 1, 4))
        round_.refresh_from_db()
        summary = round_summary(round_)
    rounds = leader.get("inspection-rounds/").json()["results"]
    assert [r["id"] for r in rounds] == [round_.pk]
    assert rounds[0]["summary"] == summary and rounds[0]["reported_at"]
    view = leader.get(f"inspection-rounds/{round_.pk}/report/")
    assert view.status_code == 200, view.content[:500]
    data = view.json()
    assert data["summary"] == summary == {"items": 2, "units": 1, "pending": 1, "on_track": 0, "behind": 1, "done": 0}
    assert len(data["items"]) == 2
    behind = next(i for i in data["items"] if i["result"] == "behind")
    assert behind["findings"] == "现场进度滞后约两周" and behind["unit_name"] == "一号局"
    assert behind["matter_number"] and behind["matter_title"] and behind["result_label"] == "进度滞后"
    # A unit clerk of another unit has no item in it: 404, as for a round that does not exist.
    assert Api(world, cast.other_clerk).get(f"inspection-rounds/{round_.pk}/report/").status_code == 404


# --- withdrawing a step, the annual table ---------------------------------------------------------------
def test_the_office_leader_withdraws_a_step_recorded_in_error(world, cast):
    from duban.supervision.actions import do_record_manual_step
    from duban.supervision.models import LedgerEntry

    phone = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}
    notice = {"requirements": "三日内专题答复", "reply_due": "2099-12-05"}
    with tenant_context(world.alpha):
        with as_of(date(2026, 9, 1)):
            matter = to_state(cast, "in_progress", deadline_working_days=10)
        do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=phone, on=date(2026, 11, 20))
        step = do_record_manual_step(matter.pk, actor=cast.staff, tier="written_notice", evidence=notice,
                                     on=date(2026, 11, 21))
        assert LedgerEntry.objects.filter(step=step).exists()
    assert Api(world, cast.staff).post(f"steps/{step.pk}/withdraw/", {"reason": "误记"}).status_code == 403
    missing = Api(world, cast.office).post(f"steps/{step.pk}/withdraw/", {})
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    done = Api(world, cast.office).post(f"steps/{step.pk}/withdraw/", {"reason": "系误记：对协办单位的通知"})
    assert done.status_code == 200, done.content[:300]
    assert done.json()["status"] == "withdrawn"
    with tenant_context(world.alpha):
        entries = LedgerEntry.objects.filter(Q(step=step) | Q(reverses__step=step)).distinct()
        assert entries.filter(reverses__isnull=False).exists()
        assert sum(e.amount for e in entries) == 0
    assert audited(world, "ledger.reverse", actor__username="m_office")


def test_the_annual_table_downloads_as_pdf_and_excel(world, cast):
    office = Api(world, cast.office)
    pdf = office.get("scores/annual/", year=2026, format="pdf")
    assert pdf.status_code == 200, pdf.content[:300]
    assert pdf["Content-Type"] == "application/pdf" and body_of(pdf).startswith(b"%PDF")
    excel = office.get("scores/annual/", year=2026, format="xlsx")
    assert excel.status_code == 200 and excel["Content-Type"] == XLSX
    with tenant_context(world.alpha):
        assert Document.objects.filter(kind="annual_assessment", year=2026).count() == 1  # the same figures: one
    assert Api(world, cast.lead_clerk).get("scores/annual/", year=2026).status_code == 403
    assert office.get("scores/annual/", year=1999).json()["error"]["fields"].keys() == {"year"}


# --- Excel imports: dry run, preview, then all rows or none --------------------------------------------
def workbook(rows) -> io.BytesIO:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return upload(out.getvalue())


def upload(content: bytes) -> io.BytesIO:
    """The same bytes sent again (a workbook saved twice differs: openpyxl stamps the time)."""
    out = io.BytesIO(content)
    out.name = "导入.xlsx"
    return out


def test_the_county_admin_imports_units_after_a_dry_run(world, admin):
    api = Api(world, admin)
    bad = [UNIT_HEADER, ["T31", "三十一镇", "乡镇", "", ""], ["T32", "", "乡镇", "", ""], ["T01", "重复镇", "星球", "", ""]]
    preview = api.upload("imports/preview/", {"kind": "units", "file": workbook(bad)})
    assert preview.status_code == 200, preview.content[:500]
    data = preview.json()
    assert data["ok"] is False and data["kind"] == "units" and data["count"] == 0
    assert [row["number"] for row in data["rows"]] == [2, 3, 4]
    assert data["rows"][0]["problems"] == [] and data["rows"][0]["values"]["单位编码"] == "T31"
    assert any(p["column"] == "单位名称" for p in data["rows"][1]["problems"])
    assert all(CJK.search(p["message"]) for row in data["rows"] for p in row["problems"])
    # The import of the same file: refused whole, naming the file, nothing created.
    refused = api.upload("imports/", {"kind": "units", "file": workbook(bad)})
    assert refused.status_code == 400, refused.content[:500]
    error = refused.json()["error"]
    assert list(error["fields"]) == ["file"] and any("第3行" in line for line in error["fields"]["file"])
    with tenant_context(world.alpha):
        assert not Unit.objects.filter(code="T31").exists()

    good = workbook([UNIT_HEADER, ["T31", "三十一镇", "乡镇", "刘洋", "0551-1234567"], ["D31", "县三十一局", "部门", "", ""]]
                    ).getvalue()
    checked = api.upload("imports/preview/", {"kind": "units", "file": upload(good)}).json()
    assert checked["ok"] is True and checked["count"] == 2 and not any(r["problems"] for r in checked["rows"])
    with tenant_context(world.alpha):
        assert not Unit.objects.filter(code="T31").exists()  # a dry run writes nothing
    done = api.upload("imports/", {"kind": "units", "file": upload(good), "expected_sha256": checked["sha256"]})
    assert done.status_code == 201, done.content[:500]
    assert done.json()["created"] == 2 and sorted(done.json()["units"]) == ["D31", "T31"]
    with tenant_context(world.alpha):
        assert Unit.objects.get(code="T31").contact_person == "刘洋"
    assert audited(world, "unit.import", actor__username="admin")


def test_staff_import_matters_on_a_leaders_behalf(world, cast):
    api = Api(world, cast.staff)
    later = (clock.today() + timedelta(days=60)).isoformat()
    rows = [MATTER_HEADER, ["建设智慧停车系统", "年底前建成", "work_report", "D01", later, "政府工作报告", "否"],
            ["改造供水管网", "完成老城区改造", "work_report", "T01", "", "", "是"]]
    missing = api.upload("imports/preview/", {"kind": "matters", "file": workbook(rows)})
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["proposed_by"]
    preview = api.upload("imports/preview/", {"kind": "matters", "file": workbook(rows), "proposed_by": "m_leader"})
    assert preview.status_code == 200 and preview.json()["ok"] and preview.json()["count"] == 2, preview.content[:500]
    with tenant_context(world.alpha):
        assert not Matter.objects.filter(title="建设智慧停车系统").exists()
    other = workbook(rows[:2])
    stale = api.upload("imports/", {"kind": "matters", "file": other, "proposed_by": "m_leader",
                                    "expected_sha256": preview.json()["sha256"]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"  # not the file checked
    done = api.upload("imports/", {"kind": "matters", "file": workbook(rows), "proposed_by": "m_leader"})
    assert done.status_code == 201, done.content[:500]
    imported = done.json()["matters"]
    assert len(imported) == 2 and all(m["number"] for m in imported)
    with tenant_context(world.alpha):
        matters = Matter.objects.filter(pk__in=[m["id"] for m in imported])
        assert {m.state for m in matters} == {"registered"} and {m.proposed_by.username for m in matters} == {"m_leader"}
    assert audited(world, "matter.import", actor__username="staff")


def test_who_may_import_what_is_the_importers_rule(world, cast, admin):
    rows = [UNIT_HEADER, ["T41", "四十一镇", "乡镇", "", ""]]
    # A unit clerk may not import at all; staff import matters, not units; the admin units, not matters.
    assert Api(world, cast.lead_clerk).upload("imports/preview/", {"kind": "units", "file": workbook(rows)}
                                              ).status_code == 403
    assert Api(world, cast.staff).upload("imports/", {"kind": "units", "file": workbook(rows)}).status_code == 403
    matters = [MATTER_HEADER, ["x", "y", "work_report", "D01", "", "", ""]]
    assert Api(world, admin).upload("imports/", {"kind": "matters", "file": workbook(matters),
                                                 "proposed_by": "m_leader"}).status_code == 403
    # A leader who is not one: named.
    refused = Api(world, cast.staff).upload("imports/preview/", {"kind": "matters", "file": workbook(matters),
                                                                 "proposed_by": "clerk"})
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["proposed_by"]
    # Not a workbook: named as the file's problem.
    junk = io.BytesIO(b"not a workbook")
    junk.name = "x.xlsx"
    not_xlsx = Api(world, admin).upload("imports/", {"kind": "units", "file": junk})
    assert not_xlsx.status_code == 400 and list(not_xlsx.json()["error"]["fields"]) == ["file"]
    with tenant_context(world.alpha):
        assert not Unit.objects.filter(code="T41").exists()
