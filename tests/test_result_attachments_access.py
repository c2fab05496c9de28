"""Issue 18 point 9: files attached to a result report reach the county leader (and units other
than the reporting one) only once the office leader has reviewed the result (督办结果上报前须经办公室
主管领导审核). The attack: a leader, or a co-operating unit's clerk, reads the matter through every
door (API detail, API timeline, the web page and its timeline, the download URL) while the result
still waits for review.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from duban.accounts.actions import do_create_user, do_issue_token
from duban.accounts.models import Role
from duban.matters import actions
from duban.matters.actions import do_attach_file
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n% result evidence\n"
RESULT_NAME = "整改完成验收报告-未审核.pdf"
FEEDBACK_NAME = "进展照片说明.pdf"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def host(county) -> str:
    return f"{county.slug}.{settings.DUBAN_BASE_DOMAIN}"


def user(username):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def reported(world, media):
    """A matter led by D01 (clerk) with T01 (clerk1) co-operating; clerk has reported the result
    with a file attached to it, and given a feedback with a file; nobody has reviewed yet."""
    with tenant_context(world.alpha):
        leader = do_create_user("leader_r9", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD)
        office = do_create_user("office_r9", actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD)
        staff, clerk, clerk1 = user("staff"), user("clerk"), user("clerk1")
        matter = actions.do_propose_matter(actor=leader, title="整治县城背街小巷", content="年底前完成整治",
                                           category="major_decision")
        actions.do_register_matter(matter.pk, actor=staff)
        actions.do_approve_matter(matter.pk, actor=leader)
        actions.do_assign_matter(matter.pk, actor=staff, lead_unit="D01", co_units=["T01"],
                                 requirements="按期办结并报送结果", deadline_working_days=10)
        actions.do_sign_for_receipt(matter.pk, actor=clerk)
        actions.do_sign_for_receipt(matter.pk, actor=clerk1)
        feedback = actions.do_give_feedback(matter.pk, actor=clerk, kind="written", text="已完成一半")
        fb_file = do_attach_file(matter.pk, actor=clerk, feedback_id=feedback.pk,
                                 upload=SimpleUploadedFile(FEEDBACK_NAME, PDF_BYTES + b"feedback"))
        report = actions.do_report_result(matter.pk, actor=clerk, text="已全部整治完成")
        result_file = do_attach_file(matter.pk, actor=clerk, report_id=report.pk,
                                     upload=SimpleUploadedFile(RESULT_NAME, PDF_BYTES))
        tokens = {name: do_issue_token(user(name), actor="tests") for name in ("leader_r9", "clerk1", "clerk")}
    return {"matter": matter, "leader": leader, "office": office, "clerk": clerk, "clerk1": clerk1,
            "result_file": result_file, "feedback_file": fb_file, "tokens": tokens}


def _api_sees(world, token, matter, attachment) -> list[str]:
    """Where the API shows the attachment's name or hash to the token's user."""
    client, seen = Client(), []
    auth = {"HTTP_HOST": host(world.alpha), "HTTP_AUTHORIZATION": f"Token {token}"}
    detail = client.get(f"/api/v1/matters/{matter.pk}/", **auth)
    assert detail.status_code == 200
    if attachment.original_name in detail.content.decode() or attachment.sha256 in detail.content.decode():
        seen.append("detail")
    timeline = client.get(f"/api/v1/matters/{matter.pk}/timeline/", **auth)
    assert timeline.status_code == 200
    if attachment.original_name in timeline.content.decode() or attachment.sha256 in timeline.content.decode():
        seen.append("timeline")
    return seen


def _web(world, username, matter, attachment) -> tuple[str, int]:
    client = Client()
    with tenant_context(world.alpha):
        client.force_login(user(username))
    page = client.get(f"/matters/{matter.pk}/", HTTP_HOST=host(world.alpha))
    assert page.status_code == 200
    download = client.get(f"/matters/{matter.pk}/attachments/{attachment.pk}/", HTTP_HOST=host(world.alpha))
    return page.content.decode(), download.status_code


@pytest.mark.parametrize("who", ["leader_r9", "clerk1"])
def test_an_unreviewed_results_files_are_hidden_everywhere(world, reported, who):
    matter, result_file = reported["matter"], reported["result_file"]
    assert _api_sees(world, reported["tokens"][who], matter, result_file) == []
    page, download = _web(world, who, matter, result_file)
    assert RESULT_NAME not in page and result_file.sha256 not in page
    assert download == 404


def test_the_office_and_the_reporting_unit_see_the_files_before_review(world, reported):
    matter, result_file = reported["matter"], reported["result_file"]
    assert _api_sees(world, reported["tokens"]["clerk"], matter, result_file) == ["detail", "timeline"]
    for who in ("clerk", "office_r9", "staff"):
        page, download = _web(world, who, matter, result_file)
        assert RESULT_NAME in page and download == 200, who


def test_feedback_files_reach_the_leader_as_progress_does(world, reported):
    matter, fb_file = reported["matter"], reported["feedback_file"]
    assert _api_sees(world, reported["tokens"]["leader_r9"], matter, fb_file) == ["detail", "timeline"]
    page, download = _web(world, "leader_r9", matter, fb_file)
    assert FEEDBACK_NAME in page and download == 200


@pytest.mark.parametrize("who", ["leader_r9", "clerk1"])
def test_once_reviewed_the_results_files_are_shown(world, reported, who):
    matter, result_file = reported["matter"], reported["result_file"]
    with tenant_context(world.alpha):
        actions.do_accept_result(matter.pk, actor=reported["office"], reasons="同意办结。")
    assert _api_sees(world, reported["tokens"][who], matter, result_file) == ["detail", "timeline"]
    page, download = _web(world, who, matter, result_file)
    assert RESULT_NAME in page and download == 200
