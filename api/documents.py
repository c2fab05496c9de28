"""Official documents (download as PDF / Word / Excel) and the weekly 督查专报."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from api.base import CountyViewSet, county_action
from api.files import FORMATS, file_response, file_responses, format_field, format_parameter
from api.matters import PersonField, Versioned
from duban.accounts.models import Role
from duban.documents import service as documents
from duban.documents.access import visible_documents
from duban.documents.models import Document
from duban.reports.access import visible_weekly_reports
from duban.reports.actions import (
    do_draft_weekly_report,
    do_edit_weekly_report,
    do_issue_weekly_report,
    do_return_weekly_report,
    do_submit_weekly_report,
)
from duban.reports.models import WeeklyReport, WeeklyReportReview

STAFF = (Role.SUPERVISION_STAFF,)
OFFICE_LEADER = (Role.OFFICE_LEADER,)


class DocumentOut(serializers.ModelSerializer):
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "kind", "number", "title", "issuing_office", "issued_on", "year", "seq", "code", "sha256",
                  "matter", "unit", "circular", "weekly_report", "verify_url"]

    def get_verify_url(self, document) -> str:
        return documents.verification_url(document.code)


class DownloadIn(serializers.Serializer):
    format = format_field(*FORMATS)


@extend_schema_view(
    list=extend_schema(summary="Documents I may see (notices, circulars, reports, annual tables)"),
    retrieve=extend_schema(summary="One document, with its verification code and URL"),
)
class DocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = Document.objects.none()
    serializer_class = DocumentOut
    filterset_fields = ["kind", "year", "matter"]
    ordering_fields = ("id", "issued_on", "year")
    ordering = ("-id",)

    def safely_get_queryset(self, user):
        return visible_documents(user).order_by("-id")

    @extend_schema(summary="Download the document as PDF, Word (.docx; not the annual table) or Excel (.xlsx, the "
                           "annual table only)",
                   parameters=[format_parameter(*FORMATS)], responses=file_responses(*FORMATS))
    @county_action(input=DownloadIn, output=DocumentOut, methods=("get",), summary="Download",
                   filter_backends=[])
    def download(self, request, data, pk=None):
        return file_response(self.get_object(), data["format"])


class WeeklyReviewOut(serializers.ModelSerializer):
    reviewed_by = PersonField()

    class Meta:
        model = WeeklyReportReview
        fields = ["decision", "reason", "revision", "reviewed_by", "reviewed_at"]


class WeeklyReportOut(serializers.ModelSerializer):
    named_units = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    issued_by = PersonField()
    submitted_by = PersonField()
    reviews = WeeklyReviewOut(many=True, read_only=True)

    class Meta:
        model = WeeklyReport
        fields = ["id", "week_of", "period_start", "period_end", "status", "year", "seq", "number", "summary",
                  "attention", "sections", "named_units", "version", "drafted_at", "submitted_at", "submitted_by",
                  "reviews", "issued_at", "issued_on", "issued_by"]


class WeeklyReturnIn(Versioned):
    reason = serializers.CharField(help_text="why the office leader returns it (审核意见)")


class WeeklyEditIn(Versioned):
    summary = serializers.CharField(required=False, allow_blank=True)
    attention = serializers.CharField(required=False, allow_blank=True)
    named_units = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="Weekly 督查专报 (drafts for office roles, issued ones for their readers)"),
    retrieve=extend_schema(summary="One weekly report with its sections"),
)
class WeeklyReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = WeeklyReport.objects.none()
    serializer_class = WeeklyReportOut
    filterset_fields = ["status", "year"]
    ordering_fields = ("id", "week_of")
    ordering = ("-week_of",)
    roles = {"edit": STAFF, "submit": STAFF, "return_to_staff": OFFICE_LEADER, "issue": OFFICE_LEADER}

    def safely_get_queryset(self, user):
        return (visible_weekly_reports(user).prefetch_related("named_units", "reviews__reviewed_by")
                .select_related("issued_by", "submitted_by").order_by("-week_of"))

    @extend_schema(responses={201: WeeklyReportOut, 200: WeeklyReportOut})
    @county_action(output=WeeklyReportOut, detail=False, status_code=201,
                   summary="Draft this week's report now (supervision staff): 201 with the new draft, or 200 with the "
                           "week's report if it was drafted already (by staff or, at the pack's weekly time, by beat)")
    def draft(self, request, data):
        drafted = do_draft_weekly_report(actor=request.user)
        return Response(WeeklyReportOut(drafted.report, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED if drafted.created else status.HTTP_200_OK)

    @county_action(input=WeeklyEditIn, output=WeeklyReportOut, summary="Edit a draft's text and named units")
    def edit(self, request, data, pk=None):
        return do_edit_weekly_report(int(pk), actor=request.user, **data)

    @county_action(input=Versioned, output=WeeklyReportOut,
                   summary="Submit a draft for the office leader's review (一(二) 上报前审核)")
    def submit(self, request, data, pk=None):
        return do_submit_weekly_report(int(pk), actor=request.user, **data)

    @county_action(input=WeeklyReturnIn, output=WeeklyReportOut, url_path="return",
                   summary="Return a submitted report to staff with the reason (office leader)")
    def return_to_staff(self, request, data, pk=None):
        return do_return_weekly_report(int(pk), actor=request.user, **data)

    @county_action(input=Versioned, output=WeeklyReportOut,
                   summary="Issue a submitted report after review (office leader): numbered, printed, leaders and "
                           "named units notified; not before the pack's weekly time")
    def issue(self, request, data, pk=None):
        return do_issue_weekly_report(int(pk), actor=request.user, **data)
