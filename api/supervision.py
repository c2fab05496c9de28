"""Escalation steps, the points ledger, scores and statements, circulars and inspections."""

from __future__ import annotations

import operator

import django_filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers

from api import idempotency
from api.base import CountyViewSet, county_action
from api.files import PdfOrWordIn, document_of, file_response, file_responses, format_field, format_parameter
from api.matters import PersonField
from api.paging import Cursor, Ordering
from duban.accounts.models import Role
from duban.core import clock
from duban.core.commands import YEAR_MAX, YEAR_MIN
from duban.reports.documents import annual_assessment_document
from duban.supervision import access, inspection, ledger
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_inspection,
    do_record_reply,
    do_record_step_with_evidence,
    do_reverse_entry,
    do_set_circular_lists,
    do_skip_step,
    do_start_step,
    do_withdraw_step,
)
from duban.supervision.documents import circular_document, supervision_notice_document
from duban.supervision.models import Circular, EscalationStep, InspectionItem, InspectionRound, LedgerEntry

STAFF = (Role.SUPERVISION_STAFF,)
OFFICE_LEADER = (Role.OFFICE_LEADER,)


# --- serializers ----------------------------------------------------------------------------------
class StepOut(serializers.ModelSerializer):
    matter_number = serializers.CharField(source="matter.number")
    unit = serializers.CharField(source="unit.code")
    status_label = serializers.CharField(source="get_status_display")
    recorded_by = PersonField()
    notice_number = serializers.CharField(source="notice.number", default=None, allow_null=True)

    class Meta:
        model = EscalationStep
        fields = ["id", "matter", "matter_number", "unit", "tier", "tier_index", "status", "status_label", "source",
                  "pack_name", "pack_version", "due_on", "opened_at", "recorded_on", "recorded_at", "recorded_by",
                  "evidence", "notice_number", "reply_due_on", "reply_text", "reply_at", "skip_reason"]


class LedgerOut(serializers.ModelSerializer):
    unit = serializers.CharField(source="unit.code")
    unit_name = serializers.CharField(source="unit.name")
    matter_number = serializers.CharField(source="matter.number", default=None, allow_null=True)
    reverses = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    created_by = PersonField()

    class Meta:
        model = LedgerEntry
        fields = ["id", "unit", "unit_name", "year", "occurred_on", "amount", "event_code", "rule_code",
                  "pack_name", "pack_version", "reason", "ref", "matter", "matter_number", "step", "circular",
                  "reverses", "created_by", "created_at"]


class ScoreOut(serializers.Serializer):
    unit = serializers.CharField()
    unit_name = serializers.CharField()
    kind = serializers.CharField()
    year = serializers.IntegerField()
    base = serializers.DecimalField(max_digits=6, decimal_places=2)
    deducted = serializers.DecimalField(max_digits=6, decimal_places=2)
    score = serializers.DecimalField(max_digits=6, decimal_places=2)


class StatementLineOut(serializers.Serializer):
    entry = LedgerOut()
    total_deducted = serializers.DecimalField(max_digits=6, decimal_places=2)
    score = serializers.DecimalField(max_digits=6, decimal_places=2)


class StatementOut(serializers.Serializer):
    unit = serializers.CharField()
    unit_name = serializers.CharField()
    year = serializers.IntegerField()
    base = serializers.DecimalField(max_digits=6, decimal_places=2)
    lines = StatementLineOut(many=True)
    score = serializers.DecimalField(max_digits=6, decimal_places=2)


class CircularOut(serializers.ModelSerializer):
    praised = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    criticised = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True,
                                              help_text="units criticised county-wide (全县通报批评: deducts)")
    named = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True,
                                         help_text="units criticised by name (点名批评: no deduction under the default pack)")
    notice_number = serializers.CharField(source="notice.number", default=None, allow_null=True)
    drafted_by = PersonField()
    published_by = PersonField()

    class Meta:
        model = Circular
        fields = ["id", "title", "period_start", "period_end", "status", "ranking", "praised", "criticised", "named", "body",
                  "notice_number", "drafted_by", "drafted_at", "published_by", "published_at", "published_on"]


class InspectionItemOut(serializers.ModelSerializer):
    matter_number = serializers.CharField(source="matter.number")
    unit = serializers.CharField(source="unit.code")
    inspected_by = PersonField()

    class Meta:
        model = InspectionItem
        fields = ["id", "round", "matter", "matter_number", "unit", "result", "findings", "inspected_by",
                  "inspected_at"]


class InspectionSummaryOut(serializers.Serializer):
    items = serializers.IntegerField(help_text="items checked in the round (one per matter and lead unit)")
    units = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="not checked (yet)")
    on_track = serializers.IntegerField()
    behind = serializers.IntegerField()
    done = serializers.IntegerField()


class InspectionRoundOut(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField(help_text="what the round found: fixed when it was reported to the "
                                                          "leaders, so far until then")

    class Meta:
        model = InspectionRound
        fields = ["id", "year", "quarter", "opens_on", "closes_on", "opened_at", "reported_at", "summary"]

    @extend_schema_field(InspectionSummaryOut)
    def get_summary(self, round_) -> dict:
        return round_.summary if round_.reported_at else inspection.round_summary(round_)


class InspectionReportItemOut(serializers.ModelSerializer):
    unit = serializers.CharField(source="unit.code")
    unit_name = serializers.CharField(source="unit.name")
    matter_number = serializers.CharField(source="matter.number")
    matter_title = serializers.CharField(source="matter.title")
    result_label = serializers.CharField(source="get_result_display")
    inspected_by = PersonField()

    class Meta:
        model = InspectionItem
        fields = ["id", "unit", "unit_name", "matter", "matter_number", "matter_title", "result", "result_label",
                  "findings", "inspected_by", "inspected_at"]


class InspectionReportOut(InspectionRoundOut):
    """A round as the county leaders read it (五(一) 报县政府相关领导审阅): its results and every item."""

    items = serializers.SerializerMethodField()

    class Meta(InspectionRoundOut.Meta):
        fields = [*InspectionRoundOut.Meta.fields, "items"]

    @extend_schema_field(InspectionReportItemOut(many=True))
    def get_items(self, round_) -> list[dict]:
        items = (access.visible_inspection_items(self.context["request"].user).filter(round=round_)
                 .select_related("matter", "unit", "inspected_by").order_by("unit__kind", "unit__code", "matter__number"))
        return InspectionReportItemOut(items, many=True).data


# inputs
class EvidenceIn(serializers.Serializer):
    evidence = serializers.DictField(help_text="the fields the county's pack requires for the step's tier")
    on = serializers.DateField(required=False, allow_null=True, help_text="the day it was done (default today)")


class ManualStepIn(EvidenceIn):
    matter = serializers.IntegerField()
    tier = serializers.CharField(max_length=50)
    unit = serializers.CharField(max_length=32, required=False, allow_null=True)
    reason = serializers.CharField(max_length=300, help_text="why staff take this step on their own initiative "
                                   "(主动督办的理由): the matter's timeline shows it")


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField()


class ReversalIn(serializers.Serializer):
    reason = serializers.CharField()
    kind = serializers.CharField(required=False, allow_null=True, default=None, max_length=50,
                                 help_text="a code of the pack's schedule.reversal_kinds (default: the first, e.g. "
                                           "recorded_in_error = 系误记, which also withdraws the step)")


class ReplyIn(serializers.Serializer):
    text = serializers.CharField()


class CircularIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    period_start = serializers.DateField()
    period_end = serializers.DateField()


class CircularListsIn(serializers.Serializer):
    praised = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    criticised = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    named = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    body = serializers.CharField(required=False, allow_blank=True, default="")


class InspectIn(serializers.Serializer):
    result = serializers.ChoiceField(choices=[c for c in InspectionItem.Result.choices if c[0] != "pending"])
    findings = serializers.CharField(required=False, allow_blank=True, default="")
    on = serializers.DateField(required=False, allow_null=True)


class YearIn(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX,
                                    help_text="assessment year (default: this year)")


class AnnualIn(YearIn):
    format = format_field("pdf", "xlsx")


# --- filters --------------------------------------------------------------------------------------
class StepFilter(django_filters.FilterSet):
    unit = django_filters.CharFilter(field_name="unit__code")
    due_before = django_filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = EscalationStep
        fields = ["status", "tier", "matter", "source", "unit"]


class LedgerFilter(django_filters.FilterSet):
    unit = django_filters.CharFilter(field_name="unit__code")

    class Meta:
        model = LedgerEntry
        fields = ["year", "unit", "event_code", "matter"]


# --- viewsets -------------------------------------------------------------------------------------
EXAMPLE_PHONE = OpenApiExample("a phone urging", request_only=True, value={
    "evidence": {"called_at": "2026-11-20T10:30", "called_person": "李明", "summary": "催促12月5日前报送"}})


@extend_schema_view(
    list=extend_schema(summary="Escalation steps (督办措施): due and recorded"),
    retrieve=extend_schema(summary="One escalation step"),
    create=extend_schema(parameters=[idempotency.PARAMETER], summary="Record a step staff take on their own initiative",
                         request=ManualStepIn,
                         responses={201: StepOut}),
)
class StepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = EscalationStep.objects.none()
    serializer_class = StepOut
    filterset_class = StepFilter
    ordering_fields = ("id", "due_on", "recorded_on", "tier_index")
    ordering = ("-due_on", "-id")
    roles = {"create": STAFF, "record": STAFF, "skip": STAFF, "reply": (Role.UNIT_STAFF,),
             "withdraw": OFFICE_LEADER}

    def safely_get_queryset(self, user):
        return (access.visible_steps(user).select_related("matter", "unit", "recorded_by", "notice")
                .order_by("-due_on", "-id"))

    @idempotency.idempotent
    def create(self, request):
        serializer = ManualStepIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        step = do_start_step(data.pop("matter"), actor=request.user, unit=data.pop("unit", None), **data)
        return self.respond(StepOut, step, status_code=201)

    @county_action(input=EvidenceIn, output=StepOut, summary="Record a due step with its evidence",
                   examples=[EXAMPLE_PHONE])
    def record(self, request, data, pk=None):
        # The web's action without files: through the API they go to matters/{id}/attach/.
        return do_record_step_with_evidence(int(pk), actor=request.user, uploads=(), **data)

    @county_action(input=ReasonIn, output=StepOut, summary="Pass over a skippable step, with a reason")
    def skip(self, request, data, pk=None):
        return do_skip_step(int(pk), actor=request.user, **data)

    @county_action(input=ReplyIn, output=StepOut, summary="The unit's dedicated written reply (专题答复)")
    def reply(self, request, data, pk=None):
        return do_record_reply(int(pk), actor=request.user, **data)

    @county_action(input=ReasonIn, output=StepOut,
                   summary="Withdraw a step recorded in error (office leader; where the pack allows it): its "
                           "deductions reversed, the step marked withdrawn")
    def withdraw(self, request, data, pk=None):
        return do_withdraw_step(int(pk), actor=request.user, **data)

    @extend_schema(parameters=[format_parameter("pdf", "docx")], responses=file_responses("pdf", "docx"))
    @county_action(input=PdfOrWordIn, output=StepOut, methods=("get",), filter_backends=[],
                   summary="The step's supervision notice (督查督办通知单) as PDF or Word: printed the first time it "
                           "is asked for; 409 for a step that sent no notice")
    def notice(self, request, data, pk=None):
        step = self.get_object()
        return file_response(document_of(lambda: supervision_notice_document(step, actor=request.user)),
                             data["format"])


@extend_schema_view(
    list=extend_schema(summary="Ledger entries (扣分台账): every deduction and reversal, append-only"),
    retrieve=extend_schema(summary="One ledger entry"),
)
class LedgerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = LedgerEntry.objects.none()
    serializer_class = LedgerOut
    filterset_class = LedgerFilter
    pagination_class = Cursor
    ordering_fields = ("id", "occurred_on", "amount")
    ordering = ("-id",)
    roles = {"reverse": OFFICE_LEADER}

    def safely_get_queryset(self, user):
        return (access.visible_ledger(user).select_related("unit", "matter", "created_by", "reverses")
                .order_by("-id"))

    @county_action(input=ReversalIn, output=LedgerOut, summary="Reverse an entry (冲正) by appending its opposite",
                   status_code=201)
    def reverse(self, request, data, pk=None):
        return do_reverse_entry(int(pk), actor=request.user, **data)


def _year(request) -> int:
    serializer = YearIn(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("year") or clock.today().year


YEAR_PARAM = OpenApiParameter("year", int, description="assessment year (default: this year)")


class ScoreViewSet(CountyViewSet):
    """Scores per unit and year, and each unit's statement (how the score came about)."""

    queryset = LedgerEntry.objects.none()
    serializer_class = ScoreOut
    lookup_field = "code"
    pagination_class = None
    filter_backends = [Ordering]
    ordering_fields = ("unit", "score", "deducted")

    def safely_get_queryset(self, user):
        return access.statement_units(user).order_by("kind", "code")

    @extend_schema(summary="Every unit's score for a year (base − deductions, floored); by kind and code, or "
                           "`?ordering=-score` for the ranking", parameters=[YEAR_PARAM], responses=ScoreOut(many=True))
    def list(self, request):
        year = _year(request)
        ordering = Ordering().get_ordering(request, None, self) or []
        allowed = set(self.get_queryset().values_list("pk", flat=True))
        base = ledger.county_pack().schedule.base
        rows = [{"unit": unit.code, "unit_name": unit.name, "kind": unit.kind, "year": year, "base": base,
                 "deducted": base - value, "score": value}
                for unit, value in ledger.unit_scores(year).items() if unit.pk in allowed]
        for term in reversed(ordering):  # stable sorts, the last key first
            rows.sort(key=operator.itemgetter(term.lstrip("-")), reverse=term.startswith("-"))
        return self.respond(ScoreOut, rows, many=True)

    @extend_schema(parameters=[YEAR_PARAM, format_parameter("pdf", "xlsx")], responses=file_responses("pdf", "xlsx"))
    @county_action(input=AnnualIn, output=ScoreOut, methods=("get",), detail=False, filter_backends=[],
                   summary="The annual assessment table (年度考评) as PDF or Excel (office roles and county leaders): a "
                           "new document when the figures changed since the year's last one, else that one")
    def annual(self, request, data):
        year = data.get("year") or clock.today().year
        return file_response(annual_assessment_document(year, actor=request.user), data["format"])

    @extend_schema(summary="One unit's statement: base, every entry with running totals, final score",
                   parameters=[YEAR_PARAM], responses=StatementOut)
    def retrieve(self, request, code=None):
        unit = self.get_object()
        year = _year(request)
        base, lines, final = ledger.statement(unit, year)
        return self.respond(StatementOut, {"unit": unit.code, "unit_name": unit.name, "year": year, "base": base,
                                           "lines": lines, "score": final})


class CircularFilter(django_filters.FilterSet):
    class Meta:
        model = Circular
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary="Circulars (通报): drafts for office roles, published ones for everyone"),
    retrieve=extend_schema(summary="One circular with its ranking"),
    create=extend_schema(parameters=[idempotency.PARAMETER], summary="Draft a circular over a period (ranking computed)",
                         request=CircularIn,
                         responses={201: CircularOut}),
)
class CircularViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = Circular.objects.none()
    serializer_class = CircularOut
    filterset_class = CircularFilter
    ordering_fields = ("id", "period_end", "published_on")
    ordering = ("-id",)
    roles = {"create": STAFF, "lists": STAFF, "publish": OFFICE_LEADER}

    def safely_get_queryset(self, user):
        return (access.visible_circulars(user).select_related("notice", "drafted_by", "published_by")
                .prefetch_related("praised", "criticised", "named").order_by("-id"))

    @idempotency.idempotent
    def create(self, request):
        serializer = CircularIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.respond(CircularOut, do_draft_circular(actor=request.user, **serializer.validated_data),
                            status_code=201)

    @county_action(input=CircularListsIn, output=CircularOut, summary="Set the praised and criticised units and body")
    def lists(self, request, data, pk=None):
        return do_set_circular_lists(int(pk), actor=request.user, **data)

    @county_action(output=CircularOut, summary="Publish the circular (criticism deducts points)")
    def publish(self, request, data, pk=None):
        return do_publish_circular(int(pk), actor=request.user)

    @extend_schema(parameters=[format_parameter("pdf", "docx")], responses=file_responses("pdf", "docx"))
    @county_action(input=PdfOrWordIn, output=CircularOut, methods=("get",), filter_backends=[],
                   summary="The circular's document (通报) as PDF or Word, once published (409 for a draft); the "
                           "same document as the web's")
    def document(self, request, data, pk=None):
        circular = self.get_object()
        return file_response(document_of(lambda: circular_document(circular, actor=request.user)), data["format"])


@extend_schema_view(
    list=extend_schema(summary="Quarterly inspection rounds (季度督查)"),
    retrieve=extend_schema(summary="One inspection round"),
)
class InspectionRoundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = InspectionRound.objects.none()
    serializer_class = InspectionRoundOut
    ordering_fields = ("id", "opens_on")
    ordering = ("-year", "-quarter")

    def safely_get_queryset(self, user):
        return access.visible_inspection_rounds(user).order_by("-year", "-quarter")

    @county_action(output=InspectionReportOut, methods=("get",), url_path="report", filter_backends=[],
                   summary="The round as the county leaders read it once reported (五(一) 报县政府相关领导审阅): its "
                           "results and every item I may see, by unit")
    def report(self, request, data, pk=None):
        return self.get_object()


class InspectionItemFilter(django_filters.FilterSet):
    unit = django_filters.CharFilter(field_name="unit__code")

    class Meta:
        model = InspectionItem
        fields = ["round", "result", "unit", "matter"]


@extend_schema_view(
    list=extend_schema(summary="Inspection items: one per matter and unit in a round"),
    retrieve=extend_schema(summary="One inspection item"),
)
class InspectionItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = InspectionItem.objects.none()
    serializer_class = InspectionItemOut
    filterset_class = InspectionItemFilter
    ordering_fields = ("id", "inspected_at")
    ordering = ("-round_id", "unit__code", "matter_id")
    roles = {"record": STAFF}

    def safely_get_queryset(self, user):
        return (access.visible_inspection_items(user).select_related("matter", "unit", "inspected_by")
                .order_by("-round_id", "unit__code", "matter_id"))

    @county_action(input=InspectIn, output=InspectionItemOut, summary="Record what the inspection found")
    def record(self, request, data, pk=None):
        return do_record_inspection(int(pk), actor=request.user, **data)

