"""Excel imports (导入) through the API: units (the county admin) and matters (supervision staff),
as the web's /import/ and the CLI (``duban unit import``, ``duban import_matters``) do them — the
same importers (``duban.units.imports``, ``duban.matters.imports``), the same rules, the same
audit row, all rows or none.

1. ``POST imports/preview/`` checks the file (a dry run): every data row with its cells as read
   and its problems, the file's own problems, and the file's SHA-256. Nothing is written.
2. ``POST imports/`` imports it: every row, or — if any row has a problem — none, answering 400
   with every problem under ``file``. ``expected_sha256`` (the preview's) makes sure the file
   imported is the file checked: another one is a 409 and imports nothing.

Both take ``multipart/form-data`` (the file): the only routes besides ``attach`` that do.
"""

from __future__ import annotations

import hashlib
import io

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api import errors, idempotency
from api.base import CountyViewSet, county_action
from duban.accounts.models import User
from duban.core import spreadsheet
from duban.core.errors import Conflict, Invalid, NotAllowed
from duban.core.imports import ImportErrorReport, ImportResult, RowError
from duban.matters import imports as matter_imports
from duban.matters.access import ALL_MATTERS_ROLES
from duban.units import imports as unit_imports
from duban.units.models import Unit

KINDS = ("units", "matters")


class ImportIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS, help_text="units (the county admin) or matters (supervision staff)")

    def validate_kind(self, kind: str) -> str:
        """The importers' rule, before the file is looked at: who may import what (403)."""
        role = self.context["request"].user.role
        if kind == "units" and role not in unit_imports.IMPORTING_ROLES:
            raise NotAllowed(_("只有县级管理员可以导入单位。"))
        if kind == "matters" and role not in matter_imports.IMPORTING_ROLES:
            raise NotAllowed(_("只有督查督办人员可以导入事项。"))
        return kind
    file = serializers.FileField(help_text="the .xlsx workbook: its first sheet, a header row, one row per unit or "
                                           "matter (the columns of `duban unit import` / `duban import_matters`)")
    proposed_by = serializers.CharField(required=False, max_length=150,
                                        help_text="matters only: the username of the leader on whose behalf they are "
                                                  "proposed (they await that leader's approval)")


class ImportRunIn(ImportIn):
    expected_sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$", required=False,
        help_text="the `sha256` of the preview: if the file sent now is another one, nothing is imported (409)")


class ProblemOut(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="the Excel row; null for the file as a whole")
    column = serializers.CharField(help_text="the column's header; empty for the row as a whole")
    message = serializers.CharField()


class PreviewRowOut(serializers.Serializer):
    number = serializers.IntegerField(help_text="the Excel row number")
    values = serializers.DictField(child=serializers.CharField(allow_blank=True),
                                   help_text="the cells as read, under their columns' headers")
    ok = serializers.BooleanField()
    problems = ProblemOut(many=True)


class ImportPreviewOut(serializers.Serializer):
    kind = serializers.CharField()
    source = serializers.CharField(help_text="the file's name")
    sha256 = serializers.CharField()
    ok = serializers.BooleanField(help_text="true: every row can be imported")
    count = serializers.IntegerField(help_text="how many would be created (0 while any row has a problem)")
    columns = serializers.ListField(child=serializers.CharField())
    rows = PreviewRowOut(many=True)
    problems = ProblemOut(many=True, help_text="problems of the file, its sheet or its header row")


class ImportedMatterOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()


class ImportOut(serializers.Serializer):
    kind = serializers.CharField()
    source = serializers.CharField()
    sha256 = serializers.CharField()
    created = serializers.IntegerField()
    units = serializers.ListField(child=serializers.CharField(), help_text="units: the codes created")
    matters = ImportedMatterOut(many=True, help_text="matters: the ones created (registered, awaiting approval)")


def _problem(error: RowError) -> dict:
    return {"row": error.row, "column": error.column, "message": error.message}


class ImportViewSet(CountyViewSet):
    """Excel imports: a dry run that previews every row, then the import, all rows or none."""

    queryset = Unit.objects.none()
    serializer_class = ImportOut
    parser_classes = [MultiPartParser]
    pagination_class = None
    filter_backends = []
    roles = {"create": ALL_MATTERS_ROLES, "preview": ALL_MATTERS_ROLES}

    def safely_get_queryset(self, user):
        return Unit.objects.none()

    # --- the one path of both routes --------------------------------------------------------------
    def _prepare(self, data: dict) -> tuple[io.BytesIO, str, User | None]:
        """The file (its size, its bytes, its digest) and, for matters, the leader named."""
        kind, upload = data["kind"], data["file"]
        if upload.size > spreadsheet.MAX_FILE_BYTES:
            raise Invalid(_("文件太大（最多 %(limit)s MB），请拆分后再导入")
                          % {"limit": spreadsheet.MAX_FILE_BYTES // (1024 * 1024)}, field="file")
        content = upload.read()
        source = io.BytesIO(content)
        source.name = upload.name  # the report names the clerk's file
        leader = None
        if kind == "matters":
            username = data.get("proposed_by")
            if not username:
                raise Invalid(_("请选择代哪位领导提出"), field="proposed_by")
            leader = User.objects.filter(username=username, is_active=True).first()
            if leader is None:
                raise Invalid(_("没有用户名为“%(username)s”的在职用户。") % {"username": username}, field="proposed_by")
        return source, hashlib.sha256(content).hexdigest(), leader

    def _run(self, kind: str, source, leader, *, dry_run: bool) -> ImportResult:
        if kind == "units":
            return unit_imports.import_units(source, actor=self.request.user, dry_run=dry_run)
        return matter_imports.import_matters(source, actor=self.request.user, proposed_by=leader, dry_run=dry_run)

    # --- the routes ----------------------------------------------------------------------------------
    @county_action(input=ImportIn, output=ImportPreviewOut, detail=False,
                   summary="Check an Excel file (dry run): every row as read, with its problems; imports nothing")
    def preview(self, request, data):
        source, sha256, leader = self._prepare(data)
        try:
            result = self._run(data["kind"], source, leader, dry_run=True)
        except ImportErrorReport as report:
            result = report.result
        return {"kind": data["kind"], "source": source.name, "sha256": sha256, "ok": result.ok,
                "count": result.created if result.ok else 0, "columns": result.columns,
                "rows": [{"number": row.number, "values": row.values, "ok": row.ok,
                          "problems": [_problem(error) for error in row.errors]} for row in result.preview()],
                "problems": [_problem(error) for error in result.file_errors()]}

    @extend_schema(summary="Import an Excel file: every row, or none (400 listing every problem under `file`)",
                   request=ImportRunIn, responses={201: ImportOut}, parameters=[idempotency.PARAMETER])
    @idempotency.idempotent
    def create(self, request):
        serializer = ImportRunIn(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source, sha256, leader = self._prepare(data)
        expected = data.get("expected_sha256")
        if expected and expected != sha256:
            raise Conflict(_("这不是检查过的文件（SHA-256不同），没有导入任何内容：请先检查这个文件再导入。"))
        try:
            result = self._run(data["kind"], source, leader, dry_run=False)
        except ImportErrorReport as report:
            lines = report.result.lines()
            message = _("%(source)s有%(count)d处问题，没有导入任何内容。") % {"source": source.name, "count": len(lines)}
            return Response(errors.body(400, message, {"file": lines}), status=400)
        created = list(result.objects)
        return self.respond(ImportOut, {
            "kind": data["kind"], "source": source.name, "sha256": sha256, "created": result.created,
            "units": [unit.code for unit in created] if data["kind"] == "units" else [],
            "matters": [{"id": m.pk, "number": m.number, "title": m.title} for m in created]
            if data["kind"] == "matters" else []}, status_code=201)
