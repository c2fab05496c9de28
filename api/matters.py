"""Matters, collection rounds and change requests: reads through the access helpers, writes as
POSTs to action endpoints that call ``duban.matters.actions``."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.parsers import MultiPartParser

from api import idempotency
from api.base import CountyViewSet, county_action
from api.files import PdfOrWordIn, document_of, file_response, file_responses, format_parameter
from api.paging import Cursor, Ordering
from duban.accounts.models import Role, User
from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.commands import YEAR_MAX, YEAR_MIN
from duban.core.errors import Invalid
from duban.matters import access, actions, queries
from duban.matters.documents import assignment_notice_document
from duban.matters.models import (
    FEEDBACK_KINDS,
    Attachment,
    ChangeRequest,
    CollectionRound,
    DeadlineChange,
    Feedback,
    Matter,
    MatterUnit,
    ResultReport,
    Review,
    Satisfaction,
)
from duban.matters.states import LEADERS, State

STAFF = (Role.SUPERVISION_STAFF,)
OFFICE = (Role.SUPERVISION_STAFF, Role.OFFICE_LEADER, Role.COUNTY_ADMIN)


# --- output serializers --------------------------------------------------------------------------
class PersonField(serializers.SlugRelatedField):
    """A person, by user name; null where nobody has (yet)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", "user name")
        super().__init__(slug_field="username", read_only=True, **kwargs)


class MatterUnitOut(serializers.ModelSerializer):
    code = serializers.CharField(source="unit.code")
    name = serializers.CharField(source="unit.name")

    class Meta:
        model = MatterUnit
        fields = ["code", "name", "role", "received_at", "part_reported_at"]


LIST_FIELDS = ("id", "number", "title", "category", "state", "time_sensitive", "source_reference",
               "proposed_by__username", "proposed_at", "requested_deadline", "assigned_on", "deadline",
               "deadline_working_days", "deadline_provisional", "feedback_due_on", "redo_count", "closed_at",
               "version")


class MatterListOut(serializers.ListSerializer):
    """Lists of matters, built from ``values()`` rows without DRF's per-field machinery (the matter
    list is the API's hottest read: ``bench/api.py``). Same keys and formats as ``MatterOut``
    field by field — ``tests/test_api.py::test_fast_matter_list_matches_the_serializer`` holds
    them together. Model instances are accepted too (slower)."""

    def to_representation(self, data):
        rows = [row if isinstance(row, dict) else _as_row(row)
                for row in (data.all() if hasattr(data, "all") else data)]
        tz = timezone.get_current_timezone()
        units: dict[int, list[dict]] = {}
        for matter_id, code, name, role, received_at, part_reported_at in (
                MatterUnit.objects.filter(matter_id__in=[r["id"] for r in rows]).order_by("-role", "id")
                .values_list("matter_id", "unit__code", "unit__name", "role", "received_at", "part_reported_at")):
            units.setdefault(matter_id, []).append({"code": code, "name": name, "role": role,
                                                    "received_at": _datetime(received_at, tz),
                                                    "part_reported_at": _datetime(part_reported_at, tz)})
        labels = {value: str(label) for value, label in State.choices}
        return [{
            "id": r["id"], "number": r["number"], "title": r["title"], "category": r["category"],
            "state": r["state"], "state_label": labels.get(r["state"], r["state"]),
            "time_sensitive": r["time_sensitive"], "source_reference": r["source_reference"],
            "proposed_by": r["proposed_by__username"], "proposed_at": _datetime(r["proposed_at"], tz),
            "requested_deadline": _date(r["requested_deadline"]), "assigned_on": _date(r["assigned_on"]),
            "deadline": _date(r["deadline"]), "deadline_working_days": r["deadline_working_days"],
            "deadline_provisional": r["deadline_provisional"], "feedback_due_on": _date(r["feedback_due_on"]),
            "redo_count": r["redo_count"], "closed_at": _datetime(r["closed_at"], tz), "units": units.get(r["id"], []),
            "version": r["version"],
        } for r in rows]


def _as_row(matter: Matter) -> dict:
    row = {name: getattr(matter, name) for name in LIST_FIELDS if "__" not in name}
    row["id"] = matter.pk
    row["proposed_by__username"] = matter.proposed_by.username
    return row


def _datetime(value, tz):
    """As DRF's DateTimeField renders it: ISO 8601 in the current time zone."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value):
    return None if value is None else value.isoformat()


class MatterOut(serializers.ModelSerializer):
    """A matter as listed: enough for a register book row."""

    state_label = serializers.CharField(source="get_state_display")
    units = MatterUnitOut(many=True, read_only=True)
    proposed_by = PersonField()

    class Meta:
        model = Matter
        fields = ["id", "number", "title", "category", "state", "state_label", "time_sensitive", "source_reference",
                  "proposed_by", "proposed_at", "requested_deadline", "assigned_on", "deadline",
                  "deadline_working_days", "deadline_provisional", "feedback_due_on", "redo_count", "closed_at",
                  "units", "version"]
        list_serializer_class = MatterListOut


class FeedbackOut(serializers.ModelSerializer):
    unit = serializers.CharField(source="unit.code")
    given_by = PersonField()

    class Meta:
        model = Feedback
        fields = ["id", "unit", "kind", "text", "given_by", "given_at"]


class ReviewOut(serializers.ModelSerializer):
    reviewed_by = PersonField()

    class Meta:
        model = Review
        fields = ["decision", "reasons", "satisfaction", "charged_units", "reviewed_by", "reviewed_at"]


class ReportOut(serializers.ModelSerializer):
    unit = serializers.CharField(source="unit.code")
    reported_by = PersonField()
    review = ReviewOut(read_only=True, allow_null=True)

    class Meta:
        model = ResultReport
        fields = ["id", "unit", "attempt", "text", "reported_by", "reported_at", "review"]


class DeadlineChangeOut(serializers.ModelSerializer):
    class Meta:
        model = DeadlineChange
        fields = ["kind", "old_deadline", "new_deadline", "reason", "changed_at"]


class ChangeRequestOut(serializers.ModelSerializer):
    matter = serializers.PrimaryKeyRelatedField(read_only=True)
    matter_number = serializers.CharField(source="matter.number")
    requested_by = PersonField()
    decided_by = PersonField()

    class Meta:
        model = ChangeRequest
        fields = ["id", "matter", "matter_number", "kind", "reason", "proposed", "status", "requested_by",
                  "requested_at", "decided_by", "decided_at", "decision_note"]


class AttachmentOut(serializers.ModelSerializer):
    uploaded_by = PersonField()

    class Meta:
        model = Attachment
        fields = ["id", "original_name", "size", "content_type", "sha256", "feedback", "report", "uploaded_by",
                  "uploaded_at"]


class MatterDetailOut(MatterOut):
    """One matter with everything a reader may see of it."""

    feedback = FeedbackOut(many=True, read_only=True)
    reports = serializers.SerializerMethodField()
    deadline_changes = DeadlineChangeOut(many=True, read_only=True)
    change_requests = ChangeRequestOut(many=True, read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta(MatterOut.Meta):
        list_serializer_class = serializers.ListSerializer
        fields = [*MatterOut.Meta.fields, "content", "requirements", "decision_comment", "approved_at",
                  "feedback_every_working_days", "feedback", "reports", "deadline_changes", "change_requests",
                  "attachments"]

    @extend_schema_field(ReportOut(many=True))
    def get_reports(self, matter) -> list[dict]:
        reports = access.visible_reports(self.context["request"].user, matter).select_related(
            "unit", "reported_by", "review__reviewed_by").order_by("attempt")
        return ReportOut(reports, many=True).data

    @extend_schema_field(AttachmentOut(many=True))
    def get_attachments(self, matter) -> list[dict]:
        files = getattr(matter, "visible_attachments", None)  # prefetched for the retrieve
        if files is None:
            files = access.visible_attachments(self.context["request"].user, matter).select_related(
                "uploaded_by").order_by("id")
        return AttachmentOut(files, many=True).data


class TimelineEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "before", "after", "note"]


class RoundOut(serializers.ModelSerializer):
    opened_by = PersonField()
    leaders = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = CollectionRound
        fields = ["id", "title", "note", "due_date", "status", "leaders", "opened_by", "opened_at", "closed_at"]


# --- input serializers ----------------------------------------------------------------------------
class Versioned(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False, min_value=1,
        help_text="The version you read; if someone changed the matter since, the answer is 409.")


class ProposeIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    content = serializers.CharField()
    category = serializers.CharField(max_length=50, help_text="a scope code of the county's rule pack")
    proposed_units = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    requested_deadline = serializers.DateField(required=False, allow_null=True)
    source_reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    round = serializers.IntegerField(required=False, allow_null=True)
    time_sensitive = serializers.BooleanField(required=False, default=False)
    on_behalf_of = serializers.CharField(required=False, allow_null=True,
                                         help_text="staff only: the username of the leader who proposed it")


class CommentIn(Versioned):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RejectIn(Versioned):
    comment = serializers.CharField()


class AssignIn(Versioned):
    lead_unit = serializers.CharField(max_length=32)
    co_units = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    requirements = serializers.CharField()
    deadline = serializers.DateField(required=False, allow_null=True)
    deadline_working_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=500)
    feedback_every_working_days = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                                           max_value=60)


class FeedbackIn(Versioned):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in FEEDBACK_KINDS])
    text = serializers.CharField()


class ReportIn(Versioned):
    text = serializers.CharField()


class ReviewIn(Versioned):
    reasons = serializers.CharField(required=False, allow_blank=True, default="")
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices, required=False, allow_null=True, default=None,
                                           help_text="deputies' suggestions and CPPCC proposals only: the proposer's "
                                                     "view of the reply; unsatisfied reopens it once for a second reply")


class PartIn(Versioned):
    text = serializers.CharField()


class SendBackIn(Versioned):
    reasons = serializers.CharField()
    units = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list,
                                  help_text="Codes of the units whose part fell short (default: the lead unit); "
                                            "the redo is charged to them by the pack's bearer rule")


class ExtensionIn(Versioned):
    new_deadline = serializers.DateField()
    reason = serializers.CharField()


class ChangeIn(Versioned):
    kind = serializers.ChoiceField(choices=ChangeRequest.Kind.choices)
    reason = serializers.CharField()
    changes = serializers.DictField(required=False, default=dict)


class DecideIn(Versioned):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AttachIn(serializers.Serializer):
    file = serializers.FileField()
    feedback = serializers.IntegerField(required=False, allow_null=True)
    report = serializers.IntegerField(required=False, allow_null=True)


class RoundIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    due_date = serializers.DateField()
    leaders = serializers.ListField(child=serializers.CharField(max_length=150), min_length=1)
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_leaders(self, usernames):
        users = {u.username: u for u in User.objects.filter(username__in=usernames, role__in=LEADERS,
                                                             is_active=True)}
        missing = [name for name in usernames if name not in users]
        if missing:
            raise serializers.ValidationError(_("以下用户不是在职的领导：%(users)s。") % {"users": "、".join(missing)})
        return [users[name] for name in usernames]


# --- filters --------------------------------------------------------------------------------------
class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class MatterFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    category = django_filters.CharFilter()
    unit = django_filters.CharFilter(field_name="units__unit__code", label="unit code (lead or co-operating)",
                                     distinct=True)
    deadline_before = django_filters.DateFilter(field_name="deadline", lookup_expr="lte")
    deadline_after = django_filters.DateFilter(field_name="deadline", lookup_expr="gte")
    year = YearFilter(field_name="proposed_at__year", min_value=YEAR_MIN, max_value=YEAR_MAX, label="year proposed")
    q = django_filters.CharFilter(method="search", label="search number, title and content")

    class Meta:
        model = Matter
        fields = ["state", "category", "unit", "time_sensitive"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value) | Q(content__icontains=value))


class ChangeRequestFilter(django_filters.FilterSet):
    class Meta:
        model = ChangeRequest
        fields = ["status", "kind", "matter"]


EXAMPLE_ASSIGN = OpenApiExample(
    "assign to a lead and a co-operating unit",
    value={"lead_unit": "D01", "co_units": ["T01"], "requirements": "按期办结，书面报告办理结果",
           "deadline_working_days": 10, "feedback_every_working_days": 5, "expected_version": 3},
    request_only=True)
EXAMPLE_PROPOSE = OpenApiExample(
    "a leader proposes a matter",
    value={"title": "推进老旧小区改造", "content": "完成城关片区老旧小区改造，年底前交付。", "category": "work_report",
           "proposed_units": ["D01"], "requested_deadline": "2026-12-31"},
    request_only=True)


def _person(username):
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise Invalid(_("没有用户名为“%(username)s”的在职用户。") % {"username": username}, field="on_behalf_of")
    return user


# --- viewsets -------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="List matters I may see", description=(
        "Office roles see every matter; a county leader sees what they proposed or approved; unit staff see "
        "matters assigned to their unit. Filter by state, category, unit, deadline range, year or `q`.")),
    retrieve=extend_schema(summary="One matter with its feedback, results, reviews and changes"),
    create=extend_schema(parameters=[idempotency.PARAMETER], summary="Propose a matter (收集)", request=ProposeIn,
                         responses={201: MatterDetailOut},
                         examples=[EXAMPLE_PROPOSE]),
)
class MatterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = Matter.objects.none()
    serializer_class = MatterOut
    filterset_class = MatterFilter
    ordering_fields = ("id", "deadline", "proposed_at", "assigned_on", "closed_at")
    ordering = ("-id",)
    roles = {"create": (*LEADERS, Role.SUPERVISION_STAFF)}

    def safely_get_queryset(self, user):
        qs = access.visible_matters(user).order_by("-id")
        if self.action in ("list", "no_answer"):  # rows for MatterListOut, which adds the units in bulk
            return qs.values(*LIST_FIELDS)
        qs = qs.select_related("proposed_by").prefetch_related(
            Prefetch("units", MatterUnit.objects.select_related("unit").order_by("-role", "id")))
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch("feedback", Feedback.objects.select_related("unit", "given_by").order_by("id")),
                "deadline_changes",
                Prefetch("change_requests", ChangeRequest.objects.select_related("requested_by", "decided_by",
                                                                                 "matter").order_by("id")),
                Prefetch("attachments", access.visible_attachments(user).select_related("uploaded_by").order_by("id"),
                         to_attr="visible_attachments"))
        return qs

    def get_serializer_class(self):
        return MatterDetailOut if self.action == "retrieve" else MatterOut

    @idempotency.idempotent
    def create(self, request):
        serializer = ProposeIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["round_id"] = data.pop("round", None)
        data["on_behalf_of"] = _person(data.get("on_behalf_of"))
        matter = actions.do_propose_matter(actor=request.user, **data)
        return self.respond(MatterDetailOut, matter, status_code=201)

    # workflow actions -----------------------------------------------------------------------------
    @county_action(input=Versioned, output=MatterOut, summary="Register the proposal in the register book (登记)")
    def register(self, request, data, pk=None):
        return actions.do_register_matter(pk, actor=request.user, **data)

    @county_action(input=CommentIn, output=MatterOut, summary="Approve the matter (批准立项)")
    def approve(self, request, data, pk=None):
        return actions.do_approve_matter(pk, actor=request.user, **data)

    @county_action(input=RejectIn, output=MatterOut, summary="Decline the matter (不予立项), with a comment")
    def reject(self, request, data, pk=None):
        return actions.do_reject_matter(pk, actor=request.user, **data)

    @county_action(input=AssignIn, output=MatterOut, summary="Assign to units and issue the notice (交办)",
                   examples=[EXAMPLE_ASSIGN])
    def assign(self, request, data, pk=None):
        return actions.do_assign_matter(pk, actor=request.user, **data)

    @county_action(input=Versioned, output=MatterOut, summary="Sign for receipt on behalf of my unit (签收)")
    def sign(self, request, data, pk=None):
        return actions.do_sign_for_receipt(pk, actor=request.user, **data)

    @county_action(input=FeedbackIn, output=FeedbackOut, summary="Give progress feedback (反馈进展)", status_code=201,
                   examples=[OpenApiExample("weekly written feedback",
                                            value={"kind": "written", "text": "已完成设计招标，12月开工。"},
                                            request_only=True)])
    def feedback(self, request, data, pk=None):
        return actions.do_give_feedback(pk, actor=request.user, **data)

    @county_action(input=PartIn, output=FeedbackOut, summary="Report my co-operating unit's own part (报送承办部分)",
                   url_path="report-part", status_code=201)
    def report_part(self, request, data, pk=None):
        return actions.do_report_part(pk, actor=request.user, **data)

    @county_action(input=ReportIn, output=ReportOut, summary="Report the result (报送办理结果)", status_code=201)
    def report(self, request, data, pk=None):
        return actions.do_report_result(pk, actor=request.user, **data)

    @county_action(input=ReviewIn, output=ReviewOut, summary="Accept the result and close the matter (审核办结)",
                   status_code=201)
    def accept(self, request, data, pk=None):
        return actions.do_accept_result(pk, actor=request.user, **data)

    @county_action(input=SendBackIn, output=ReviewOut, summary="Send the result back for redo (退回复办)",
                   url_path="send-back", status_code=201)
    def send_back(self, request, data, pk=None):
        return actions.do_send_back(pk, actor=request.user, **data)

    @county_action(input=ExtensionIn, output=ChangeRequestOut, summary="Ask for a later deadline (申请延期)",
                   url_path="request-extension", status_code=201)
    def request_extension(self, request, data, pk=None):
        return actions.do_request_extension(pk, actor=request.user, **data)

    @county_action(input=ChangeIn, output=ChangeRequestOut, summary="Ask to adjust or cancel the matter (申请调整)",
                   url_path="request-change", status_code=201)
    def request_change(self, request, data, pk=None):
        return actions.do_request_change(pk, actor=request.user, **data)

    @county_action(input=AttachIn, output=AttachmentOut, summary="Attach a file (PDF, image, Office document)",
                   status_code=201, parser_classes=[MultiPartParser])
    def attach(self, request, data, pk=None):
        return actions.do_attach_file(pk, actor=request.user, upload=data["file"],
                                          feedback_id=data.get("feedback"), report_id=data.get("report"))

    @county_action(output=TimelineEventOut, many=True, methods=("get",), filter_backends=[Ordering],
                   pagination_class=Cursor, ordering_fields=("id", "at"), ordering=("id",),
                   summary="Everything that happened to the matter, oldest first (audit trail); by cursor: follow "
                           "`next` to read on, events added meanwhile come at the end")
    def timeline(self, request, data, pk=None):
        return queries.timeline(self.get_object(), request.user)

    @extend_schema(parameters=[format_parameter("pdf", "docx")], responses=file_responses("pdf", "docx"))
    @county_action(input=PdfOrWordIn, output=MatterOut, methods=("get",), filter_backends=[],
                   summary="The assignment notice (交办通知单) as PDF or Word: printed the first time it is asked "
                           "for, then the same document; 409 before the matter is assigned")
    def notice(self, request, data, pk=None):
        matter = self.get_object()
        return file_response(document_of(lambda: assignment_notice_document(matter, actor=request.user)),
                             data["format"])

    @county_action(output=MatterOut, many=True, methods=("get",), detail=False, url_path="no-answer",
                   summary="Matters with no answer past their deadline (office roles)")
    def no_answer(self, request, data):
        return queries.no_answer(request.user, clock.today()).values(*LIST_FIELDS)


@extend_schema_view(
    list=extend_schema(summary="Change and extension requests on matters I may see"),
    retrieve=extend_schema(summary="One change or extension request"),
)
class ChangeRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = ChangeRequest.objects.none()
    serializer_class = ChangeRequestOut
    filterset_class = ChangeRequestFilter
    ordering_fields = ("id", "requested_at", "decided_at")
    ordering = ("-id",)

    def safely_get_queryset(self, user):
        return (access.visible_change_requests(user)
                .select_related("matter", "requested_by", "decided_by").order_by("-id"))

    @county_action(input=DecideIn, output=ChangeRequestOut, summary="Approve or refuse the request (审批)")
    def decide(self, request, data, pk=None):
        return actions.do_decide_request(int(pk), actor=request.user, **data)


@extend_schema_view(
    list=extend_schema(summary="Collection rounds (收集): forms sent to leaders"),
    retrieve=extend_schema(summary="One collection round"),
    create=extend_schema(parameters=[idempotency.PARAMETER], summary="Open a collection round", request=RoundIn,
                         responses={201: RoundOut}),
)
class RoundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = CollectionRound.objects.none()
    serializer_class = RoundOut
    ordering_fields = ("id", "due_date", "opened_at")
    ordering = ("-id",)
    roles = {"list": (*OFFICE, *LEADERS), "retrieve": (*OFFICE, *LEADERS), "create": STAFF, "close": STAFF}

    def safely_get_queryset(self, user):
        qs = CollectionRound.objects.select_related("opened_by").prefetch_related("leaders").order_by("-id")
        if user.role not in (*OFFICE, *LEADERS):
            return qs.none()
        if user.role == Role.COUNTY_LEADER:
            qs = qs.filter(leaders=user)
        return qs

    @idempotency.idempotent
    def create(self, request):
        serializer = RoundIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.respond(RoundOut, actions.do_open_round(actor=request.user, **serializer.validated_data),
                            status_code=201)

    @county_action(output=RoundOut, summary="Close the round")
    def close(self, request, data, pk=None):
        return actions.do_close_round(int(pk), actor=request.user)
