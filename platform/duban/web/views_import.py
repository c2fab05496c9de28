"""Excel import for the office (导入): units (承办单位) and matters (督办事项), in two steps.

1. Upload: the file is checked by the same importer the CLI runs (``duban unit import`` and
   ``duban import_matters``: ``duban.units.imports`` / ``duban.matters.imports`` over
   ``duban.core.imports.run_import``) as a dry run, and every row is shown with the cells as read
   and its problems in Chinese (the preview).
2. "全部导入" imports the same file for real: all rows in one transaction, or none.

Between the two steps the uploaded file is kept server-side, not uploaded again: the clerk
imports exactly the file they looked at (its SHA-256 is checked), and a phone user need not pick
it twice. It is staged in the county's own folder of the default storage
(``counties/<schema>/import-staging/<user id>/<random>.xlsx``; shared by every web process, unlike
a local temporary folder), named in the user's session only — another user, or another session,
cannot import it — and deleted once imported, replaced by the next upload, or swept after a day.
Who may import what is the importers' rule (``IMPORTING_ROLES``): the county admin imports
units, supervision staff import matters.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from duban.accounts.models import User
from duban.core import clock, spreadsheet
from duban.core.errors import Invalid, NotAllowed
from duban.core.imports import ImportErrorReport
from duban.matters import imports as matter_imports
from duban.matters.access import ALL_MATTERS_ROLES
from duban.matters.states import LEADERS
from duban.units import imports as unit_imports
from duban.web.shortcuts import page, refused, require_role

SESSION_KEY = "duban_import_staged"
STAGING_KEEP = timedelta(days=1)
TEMPLATE = "web/matters/import.html"


@dataclass(frozen=True)
class Kind:
    code: str
    label: object
    roles: tuple
    columns: tuple
    done: object  # the message after a successful import


KINDS = {k.code: k for k in (
    Kind("matters", _("督办事项"), matter_imports.IMPORTING_ROLES, matter_imports.COLUMNS,
         _("已导入 %(n)d 个督办事项，已登记造册，等待领导批准立项。")),
    Kind("units", _("承办单位"), unit_imports.IMPORTING_ROLES, unit_imports.COLUMNS, _("已导入 %(n)d 个承办单位。")),
)}


def kinds_for(user) -> list[Kind]:
    return [kind for kind in KINDS.values() if user.role in kind.roles]


class LeaderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.display_name}（{obj.get_role_display()}）"


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("导入内容"), widget=forms.RadioSelect)
    file = forms.FileField(label=_("Excel 文件（.xlsx）"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
                           help_text=_("第一个工作表的第一行为表头；先检查每一行，确认无误后再全部导入"))
    proposed_by = LeaderChoiceField(label=_("代哪位领导提出"), queryset=User.objects.none(), required=False,
                                         empty_label=_("请选择"),
                                         help_text=_("导入的督办事项以该领导的名义提出，登记后等待其批准立项"))

    def __init__(self, *args, kinds: list[Kind], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.code, k.label) for k in kinds]
        if len(kinds) == 1:
            self.fields["kind"].initial = kinds[0].code
        if "matters" in {k.code for k in kinds}:
            self.fields["proposed_by"].queryset = User.objects.filter(role__in=LEADERS, is_active=True).order_by(
                "role", "username")
        else:
            del self.fields["proposed_by"]

    def clean(self):
        data = super().clean()
        if data.get("kind") == "matters" and not data.get("proposed_by"):
            self.add_error("proposed_by", gettext("请选择代哪位领导提出"))
        upload = data.get("file")
        if upload is not None and upload.size > spreadsheet.MAX_FILE_BYTES:
            self.add_error("file", gettext("文件太大（最多 %(limit)s MB），请拆分后再导入")
                           % {"limit": spreadsheet.MAX_FILE_BYTES // (1024 * 1024)})
        return data


# --- the staged file -----------------------------------------------------------------------------
def _folder(user) -> str:
    return f"counties/{connection.schema_name}/import-staging/{user.pk}"


def _sweep(user) -> None:
    """Forget staged files of this user older than a day (an import never confirmed)."""
    folder = _folder(user)
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    cutoff = clock.now() - STAGING_KEEP
    for name in files:
        path = f"{folder}/{name}"
        try:
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            pass


def _stage(request, kind: Kind, upload, proposed_by) -> dict:
    """Keep the uploaded file for the second step; the session names it (one per session)."""
    _discard(request)
    _sweep(request.user)
    data = upload.read(spreadsheet.MAX_FILE_BYTES + 1)
    path = default_storage.save(f"{_folder(request.user)}/{uuid.uuid4().hex}.xlsx", ContentFile(data))
    staged = {"token": uuid.uuid4().hex, "path": path, "kind": kind.code, "name": upload.name,
              "sha256": hashlib.sha256(data).hexdigest(), "proposed_by": proposed_by.pk if proposed_by else None}
    request.session[SESSION_KEY] = staged
    return staged


def _staged(request, token: str) -> tuple[dict, bytes] | None:
    staged = request.session.get(SESSION_KEY)
    if not staged or not token or staged.get("token") != token:
        return None
    if not staged["path"].startswith(_folder(request.user) + "/"):
        return None
    try:
        with default_storage.open(staged["path"], "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    if hashlib.sha256(data).hexdigest() != staged["sha256"]:
        return None
    return staged, data


def _discard(request) -> None:
    staged = request.session.pop(SESSION_KEY, None)
    if staged and str(staged.get("path", "")).startswith(_folder(request.user) + "/"):
        default_storage.delete(staged["path"])


def _source(data: bytes, name: str) -> io.BytesIO:
    source = io.BytesIO(data)
    source.name = name  # the report names the clerk's file
    return source


def _run(kind: Kind, source, *, user, proposed_by, dry_run: bool):
    if kind.code == "units":
        return unit_imports.import_units(source, actor=user, dry_run=dry_run)
    return matter_imports.import_matters(source, actor=user, proposed_by=proposed_by, dry_run=dry_run)


# --- the page --------------------------------------------------------------------------------------
def _allowed_kinds(user) -> list[Kind]:
    require_role(user, *ALL_MATTERS_ROLES, what=gettext("只有办公室人员可以导入。"))
    kinds = kinds_for(user)
    if not kinds:
        raise NotAllowed(gettext("导入由督查督办人员（督办事项）和县管理员（承办单位）办理。"))
    return kinds


def _context(form, kinds, **extra) -> dict:
    return {"form": form, "kinds": kinds, "section": "import", **extra}


@page
@require_http_methods(["GET", "HEAD", "POST"])
def import_upload(request):
    """Step 1: choose what to import and the file; the answer is the preview."""
    user = request.user
    kinds = _allowed_kinds(user)
    initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in {k.code for k in kinds} else {}
    if request.method != "POST":
        return render(request, TEMPLATE, _context(UploadForm(kinds=kinds, initial=initial), kinds))
    form = UploadForm(request.POST, request.FILES, kinds=kinds)
    if not form.is_valid():
        return render(request, TEMPLATE, _context(form, kinds), status=400)
    kind, upload = KINDS[form.cleaned_data["kind"]], form.cleaned_data["file"]
    proposed_by = form.cleaned_data.get("proposed_by") if kind.code == "matters" else None
    staged = _stage(request, kind, upload, proposed_by)
    return _preview(request, form, kinds, kind, staged, proposed_by)


def _preview(request, form, kinds, kind: Kind, staged: dict, proposed_by, *, data: bytes | None = None):
    if data is None:
        with default_storage.open(staged["path"], "rb") as handle:
            data = handle.read()
    try:
        result = _run(kind, _source(data, staged["name"]), user=request.user, proposed_by=proposed_by, dry_run=True)
    except ImportErrorReport as report:
        result = report.result
    except Invalid as exc:  # the leader chosen is no longer an active leader
        form.add_error("proposed_by" if "proposed_by" in form.fields else None, str(exc))
        _discard(request)
        return render(request, TEMPLATE, _context(form, kinds), status=400)
    ok = result.ok
    if not ok:
        _discard(request)  # nothing to confirm: the clerk corrects the file and uploads it again
    rows = result.preview()
    return render(request, TEMPLATE, _context(
        form, kinds, kind=kind, result=result, rows=rows, file_errors=result.file_errors(),
        bad_rows=sum(1 for row in rows if not row.ok), ok=ok, token=staged["token"] if ok else "",
        proposed_by=proposed_by, file_name=staged["name"]), status=200 if ok else 400)


@page
@require_POST
def import_confirm(request):
    """Step 2: import the staged file for real, all rows or none."""
    user = request.user
    kinds = _allowed_kinds(user)
    found = _staged(request, request.POST.get("token", ""))
    if found is None:
        messages.error(request, gettext("上传的文件已失效（可能已导入，或已上传了另一个文件），请重新上传。"))
        return redirect("web-import")
    staged, data = found
    kind = KINDS.get(staged["kind"])
    if kind is None or kind not in kinds:
        return refused(request, gettext("您的角色不能导入这类内容。"))
    proposed_by = User.objects.filter(pk=staged["proposed_by"]).first() if staged["proposed_by"] else None
    try:
        result = _run(kind, _source(data, staged["name"]), user=user, proposed_by=proposed_by, dry_run=False)
    except (ImportErrorReport, Invalid):  # changed since the preview (e.g. a unit created meanwhile)
        form = UploadForm(initial={"kind": kind.code, "proposed_by": proposed_by}, kinds=kinds)
        return _preview(request, form, kinds, kind, staged, proposed_by, data=data)
    _discard(request)
    messages.success(request, str(kind.done) % {"n": result.created})
    return redirect("web-register" if kind.code == "matters" else "web-import")
