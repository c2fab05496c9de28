"""Forms of the matter pages. They only parse and type-check input (in Chinese); the rules of
the workflow stay in ``duban.matters.actions``, whose ``Invalid`` the views put back under the
field it names (``duban.web.shortcuts.add_error``, in the words of ``error_text``)."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import Role, User
from duban.core import clock
from duban.core.county import county_pack
from duban.documents.content import cn_date
from duban.matters import queries as matter_queries
from duban.matters.models import FEEDBACK_KINDS, ChangeRequest, Feedback, Matter, MatterUnit, Satisfaction
from duban.matters.states import LEADERS, UNDER_WAY, State
from duban.units.models import Unit

DATE_WIDGET = {"type": "date"}


def date_field(label, *, required: bool = False, help_text: str = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, help_text=help_text,
                           widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))


def text_area(label, *, required: bool = True, rows: int = 3, help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, required=required, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


def unit_choices(*, empty: str | None = None) -> list[tuple[str, str]]:
    units = [(u.code, f"{u.name}（{u.code}）") for u in Unit.objects.filter(is_active=True).order_by("kind", "code")]
    return ([("", empty)] + units) if empty is not None else units


def category_choices(pack, language: str, *, empty: str | None = None) -> list[tuple[str, str]]:
    choices = [(c.code, c.label.get(language)) for c in pack.scope]
    return ([("", empty)] + choices) if empty is not None else choices


class ActionForm(forms.Form):
    """A workflow action's form: every one carries the version of the matter the user saw."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, error_messages={
        "required": _("页面已过期，请刷新后重试"), "invalid": _("页面已过期，请刷新后重试")})

    def __init__(self, *args, matter=None, user=None, **kwargs):
        self.matter, self.user = matter, user
        super().__init__(*args, **kwargs)


# --- propose (提出督办事项) -------------------------------------------------------------------------
class ProposeForm(forms.Form):
    title = forms.CharField(label=_("事项名称"), max_length=200)
    content = text_area(_("事项内容"), rows=5)
    category = forms.ChoiceField(label=_("督办类别"))
    proposed_units = forms.MultipleChoiceField(label=_("建议责任单位"), required=False,
                                               widget=forms.CheckboxSelectMultiple)
    requested_deadline = date_field(_("要求完成时间"))
    source_reference = forms.CharField(label=_("来源（文号等）"), max_length=200, required=False)
    time_sensitive = forms.BooleanField(label=_("时效性强（随时检查）"), required=False)
    on_behalf_of = forms.ModelChoiceField(label=_("代领导提出"), queryset=User.objects.none(), required=False,
                                          empty_label=_("（本人提出）"),
                                          help_text=_("领导以纸质表格提出的事项，由督查督办人员代为录入"))

    def __init__(self, *args, user, pack, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(pack, language, empty=gettext("请选择"))
        self.fields["proposed_units"].choices = unit_choices()
        if user.role == Role.SUPERVISION_STAFF:
            self.fields["on_behalf_of"].queryset = User.objects.filter(role__in=LEADERS, is_active=True).order_by(
                "role", "username")
        else:
            del self.fields["on_behalf_of"]


# --- the workflow actions ------------------------------------------------------------------------
class RegisterForm(ActionForm):
    pass


class ApproveForm(ActionForm):
    comment = text_area(_("立项意见"), required=False, rows=2)


class RejectForm(ActionForm):
    comment = text_area(_("不予立项的理由"), rows=2)


class AssignForm(ActionForm):
    lead_unit = forms.ChoiceField(label=_("牵头单位"))
    co_units = forms.MultipleChoiceField(label=_("协办单位"), required=False, widget=forms.CheckboxSelectMultiple)
    requirements = text_area(_("办理要求"))
    deadline = date_field(_("办结日期"), help_text=_("办结日期与工作日数二选一"))
    deadline_working_days = forms.IntegerField(label=_("或：自今日起工作日数"), required=False, min_value=1,
                                               max_value=500)
    feedback_every_working_days = forms.IntegerField(label=_("反馈周期（工作日）"), required=False, min_value=1,
                                                     max_value=60, help_text=_("留空则不定期反馈"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].choices = unit_choices(empty=gettext("请选择牵头单位"))
        self.fields["co_units"].choices = unit_choices()
        if self.matter is not None and self.matter.requested_deadline:
            self.fields["deadline"].help_text = gettext("领导要求%(date)s前完成；办结日期与工作日数二选一") % {
                "date": cn_date(self.matter.requested_deadline)}
        if self.matter is not None and self.initial.get("co_units"):
            self.fields["co_units"].help_text = gettext("已按领导建议的责任单位预选，可调整")

    def clean(self):
        data = super().clean()
        if data.get("deadline") and data.get("deadline_working_days"):
            self.add_error("deadline", gettext("办结日期与工作日数只填一项"))
        return data


class SignForm(ActionForm):
    pass


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (``<input type=file multiple>``); cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def supporting_files() -> MultipleFileField:
    """The files a feedback or a result is reported with (附件), attached to it."""
    return MultipleFileField(label=_("附件"), required=False,
                             help_text=_("可选多个文件：PDF、Word、Excel、PowerPoint、图片（PNG/JPG）或文本文件"))


class FeedbackForm(ActionForm):
    kind = forms.ChoiceField(label=_("反馈形式"), choices=[(k.value, k.label) for k in FEEDBACK_KINDS],
                             initial=Feedback.Kind.WRITTEN)
    text = text_area(_("进展情况"), rows=4)
    files = supporting_files()


class ReportForm(ActionForm):
    text = text_area(_("办理结果"), rows=5)
    files = supporting_files()


class PartForm(ActionForm):
    text = text_area(_("承办部分办理情况"), rows=4, help_text=_("本单位承办部分完成后报送；逾期未报送的，按本单位承办部分督办"))
    files = supporting_files()


class AcceptForm(ActionForm):
    reasons = text_area(_("审核意见"), required=False, rows=2)
    satisfaction = forms.ChoiceField(label=_("代表委员对答复的意见"), required=False,
                                     choices=[("", "—"), *Satisfaction.choices],
                                     help_text=_("不满意的，事项重新办理并在规定期限内再次答复（仅一次）"))

    confirm_missing_parts = forms.BooleanField(label=_("确认办结"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        category = county_pack().category(self.matter.category) if self.matter is not None else None
        if getattr(category, "proposer_satisfaction", None) is None:
            del self.fields["satisfaction"]  # only deputies' suggestions and CPPCC proposals
        else:
            self.fields["satisfaction"].required = True
        not_signed, not_reported = matter_queries.missing_parts(self.matter) if self.matter is not None else ([], [])
        if not (not_signed or not_reported):
            del self.fields["confirm_missing_parts"]  # every co-operating unit has reported its part
            return
        parts = []
        if not_signed:
            parts.append(gettext("%(units)s未签收") % {"units": "、".join(u.name for u in not_signed)})
        if not_reported:
            parts.append(gettext("%(units)s未报送承办部分") % {"units": "、".join(u.name for u in not_reported)})
        self.fields["confirm_missing_parts"].label = gettext("协办单位%(parts)s，仍确认办结") % {"parts": "，".join(parts)}
        self.fields["confirm_missing_parts"].help_text = gettext("办结后，办理过程中将记明这些单位未签收或未报送。")


class SendBackForm(ActionForm):
    reasons = text_area(_("退回理由"), rows=3)
    units = forms.MultipleChoiceField(label=_("退回涉及单位"), required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text=_("承办部分不合格的单位；不选则为牵头单位。复办按扣分规则计入所选单位"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        links = self.matter.units.all() if self.matter is not None else []
        self.fields["units"].choices = [(link.unit.code, f"{link.unit.name}（{link.get_role_display()}）") for link in links]


class ExtensionForm(ActionForm):
    new_deadline = date_field(_("申请延期至"), required=True)
    reason = text_area(_("延期理由"))


class ChangeForm(ActionForm):
    kind = forms.ChoiceField(label=_("申请类别"), choices=[
        (ChangeRequest.Kind.ADJUSTMENT, _("调整")), (ChangeRequest.Kind.CANCELLATION, _("取消"))])
    reason = text_area(_("申请理由"), help_text=_("调整时，在下面填写要改的内容；取消时不必填写"))
    title = forms.CharField(label=_("名称改为"), max_length=200, required=False)
    content = text_area(_("内容改为"), required=False)
    requirements = text_area(_("要求改为"), required=False)
    deadline = date_field(_("时限改为"))
    lead_unit = forms.ChoiceField(label=_("牵头改为"), required=False)
    co_units = forms.MultipleChoiceField(label=_("增加协办"), required=False,
                                         widget=forms.CheckboxSelectMultiple)

    CHANGE_FIELDS = ("title", "content", "requirements", "deadline", "lead_unit", "co_units")
    # Shown folded under this summary (opened when one of them has an error).
    more_fields = CHANGE_FIELDS
    more_label = _("调整内容（申请调整时填写）")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].choices = unit_choices(empty=gettext("（不变）"))
        self.fields["co_units"].choices = unit_choices()

    def changes(self) -> dict:
        data = self.cleaned_data
        if data.get("kind") != ChangeRequest.Kind.ADJUSTMENT:
            return {}
        changes = {}
        for name in self.CHANGE_FIELDS:
            value = data.get(name)
            if value:
                changes[name] = value.isoformat() if name == "deadline" else value
        return changes


class DecideForm(ActionForm):
    request = forms.IntegerField(widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(choices=[("1", _("批准")), ("0", _("驳回"))], coerce=lambda v: v == "1",
                                     widget=forms.HiddenInput)
    note = text_area(_("审批意见"), required=False, rows=2)

    def clean_request(self):
        request_id = self.cleaned_data["request"]
        request = self.matter.change_requests.filter(pk=request_id).first() if self.matter else None
        if request is None:
            raise forms.ValidationError(gettext("该事项没有这项申请"))
        if request.status != ChangeRequest.Status.PENDING:
            raise forms.ValidationError(gettext("这项申请已审批（%(status)s）") % {"status": request.get_status_display()})
        return request_id


class AttachForm(ActionForm):
    file = forms.FileField(label=_("附件"), help_text=_("PDF、Word、Excel、PowerPoint、图片（PNG/JPG）或文本文件"))


# --- the matter list's filters --------------------------------------------------------------------
class MatterFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("编号、名称、内容或单位名称")}))
    state = forms.ChoiceField(label=_("状态"), required=False)
    category = forms.ChoiceField(label=_("督办类别"), required=False)
    unit = forms.ChoiceField(label=_("承办单位"), required=False)
    deadline_after = date_field(_("办结时限自"))
    deadline_before = date_field(_("办结时限至"))
    overdue = forms.BooleanField(label=_("只看逾期"), required=False)

    def __init__(self, *args, pack, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", gettext("全部状态"))] + [(v, str(label)) for v, label in State.choices]
        self.fields["category"].choices = category_choices(pack, language, empty=gettext("全部类别"))
        self.fields["unit"].choices = [("", gettext("全部单位"))] + [
            (u.code, u.name) for u in Unit.objects.order_by("kind", "code")]

    def filter(self, queryset):
        """``queryset`` narrowed by every valid filter (an invalid one is shown and ignored)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        if data.get("state"):
            queryset = queryset.filter(state=data["state"])
        if data.get("category"):
            queryset = queryset.filter(category=data["category"])
        if data.get("unit"):
            queryset = queryset.filter(units__unit__code=data["unit"]).distinct()
        if data.get("deadline_after"):
            queryset = queryset.filter(deadline__gte=data["deadline_after"])
        if data.get("deadline_before"):
            queryset = queryset.filter(deadline__lte=data["deadline_before"])
        if data.get("overdue"):  # past the deadline and still under way (逾期)
            queryset = queryset.filter(state__in=UNDER_WAY, deadline__lt=clock.today())
        if data.get("q"):
            q = data["q"].strip()
            # By unit name too: the units it is assigned to (lead or co-operating) or proposed for.
            by_unit = Q(pk__in=MatterUnit.objects.filter(unit__name__icontains=q).values("matter_id")) | Q(
                pk__in=Matter.proposed_units.through.objects.filter(unit__name__icontains=q).values("matter_id"))
            queryset = queryset.filter(Q(number__icontains=q) | Q(title__icontains=q) | Q(content__icontains=q)
                                       | by_unit)
        return queryset


# --- errors of the actions ----------------------------------------------------------------------
def error_text(message: str) -> str:
    """The actions' errors are Chinese msgids translated at raise time: shown as they are."""
    return message
