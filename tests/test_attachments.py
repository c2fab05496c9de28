"""Attaching files to matters: who may, what kind of file, how large, and where it is stored."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role
from duban.audit.models import AuditEvent
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.matters import actions
from duban.matters.actions import do_attach_file
from duban.matters.models import Attachment
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def assigned(world, media):
    """A matter assigned to D01 (clerk's unit); T01 (clerk1's unit) is not on it."""
    with tenant_context(world.alpha):
        users = get_user_model().objects
        leader = do_create_user("leader_att", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD)
        staff, clerk = users.get(username="staff"), users.get(username="clerk")
        matter = actions.do_propose_matter(actor=leader, title="修缮县城排水管网", content="汛期前完成排查和修缮",
                                           category="major_decision")
        actions.do_register_matter(matter.pk, actor=staff)
        actions.do_approve_matter(matter.pk, actor=leader)
        actions.do_assign_matter(matter.pk, actor=staff, lead_unit="D01", requirements="按期办结并报送结果",
                                 deadline_working_days=10)
        actions.do_sign_for_receipt(matter.pk, actor=clerk)
        yield matter


def user(username):
    return get_user_model().objects.get(username=username)


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def ooxml(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<document/>")
    return buffer.getvalue()


def test_a_pdf_is_stored_per_county_with_its_hash_and_audited(world, assigned, media):
    with tenant_context(world.alpha):
        clerk = user("clerk")
        attachment = do_attach_file(assigned.pk, actor=clerk, upload=upload("排查方案.pdf", PDF_BYTES, "text/html"))

        attachment.refresh_from_db()
        assert attachment.file.name.startswith("counties/county_alpha/attachments/")
        assert attachment.file.name.endswith(".pdf")
        stored = media / attachment.file.name
        assert stored.read_bytes() == PDF_BYTES
        assert attachment.original_name == "排查方案.pdf"
        assert attachment.size == len(PDF_BYTES)
        assert attachment.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
        assert attachment.content_type == "application/pdf"  # what we found, not what the browser said
        assert attachment.uploaded_by == clerk and attachment.matter_id == assigned.pk

        event = AuditEvent.objects.get(action="matter.attach", object_id=str(assigned.pk))
        assert event.actor == clerk
        assert event.after["attachment"] == attachment.pk
        assert event.after["sha256"] == attachment.sha256


def test_files_larger_than_the_limit_are_refused(world, assigned, settings):
    settings.DUBAN_MAX_UPLOAD_MB = 1
    big = PDF_BYTES + b"0" * (1536 * 1024)  # 1.5 MB
    with tenant_context(world.alpha):
        with pytest.raises(Invalid, match="超过了1 MB的上限") as excinfo:
            do_attach_file(assigned.pk, actor=user("clerk"), upload=upload("big.pdf", big))
        assert excinfo.value.field == "file"
        assert not Attachment.objects.exists()


def test_a_file_whose_declared_size_lies_is_still_measured(world, assigned, settings):
    settings.DUBAN_MAX_UPLOAD_MB = 1
    big = upload("big.pdf", PDF_BYTES + b"0" * (1536 * 1024))
    big.size = 10  # the size comes from the upload handler; we count the bytes ourselves
    with tenant_context(world.alpha):
        with pytest.raises(Invalid, match="超过了1 MB的上限"):
            do_attach_file(assigned.pk, actor=user("clerk"), upload=big)


@pytest.mark.parametrize("name, content, message", [
    ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00", r"\.exe文件不能作为附件上传；可以上传：PDF"),
    ("README", b"hello", "没有扩展名的文件不能作为附件上传"),
    ("报告.pdf", b"MZ\x90\x00 not a pdf at all", r"扩展名是\.pdf，但内容不是PDF文件"),
    ("照片.png", b"\xff\xd8\xff\xe0 a jpeg", r"扩展名是\.png，但内容不是PNG图片"),
    ("表格.xlsx", ooxml("word/"), r"扩展名是\.xlsx，但内容不是Excel表格"),
    ("文档.docx", b"PK\x03\x04 truncated, not a zip", r"扩展名是\.docx，但内容不是Word文档"),
    ("说明.txt", b"MZ\x90\x00\x03\x00\x00\x00\xff\xff", r"内容不是UTF-8或GB18030编码的文字"),
])
def test_wrong_types_are_refused(world, assigned, name, content, message):
    with tenant_context(world.alpha):
        with pytest.raises(Invalid, match=message) as excinfo:
            do_attach_file(assigned.pk, actor=user("clerk"), upload=upload(name, content))
        assert excinfo.value.field == "file"
        assert not Attachment.objects.exists()


def test_an_empty_file_is_refused(world, assigned):
    with tenant_context(world.alpha):
        with pytest.raises(Invalid, match="是空文件") as excinfo:
            do_attach_file(assigned.pk, actor=user("clerk"), upload=upload("空.pdf", b""))
        assert excinfo.value.field == "file"


@pytest.mark.parametrize("name, content, content_type", [
    ("方案.docx", ooxml("word/"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("台账.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "application/vnd.ms-excel"),
    ("现场.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    ("说明.txt", "进展顺利，已完成排查。".encode(), "text/plain; charset=utf-8"),
    ("说明GBK.txt", "进展顺利，已完成排查。".encode("gb18030"), "text/plain; charset=gb18030"),
])
def test_allowed_types_are_accepted(world, assigned, name, content, content_type):
    with tenant_context(world.alpha):
        attachment = do_attach_file(assigned.pk, actor=user("staff"), upload=upload(name, content))
        assert attachment.content_type == content_type


def test_a_unit_outside_the_matter_gets_not_found(world, assigned):
    with tenant_context(world.alpha):
        with pytest.raises(NotFound):
            do_attach_file(assigned.pk, actor=user("clerk1"), upload=upload("a.pdf", PDF_BYTES))
        with pytest.raises(NotFound):
            do_attach_file(987654, actor=user("clerk"), upload=upload("a.pdf", PDF_BYTES))
        assert not Attachment.objects.exists()


def test_roles_that_do_not_work_the_matter_may_not_attach(world, assigned):
    with tenant_context(world.alpha):
        with pytest.raises(NotAllowed):
            do_attach_file(assigned.pk, actor=user("admin"), upload=upload("a.pdf", PDF_BYTES))
        office = do_create_user("office_att", actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD)
        assert do_attach_file(assigned.pk, actor=office, upload=upload("批示.pdf", PDF_BYTES)).pk


def test_feedback_and_report_must_belong_to_the_matter(world, assigned):
    with tenant_context(world.alpha):
        clerk, staff = user("clerk"), user("staff")
        feedback = actions.do_give_feedback(assigned.pk, actor=clerk, kind="written", text="已完成管网排查")
        attachment = do_attach_file(assigned.pk, actor=clerk, upload=upload("排查.pdf", PDF_BYTES),
                                    feedback_id=feedback.pk)
        assert attachment.feedback_id == feedback.pk

        leader = user("leader_att")
        other = actions.do_propose_matter(actor=leader, title="另一事项", content="内容", category="major_decision")
        with pytest.raises(Invalid) as excinfo:
            do_attach_file(other.pk, actor=staff, upload=upload("x.pdf", PDF_BYTES), feedback_id=feedback.pk)
        assert excinfo.value.field == "feedback"
        with pytest.raises(Invalid) as excinfo:
            do_attach_file(assigned.pk, actor=staff, upload=upload("x.pdf", PDF_BYTES), report_id=999999)
        assert excinfo.value.field == "report"

        report = actions.do_report_result(assigned.pk, actor=clerk, text="已全部修缮完成")
        attachment = do_attach_file(assigned.pk, actor=clerk, upload=upload("验收.pdf", PDF_BYTES),
                                    report_id=report.pk)
        assert attachment.report_id == report.pk
        assert Attachment.objects.filter(matter=assigned).count() == 2
