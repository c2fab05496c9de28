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

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context
from rich.console import Console
from rich.table import Table
from rich.text import Text

from duban.accounts.models import Role, User
from duban.core import clock
from duban.core.commands import action_errors, year_option
from duban.core.county import county_pack
from duban.documents import fonts
from tenants.models import County

KINDS = ("collection_form", "assignment_notice", "supervision_notice", "weekly_report", "circular",
         "annual_assessment")


def T(value) -> Text:  # noqa: N802 — table cells as plain text
    return Text("" if value is None else str(value))


class Command(BaseCommand):
    help = "Official documents of a county: sample files of every kind, the register, the texts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{fonts,measure,sample,list,texts,set-text}")

        def command(name, help_text):
            p = sub.add_parser(name, help=help_text)
            p.add_argument("--county", required=True, help="the county's slug")
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
        if options["action"] == "fonts":
            return self.do_fonts()
        if options["action"] == "measure":
            return self.do_measure(options["files"])
        county = County.objects.filter(slug=options["county"]).first()
        if county is None:
            known = ", ".join(County.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"no county with slug {options['county']!r} (counties: {known})")
        self.county = county
        self.console = Console(file=self.stdout, width=200, highlight=False, soft_wrap=True)
        with tenant_context(county):
            with action_errors():
                getattr(self, f"do_{options['action'].replace('-', '_')}")(options)

    def do_fonts(self) -> None:
        try:
            found = fonts.ensure_fonts()
        except fonts.FontsMissing as error:
            raise CommandError(str(error)) from None
        for face, path in found.items():
            self.stdout.write(f"{face.family:<12} {face.weight:<7} {face.source_family:<18} {path} "
                              f"({path.stat().st_size // 1024} KB)")

    def do_measure(self, files: list[str]) -> None:
        try:
            from duban.documents.measure import STANDARD, measure  # pdfplumber: a development dependency
        except ImportError as error:
            raise CommandError(f"measuring needs pdfplumber (pip install pdfplumber): {error}") from None
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            m = measure(path.read_bytes())
            self.stdout.write(f"{path.name}: {m.pages} page(s), { {'bulletin': '简报', 'table': '表格', 'letter': '信函格式'}.get(m.layout, '文件格式') }")
            for key in ("chars_per_line", "lines_per_page", "line_pitch_mm", "left_margin_mm", "first_line_mm",
                        "office_top_mm", "red_rule_gap_mm", "office_from_edge_mm", "letter_rule_gap_mm",
                        "letter_foot_mm", "title_gap_lines", "record_bottom_mm"):
                value, want = getattr(m, key), STANDARD.get(key)
                if value is None:
                    verdict = "— (not in this layout)"
                elif isinstance(want, tuple):
                    verdict = "ok" if want[0] <= value <= want[1] else f"outside {want[0]}–{want[1]}"
                elif want is not None:
                    verdict = "ok" if value == want else f"standard {want}"
                else:
                    verdict = ""
                self.stdout.write(f"  {key:<16} {'' if value is None else value!s:>6}  {verdict}")

    def out(self, text: str = "") -> None:
        self.console.print(Text(text))

    def _actor(self, username: str | None, roles=(Role.SUPERVISION_STAFF,)) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"--actor: no active user {username!r} in {self.county.slug}")
            return user
        user = User.objects.filter(role__in=roles, is_active=True).order_by("id").first()
        if user is None:
            raise CommandError(f"{self.county.slug} has no active supervision staff to print as; give --actor")
        return user

    # -- sample ---------------------------------------------------------------------------------
    def do_sample(self, options):
        from duban.documents import builders, service
        from duban.documents.excel import register_book_xlsx
        from duban.matters.models import CollectionRound, Matter
        from duban.reports.models import WeeklyReport
        from duban.supervision.models import Circular, EscalationStep

        out = Path(options["out"])
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"--out: cannot create {out}: {exc.strerror}") from None
        actor = self._actor(options.get("actor"))
        year = options.get("year") or clock.today().year
        written, missing = [], []

        def write(name: str, data: bytes) -> Path:
            path = out / name
            path.write_bytes(data)
            return path

        def save(kind: str, document, note: str = ""):
            paths = [write(f"{kind}.pdf", service.pdf_bytes(document))]
            if kind in service.WORD_KINDS:
                paths.append(write(f"{kind}.docx", service.docx_bytes(document)))
            if kind == "annual_assessment":
                paths.append(write(f"{kind}.xlsx", service.xlsx_bytes(document)))
            written.append((kind, document.number or document.title, document.display_code, paths, note))

        # 《需要督办事项》: the latest collection round's form, else the blank form.
        round_ = CollectionRound.objects.order_by("-opened_at", "-id").first()
        if round_ is not None:
            save("collection_form", service.collection_form_document(round_, actor=actor), f"round “{round_.title}”")
        else:
            content = builders.collection_form(None)
            path = write("collection_form.pdf", service.preview_pdf({**content, "draft": False}))
            from duban.documents.word import render_docx

            docx = write("collection_form.docx", render_docx(service.with_plugin_context("collection_form", content),
                                                             None))
            written.append(("collection_form", content["title"], "—", [path, docx],
                            "no collection round in this county: the blank form (not numbered)"))
        matter = (Matter.objects.filter(notices__kind="assignment_notice").exclude(state="cancelled")
                  .order_by("-assigned_at", "-id").first())
        if matter is not None:
            save("assignment_notice", service.assignment_notice_document(matter, actor=actor), matter.number)
        else:
            missing.append(("assignment_notice", "no matter has been assigned yet"))
        step = (EscalationStep.objects.filter(notice__isnull=False, notice__kind="supervision_notice")
                .order_by("-recorded_on", "-id").first())
        if step is not None:
            save("supervision_notice", service.supervision_notice_document(step, actor=actor), step.matter.number)
        else:
            missing.append(("supervision_notice", "no written-notice step has been recorded "
                                                  "(duban supervision … / POST /api/v1/steps/)"))
        report = WeeklyReport.objects.filter(status=WeeklyReport.Status.ISSUED).order_by("-issued_at").first()
        if report is not None:
            save("weekly_report", report.documents.first(), f"{report.period_start}..{report.period_end}")
        else:
            draft = WeeklyReport.objects.filter(status=WeeklyReport.Status.DRAFT).first()
            missing.append(("weekly_report", f"no issued weekly report: draft #{draft.pk} waits "
                                             f"(duban report weekly issue --county {self.county.slug})" if draft else
                            f"no weekly report yet (duban report weekly draft --county {self.county.slug})"))
        circular = Circular.objects.filter(status=Circular.Status.PUBLISHED).order_by("-published_at").first()
        if circular is not None:
            save("circular", service.circular_document(circular, actor=actor), circular.title)
        else:
            missing.append(("circular", "no circular has been published (duban supervision circular …)"))
        save("annual_assessment", service.annual_assessment_document(year, actor=actor), str(year))
        register = write("register_book.xlsx", register_book_xlsx())

        self.out(f"{self.county.name} ({self.county.slug}) → {out}")
        for kind, number, code, paths, note in written:
            self.out(f"  {kind:<19} {number}  核验码 {code}" + (f"  ({note})" if note else ""))
            for path in paths:
                self.out(f"      {path}")
        self.out(f"  {'register_book':<19} 督办事项登记簿")
        self.out(f"      {register}")
        if missing:
            for kind, reason in missing:
                self.stderr.write(f"  {kind}: not written — {reason}")
            raise CommandError(f"no data for {len(missing)} kind(s): {', '.join(kind for kind, _ in missing)}")

    # -- list -----------------------------------------------------------------------------------
    def do_list(self, options):
        from duban.documents.models import Document
        from duban.documents.service import verification_url

        table = Table("id", "kind", "number", "title", "date", "code", "sha256", "verify")
        documents = Document.objects.all()
        for d in documents:
            table.add_row(T(d.pk), T(d.kind), T(d.number or "—"), T(d.title), T(d.issued_on), T(d.display_code),
                          T(d.sha256[:12]), T(verification_url(d.code)))
        self.out(f"{documents.count()} document(s) issued in {self.county.slug}")
        self.console.print(table)

    # -- texts ----------------------------------------------------------------------------------
    def do_texts(self, options):
        from duban.documents.texts import document_text, overrides

        pack, mine = county_pack(), overrides()
        self.out(f"document texts of {self.county.slug} (pack {pack.key}; * = the county's own)")
        table = Table("code", "title", "issuing office", "prefix", "heading", "closing", "signature", "copy to")
        for d in pack.documents:
            text, o = document_text(d.code, pack=pack), mine.get(d.code)

            def mark(field, value):
                return T(f"{value}{' *' if o is not None and getattr(o, field) is not None else ''}")
            table.add_row(T(d.code), mark("title", text.title), mark("issuing_office", text.issuing_office),
                          T(text.number_prefix or "—"), mark("heading", text.heading or "—"),
                          mark("closing", text.closing or "—"),
                          mark("signature_lines", "、".join(text.signature_lines) or "—"),
                          mark("copy_to", "、".join(text.copy_to) or "—"))
        self.console.print(table)

    def do_set_text(self, options):
        from duban.documents.texts import FIELDS, do_set_document_text, document_text

        actor = self._actor(options["actor"])
        changes = {name: options[name] for name in FIELDS if options.get(name) is not None}
        do_set_document_text(options["code"], actor=actor, reset=options["reset"] or (), **changes)
        text = document_text(options["code"])
        self.out(f"{options['code']}: title {text.title}; issuing office {text.issuing_office}; "
                 f"closing {text.closing or '—'}; copy to {'、'.join(text.copy_to) or '—'}")
