"""What a rule pack declares, as validated, typed models (pydantic).

A pack is data first: scope categories, escalation tiers, the deduction schedule, the calendar
and document texts. Code hooks (see ``plugins.hookspecs``) cover what data cannot say.
Every number the core uses — base points, floor, deductions, thresholds, tier triggers, the
inspection window — comes from here, never from a constant in the core.

Validation errors name the pack and the field (``PackError``); list items are named by their
``code`` where they have one, e.g. ``schedule.events[redo].amount``.
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import AppRegistryNotReady
from django.utils.translation import gettext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CODE_RE = r"^[a-z][a-z0-9_]{0,49}$"
# Events the core itself posts (besides each tier's deduction_event): a matter sent back for a
# redo, and a unit criticised in a published circular. Every schedule declares them.
CORE_EVENTS = ("redo", "criticism_circular")
NAME_RE = r"^[a-z][a-z0-9_]{1,49}$"
VERSION_RE = r"^\d+(\.\d+){0,3}([a-z]+\d*)?$"


def _(message: str) -> str:
    """gettext — or the Chinese msgid itself where Django is not set up (a vendor's own pack tests
    may run without settings, and packs load while the app registry is still filling)."""
    if not settings.configured:
        return message
    try:
        return gettext(message)
    except AppRegistryNotReady:
        return message


class PackError(ValueError):
    """A pack failed to load or validate. ``field`` is a dotted path into the pack."""

    def __init__(self, pack: str, field: str, message: str):
        self.pack, self.field, self.message = pack, field, message
        super().__init__(_("规则包“%(pack)s”：%(field)s：%(message)s") % {"pack": pack, "field": field, "message": message}
                         if field else _("规则包“%(pack)s”：%(message)s") % {"pack": pack, "message": message})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Labels(_Model):
    """A text in Simplified Chinese (required) and English (optional, falls back to Chinese)."""

    zh: str = Field(alias="zh-hans", min_length=1)
    en: str = ""

    @field_validator("zh")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("中文（zh-hans）名称为空"))
        return value.strip()

    def get(self, language: str = "zh-hans") -> str:
        return self.en if language.startswith("en") and self.en else self.zh

    def __str__(self) -> str:
        return self.zh


def _labels(value: Any) -> Any:
    if isinstance(value, str):
        return {"zh-hans": value}
    return value


# --- scope ---------------------------------------------------------------------------------
class StatutoryClock(_Model):
    """A legal answer period, e.g. deputies' suggestions and CPPCC proposals: three months."""

    months: int | None = Field(default=None, ge=1, le=24)
    working_days: int | None = Field(default=None, ge=1, le=500)
    basis: str = ""

    @model_validator(mode="after")
    def _one_length(self):
        if (self.months is None) == (self.working_days is None):
            raise ValueError(_("months 和 working_days 须给出且只给出其中一个"))
        return self


class ProposerSatisfaction(_Model):
    """Matters that answer a proposer (人大代表建议、政协委员提案) close with the proposer's view of
    the reply — 满意 / 基本满意 / 不满意 — recorded by the office leader with the review; 不满意
    reopens the matter once for a second reply within ``second_reply_working_days``."""

    second_reply_working_days: int = Field(ge=1, le=250)
    pack_choice: bool = False
    clause: str = ""


class ScopeCategory(_Model):
    code: str = Field(pattern=CODE_RE)
    label: Labels
    description: str = ""
    clause: str = ""
    statutory_clock: StatutoryClock | None = None
    proposer_satisfaction: ProposerSatisfaction | None = None
    default_deadline_working_days: int | None = Field(default=None, ge=1, le=500)

    coerce_labels = field_validator("label", mode="before")(_labels)


# --- escalation ladder -----------------------------------------------------------------------
class EvidenceField(_Model):
    code: str = Field(pattern=CODE_RE)
    label: Labels
    kind: Literal["text", "date", "datetime", "person", "unit", "file", "number"] = "text"
    required: bool = True
    help: str = ""

    coerce_labels = field_validator("label", mode="before")(_labels)


# What a tier answers (四(一): the ladder is for 在规定期限内未能完成的):
#   deadline_missed  — the matter's deadline passed and it is not done;
#   feedback_overdue — the periodic progress feedback is late (the deadline may not have passed);
#   check_due        — a time-sensitive matter (时效性强) went unchecked for the pack's cadence.
TriggerKind = Literal["deadline_missed", "feedback_overdue", "check_due"]
TRIGGER_KINDS: tuple[str, ...] = ("deadline_missed", "feedback_overdue", "check_due")


class Trigger(_Model):
    """When a tier falls due for a matter that is still not done.

    ``deadline_passed``: on the N-th working day after the day the matter fell behind (its
    deadline; 0 or 1 = the first working day after it). ``since_previous_tier``: N working days
    after the previous tier was recorded with no sufficient progress since. A step never falls
    due on a non-working day of the county's calendar.

    ``answers``: what the tier escalates (``TriggerKind``); a late feedback or a due check that
    no tier answers gets a reminder (催报) and a warning light, never a step.
    """

    basis: Literal["deadline_passed", "since_previous_tier"]
    working_days: int = Field(ge=0, le=250)
    answers: tuple[TriggerKind, ...] = ("deadline_missed",)
    pack_choice: bool = False  # True where the seed leaves the duration open

    @model_validator(mode="after")
    def _answers(self):
        if not self.answers:
            raise ValueError(_("%(field)s: 至少列出 %(kinds)s 中的一种")
                             % {"field": "answers", "kinds": "、".join(TRIGGER_KINDS)})
        _unique(list(self.answers), "answers")
        return self


class Tier(_Model):
    code: str = Field(pattern=CODE_RE)
    label: Labels
    clause: str = ""
    description: str = ""
    trigger: Trigger
    evidence: tuple[EvidenceField, ...] = ()
    document: str | None = None  # a document code (the notice it produces)
    mode: Literal["manual", "automatic"] = "manual"
    skippable: bool = False
    deduction_event: str | None = None  # a schedule event code posted when recorded
    reply_deadline_working_days: int | None = Field(default=None, ge=1, le=100)
    # An evidence field (kind date) holding the date the unit promised (四(一) 明确完成时限): the
    # next tier falls due on the first working day after it, and no later than the gap allows.
    promise_field: str | None = None

    coerce_labels = field_validator("label", mode="before")(_labels)

    @model_validator(mode="after")
    def _unique_evidence(self):
        _unique([e.code for e in self.evidence], "evidence")
        if self.promise_field is not None:
            field = next((e for e in self.evidence if e.code == self.promise_field), None)
            if field is None or field.kind != "date":
                raise ValueError(_("%(field)s: “%(code)s”不是日期类的证据字段")
                                 % {"field": "promise_field", "code": self.promise_field})
        return self


# --- deductions ------------------------------------------------------------------------------
Counting = Literal["per_occurrence", "once_per_matter_over_threshold", "per_occurrence_over_threshold"]


class DeductionRule(_Model):
    """One row of the deduction schedule.

    counting:
      * ``per_occurrence`` — every occurrence costs ``amount``;
      * ``once_per_matter_over_threshold`` — ``amount`` once per matter, when that matter's
        count of this event first exceeds ``threshold`` (the redo rule, default reading);
      * ``per_occurrence_over_threshold`` — ``amount`` for every occurrence beyond the
        ``threshold``-th on the same matter (the redo rule, other reading).
    """

    code: str = Field(pattern=CODE_RE)
    label: Labels
    clause: str = ""
    amount: Decimal = Field(ge=0, le=100, decimal_places=2)
    counting: Counting = "per_occurrence"
    threshold: int = Field(default=0, ge=0, le=100)
    bearer: Literal["addressed_unit", "lead_unit"] = "addressed_unit"
    note: str = ""

    coerce_labels = field_validator("label", mode="before")(_labels)

    @model_validator(mode="after")
    def _threshold_fits_counting(self):
        if self.counting == "per_occurrence" and self.threshold:
            raise ValueError(_("threshold 只适用于 *_over_threshold 计数方式"))
        if self.counting != "per_occurrence" and self.threshold < 1:
            raise ValueError(_("计数方式 %(counting)s 需要至少为1的 threshold") % {"counting": self.counting})
        return self


class ReversalKind(_Model):
    """A kind of correction of a ledger entry (冲正). ``withdraws_step``: the step behind the entry
    counts as never taken (recorded in error, 系误记): it is kept, marked withdrawn, and the ladder
    needs that tier again. Otherwise only the points are given back and the step stands."""

    code: str = Field(pattern=CODE_RE)
    label: Labels
    withdraws_step: bool
    clause: str = ""

    coerce_labels = field_validator("label", mode="before")(_labels)


DEFAULT_REVERSAL_KINDS = (
    {"code": "recorded_in_error", "label": {"zh-hans": "系误记", "en": "Recorded in error"}, "withdraws_step": True},
    {"code": "points_waived", "label": {"zh-hans": "情况说明属实，免予扣分", "en": "Explanation accepted, points waived"},
     "withdraws_step": False},
)


class Schedule(_Model):
    base: Decimal = Field(gt=0, le=100, decimal_places=2)
    floor: Decimal = Field(ge=0, le=100, decimal_places=2)
    # The assessment year of an event is the year of its date, counted from this month.
    year_starts_month: int = Field(default=1, ge=1, le=12)
    events: tuple[DeductionRule, ...] = Field(min_length=1)
    # The kinds of correction the office leader chooses from when reversing an entry; the first
    # is the default.
    reversal_kinds: tuple[ReversalKind, ...] = Field(default=DEFAULT_REVERSAL_KINDS, min_length=1, validate_default=True)
    clause: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        if self.floor > self.base:
            raise ValueError(_("floor %(floor)s 高于 base %(base)s") % {"floor": self.floor, "base": self.base})
        _unique([e.code for e in self.events], "events")
        _unique([k.code for k in self.reversal_kinds], "reversal_kinds")
        return self

    def rule(self, code: str) -> DeductionRule | None:
        return next((rule for rule in self.events if rule.code == code), None)

    def reversal_kind(self, code: str | None) -> ReversalKind | None:
        """The kind ``code``, or the first (default) kind for None."""
        if code is None:
            return self.reversal_kinds[0]
        return next((kind for kind in self.reversal_kinds if kind.code == code), None)

    def assessment_year(self, day: date) -> int:
        return day.year if day.month >= self.year_starts_month else day.year - 1


# --- calendar --------------------------------------------------------------------------------
class DayOverride(_Model):
    day: date
    workday: bool
    note: str = ""


class InspectionWindow(_Model):
    kind: Literal["last_weeks_of_quarter"] = "last_weeks_of_quarter"
    weeks: int = Field(ge=1, le=6)
    clause: str = ""


class WeeklyReport(_Model):
    weekday: int = Field(ge=1, le=7, description="ISO weekday, 1 = Monday")
    at: time
    clause: str = ""


class Warnings(_Model):
    yellow_working_days: int = Field(ge=0, le=60)
    pack_choice: bool = False


class CalendarSpec(_Model):
    holidays: Literal["chinese_calendar", "weekends_only"] = "chinese_calendar"
    overrides: tuple[DayOverride, ...] = ()
    inspection_window: InspectionWindow
    weekly_report: WeeklyReport
    warnings: Warnings
    time_sensitive_check_working_days: int = Field(default=2, ge=1, le=30)

    @model_validator(mode="after")
    def _unique_days(self):
        _unique([o.day.isoformat() for o in self.overrides], "overrides")
        return self


# --- documents -------------------------------------------------------------------------------
class DocumentText(_Model):
    code: str = Field(pattern=CODE_RE)
    title: str = Field(min_length=1)  # e.g. 督查督办通知单
    issuing_office: str = Field(min_length=1)  # 发文机关
    number_prefix: str = ""  # e.g. 政督 → X政督〔2026〕12号
    heading: str = ""
    closing: str = ""
    signature_lines: tuple[str, ...] = ()
    copy_to: tuple[str, ...] = ()
    # GB/T 9704-2012's head: 文件格式 ("file": the mark 35 mm into the text block, a red rule under the
    # number) or 信函格式 ("letter": the mark 30 mm from the page's edge, red double lines).
    format: Literal["file", "letter"] = "file"
    clause: str = ""


# --- circulars (通报, 五(三) 鼓励先进，批评后进) -----------------------------------------------------
class PraiseCriterion(_Model):
    """What a unit's record over a circular's period must show to be praised. ``None``: no limit."""

    min_closed_on_time: int = Field(default=1, ge=0, le=1000)
    max_closed_late: int | None = Field(default=0, ge=0, le=1000)
    max_overdue: int | None = Field(default=0, ge=0, le=1000)
    max_steps: int | None = Field(default=0, ge=0, le=1000)
    max_redos: int | None = Field(default=0, ge=0, le=1000)


SENTENCE_FIELDS = ("{unit}", "{facts}")


class CircularRules(_Model):
    """How a circular praises and criticises: the criterion for praise, whether criticism needs an
    adverse fact of the period, and the sentences, written from each unit's facts: ``{unit}`` is
    the unit's name, ``{facts}`` its record of the period (e.g. 承办督办事项3件，按期办结2件)."""

    praise: PraiseCriterion = PraiseCriterion()
    criticism_needs_fact: bool = True
    praise_sentence: str = "{unit}本期{facts}，予以通报表扬。"
    named_sentence: str = "{unit}本期{facts}，工作进展滞后，予以点名批评，请认真整改。"
    criticism_sentence: str = "{unit}本期{facts}，落实不力，予以全县通报批评，并按考核标准扣减年度考评分。"
    clause: str = ""

    @field_validator("praise_sentence", "named_sentence", "criticism_sentence")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        for needed in SENTENCE_FIELDS:
            if needed not in value:
                raise ValueError(_("句子中必须有 %(needed)s") % {"needed": needed})
        try:
            value.format(unit="", facts="")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(_("只能填入 {unit} 和 {facts}：%(error)s") % {"error": error}) from None
        return value


class Interpretation(_Model):
    """A reading of the source text that the pack commits to (and another pack may change)."""

    code: str = Field(pattern=CODE_RE)
    clause: str = ""
    text: Labels

    coerce_labels = field_validator("text", mode="before")(_labels)


# --- the pack --------------------------------------------------------------------------------
class RulePack(_Model):
    name: str = Field(pattern=NAME_RE)
    version: str = Field(pattern=VERSION_RE)
    title: Labels
    vendor: str = ""
    description: str = ""
    source: str = ""  # the document the rules come from
    issued: date | None = None  # the date of the version of that document the pack follows (版本日期)
    extends: str | None = None  # the pack this one was built on (informational once resolved)
    scope: tuple[ScopeCategory, ...] = Field(min_length=1)
    tiers: tuple[Tier, ...] = Field(min_length=1)
    schedule: Schedule
    calendar: CalendarSpec
    documents: tuple[DocumentText, ...] = ()
    circulars: CircularRules = CircularRules()
    interpretations: tuple[Interpretation, ...] = ()

    coerce_labels = field_validator("title", mode="before")(_labels)

    @model_validator(mode="after")
    def _cross_references(self):
        _unique([s.code for s in self.scope], "scope")
        _unique([t.code for t in self.tiers], "tiers")
        _unique([d.code for d in self.documents], "documents")
        _unique([i.code for i in self.interpretations], "interpretations")
        events = {e.code for e in self.schedule.events}
        missing = [code for code in CORE_EVENTS if code not in events]
        if missing:
            raise ValueError(_("%(field)s: 核心会记入 %(events)s 事件，须在其中声明（分值为0即不扣分）")
                             % {"field": "schedule.events", "events": "、".join(missing)})
        documents = {d.code for d in self.documents}
        for index, tier in enumerate(self.tiers):
            if tier.deduction_event and tier.deduction_event not in events:
                raise ValueError(_("%(field)s: 未知的事件代码“%(code)s”（扣分表中有 %(known)s）")
                                 % {"field": f"tiers[{tier.code}].deduction_event", "code": tier.deduction_event,
                                    "known": "、".join(sorted(events))})
            if tier.document and tier.document not in documents:
                raise ValueError(_("%(field)s: 未知的文书代码“%(code)s”")
                                 % {"field": f"tiers[{tier.code}].document", "code": tier.document})
            if index == 0 and tier.trigger.basis != "deadline_passed":
                raise ValueError(_("%(field)s: 第一级须以 deadline_passed 触发")
                                 % {"field": f"tiers[{tier.code}].trigger.basis"})
            if index and not set(tier.trigger.answers) <= set(self.tiers[0].trigger.answers):
                extra = sorted(set(tier.trigger.answers) - set(self.tiers[0].trigger.answers))
                raise ValueError(_("%(field)s: 第一级（%(first)s）不应对 %(extra)s，催办阶梯不会由此开始")
                                 % {"field": f"tiers[{tier.code}].trigger.answers", "first": self.tiers[0].code,
                                    "extra": "、".join(extra)})
        return self

    # -- lookups ------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"

    def tier(self, code: str) -> Tier | None:
        return next((tier for tier in self.tiers if tier.code == code), None)

    def tier_index(self, code: str) -> int:
        for index, tier in enumerate(self.tiers):
            if tier.code == code:
                return index
        raise KeyError(code)

    @property
    def escalated_triggers(self) -> tuple[str, ...]:
        """The trigger kinds that open the ladder (those its first tier answers)."""
        return tuple(kind for kind in TRIGGER_KINDS if kind in self.tiers[0].trigger.answers)

    def category(self, code: str) -> ScopeCategory | None:
        return next((c for c in self.scope if c.code == code), None)

    def document(self, code: str) -> DocumentText | None:
        return next((d for d in self.documents if d.code == code), None)

    def to_data(self) -> dict:
        """The pack as plain data (the shape a pack may be declared in)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def derive(self, **changes: Any) -> RulePack:
        """A new pack built on this one: ``changes`` override sections, lists merge by code."""
        return build_pack(merge(self.to_data(), {**changes, "extends": self.name}), name=changes.get("name", self.name))


def _unique(codes: list[str], what: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValueError(_("%(field)s: 代码“%(code)s”重复") % {"field": what, "code": code})
        seen.add(code)


# --- building and merging ----------------------------------------------------------------------
def merge(base: Any, override: Any) -> Any:
    """Deep-merge plain pack data: dicts merge by key; lists of dicts with ``code`` merge by
    code (an override item with ``"remove": true`` drops the base item); other values replace."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if (isinstance(base, list) and isinstance(override, list)
            and all(isinstance(i, dict) and "code" in i for i in base + override)):
        by_code = {item["code"]: item for item in base}
        order = [item["code"] for item in base]
        for item in override:
            code = item["code"]
            if item.get("remove"):
                by_code.pop(code, None)
                order = [c for c in order if c != code]
                continue
            if code in by_code:
                by_code[code] = merge(by_code[code], item)
            else:
                by_code[code] = item
                order.append(code)
        return [by_code[c] for c in order]
    return override


def _field_path(loc: tuple, data: Any) -> str:
    """('schedule', 'events', 2, 'amount') → 'schedule.events[redo].amount' (by code)."""
    path = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            code = None
            if isinstance(node, (list, tuple)) and 0 <= part < len(node) and isinstance(node[part], dict):
                code = node[part].get("code")
            path += f"[{code}]" if code else f"[{part}]"
            node = node[part] if isinstance(node, (list, tuple)) and 0 <= part < len(node) else None
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return path


_INNER_PATH = re.compile(r"^(?P<path>[a-z_]+(?:\[[^\]]+\])?(?:\.[a-z_]+)*): (?P<message>.*)$", re.S)


def _pydantic_message(error: dict) -> str | None:
    """pydantic's own checks (a missing or unknown key, a number out of range…) in Chinese; None
    for the rest (our validators' messages, already Chinese, and rare kinds kept as pydantic says)."""
    ctx, kind = error.get("ctx") or {}, error["type"]
    simple = {
        "missing": lambda: _("缺少此项"),
        "extra_forbidden": lambda: _("不允许有此项"),
        "greater_than_equal": lambda: _("应大于或等于 %(limit)s") % {"limit": ctx.get("ge")},
        "greater_than": lambda: _("应大于 %(limit)s") % {"limit": ctx.get("gt")},
        "less_than_equal": lambda: _("应小于或等于 %(limit)s") % {"limit": ctx.get("le")},
        "less_than": lambda: _("应小于 %(limit)s") % {"limit": ctx.get("lt")},
        "string_too_short": lambda: _("至少应有 %(limit)s 个字符") % {"limit": ctx.get("min_length")},
        "string_too_long": lambda: _("最多只能有 %(limit)s 个字符") % {"limit": ctx.get("max_length")},
        "string_pattern_mismatch": lambda: _("不符合格式 %(pattern)s") % {"pattern": ctx.get("pattern")},
        "literal_error": lambda: _("应为 %(expected)s 之一") % {"expected": ctx.get("expected")},
        "string_type": lambda: _("应为文字"),
        "int_parsing": lambda: _("应为整数"),
        "int_type": lambda: _("应为整数"),
        "decimal_parsing": lambda: _("应为数字"),
        "decimal_max_places": lambda: _("小数最多 %(limit)s 位") % {"limit": ctx.get("decimal_places")},
        "date_from_datetime_parsing": lambda: _("应为日期（YYYY-MM-DD）"),
        "bool_parsing": lambda: _("应为 true 或 false"),
    }
    return simple[kind]() if kind in simple else None


def build_pack(data: dict | RulePack, *, name: str | None = None) -> RulePack:
    """Validate pack data into a :class:`RulePack`; errors become :class:`PackError`."""
    if isinstance(data, RulePack):
        return data
    label = name or (data.get("name") if isinstance(data, dict) else None) or "?"
    if not isinstance(data, dict):
        raise PackError(label, "", _("规则包须声明为 dict 或 RulePack，不能是 %(type)s") % {"type": type(data).__name__})
    try:
        return RulePack.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = _field_path(tuple(error["loc"]), data)
        message = _pydantic_message(error) or error["msg"].removeprefix("Value error, ")
        inner = _INNER_PATH.match(message)
        if inner and error["type"] == "value_error":
            field = f"{field}.{inner['path']}" if field else inner["path"]
            message = inner["message"]
        more = len(exc.errors()) - 1
        if more:
            message += _("（另有%(count)d处问题）") % {"count": more}
        raise PackError(label, field, message) from None
