"""Escalation steps, the points ledger, scores and statements, circulars and inspections."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from api import idempotency
from api.base import CountyViewSet, county_action
from api.matters import PersonField
from duban.accounts.models import Role
from duban.core import clock
from duban.core.commands import YEAR_MAX, YEAR_MIN
from duban.supervision import access, ledger
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_inspection,
    do_record_manual_step,
    do_record_reply,
    do_record_step,
    do_reverse_entry,
    do_set_circular_lists,
    do_skip_step,
)
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


class InspectionRoundOut(serializers.ModelSerializer):
    class Meta:
        model = InspectionRound
        fields = ["id", "year", "quarter", "opens_on", "closes_on", "opened_at"]


# inputs
class EvidenceIn(serializers.Serializer):
    evidence = serializers.DictField(help_text="the fields the county's pack requires for the step's tier")
    on = serializers.DateField(required=False, allow_null=True, help_text="the day it was done (default today)")


class ManualStepIn(EvidenceIn):
    matter = serializers.IntegerField()
    tier = serializers.CharField(max_length=50)
    unit = serializers.CharField(max_length=32, required=False, allow_null=True)


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
    roles = {"create": STAFF, "record": STAFF, "skip": STAFF, "reply": (Role.UNIT_STAFF,)}

    def safely_get_queryset(self, user):
        return (access.visible_steps(user).select_related("matter", "unit", "recorded_by", "notice")
                .order_by("-due_on", "-id"))

    @idempotency.idempotent
    def create(self, request):
        serializer = ManualStepIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        step = do_record_manual_step(data.pop("matter"), actor=request.user, **data)
        return self.respond(StepOut, step, status_code=201)

    @county_action(input=EvidenceIn, output=StepOut, summary="Record a due step with its evidence",
                   examples=[EXAMPLE_PHONE])
    def record(self, request, data, pk=None):
        return do_record_step(int(pk), actor=request.user, **data)

    @county_action(input=ReasonIn, output=StepOut, summary="Pass over a skippable step, with a reason")
    def skip(self, request, data, pk=None):
        return do_skip_step(int(pk), actor=request.user, **data)

    @county_action(input=ReplyIn, output=StepOut, summary="The unit's dedicated written reply (专题答复)")
    def reply(self, request, data, pk=None):
        return do_record_reply(int(pk), actor=request.user, **data)


@extend_schema_view(
    list=extend_schema(summary="Ledger entries (扣分台账): every deduction and reversal, append-only"),
    retrieve=extend_schema(summary="One ledger entry"),
)
class LedgerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = LedgerEntry.objects.none()
    serializer_class = LedgerOut
    filterset_class = LedgerFilter
    roles = {"reverse": OFFICE_LEADER}

    def safely_get_queryset(self, user):
        return (access.visible_ledger(user).select_related("unit", "matter", "created_by", "reverses")
                .order_by("-occurred_on", "-id"))

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

    def safely_get_queryset(self, user):
        return access.statement_units(user).order_by("kind", "code")

    @extend_schema(summary="Every unit's score for a year (base − deductions, floored)", parameters=[YEAR_PARAM],
                   responses=ScoreOut(many=True))
    def list(self, request):
        year = _year(request)
        allowed = set(self.get_queryset().values_list("pk", flat=True))
        base = ledger.county_pack().schedule.base
        rows = [{"unit": unit.code, "unit_name": unit.name, "kind": unit.kind, "year": year, "base": base,
                 "deducted": base - value, "score": value}
                for unit, value in ledger.unit_scores(year).items() if unit.pk in allowed]
        return self.respond(ScoreOut, rows, many=True)

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


@extend_schema_view(
    list=extend_schema(summary="Quarterly inspection rounds (季度督查)"),
    retrieve=extend_schema(summary="One inspection round"),
)
class InspectionRoundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = InspectionRound.objects.none()
    serializer_class = InspectionRoundOut

    def safely_get_queryset(self, user):
        return access.visible_inspection_rounds(user).order_by("-year", "-quarter")


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
    roles = {"record": STAFF}

    def safely_get_queryset(self, user):
        return (access.visible_inspection_items(user).select_related("matter", "unit", "inspected_by")
                .order_by("-round_id", "unit__code", "matter_id"))

    @county_action(input=InspectIn, output=InspectionItemOut, summary="Record what the inspection found")
    def record(self, request, data, pk=None):
        return do_record_inspection(int(pk), actor=request.user, **data)

