"""`duban documents … --county SLUG`: sample files of every document kind, the register of
issued documents, and the county's texts of its documents.

    documents fonts    (prepare and show the PDF fonts; no county)
    documents measure  FILE.pdf …   (GB/T 9704 measures of PDFs; no county; needs pdfplumber)
    documents sample   --county dongshan --out DIR [--actor staff] [--year 2026]
    documents list     --county dongshan
    documents texts    --county dongshan
    documents set-text --county dongshan supervision_notice --actor office [--title …] [--office …]
                       [--heading …] [--closing …] [--signature LINE …] [--copy-to UNIT …] [--reset FIELD …]
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.table import Table
from rich.text import Text

from duban.accounts.models import Role, User
from duban.core import clock
from duban.core.commands import CountyCommand, year_option
from duban.core.county import county_pack
from duban.documents import fonts, registry, service
from duban.documents.actions import do_set_document_text
from duban.documents.measure import STANDARD, measure
from duban.documents.models import Document
from duban.documents.texts import FIELDS, document_text, overrides
from duban.documents.word import render_docx
from tenants.models import County

# The order ``sample`` writes and lists them in.
KINDS = ("collection_form", "assignment_notice", "supervision_notice", "weekly_report", "circular",
         "annual_assessment")


def T(value) -> Text:  # upper-case on purpose: table cells as plain text
    return Text("" if value is None else str(value))


class Command(CountyCommand):
    help = "Official documents of a county: sample files of every kind, the register, the texts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{fonts,measure,sample,list,texts,set-text}")

        def command(name, help_text):
            p = sub.add_parser(name, help=help_text)
            self.add_county_argument(p)
            return p

        sub.add_parser("fonts", help="prepare the documents' Chinese faces in DUBAN_FONT_DIR and show them")
        p = sub.add_parser("measure", help="measure PDFs against GB/T 9704: characters a line, lines a page, margins, "
                                           "the red rule (development: needs pdfplumber)")
        p.add_argument("files", nargs="+", metavar="FILE.pdf")
        p = command("sample", "write one file of each document kind from the county's data (PDF; Word; Excel)")
        p.add_argument("--out", required=True, help="the folder to write to (created if missing)")
        p.add_argument("--actor", help="username printing them (default: the first supervision staff)")
        p.add_argument("--year", type=year_option, help="year of the annual assessment table (default: this year)")
        command("list", "the documents issued in the county (newest first)")
        command("texts", "the county's texts of its documents: the pack's, with the county's overrides")
        p = command("set-text", "override texts of one document for this county (county admin / office leader)")
        p.add_argument("code", help="the document code, e.g. supervision_notice")
        p.add_argument("--actor", required=True, help="username of the county admin or office leader")
        p.add_argument("--title")
        p.add_argument("--office", dest="issuing_office", help="issuing office; {county} stands for the county's name")
        p.add_argument("--heading")
        p.add_argument("--closing")
        p.add_argument("--signature", dest="signature_lines", nargs="*", metavar="LINE")
        p.add_argument("--copy-to", dest="copy_to", nargs="*", metavar="UNIT")
        p.add_argument("--reset", nargs="*", default=[], metavar="FIELD", help="fields that go back to the pack's text")

    def handle(self, *args, **options):
        slug = options.get("county")
        if slug is not None and not County.objects.filter(slug=slug).exists():
            known = ", ".join(County.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(_("没有代码为“%(slug)s”的县（现有：%(known)s）。") % {"slug": slug, "known": known})
        return super().handle(*args, **options)

    def handle_county(self, county, /, **options):  # "county" is also in options (the slug)
        if options["action"] == "fonts":
            return self.do_fonts()
        if options["action"] == "measure":
            return self.do_measure(options["files"])
        getattr(self, f"do_{options['action'].replace('-', '_')}")(options)

    def do_fonts(self) -> None:
        try:
            found = fonts.ensure_fonts()
        except fonts.FontsMissing as error:
            raise CommandError(str(error)) from None
        for face, path in found.items():
            self.stdout.write(f"{face.family:<12} {face.weight:<7} {face.source_family:<18} {path} "
                              f"（{path.stat().st_size // 1024} KB）")

    def do_measure(self, files: list[str]) -> None:
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(_("%(name)s：没有这个文件。") % {"name": name})
            try:
                m = measure(path.read_bytes())
            except ImportError as error:  # pdfplumber: a development dependency
                raise CommandError(_("测量版面需要安装 pdfplumber（pip install pdfplumber）：%(error)s")
                    % {"error": error}) from None
            layout = {"bulletin": "简报", "table": "表格", "letter": "信函格式"}.get(m.layout, "文件格式")
            self.stdout.write(_("%(name)s：共 %(pages)d 页，%(layout)s") % {"name": path.name, "pages": m.pages,
                                                                          "layout": layout})
            for key in ("chars_per_line", "lines_per_page", "line_pitch_mm", "left_margin_mm", "first_line_mm",
                        "office_top_mm", "red_rule_gap_mm", "office_from_edge_mm", "letter_rule_gap_mm",
                        "letter_foot_mm", "title_gap_lines", "record_bottom_mm"):
                value, want = getattr(m, key), STANDARD.get(key)
                if value is None:
                    verdict = _("—（此版式没有）")
                elif isinstance(want, tuple):
                    verdict = (_("符合") if want[0] <= value <= want[1]
                               else _("超出 %(low)s–%(high)s") % {"low": want[0], "high": want[1]})
                elif want is not None:
                    verdict = _("符合") if value == want else _("标准为 %(want)s") % {"want": want}
                else:
                    verdict = ""
                self.stdout.write(f"  {key:<16} {'' if value is None else value!s:>6}  {verdict}")

    def _actor(self, username: str | None, roles=(Role.SUPERVISION_STAFF,)) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("--actor：%(county)s没有用户名为“%(username)s”的在职用户。")
                    % {"county": self.county.name, "username": username})
            return user
        user = User.objects.filter(role__in=roles, is_active=True).order_by("id").first()
        if user is None:
            raise CommandError(_("%(county)s没有在职的督查督办人员可作为打印人，请用 --actor 指定。")
                % {"county": self.county.name})
        return user

    # -- sample ---------------------------------------------------------------------------------
    def do_sample(self, options):
        out = Path(options["out"])
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(_("--out：无法创建%(out)s：%(error)s") % {"out": out, "error": exc.strerror}) from None
        actor = self._actor(options.get("actor"))
        year = options.get("year") or clock.today().year
        written, missing = [], []

        def write(name: str, data: bytes) -> Path:
            path = out / name
            path.write_bytes(data)
            return path

        for code in KINDS:
            kind = registry.get(code)
            sample = kind.sample(actor=actor, year=year)
            if sample.document is not None:
                document = sample.document
                paths = [write(f"{code}.pdf", service.pdf_bytes(document))]
                if kind.word:
                    paths.append(write(f"{code}.docx", service.docx_bytes(document)))
                if kind.xlsx is not None:
                    paths.append(write(f"{code}.xlsx", service.xlsx_bytes(document)))
                written.append((code, document.number or document.title, document.display_code, paths, sample.note))
            elif sample.content is not None:  # printed unnumbered (the blank form)
                content = sample.content
                paths = [write(f"{code}.pdf", service.preview_pdf({**content, "draft": False}))]
                if kind.word:
                    paths.append(write(f"{code}.docx", render_docx(service.with_plugin_context(code, content), None)))
                written.append((code, content["title"], "—", paths, sample.note))
            else:
                missing.append((code, sample.missing))
        files = [(file, write(file.filename, file.make())) for file in registry.sample_files()]

        self.out(f"{self.county.name} ({self.county.slug}) → {out}")
        for kind, number, code, paths, note in written:
            self.out(f"  {kind:<19} {number}  核验码 {code}" + (f"  ({note})" if note else ""))
            for path in paths:
                self.out(f"      {path}")
        for file, path in files:
            self.out(f"  {file.code:<19} {file.label}")
            self.out(f"      {path}")
        if missing:
            for kind, reason in missing:
                self.stderr.write(_("  %(kind)s：未生成（%(reason)s）") % {"kind": kind, "reason": reason})
            raise CommandError(_("有%(count)d种公文没有数据：%(kinds)s")
                % {"count": len(missing), "kinds": "、".join(kind for kind, _data in missing)})

    # -- list -----------------------------------------------------------------------------------
    def do_list(self, options):
        table = Table("id", _("种类"), _("文号"), _("标题"), _("日期"), _("核验码"), "sha256", _("核验网址"))
        documents = Document.objects.all()
        for d in documents:
            table.add_row(T(d.pk), T(d.kind), T(d.number or "—"), T(d.title), T(d.issued_on), T(d.display_code),
                          T(d.sha256[:12]), T(service.verification_url(d.code)))
        self.out(ngettext("%(slug)s 已印发公文 %(count)d 份",
                          "%(slug)s 已印发公文 %(count)d 份", documents.count())
                 % {"slug": self.county.slug, "count": documents.count()})
        self.console.print(table)

    # -- texts ----------------------------------------------------------------------------------
    def do_texts(self, options):
        pack, mine = county_pack(), overrides()
        self.out(_("%(slug)s 的公文文字（规则包 %(pack)s；* 为本县自行设置）") % {"slug": self.county.slug, "pack": pack.key})
        table = Table(_("代码"), _("标题"), _("发文机关"), _("文号前缀"), _("抬头"), _("结束语"), _("署名"), _("抄送"))
        for d in pack.documents:
            text, o = document_text(d.code, pack=pack), mine.get(d.code)

            def mark(field, value, o=o):
                return T(f"{value}{' *' if o is not None and getattr(o, field) is not None else ''}")
            table.add_row(T(d.code), mark("title", text.title), mark("issuing_office", text.issuing_office),
                          T(text.number_prefix or "—"), mark("heading", text.heading or "—"),
                          mark("closing", text.closing or "—"),
                          mark("signature_lines", "、".join(text.signature_lines) or "—"),
                          mark("copy_to", "、".join(text.copy_to) or "—"))
        self.console.print(table)

    def do_set_text(self, options):
        actor = self._actor(options["actor"])
        changes = {name: options[name] for name in FIELDS if options.get(name) is not None}
        do_set_document_text(options["code"], actor=actor, reset=options["reset"] or (), **changes)
        text = document_text(options["code"])
        self.out(_("%(code)s：标题 %(title)s；发文机关 %(office)s；结束语 %(closing)s；抄送 %(copy_to)s")
                 % {"code": options["code"], "title": text.title, "office": text.issuing_office,
                    "closing": text.closing or "—", "copy_to": "、".join(text.copy_to) or "—"})
