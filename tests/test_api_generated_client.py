"""Issue 24 point 5: a Python client generated from the live schema runs a whole journey.

An integrator's way in: ``openapi-python-client`` (pinned in the dev lock) generates a client from
``/api/v1/schema/`` as a live server serves it — offline, into a temporary folder — and the test
imports it and drives one matter's whole life through it, each person with their own token,
against Django's threaded WSGI server on 127.0.0.1 (the browser suite's ``LiveServer``):

    propose → register → approve → assign → sign → feedback → a ladder step recorded (电话督办)
    → report → accept; the unit's score read; the assignment notice downloaded as PDF and Word.

Every call goes through the generated functions and models (no hand-written HTTP); the bodies
are the generated ``…Request`` models, sent as the schema says (JSON).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from browser_helpers import LiveServer, Site, build_county, drop_county

from duban.core import clock

# Like the browser journeys: the test database is set up (migrated, the committed world made) before
# the module's live server, also when this file runs alone.
pytestmark = pytest.mark.django_db

SLUG = "apiclient"
PACKAGE = "duban_api_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# The generator reads files (PDF, Word, Excel) as bytes when told their media types are files.
CONFIG = {
    "post_hooks": [],
    "package_name_override": PACKAGE,
    "content_type_overrides": {
        "application/pdf": "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "application/octet-stream",
    },
}


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():  # the server's threads and the county's setup commit
        schema = build_county(SLUG)
        server = LiveServer().start()
        try:
            yield Site(SLUG, schema, server)
        finally:
            server.stop()
            drop_county(SLUG)


@pytest.fixture(scope="module")
def tokens(site):
    def issue():
        from duban.accounts.actions import do_issue_token
        from duban.accounts.models import User

        return {name: do_issue_token(User.objects.get(username=name), actor="tests")
                for name in ("leader", "staff", "office", "clerk")}

    return site.run(issue)


def _host(site) -> str:
    from django.conf import settings

    return f"{site.slug}.{settings.DUBAN_BASE_DOMAIN}"


@pytest.fixture(scope="module")
def generated(site, tmp_path_factory):
    """The client package, generated from the schema the live server serves, and imported."""
    out = tmp_path_factory.mktemp("generated-client")
    response = httpx.get(f"http://127.0.0.1:{site.server.port}/api/v1/schema/", params={"format": "json"},
                         headers={"Host": _host(site)}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    schema = out / "schema.json"
    schema.write_bytes(response.content)
    config = out / "config.json"
    config.write_text(json.dumps(CONFIG))
    run = subprocess.run([str(GENERATOR), "generate", "--path", str(schema), "--config", str(config),
                          "--meta", "none", "--output-path", str(out / PACKAGE)],
                         capture_output=True, text=True, timeout=600, cwd=out)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-3000:]
    # Every operation generated: the generator warns (and leaves one out) where it cannot.
    assert "WARNING" not in report and "Unable to" not in report, report[-3000:]
    sys.path.insert(0, str(out))
    try:
        package = importlib.import_module(PACKAGE)
        yield package
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_generated_client_runs_a_whole_journey(site, tokens, generated):
    models = _module("models")
    api = {name: _module(f"api.{name.split('_')[0]}.{name}") for name in (
        "matters_create", "matters_register_create", "matters_approve_create", "matters_assign_create",
        "matters_sign_create", "matters_feedback_create", "matters_report_create", "matters_accept_create",
        "matters_retrieve", "matters_timeline_list", "matters_notice_retrieve", "steps_create", "scores_retrieve",
        "documents_list",
        "documents_download_retrieve")}
    headers = {"Host": _host(site)}
    base_url = f"http://127.0.0.1:{site.server.port}"
    people = {name: generated.AuthenticatedClient(base_url=base_url, token=token, prefix="Token", headers=headers,
                                                  raise_on_unexpected_status=True)
              for name, token in tokens.items()}
    leader, staff, office, clerk = people["leader"], people["staff"], people["office"], people["clerk"]
    today = clock.today()

    def ok(response, status=200):
        assert response.status_code == status, response.content[:800]
        return response.parsed

    proposed = ok(api["matters_create"].sync_detailed(client=leader, body=models.ProposeInRequest(
        title="推进城区智慧停车系统建设", content="年底前在城区建成智慧停车系统，实现车位实时查询。",
        category="work_report", proposed_units=["D01"], requested_deadline=today + timedelta(days=90))), 201)
    assert isinstance(proposed, models.MatterDetailOut) and proposed.state == models.StateEnum.PROPOSED
    mid = proposed.id

    registered = ok(api["matters_register_create"].sync_detailed(
        id=mid, client=staff, body=models.VersionedRequest(expected_version=proposed.version)))
    assert registered.state == models.StateEnum.REGISTERED and registered.number
    approved = ok(api["matters_approve_create"].sync_detailed(
        id=mid, client=leader, body=models.CommentInRequest(comment="同意立项", expected_version=registered.version)))
    assigned = ok(api["matters_assign_create"].sync_detailed(id=mid, client=staff, body=models.AssignInRequest(
        lead_unit="D01", requirements="按期办结，书面报告办理结果", deadline_working_days=20,
        expected_version=approved.version)))
    assert assigned.state == models.StateEnum.ASSIGNED
    assert [(u.code, u.role) for u in assigned.units] == [("D01", models.MatterUnitRoleEnum.LEAD)]
    signed = ok(api["matters_sign_create"].sync_detailed(id=mid, client=clerk, body=models.VersionedRequest()))
    assert signed.state == models.StateEnum.IN_PROGRESS
    feedback = ok(api["matters_feedback_create"].sync_detailed(id=mid, client=clerk, body=models.FeedbackInRequest(
        kind=models.FeedbackInKindEnum.WRITTEN, text="已完成选址和方案设计，正在招标。")), 201)
    assert feedback.unit == "D01" and feedback.given_by == "clerk"

    # A ladder step: staff urge the lead unit by phone (电话督办), on their own initiative.
    step = ok(api["steps_create"].sync_detailed(client=staff, body=models.ManualStepInRequest(
        matter=mid, tier="phone", unit="D01", on=today, reason="临近办理期限，电话提醒加快进度",
        evidence=models.ManualStepInRequestEvidence.from_dict({
            "contact": "王科长", "contacted_at": f"{today.isoformat()}T10:00", "promised_date": today.isoformat()}))),
        201)
    assert step.status == models.StepOutStatusEnum.RECORDED and step.tier == "phone" and step.recorded_by == "staff"

    report = ok(api["matters_report_create"].sync_detailed(id=mid, client=clerk, body=models.ReportInRequest(
        text="智慧停车系统已建成并通过验收，投入运营。")), 201)
    assert report.attempt == 1
    review = ok(api["matters_accept_create"].sync_detailed(id=mid, client=office, body=models.ReviewInRequest(
        reasons="办理到位，同意办结")), 201)
    assert review.decision == models.ReviewOutDecisionEnum.ACCEPT
    closed = ok(api["matters_retrieve"].sync_detailed(id=mid, client=staff))
    assert closed.state == models.StateEnum.CLOSED and [r.review.decision for r in closed.reports] == [
        models.ReviewOutDecisionEnum.ACCEPT]
    timeline = ok(api["matters_timeline_list"].sync_detailed(id=mid, client=staff, page_size=100))
    workflow = ["matter.propose", "matter.register", "matter.approve", "matter.assign", "matter.sign",
                "matter.feedback", "matter.report", "matter.accept"]
    assert [e.action for e in timeline.results if e.action in workflow] == workflow

    # The unit's score: the statement of D01 for the year, with the phone step's line if it deducts.
    statement = ok(api["scores_retrieve"].sync_detailed(code="D01", client=staff, year=today.year))
    assert statement.unit == "D01" and statement.year == today.year
    deducted = sum((Decimal(line.entry.amount) for line in statement.lines), start=Decimal(0))
    assert Decimal(statement.score) == Decimal(statement.base) - deducted
    assert all(line.entry.matter == mid for line in statement.lines)

    # The assignment notice (交办通知单): printed the first time it is asked for, as PDF; then, as a
    # document of the register, downloaded again as Word.
    pdf = api["matters_notice_retrieve"].sync_detailed(id=mid, client=clerk,
                                                       format_=models.MattersNoticeRetrieveFormat.PDF)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    documents = ok(api["documents_list"].sync_detailed(client=clerk, matter=mid))
    notice = next(d for d in documents.results if d.kind == "assignment_notice")
    word = api["documents_download_retrieve"].sync_detailed(id=notice.id, client=clerk,
                                                            format_=models.DocumentsDownloadRetrieveFormat.DOCX)
    assert word.status_code == 200 and word.content.startswith(b"PK")
    assert word.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    again = api["documents_download_retrieve"].sync_detailed(id=notice.id, client=clerk,
                                                             format_=models.DocumentsDownloadRetrieveFormat.PDF)
    assert again.content == pdf.content  # the same document, not a second one
