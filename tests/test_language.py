"""Every message that reaches a user is translatable, Chinese by default, and the English
catalogue follows.

Two halves. The source scan walks every module of platform/, api/, tenants/ and plugins/ and
checks the message of every error raised on purpose (the ``duban.core.errors`` family and its
subclasses, Django's and DRF's ``ValidationError``, ``PermissionDenied``, ``CommandError``, a
form's ``add_error``): it is a ``gettext`` call (or a variable built from one), never a bare
string, and its msgid is Chinese. The live half drives real errors through the web (a form
error) and the API (an error body) as a Chinese user — no English sentence in the answer — and
as an English user — the same error in English."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from conftest import api_key
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import make_cast

REPO = Path(__file__).resolve().parent.parent
ROOTS = [REPO / "platform", REPO / "api", REPO / "tenants", REPO / "plugins"]
PO_FILE = REPO / "platform" / "duban" / "locale" / "en" / "LC_MESSAGES" / "django.po"

# The errors whose message a user reads (web form, API body, CLI output); subclasses found in
# the source are added by the scan itself.
ERRORS = {"Invalid", "NotAllowed", "NotFound", "Conflict", "ValidationError", "CommandError",
          "PermissionDenied", "DubanError",
          # printed by `duban county backup|restore|archive` and `duban county create`
          "ProvisioningError", "BackupError",
          # a delivery's reason, recorded and shown to the office and the operator
          "Undeliverable",
          # shown by `duban rulepack check` and at start-up to the vendor of a rule pack
          "PackError", "PackUnavailable", "HookRaised",
          # tenants/backup.py's builder of "not a usable backup: <why>"
          "_bad",
          # an Excel import's problems, row by row and for the file (the CLI and the web preview)
          "RowError", "_file_error"}
# Where the message is not the first argument: PackError(pack, field, message), _bad(source, why),
# RowError(row, column, message).
MESSAGE_ARG = {"PackError": 2, "_bad": 1, "RowError": 2}
# Modules whose plain ValueError messages, or lines appended to an ``errors``/``problems`` list,
# are read by a user: a rule pack's validators (pydantic reports them to the vendor) and the
# vendor's conformance kit (plugins.testing: problems and AssertionError), a backup's
# manifest check (the operator reads why a backup is unusable) and the working calendar's CSV
# import (each bad row, printed by `duban calendar import`).
USER_VALUE_ERRORS = {"plugins/pack.py", "plugins/testing.py", "tenants/backup.py",
                     "platform/duban/matters/management/commands/calendar.py"}
REPORTED_LISTS = {"errors", "problems"}
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
           "_lazy", "gettext_noop"}
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0-9.]*[sdfr]")
PROSE = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,}")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{3,}( [A-Za-z]{2,}){2,}")


def _modules():
    for root in ROOTS:
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts or "__pycache__" in path.parts:
                continue
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _error_classes(trees) -> set[str]:
    """ERRORS and every class in the source that derives from one of them (to a fixed point)."""
    names = set(ERRORS)
    classes = [node for _path, tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    grown = True
    while grown:
        grown = False
        for node in classes:
            if node.name not in names and any(_name(base) in names for base in node.bases):
                names.add(node.name)
                grown = True
    return names


def _is_gettext(node) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in GETTEXT


def _msgids(node) -> list[str]:
    """The literal msgids of the gettext calls inside ``node``."""
    return [arg.value for call in ast.walk(node) if _is_gettext(call)
            for arg in call.args[:2] if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def _bare_text(node) -> bool:
    """Is ``node`` text a user would read untranslated: a string literal, an f-string, or text
    glued from them (``+``, ``%``, ``.format``, ``.join``) with no gettext call inside?"""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value.strip())
    if isinstance(node, ast.JoinedStr):
        return not any(_is_gettext(part) for part in ast.walk(node))
    if isinstance(node, ast.BinOp):
        return _bare_text(node.left) or (isinstance(node.op, ast.Add) and _bare_text(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"format", "join"}:
        return _bare_text(node.func.value) if node.func.attr == "format" else False
    return False


def _assignments(function, name: str):
    for node in ast.walk(function):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
                yield node.value


def _message_helpers(trees, errors: set[str]) -> dict[str, dict[str, int | None]]:
    """{function: {parameter: position}} of the module-level functions that put one of their
    parameters into the message of an error they raise — ``_staff_only(actor, what)`` raising
    ``NotAllowed(_("只有督查督办人员可以%(what)s。") % {"what": what})``: what their callers pass
    there is read by the user as much as the message itself."""
    helpers: dict[str, dict[str, int | None]] = {}
    for _path, tree in trees:
        for fn in tree.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            params = set(positional) | {a.arg for a in fn.args.kwonlyargs}
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and _name(node.func) in errors:
                    position = MESSAGE_ARG.get(_name(node.func), 0)
                    for message in node.args[position:position + 1]:
                        for used in {n.id for n in ast.walk(message) if isinstance(n, ast.Name)} & params:
                            helpers.setdefault(fn.name, {})[used] = (positional.index(used) if used in positional
                                                                     else None)
    return helpers


def _problems(path: Path, tree, errors: set[str], helpers: dict[str, dict[str, int | None]] | None = None) -> list[str]:
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def enclosing_function(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return tree

    def enclosing_class(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.ClassDef):
                return node.name
        return None

    found = []
    relative = path.relative_to(REPO).as_posix()
    user_value_errors = relative in USER_VALUE_ERRORS
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if (called == "__init__" and isinstance(node.func.value, ast.Call) and _name(node.func.value.func) == "super"
                and enclosing_class(node) in errors):  # an error class building its own message
            called = enclosing_class(node)
            messages = node.args[:1]
        elif called in errors:
            position = MESSAGE_ARG.get(called, 0)
            messages = (node.args[position:position + 1]
                        + [k.value for k in node.keywords if k.arg in {"message", "detail", "msg"}])
        elif called in {"ValueError", "AssertionError"} and user_value_errors:
            messages = node.args[:1]
        elif (called == "append" and user_value_errors and isinstance(node.func.value, ast.Name)
              and node.func.value.id in REPORTED_LISTS and node.args):
            messages = node.args[:1]
        elif called == "add_error" and len(node.args) >= 2:
            messages = node.args[1:2]
        elif helpers and called in helpers:  # the part of a message a helper takes from its caller
            # Codes (check("approve")) and paths are not prose: only words a user would read count.
            messages = [arg for name, position in helpers[called].items()
                        for arg in ([node.args[position]] if position is not None and position < len(node.args)
                                    else []) + [k.value for k in node.keywords if k.arg == name]
                        if _msgids(arg) or PROSE.search(" ".join(c.value for c in ast.walk(arg) if
                                                                 isinstance(c, ast.Constant) and isinstance(c.value, str)))]
        else:
            continue
        where = f"{relative}:{node.lineno}"
        for message in messages:
            candidates = [message]
            if isinstance(message, ast.Name):  # a variable: what was assigned to it in this function
                candidates = list(_assignments(enclosing_function(node), message.id)) or []
            for value in candidates:
                if _bare_text(value):
                    found.append(f"{where}: {called}({ast.unparse(value)[:90]}) is not translatable")
                for msgid in _msgids(value):
                    if not CJK.search(msgid) and re.search(r"[A-Za-z]", PLACEHOLDER.sub("", msgid)):
                        found.append(f"{where}: {called}(_({msgid[:80]!r})) is not a Chinese msgid")
    return found


def test_every_error_a_user_reads_is_a_chinese_msgid():
    trees = list(_modules())
    errors = _error_classes(trees)
    helpers = _message_helpers(trees, errors)
    problems = [problem for path, tree in trees for problem in _problems(path, tree, errors, helpers)]
    assert not problems, f"{len(problems)} messages are not Chinese msgids:\n" + "\n".join(problems)


def test_the_scan_catches_what_it_is_for():
    """The scan itself: a bare string, an f-string, a glued string, a variable holding one and an
    English msgid are caught; a Chinese msgid, formatted or held in a variable, passes."""
    source = '''
class Odd(Invalid):
    pass

def f(x):
    raise Invalid(f"the period ends ({x}) before it starts", field="period_end")

def g(x):
    raise Conflict("already " + x)

def h(x):
    message = f"no unit {x}"
    raise NotFound(message)

def i(x):
    raise Odd(_("unknown period %(x)s") % {"x": x})

def j(form, x):
    form.add_error("title", "title is required")

def ok(x):
    message = _("没有编号为%(code)s的单位。") % {"code": x}
    raise NotFound(message)

class Stale(Conflict):
    def __init__(self, x):
        super().__init__(f"cannot {x} now")

def ok2(x):
    raise Invalid(_("期间的结束日期（%(end)s）早于开始日期（%(start)s）。") % {"end": x, "start": x}, field="x")

def _only(actor, what):
    raise NotAllowed(_("只有督查督办人员可以%(what)s。") % {"what": what})

def k(actor):
    _only(actor, "record supervision steps")
    _only(actor, what=_("record steps"))
    _only(actor, _("记录督办措施"))
'''
    tree = ast.parse(source)
    errors = _error_classes([(None, tree)])
    problems = _problems(REPO / "x.py", tree, errors, _message_helpers([(None, tree)], errors))
    assert sorted(int(p.split(":")[1]) for p in problems) == [6, 9, 13, 16, 19, 27, 36, 37], problems


# --- live: the web and the API -------------------------------------------------------------------
@pytest.fixture
def english_catalogue():
    """`make` compiles the catalogue; a bare pytest run compiles it if it is stale."""
    mo = PO_FILE.with_suffix(".mo")
    if PO_FILE.exists() and (not mo.exists() or mo.stat().st_mtime < PO_FILE.stat().st_mtime):
        from django.core.management import call_command

        call_command("compilemessages", locale=["en"], verbosity=0)
    from django.utils.translation import trans_real

    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def _web(world, user, language=None) -> Client:
    client = Client(HTTP_HOST=world.owner.host)
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _api_post(world, user, path, data, language=None):
    headers = {"HTTP_HOST": world.owner.host, "HTTP_AUTHORIZATION": f"Token {api_key(user)}"}
    if language:
        headers["HTTP_ACCEPT_LANGUAGE"] = language
    return Client().post(f"/api/v1/{path}", data, content_type="application/json", **headers)


def _texts(body: dict) -> list[str]:
    error = body["error"]
    return [error["message"], *[text for texts in error.get("fields", {}).values() for text in texts]]


BACKWARDS = {"title": "第四季度通报", "period_start": "2026-12-10", "period_end": "2026-12-01"}


@pytest.mark.django_db
@pytest.mark.today("2026-12-21")
def test_a_form_error_reads_chinese_then_english(world, cast, english_catalogue):
    chinese = _web(world, cast.staff).post("/circulars/new/", BACKWARDS)
    assert chinese.status_code == 400
    errors = [str(e) for e in chinese.context["form"].errors["period_end"]]
    assert errors and all(CJK.search(e) and not ENGLISH_SENTENCE.search(e) for e in errors), errors
    assert "12月1日" in errors[0] and "12月10日" in errors[0]
    assert errors[0] in chinese.content.decode()

    english = _web(world, cast.staff, "en").post("/circulars/new/", BACKWARDS)
    errors = [str(e) for e in english.context["form"].errors["period_end"]]
    assert errors and not CJK.search(errors[0]) and ENGLISH_SENTENCE.search(errors[0]), errors


@pytest.mark.django_db
@pytest.mark.today("2026-12-21")
def test_an_api_error_detail_reads_chinese_then_english(world, cast, english_catalogue):
    chinese = _api_post(world, cast.staff, "circulars/", BACKWARDS)
    assert chinese.status_code == 400, chinese.content
    texts = _texts(chinese.json())
    assert list(chinese.json()["error"]["fields"]) == ["period_end"]
    assert all(CJK.search(t) and not ENGLISH_SENTENCE.search(t) for t in texts), texts

    english = _api_post(world, cast.staff, "circulars/", BACKWARDS, language="en")
    texts = _texts(english.json())
    assert all(not CJK.search(t) for t in texts) and ENGLISH_SENTENCE.search(texts[-1]), texts


def test_operator_and_vendor_errors_read_chinese_then_english(english_catalogue):
    """A rule pack's error (rulepack check, start-up) and a delivery's reason (the office's and
    operator's delivery list) follow the language: Chinese by default, English from the catalogue."""
    from django.utils import translation

    from duban.notifications.channels import EmailChannel, Undeliverable
    from plugins.pack import PackError, build_pack

    def pack_error():
        with pytest.raises(PackError) as excinfo:
            build_pack("not a pack", name="x_pack")
        return str(excinfo.value)

    def no_address():
        with pytest.raises(Undeliverable) as excinfo:
            EmailChannel().send(recipient={"email": ""}, subject="s", body="b", idempotency_key="k")
        return str(excinfo.value)

    with translation.override("zh-hans"):
        assert pack_error() == "规则包“x_pack”：规则包须声明为 dict 或 RulePack，不能是 str"
        assert no_address() == "收件人没有电子邮件地址。"
    with translation.override("en"):
        assert pack_error() == 'rule pack "x_pack": a rule pack is declared as a dict or RulePack, not str'
        assert no_address() == "The recipient has no email address."


@pytest.mark.django_db
@pytest.mark.today("2026-12-21")
def test_a_unit_is_named_by_its_name_not_its_code(world, cast):
    with tenant_context(world.alpha):
        from duban.supervision.actions import do_draft_circular

        draft = do_draft_circular(actor=cast.staff, title="第四季度通报", period_start=date(2026, 10, 1),
                                  period_end=date(2026, 12, 20))
    both = _api_post(world, cast.staff, f"circulars/{draft.pk}/lists/", {"praised": ["T01"], "criticised": ["T01"]})
    assert both.status_code == 400
    texts = _texts(both.json())
    assert any("一号镇" in t for t in texts) and not any("T01" in t for t in texts), texts
    assert all(not ENGLISH_SENTENCE.search(t) for t in texts), texts


# --- the office's words on clerk pages and documents ----------------------------------------------
BANNED = ["超期", "排查", "越过", "取值", "层级", "快照", "county_default", "==", "rule_code", "phone_urging"]
ZERO_PADDED = re.compile(r"(?<!\d)0\d月|月0\d日")
HALF_WIDTH_CLAUSE = re.compile(r"[一二三四五六七八九十]\([一二三四五六七八九十]+\)")
SUPERVISION_PAGES = ["/steps/", "/scores/", "/scores/D01/", "/ledger/", "/circulars/", "/reports/weekly/",
                     "/documents/", "/rulepack/", "/notifications/"]


def _visible_text(html: str) -> str:
    """The text a clerk reads: without tags, scripts and attribute values."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"(?s)<[^>]+>", " ", html)


def _phone_step_recorded(cast):
    from matter_helpers import to_state

    from duban.core.clock import as_of
    from duban.supervision.actions import do_record_manual_step

    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", on=date(2026, 11, 2), evidence={
        "contact": "王科长", "contacted_at": "2026-11-02T10:00", "promised_date": "2026-12-01"})
    return matter


@pytest.mark.django_db
@pytest.mark.today("2026-11-26")
def test_the_ledger_names_the_clause_not_the_rule_id(world, cast):
    with tenant_context(world.alpha):
        _phone_step_recorded(cast)
    page = _visible_text(_web(world, cast.office).get("/ledger/").content.decode())
    assert "六（二）电话或口头催办" in page
    assert "phone_urging" not in page and "county_default" not in page and "六(二)" not in page


@pytest.mark.django_db
@pytest.mark.today("2026-11-26")
def test_the_rule_pack_is_named_by_its_regulation_and_version_date(world, cast):
    text = _visible_text(_web(world, cast.lead_clerk).get("/rulepack/").content.decode())
    assert "依据《县政务督查督办工作方案》 · 2026年11月25日版" in text
    assert "1.0.0" not in text and "county_default" not in text
    assert not HALF_WIDTH_CLAUSE.search(text), HALF_WIDTH_CLAUSE.findall(text)[:5]


@pytest.mark.django_db
@pytest.mark.today("2026-11-26")
def test_clerk_pages_use_the_office_words(world, cast):
    with tenant_context(world.alpha):
        matter = _phone_step_recorded(cast)
    checked = 0
    for user in (cast.staff, cast.office, cast.lead_clerk):
        client = _web(world, user)
        for url in [*SUPERVISION_PAGES, "/", f"/matters/{matter.pk}/"]:
            response = client.get(url)
            if response.status_code != 200:
                continue
            checked += 1
            text = _visible_text(response.content.decode())
            found = [word for word in BANNED if word in text]
            assert not found, f"{url} as {user.username}: {found}"
            assert not ZERO_PADDED.search(text), f"{url}: {ZERO_PADDED.findall(text)[:3]}"
            assert not HALF_WIDTH_CLAUSE.search(text), f"{url}: {HALF_WIDTH_CLAUSE.findall(text)[:3]}"
    assert checked >= 25, checked


def test_no_msgid_uses_the_words_the_office_does_not():
    """Pages the walk above cannot reach (a bulk form after a POST, a rare refusal) still speak the
    office's words: no msgid of the catalogue — every translatable text of templates and code —
    carries a banned word."""
    msgids = re.findall(r'^msgid "(.*)"$', PO_FILE.read_text(encoding="utf-8"), re.M)
    words = [w for w in BANNED if re.search(r"[\u3400-\u9fff]", w)]
    found = [m for m in msgids if any(w in m for w in words)]
    assert not found, found


@pytest.mark.django_db
@pytest.mark.today("2026-11-26")
def test_county_models_have_chinese_names():
    from django.apps import apps

    english = [f"{m._meta.label}: {m._meta.verbose_name}" for m in apps.get_models()
               if m.__module__.startswith(("duban.", "tenants."))
               and not CJK.search(str(m._meta.verbose_name) + str(m._meta.verbose_name_plural))]
    assert not english, english


# --- the CLI's own output ------------------------------------------------------------------------
# What a management command prints for the operator: ``self.stdout.write`` / ``self.stderr.write``
# (or ``out.write`` holding one of them), ``console.print`` (a rich console), the command's
# ``self.out`` and ``self.style.SUCCESS/WARNING/ERROR/NOTICE``. Machine-readable output (JSON,
# CSV, a token) carries no English words and passes; so do data lines made only of values.
OUTPUT_MODULES = ("management/commands/", "platform/duban/core/commands.py")
WRITERS = {"stdout", "stderr", "out"}
STYLES = {"SUCCESS", "WARNING", "ERROR", "NOTICE", "ERROR_OUTPUT"}
RICH_MARKUP = re.compile(r"\[/?[a-z ]*\]")
FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
ENGLISH_WORD = re.compile(r"[A-Za-z]?[a-z]{2,}")  # a word; acronyms and units (KB, PDF) pass


def _output_message(node) -> list:
    """The text argument of an output call, or [] when ``node`` is not one."""
    func = node.func
    if not isinstance(func, ast.Attribute) or not node.args:
        return []
    receiver = func.value
    receiver_name = _name(receiver.func) if isinstance(receiver, ast.Call) else _name(receiver)
    if func.attr == "write" and receiver_name in WRITERS:
        return node.args[:1]
    if func.attr == "print" and receiver_name in {"console", "Console"}:
        return node.args[:1]
    if func.attr == "out" and receiver_name == "self":
        return node.args[:1]
    if func.attr in STYLES and receiver_name == "style":
        return node.args[:1]
    return []


def _shown_text(node, function, depth=0):
    """The literal text of ``node`` a reader sees untranslated: string constants and f-string
    parts, through ``+``, the left of ``%``, ``x if c else y``, ``a or b``, ``.format`` and a
    variable assigned in the same function — not inside gettext calls (their msgids are checked
    apart), nor the values formatted in (slugs, paths, numbers)."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.JoinedStr):
        texts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                texts.append(part.value)
            elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) and depth == 0:
                for value in _assignments(function, part.value.id):
                    texts += _shown_text(value, function, depth + 1)
        return texts
    if isinstance(node, ast.BinOp):
        right = _shown_text(node.right, function, depth) if isinstance(node.op, ast.Add) else []
        return _shown_text(node.left, function, depth) + right
    if isinstance(node, ast.IfExp):
        return _shown_text(node.body, function, depth) + _shown_text(node.orelse, function, depth)
    if isinstance(node, ast.BoolOp):
        return [t for value in node.values for t in _shown_text(value, function, depth)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return [t for value in [node.func.value, *node.args] for t in _shown_text(value, function, depth)]
    if isinstance(node, ast.Name) and depth == 0:
        return [t for value in _assignments(function, node.id) for t in _shown_text(value, function, depth + 1)]
    return []


def _output_problems(path: Path, tree) -> list[str]:
    relative = path.relative_to(REPO).as_posix()
    if not any(part in relative for part in OUTPUT_MODULES):
        return []
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = []
    for function in functions or [tree]:
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            for message in _output_message(node):
                where = f"{relative}:{node.lineno}"
                for text in _shown_text(message, function):
                    bare = FORMAT_FIELD.sub("", RICH_MARKUP.sub("", text))
                    if ENGLISH_WORD.search(bare):
                        found.append(f"{where}: {ast.unparse(message)[:90]} prints {text.strip()[:60]!r} untranslated")
                for msgid in _msgids(message):
                    if not CJK.search(msgid) and re.search(r"[A-Za-z]", PLACEHOLDER.sub("", msgid)):
                        found.append(f"{where}: _({msgid[:80]!r}) is not a Chinese msgid")
    return sorted(set(found))


def test_what_a_command_prints_is_a_chinese_msgid():
    problems = [problem for path, tree in _modules() for problem in _output_problems(path, tree)]
    assert not problems, f"{len(problems)} lines of command output are not Chinese msgids:\n" + "\n".join(problems)


def test_the_output_scan_catches_what_it_is_for():
    """An English literal, f-string, glued string or variable printed by a command is caught, as
    is an English msgid; a Chinese msgid, values formatted in and rich markup pass."""
    source = '''
class Command(BaseCommand):
    def a(self, county):
        self.stdout.write(self.style.SUCCESS(f"Resumed {county.slug}."))

    def b(self, n):
        self.console.print("source: " + n)

    def c(self, ok):
        word = "a workday" if ok else "a holiday"
        self.stdout.write(f"{n}: now {word}")

    def d(self, n):
        self.out(_("%(n)d matters") % {"n": n})

    def ok(self, county, user, key):
        self.stdout.write(self.style.SUCCESS(_("已恢复%(county)s（%(slug)s）。") % {"county": county.name,
                                                                               "slug": county.slug}))
        self.stdout.write(f"  {user.username:<8} {user.role}（{user.full_name}）")
        self.stdout.write(key)
        self.console.print("[green]✓[/] " + _("%(pack)s：符合性检查全部通过") % {"pack": key})
'''
    tree = ast.parse(source)
    problems = _output_problems(REPO / "tenants" / "management" / "commands" / "x.py", tree)
    assert sorted({int(p.split(":")[1]) for p in problems}) == [4, 7, 11, 14], problems
