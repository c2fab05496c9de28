"""The matter pages of the web UI (``duban.web.views_matters``) through the Django test client on
real PostgreSQL: who sees which page and which matter, the whole workflow as form posts, the
errors under their fields, htmx fragments, and the Excel export."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django_tenants.utils import tenant_context
from matter_helpers import PASSWORD, make_cast, proposed, to_state

from duban.core import clock
from duban.core.clock import as_of
from duban.matters import actions
from duban.matters.models import ChangeRequest, Matter
from duban.supervision import steps
from duban.supervision.models import EscalationStep

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


class Web:
    """A browser-like client for one person on the county's host."""

    def __init__(self, host: str, user):
        self.client = Client()
        self.client.force_login(user)
        self.host = host

    def get(self, path, data=None, **extra):
        return self.client.get(path, data or {}, HTTP_HOST=self.host, **extra)

    def post(self, path, data=None, **extra):
        return self.client.post(path, data or {}, HTTP_HOST=self.host, **extra)

    def act(self, matter, action, data=None, **extra):
        """POST a workflow action with the version the page showed."""
        matter.refresh_from_db()
        return self.post(f"/matters/{matter.pk}/{action}/", {"expected_version": matter.version, **(data or {})},
                         **extra)


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


@pytest.fixture
def web(world, cast):
    def for_(name):
        return Web(world.owner.host, getattr(cast, name))
    return for_


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def text(response) -> str:
    return response.content.decode()


def ok(response, status=200) -> str:
    assert response.status_code == status, text(response)[:3000]
    return text(response)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def field_error(page: str, field_id: str) -> str | None:
    """The text of the error shown under the field whose element id is ``field_id``."""
    found = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>(.*?)</ul>', page, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else None


def state(matter) -> str:
    matter.refresh_from_db()
    return matter.state


# --- pages for each role -------------------------------------------------------------------------
def test_login_is_required(world, cast):
    client = Client()
    for path in ("/todo/", "/board/", "/register/", "/plan/", "/matters/", "/matters/new/"):
        response = client.get(path, HTTP_HOST=world.owner.host)
        assert response.status_code == 302 and "next=" in response["Location"], path


def test_password_login_on_the_county_host_opens_the_todo(world, cast):
    client = Client()  # django-axes wants the request the credentials came with
    assert client.login(request=RequestFactory().get("/", HTTP_HOST=world.owner.host), username="staff",
                        password=PASSWORD)
    assert "待办" in ok(client.get("/todo/", HTTP_HOST=world.owner.host))


def test_staff_todo_counts_and_sections(web, cast):
    fresh = proposed(cast, title="待登记的事项")
    approved = to_state(cast, "approved")
    assigned = to_state(cast, "assigned")
    reported = to_state(cast, "reported")
    page = ok(web("staff").get("/todo/"))
    assert "待办" in page and "我的待办" in page
    assert fresh.title in page and "待登记" in page
    assert f"/matters/{approved.pk}/" in page and "待交办" in page
    # receipts missing: both units of the assigned matter; reviews pending: the reported matter
    receipts = page.split('id="receipts"')[1].split("</section>")[0]
    assert "一号局" in receipts and "一号镇" in receipts and assigned.number in receipts
    reviews = page.split('id="reviews"')[1].split("</section>")[0]
    assert reported.number in reviews
    counts = dict(re.findall(r'id="count-([\w-]+)"><div class="kpi-value">(\d+)</div>', page))
    assert counts["todo"] == "3"  # register + assign + receipt missing
    assert counts["receipts"] == "2" and counts["reviews"] == "1" and counts["steps"] == "0"


@pytest.mark.today("2026-11-26")  # an autumn-2026 history: the matter is past its deadline on this day
def test_todo_lists_steps_due_from_the_sweep_with_the_record_link(web, cast):
    with as_of(date(2026, 9, 1)):
        late = to_state(cast, "in_progress", deadline_working_days=10)
    opened = steps.sweep(on=date(2026, 11, 20))
    step = next(o.step for o in opened if o.step.matter_id == late.pk)
    assert step.status == EscalationStep.Status.DUE
    page = ok(web("staff").get("/todo/"))
    assert f'href="/steps/{step.pk}/record/"' in page and "电话" in page
    assert f"/matters/{late.pk}/" in page.split('id="no-answer"')[1]  # past its deadline: no answer
    # the matter's detail lists the step too
    assert f'/steps/{step.pk}/record/' in ok(web("staff").get(f"/matters/{late.pk}/"))
    # unit staff see their own to-do without the office's sections or the record link
    clerk_page = ok(web("lead_clerk").get("/todo/"))
    assert "/record/" not in clerk_page and 'id="receipts"' not in clerk_page


def test_leader_and_office_leader_todo(web, cast):
    registered = to_state(cast, "registered")
    reported = to_state(cast, "reported")
    # the assigning leader reads a result only once the office leader has reviewed it
    leader_detail = ok(web("leader").get(f"/matters/{reported.pk}/"))
    assert "已完成改造。" not in leader_detail and "已完成改造。" in ok(web("office").get(f"/matters/{reported.pk}/"))
    leader_page = ok(web("leader").get("/todo/"))
    assert registered.title in leader_page and "待立项审批" in leader_page
    office_page = ok(web("office").get("/todo/"))
    assert f"/matters/{reported.pk}/" in office_page and "待审核结果" in office_page


def test_unit_clerk_todo_shows_sign_then_nothing_to_sign(web, cast):
    assigned = to_state(cast, "assigned")
    page = ok(web("lead_clerk").get("/todo/"))
    assert assigned.title in page and "待签收" in page
    assert assigned.title not in ok(web("other_clerk").get("/todo/"))


def test_lights_board_puts_matters_in_their_columns(web, cast):
    with as_of(clock.today() - timedelta(days=70)):  # overdue today, whatever today is
        red = to_state(cast, "in_progress", deadline_working_days=10)
    green = to_state(cast, "in_progress", deadline=clock.today() + timedelta(days=60))
    yellow = to_state(cast, "in_progress", deadline_working_days=2)
    page = ok(web("staff").get("/board/"))

    def column(colour):
        return page.split(f'id="light-{colour}"')[1].split("</section>")[0]

    assert f"board-matter-{red.pk}" in column("red")
    assert f"board-matter-{yellow.pk}" in column("yellow")
    assert f"board-matter-{green.pk}" in column("green")
    # a unit that holds none of them sees an empty board
    other = ok(web("other_clerk").get("/board/"))
    assert "board-matter-" not in other


def test_register_book_and_plan(web, cast):
    fresh = proposed(cast, title="还没登记的事项")
    registered = to_state(cast, "registered")
    assigned = to_state(cast, "assigned")
    book = ok(web("staff").get("/register/"))
    assert registered.number in book and assigned.number in book
    assert f"register-{fresh.pk}" not in book  # only registered matters are in the book
    plan = ok(web("staff").get("/plan/"))
    assert "政府工作报告" in plan or "工作要点" in plan  # the category's label from the pack
    assert "一号局" in plan and f"/matters/{assigned.pk}/" in plan
    assert f"/matters/{registered.pk}/" not in plan  # not approved yet


def test_matter_list_scoped_per_role_with_filters_and_search(web, cast):
    mine = to_state(cast, "in_progress")
    proposal = proposed(cast, title="只在办公室可见的提议", category="major_decision")
    staff = web("staff")
    page = ok(staff.get("/matters/"))
    assert f'id="matter-{mine.pk}"' in page and f'id="matter-{proposal.pk}"' in page
    filtered = ok(staff.get("/matters/", {"state": "proposed"}))
    assert f'id="matter-{proposal.pk}"' in filtered and f'id="matter-{mine.pk}"' not in filtered
    by_category = ok(staff.get("/matters/", {"category": "major_decision"}))
    assert f'id="matter-{proposal.pk}"' in by_category and f'id="matter-{mine.pk}"' not in by_category
    searched = ok(staff.get("/matters/", {"q": "办公室可见"}))
    assert f'id="matter-{proposal.pk}"' in searched and f'id="matter-{mine.pk}"' not in searched
    by_unit = ok(staff.get("/matters/", {"unit": "T01"}))
    assert f'id="matter-{mine.pk}"' in by_unit and f'id="matter-{proposal.pk}"' not in by_unit
    bad = ok(staff.get("/matters/", {"deadline_after": "not-a-date"}))  # shown, ignored
    assert 'id="id_deadline_after-error"' in bad and f'id="matter-{mine.pk}"' in bad
    # unit staff: their unit's assigned matters only
    clerk = ok(web("lead_clerk").get("/matters/"))
    assert f'id="matter-{mine.pk}"' in clerk and f'id="matter-{proposal.pk}"' not in clerk
    assert "matter-" not in ok(web("other_clerk").get("/matters/")).split('id="matter-filters"')[1].split("</form>")[1]
    # the leader: what they proposed
    assert f'id="matter-{proposal.pk}"' in ok(web("leader").get("/matters/"))


def test_matter_list_paginates(web, cast):
    for index in range(23):
        proposed(cast, title=f"分页事项{index:02d}")
    staff = web("staff")
    first = ok(staff.get("/matters/"))
    assert first.count('<tr id="matter-') == 20 and "下一页" in first
    second = ok(staff.get("/matters/", {"page": 2}))
    assert second.count('<tr id="matter-') == 3 and "上一页" in second


def test_excel_export_has_the_filtered_rows_with_chinese_headers(web, cast):
    from openpyxl import load_workbook

    running = to_state(cast, "in_progress")
    other_running = to_state(cast, "in_progress")
    proposal = proposed(cast, title="不在导出里的提议")
    response = web("staff").get("/matters/", {"state": "in_progress", "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("登记编号", "事项名称", "督办类别", "状态", "提出领导", "牵头单位")
    numbers = {row[0] for row in rows[1:]}
    assert numbers == {running.number, other_running.number}
    assert proposal.number not in numbers
    row = next(r for r in rows[1:] if r[0] == running.number)
    assert row[3] == "办理中" and row[5] == "一号局" and row[6] == "一号镇"
    assert row[9].date() == running.deadline  # a real date cell
    # the export is scoped like the list: the other unit's clerk exports nothing
    empty = load_workbook(io.BytesIO(web("other_clerk").get("/matters/", {"export": "xlsx"}).content)).active
    assert empty.max_row == 1


# --- scope: 404 for matters out of reach ----------------------------------------------------------
def test_unit_clerk_of_another_unit_gets_404(web, cast):
    matter = to_state(cast, "in_progress")
    assert ok(web("lead_clerk").get(f"/matters/{matter.pk}/"))
    assert ok(web("co_clerk").get(f"/matters/{matter.pk}/"))
    other = web("other_clerk")
    assert other.get(f"/matters/{matter.pk}/").status_code == 404
    assert other.act(matter, "feedback", {"kind": "written", "text": "x"}).status_code == 404
    assert other.get("/matters/999999/").status_code == 404
    # a proposal is not visible to unit staff at all
    assert web("lead_clerk").get(f"/matters/{proposed(cast).pk}/").status_code == 404


def test_a_leader_sees_only_their_matters(web, cast):
    from duban.accounts.actions import do_create_user
    from duban.accounts.models import Role

    someone = do_create_user("m_leader2", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD)
    theirs = actions.do_propose_matter(actor=someone, title="另一位领导的事项", content="内容", category="work_report")
    assert web("leader").get(f"/matters/{theirs.pk}/").status_code == 404
    assert web("office").get(f"/matters/{theirs.pk}/").status_code == 200


def test_action_urls_accept_post_only(web, cast):
    matter = proposed(cast)
    assert web("staff").get(f"/matters/{matter.pk}/register/").status_code == 405
    assert web("staff").act(matter, "no-such-action").status_code == 404


# --- the whole workflow through the forms ---------------------------------------------------------
def test_whole_workflow_through_the_action_urls(web, cast):
    leader, office, staff, clerk = web("leader"), web("office"), web("staff"), web("lead_clerk")

    # a leader proposes on the web
    response = leader.post("/matters/new/", {
        "title": "推进城关老旧小区改造", "content": "完成城关片区改造，年底交付。", "category": "work_report",
        "proposed_units": ["D01"], "requested_deadline": (clock.today() + timedelta(days=40)).isoformat()})
    assert response.status_code == 302
    matter = Matter.objects.get(title="推进城关老旧小区改造")
    assert response["Location"] == f"/matters/{matter.pk}/" and matter.state == "proposed"

    # staff see only the register form; the leader sees none yet
    page = ok(staff.get(f"/matters/{matter.pk}/"))
    assert 'id="form-register"' in page and "登记</button>" in page and 'id="form-approve"' not in page
    assert 'id="form-register"' not in ok(leader.get(f"/matters/{matter.pk}/"))

    response = staff.act(matter, "register", follow=True)
    assert response.status_code == 200 and "已登记造册" in " ".join(messages_of(response))
    assert state(matter) == "registered"

    page = ok(leader.get(f"/matters/{matter.pk}/"))
    assert 'id="form-approve"' in page and "批准立项</button>" in page and 'id="form-reject"' in page
    assert leader.act(matter, "approve", {"comment": "同意立项"}).status_code == 302
    assert state(matter) == "approved"

    page = ok(staff.get(f"/matters/{matter.pk}/"))
    assert 'id="form-assign"' in page and '<label for="assign-lead_unit">' in page
    assert staff.act(matter, "assign", {
        "lead_unit": "D01", "co_units": ["T01"], "requirements": "按期办结，书面报告",
        "deadline_working_days": "10", "feedback_every_working_days": "5"}).status_code == 302
    assert state(matter) == "assigned"
    assert set(matter.units.values_list("unit__code", "role")) == {("D01", "lead"), ("T01", "co")}

    page = ok(clerk.get(f"/matters/{matter.pk}/"))
    assert 'id="form-sign"' in page and "签收</button>" in page and 'id="form-report"' not in page
    assert clerk.act(matter, "sign").status_code == 302
    assert state(matter) == "in_progress"

    page = ok(clerk.get(f"/matters/{matter.pk}/"))
    assert 'id="form-sign"' not in page and 'id="form-feedback"' in page and 'id="form-report"' in page
    assert 'id="form-request-extension"' in page
    # the co-operating unit signs and may feed back, but not report
    co = web("co_clerk")
    assert co.act(matter, "sign").status_code == 302
    co_page = ok(co.get(f"/matters/{matter.pk}/"))
    assert 'id="form-feedback"' in co_page and 'id="form-report"' not in co_page

    assert clerk.act(matter, "feedback", {"kind": "written", "text": "已完成设计招标。"}).status_code == 302
    assert matter.feedback.get().text == "已完成设计招标。"
    assert clerk.act(matter, "report", {"text": "改造完成，已交付。"}).status_code == 302
    assert state(matter) == "reported"

    page = ok(office.get(f"/matters/{matter.pk}/"))
    assert "审核通过</button>" in page and "退回复办</button>" in page
    assert office.act(matter, "send-back", {"reasons": "缺少验收材料"}).status_code == 302
    assert state(matter) == "redo" and matter.redo_count == 1

    page = ok(clerk.get(f"/matters/{matter.pk}/"))
    assert 'id="form-report"' in page
    assert clerk.act(matter, "report", {"text": "已补充验收材料。"}).status_code == 302
    assert state(matter) == "reported"
    # the co-operating unit gave feedback but never reported its own part: closing asks first
    assert office.act(matter, "accept", {"reasons": "材料齐全"}).status_code == 400
    assert office.act(matter, "accept", {"reasons": "材料齐全", "confirm_missing_parts": "on"}).status_code == 302
    assert state(matter) == "closed"

    # the finished matter: no forms; a timeline in words
    page = ok(staff.get(f"/matters/{matter.pk}/"))
    assert 'id="actions"' not in page
    timeline = page.split('id="timeline"')[1]
    for words in ("提出督办事项", "登记造册", "批准立项", "交办", "签收", "反馈进展", "报送办理结果", "退回复办",
                  "缺少验收材料", "审核通过（办结）", "状态：待审核 → 复办中", "牵头单位：一号局", "王县长（县领导）"):
        assert words in timeline, words
    assert timeline.index("提出督办事项") < timeline.index("登记造册") < timeline.index("审核通过（办结）")
    # results with their reviews, in order
    reports = page.split('id="matter-reports"')[1].split("</section>")[0]
    assert reports.index("改造完成") < reports.index("已补充验收材料") and "退回复办" in reports


def test_htmx_action_success_redirects_the_page(web, cast):
    matter = proposed(cast)
    response = web("staff").act(matter, "register", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == f"/matters/{matter.pk}/"
    assert state(matter) == "registered"


def test_a_reject_needs_a_reason(web, cast):
    matter = to_state(cast, "registered")
    response = web("leader").act(matter, "reject", {"comment": ""})
    page = ok(response, 400)
    assert 'id="reject-comment-error"' in page and state(matter) == "registered"
    assert web("leader").act(matter, "reject", {"comment": "不属于督办范围"}).status_code == 302
    assert state(matter) == "rejected"


# --- bad input changes nothing --------------------------------------------------------------------
def test_bad_assign_without_lead_unit_rerenders_with_the_field_error(web, cast):
    matter = to_state(cast, "approved")
    version = matter.version
    response = web("staff").act(matter, "assign", {"lead_unit": "", "requirements": "按期办结",
                                                   "deadline_working_days": "10"})
    page = ok(response, 400)
    assert "<html" in page  # the whole page again (no htmx)
    assert "必填" in (field_error(page, "assign-lead_unit") or "")
    assert 'value="按期办结"' in page or "按期办结</textarea>" in page  # what was typed is kept
    matter.refresh_from_db()
    assert matter.state == "approved" and matter.version == version and not matter.units.exists()


def test_bad_assign_with_a_past_deadline_shows_the_action_error_under_the_field(web, cast):
    matter = to_state(cast, "approved")
    version = matter.version
    response = web("staff").act(matter, "assign", {
        "lead_unit": "D01", "requirements": "按期办结", "deadline": (clock.today() - timedelta(days=3)).isoformat()})
    page = ok(response, 400)
    assert field_error(page, "assign-deadline") == "办结时限应晚于交办日期。"
    matter.refresh_from_db()
    assert matter.state == "approved" and matter.version == version and not matter.units.exists()
    assert not matter.notices.exists() and not matter.revisions.exists()


def test_bad_assign_over_htmx_answers_400_with_the_form_only(web, cast):
    matter = to_state(cast, "approved")
    response = web("staff").act(matter, "assign", {"lead_unit": "D01", "co_units": ["D01"], "requirements": "x",
                                                   "deadline_working_days": "5"}, **HTMX)
    fragment = ok(response, 400)
    assert "<html" not in fragment and fragment.lstrip().startswith('<section class="card" id="action-assign"')
    assert field_error(fragment, "assign-co_units") == "牵头单位不能同时作为协办单位。"
    assert state(matter) == "approved"
    # neither date nor working days
    fragment = ok(web("staff").act(matter, "assign", {"lead_unit": "D01", "requirements": "x"}, **HTMX), 400)
    assert "请填写办结时限日期或工作日天数" in fragment


def test_a_stale_version_is_a_clear_conflict(web, cast):
    matter = to_state(cast, "registered")
    old_version = matter.version
    actions.do_approve_matter(matter.pk, actor=cast.office, comment="已批")  # someone else acted first
    leader = web("leader")
    response = leader.post(f"/matters/{matter.pk}/approve/", {"expected_version": old_version}, follow=True)
    assert response.status_code == 200
    assert "该事项已被他人更新，请刷新后重试" in " ".join(messages_of(response))
    response = leader.post(f"/matters/{matter.pk}/approve/", {"expected_version": old_version}, **HTMX)
    assert response.status_code == 409 and "该事项已被他人更新，请刷新后重试" in text(response)
    # the current version, but the step is already taken: the state says why
    response = web("staff").act(matter, "register", follow=True)
    assert "该事项当前为“已立项”，不能再登记造册" in " ".join(messages_of(response))
    # a missing version is caught by the form
    assert web("staff").post(f"/matters/{matter.pk}/assign/", {"lead_unit": "D01"}).status_code == 400


def test_an_action_of_the_wrong_role_is_403(web, cast):
    matter = to_state(cast, "registered")
    response = web("staff").act(matter, "approve")
    assert response.status_code == 403 and "不能" in text(response)
    assert web("staff").act(matter, "approve", **HTMX).status_code == 403
    assert state(matter) == "registered"


def test_a_co_unit_may_not_report_the_result(web, cast):
    matter = to_state(cast, "in_progress")
    co = web("co_clerk")
    co.act(matter, "sign")
    assert co.act(matter, "report", {"text": "协办单位的结果"}).status_code == 403
    assert state(matter) == "in_progress"


# --- extensions, changes, decisions --------------------------------------------------------------
def test_extension_request_and_decision(web, cast):
    matter = to_state(cast, "in_progress")
    old = matter.deadline
    clerk, leader = web("lead_clerk"), web("leader")
    # not after the current deadline → error under the field
    page = ok(clerk.act(matter, "request-extension", {"new_deadline": old.isoformat(), "reason": "雨季"}), 400)
    assert "新的办结时限应晚于现在的时限" in field_error(page, "request_extension-new_deadline")
    new = old + timedelta(days=20)
    assert clerk.act(matter, "request-extension", {"new_deadline": new.isoformat(), "reason": "雨季停工"}
                     ).status_code == 302
    request = ChangeRequest.objects.get(matter=matter)
    assert 'id="form-request-extension"' not in ok(clerk.get(f"/matters/{matter.pk}/"))  # one at a time
    page = ok(leader.get(f"/matters/{matter.pk}/"))
    assert f'id="action-decide-{request.pk}"' in page and f'id="approve-request-{request.pk}"' in page
    assert "雨季停工" in page
    response = leader.act(matter, "decide", {"request": request.pk, "approve": "1", "note": "同意"})
    assert response.status_code == 302
    matter.refresh_from_db()
    request.refresh_from_db()
    assert request.status == "approved" and matter.deadline == new
    page = ok(leader.get(f"/matters/{matter.pk}/"))
    assert "批准延期" in page.split('id="timeline"')[1]
    assert "延期" in page.split('id="matter-deadlines"')[1].split("</section>")[0]


def test_change_request_cancellation_decided_no(web, cast):
    matter = to_state(cast, "assigned")
    staff, leader = web("staff"), web("leader")
    page = ok(staff.act(matter, "request-change", {"kind": "adjustment", "reason": "内容调整"}), 400)
    assert "调整申请只能修改标题、内容、工作要求、办结时限、牵头单位和协办单位。" in page
    assert staff.act(matter, "request-change", {"kind": "cancellation", "reason": "已由上级统一办理"}
                     ).status_code == 302
    request = ChangeRequest.objects.get(matter=matter, kind="cancellation")
    assert leader.act(matter, "decide", {"request": request.pk, "approve": "0", "note": "继续办理"}
                      ).status_code == 302
    request.refresh_from_db()
    assert request.status == "rejected" and state(matter) == "assigned"
    # deciding it again: the form says so
    page = ok(leader.act(matter, "decide", {"request": request.pk, "approve": "1"}), 400)
    assert "这项申请已审批" in page


# --- attachments ---------------------------------------------------------------------------------
def test_attach_and_download(web, cast, media):
    matter = to_state(cast, "in_progress")
    clerk = web("lead_clerk")
    upload = SimpleUploadedFile("进展说明.txt", "第一阶段已完成。".encode(), content_type="text/plain")
    assert clerk.act(matter, "attach", {"file": upload}).status_code == 302
    attachment = matter.attachments.get()
    page = ok(web("staff").get(f"/matters/{matter.pk}/"))
    assert f"/matters/{matter.pk}/attachments/{attachment.pk}/" in page and "进展说明.txt" in page
    response = web("staff").get(f"/matters/{matter.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == "第一阶段已完成。".encode()
    assert web("other_clerk").get(f"/matters/{matter.pk}/attachments/{attachment.pk}/").status_code == 404
    bad = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    page = ok(clerk.act(matter, "attach", {"file": bad}), 400)
    assert "不能作为附件上传" in field_error(page, "attach-file")


# --- proposing ----------------------------------------------------------------------------------
def test_propose_form_for_staff_on_behalf_of_a_leader_and_refused_to_units(web, cast):
    staff = web("staff")
    page = ok(staff.get("/matters/new/"))
    assert '<label for="id_title">' in page and 'id="id_on_behalf_of"' in page
    assert 'id="id_on_behalf_of"' not in ok(web("leader").get("/matters/new/"))
    response = staff.post("/matters/new/", {"title": "代录入的事项", "content": "内容", "category": "work_report",
                                            "on_behalf_of": cast.leader.pk})
    assert response.status_code == 302
    matter = Matter.objects.get(title="代录入的事项")
    assert matter.proposed_by == cast.leader
    # errors: a past requested deadline (from the action), an unknown category (from the form)
    page = ok(staff.post("/matters/new/", {"title": "x", "content": "y", "category": "work_report",
                                           "requested_deadline": "2020-01-01"}), 400)
    assert field_error(page, "id_requested_deadline") == "建议办结时限不能早于今天。"
    page = ok(staff.post("/matters/new/", {"title": "x", "content": "y", "category": "nope"}), 400)
    assert 'id="id_category-error"' in page
    assert web("lead_clerk").get("/matters/new/").status_code == 403


# --- documents ----------------------------------------------------------------------------------
def test_the_assignment_notice_opens_as_a_document(web, cast, media):
    matter = to_state(cast, "assigned")
    clerk = web("lead_clerk")
    page = ok(clerk.get(f"/matters/{matter.pk}/"))
    assert f'href="/matters/{matter.pk}/notice/"' in page and matter.notices.get().number in page
    response = clerk.get(f"/matters/{matter.pk}/notice/")
    assert response.status_code == 302 and re.fullmatch(r"/documents/\d+/", response["Location"])
    again = web("staff").get(f"/matters/{matter.pk}/notice/", {"format": "pdf"})
    assert again["Location"] == response["Location"] + "download/?format=pdf"  # the same document
    assert web("other_clerk").get(f"/matters/{matter.pk}/notice/").status_code == 404
    assert web("staff").get(f"/matters/{proposed(cast).pk}/notice/").status_code == 404  # not assigned


# --- query budgets ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/matters/", "/register/", "/board/", "/todo/", "/plan/"])
def test_list_pages_make_a_constant_number_of_queries(web, cast, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = web("staff")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            ok(staff.get(path))
        # the host → county lookup (cached per process, revalidated now and then) is not the page's
        return len([q for q in captured.captured_queries
                    if "tenants_" not in q["sql"] and not q["sql"].startswith("SET search_path")])

    for _ in range(2):
        to_state(cast, "in_progress")
    proposed(cast)
    few = queries()
    for _ in range(5):
        to_state(cast, "in_progress")
        proposed(cast)
    assert queries() == few
