"""Forms of the supervision pages: they parse what people typed; the action functions decide.

The evidence form is generated from the county's rule pack (the tier's ``evidence`` fields), so a
vendor's pack with other fields gets its own form without a line of code here.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import BadRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from duban.core import clock
from duban.core.commands import YEAR_MAX, YEAR_MIN
from duban.notifications.channels import channel_default

EVIDENCE_PREFIX = "ev_"
TEXT_AREA = {"rows": 3}


def _required(label) -> dict:
    return {"required": _("请填写“%(label)s”。") % {"label": label}}


def _language() -> str:
    return translation.get_language() or "zh-hans"


class EvidenceForm(forms.Form):
    """The evidence a tier requires (``tier.evidence``), plus the day the step was taken."""

    on = forms.DateField(label=_("督办日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                         error_messages={"required": _("请填写督办日期。"), "invalid": _("请填写有效的日期。")})

    def __init__(self, tier, *args, units=(), **kwargs):
        kwargs.setdefault("initial", {}).setdefault("on", clock.today())
        super().__init__(*args, **kwargs)
        self.tier = tier
        language = _language()
        for spec in tier.evidence:
            label = spec.label.get(language)
            common = {"label": label, "required": spec.required, "help_text": spec.help,
                      "error_messages": {**_required(label), "invalid": _("“%(label)s”的格式不正确。") % {"label": label}}}
            if spec.kind == "date":
                field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
            elif spec.kind == "datetime":
                field = forms.DateTimeField(
                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"), **common)
            elif spec.kind == "number":
                field = forms.DecimalField(**common)
            elif spec.kind == "unit":
                field = forms.ChoiceField(choices=[("", "—")] + [(u.code, f"{u.name}（{u.code}）") for u in units],
                                          **common)
            elif spec.kind == "file":
                field = forms.FileField(**common)
            elif spec.kind == "person":
                field = forms.CharField(max_length=100, **common)
            else:
                field = forms.CharField(widget=forms.Textarea(attrs=TEXT_AREA), max_length=2000, **common)
            self.fields[EVIDENCE_PREFIX + spec.code] = field
        self.order_fields([*(EVIDENCE_PREFIX + spec.code for spec in tier.evidence), "on"])

    def clean_on(self):
        day = self.cleaned_data["on"]
        if day > clock.today():
            raise forms.ValidationError(_("督办日期不能晚于今天。"))
        return day

    def evidence(self) -> dict:
        """The typed evidence (files are attached by the view and named in their field)."""
        out = {}
        for spec in self.tier.evidence:
            if spec.kind == "file":
                continue
            value = self.cleaned_data.get(EVIDENCE_PREFIX + spec.code)
            if value in (None, ""):
                continue
            out[spec.code] = str(value) if spec.kind == "number" else value
        return out

    def uploads(self) -> list[tuple[str, object]]:
        return [(spec.code, self.cleaned_data[EVIDENCE_PREFIX + spec.code]) for spec in self.tier.evidence
                if spec.kind == "file" and self.cleaned_data.get(EVIDENCE_PREFIX + spec.code)]

    @staticmethod
    def field_for(error_field: str) -> str | None:
        """``evidence.contact`` (an action's error) → ``ev_contact`` (this form's field)."""
        if error_field.startswith("evidence."):
            return EVIDENCE_PREFIX + error_field.removeprefix("evidence.")
        return "on" if error_field == "on" else None


class StepChoiceForm(forms.Form):
    """Which unit of the matter and which tier staff start on their own initiative (a GET form:
    the evidence form that follows is the tier's)."""

    unit = forms.ChoiceField(label=_("责任单位"), error_messages={"required": _("请选择责任单位。"),
                                                               "invalid_choice": _("请选择本事项的承办单位。")})
    tier = forms.ChoiceField(label=_("督办方式"), error_messages={"required": _("请选择督办方式。"),
                                                              "invalid_choice": _("请选择规则包中的督办方式。")})

    def __init__(self, *args, units=(), tiers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "—"), *units]
        self.fields["tier"].choices = [("", "—"), *tiers]


class StepStartForm(EvidenceForm):
    """The tier's evidence form with the reason staff start the step (主动督办)."""

    reason = forms.CharField(label=_("主动督办理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=300,
                             error_messages={"required": _("请填写主动督办的理由。")})

    def __init__(self, tier, *args, **kwargs):
        super().__init__(tier, *args, **kwargs)
        self.order_fields(["reason", *(EVIDENCE_PREFIX + spec.code for spec in tier.evidence), "on"])

    @staticmethod
    def field_for(error_field: str) -> str | None:
        return "reason" if error_field == "reason" else EvidenceForm.field_for(error_field)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=300,
                             error_messages={"required": _("请填写理由。")})


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("专题答复"), widget=forms.Textarea(attrs={"rows": 8}), max_length=10000,
                           error_messages={"required": _("请填写专题答复内容。")})


class YearForm(forms.Form):
    """``?year=`` of the score pages and exports: this year when absent; a bad value is refused
    (a page for another year than the one asked for would mislead)."""

    year = forms.IntegerField(label=_("考核年度"), min_value=YEAR_MIN, max_value=YEAR_MAX, required=False,
                              error_messages={"invalid": _("考核年度应为2000至2100之间的年份。"),
                                              "min_value": _("考核年度应为2000至2100之间的年份。"),
                                              "max_value": _("考核年度应为2000至2100之间的年份。")})

    def chosen_year(self) -> int:
        """The year asked for, or this year; ``BadRequest`` (400) naming the field if it is not a year."""
        if self.is_bound and not self.is_valid():
            raise BadRequest("year: " + " ".join(self.errors["year"]))
        return (self.cleaned_data.get("year") if self.is_bound else None) or clock.today().year


class StepFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False)
    tier = forms.ChoiceField(label=_("督办方式"), required=False)
    unit = forms.ChoiceField(label=_("单位"), required=False)
    q = forms.CharField(label=_("事项"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("编号或名称")}))

    def __init__(self, *args, statuses=(), tiers=(), units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("全部"))] + list(statuses)
        self.fields["tier"].choices = [("", _("全部"))] + list(tiers)
        self.fields["unit"].choices = [("", _("全部"))] + [(u.code, u.name) for u in units]


class LedgerFilterForm(forms.Form):
    year = forms.IntegerField(label=_("考核年度"), min_value=2000, max_value=2100, required=False)
    unit = forms.ChoiceField(label=_("单位"), required=False)
    event = forms.ChoiceField(label=_("扣分事项"), required=False)

    def __init__(self, *args, units=(), events=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("全部"))] + [(u.code, u.name) for u in units]
        self.fields["event"].choices = [("", _("全部"))] + list(events)


class CircularDraftForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200, error_messages={"required": _("请填写标题。")})
    period_start = forms.DateField(label=_("起始日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                   error_messages={"required": _("请填写起始日期。")})
    period_end = forms.DateField(label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                 error_messages={"required": _("请填写截止日期。")})


class UnitsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class CircularListsForm(forms.Form):
    praised = UnitsField(label=_("表扬单位"), required=False)
    named = UnitsField(label=_("点名批评单位（不扣分）"), required=False)
    criticised = UnitsField(label=_("全县通报批评单位（扣分）"), required=False)
    body = forms.CharField(label=_("正文"), required=False, widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(u.code, u.name) for u in units]
        self.fields["praised"].choices = choices
        self.fields["named"].choices = choices
        self.fields["criticised"].choices = choices


class WeeklyReportForm(forms.Form):
    summary = forms.CharField(label=_("总体情况"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
    attention = forms.CharField(label=_("提请领导关注"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    named_units = UnitsField(label=_("涉及单位"), required=False)
    note = forms.CharField(label=_("修改说明"), required=False, max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["named_units"].choices = [(u.code, u.name) for u in units]


class VersionForm(forms.Form):
    """The version the page showed (optimistic locking); absent: the action does not check it."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class WeeklyReturnForm(forms.Form):
    reason = forms.CharField(label=_("审核意见（退回理由）"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    version = forms.IntegerField(widget=forms.HiddenInput)


class PreferencesForm(forms.Form):
    """One checkbox per event × channel (checked: send it on that channel too)."""

    def __init__(self, *args, events: dict, channels: dict, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.cells: dict[str, tuple[str, str]] = {}
        self.grid = []
        for event, event_label in events.items():
            row = []
            for code, channel in channels.items():
                name = f"{event.replace('.', '__')}--{code}"
                label = f"{event_label} · {getattr(channel, 'label', code)}"
                self.fields[name] = forms.BooleanField(label=label, required=False,
                                                       initial=current.get((event, code), channel_default(channel, event)),
                                                       widget=forms.CheckboxInput(attrs={"aria-label": label}))
                self.cells[name] = (event, code)
                row.append(name)
            self.grid.append((event, event_label, row))

    def rows(self):
        for event, label, names in self.grid:
            yield event, label, [self[name] for name in names]

    def changes(self, current: dict) -> list[tuple[str, str, bool]]:
        out = []
        for name, (event, channel) in self.cells.items():
            wanted = bool(self.cleaned_data.get(name))
            if wanted != current.get((event, channel), self.fields[name].initial):
                out.append((event, channel, wanted))
        return out
