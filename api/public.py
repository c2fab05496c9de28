"""/api/v1/ on the public host (the base domain): platform operators and city users.

City users see their own city and its counties (aggregates only — never a county's matters);
platform operators see every city and county. A county's own users cannot log in here at all
(their accounts live in their county's schema)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from api.base import FINAL_METHODS, SingleObjectSchema
from duban.accounts.models import PUBLIC_ROLES, Role, User
from duban.comparison import service as comparison_service
from duban.comparison.actions import do_set_reference_pack
from duban.core.errors import Invalid
from tenants.models import City, County
from tenants.provisioning import county_url


class OnPublicHost(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if getattr(getattr(request, "tenant", None), "pk", "county") is not None:
            raise NotFound()
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not user.is_active or user.role not in PUBLIC_ROLES:
            raise NotFound()
        return True


def visible_cities(user):
    if user.role == Role.PLATFORM_OPERATOR:
        return City.objects.all()
    if user.role == Role.CITY_USER:
        return City.objects.filter(members__user=user)
    return City.objects.none()


def visible_counties(user):
    return County.objects.filter(city__in=visible_cities(user).values("pk"))


class PublicViewSet(viewsets.GenericViewSet):
    """As ``api.base.CountyViewSet``, for the public host: scope through ``safely_get_queryset``."""

    permission_classes = [permissions.IsAuthenticated, OnPublicHost]
    lookup_value_regex = r"[^/]+"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in FINAL_METHODS:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} overrides {name}(); implement safely_get_queryset(user)")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return self.safely_get_queryset(self.request.user)

    def get_object(self):
        obj = self.get_queryset().filter(**{self.lookup_field: self.kwargs[self.lookup_field]}).first()
        if obj is None:
            raise NotFound()
        return obj


class CityOut(serializers.ModelSerializer):
    counties = serializers.SerializerMethodField()

    class Meta:
        model = City
        fields = ["code", "name", "counties", "created_at"]

    def get_counties(self, city) -> int:
        return len(city.counties.all())


class CountyOut(serializers.ModelSerializer):
    city = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_label = serializers.CharField(source="get_status_display")
    url = serializers.SerializerMethodField()

    class Meta:
        model = County
        fields = ["slug", "name", "city", "status", "status_label", "rulepack_name", "rulepack_version", "url",
                  "created_at"]

    def get_url(self, county) -> str:
        return county_url(county)


class PublicMeOut(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display")
    city = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "role_label", "city"]

    def get_city(self, user) -> str | None:
        membership = getattr(user, "city_membership", None) if user.role == Role.CITY_USER else None
        return membership.city.code if membership else None


class PublicMeViewSet(PublicViewSet):
    schema = SingleObjectSchema()
    queryset = User.objects.none()
    serializer_class = PublicMeOut
    pagination_class = None

    def safely_get_queryset(self, user):
        return User.objects.filter(pk=user.pk)

    @extend_schema(summary="Who I am on the platform", responses=PublicMeOut)
    def list(self, request):
        return Response(PublicMeOut(request.user).data)


@extend_schema_view(list=extend_schema(summary="Cities I may see"), retrieve=extend_schema(summary="One city"))
class CityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PublicViewSet):
    queryset = City.objects.none()
    serializer_class = CityOut
    lookup_field = "code"
    ordering_fields = ("code", "created_at")
    ordering = ("code",)

    def safely_get_queryset(self, user):
        return visible_cities(user).prefetch_related("counties").order_by("code")


@extend_schema_view(list=extend_schema(summary="Counties of the cities I may see"),
                    retrieve=extend_schema(summary="One county"))
class CountiesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PublicViewSet):
    queryset = County.objects.none()
    serializer_class = CountyOut
    lookup_field = "slug"
    filterset_fields = ["status"]
    ordering_fields = ("slug", "created_at")
    ordering = ("city__code", "slug")

    def safely_get_queryset(self, user):
        return visible_counties(user).select_related("city").order_by("city__code", "slug")


# --- city comparison (duban.comparison): reads public-schema snapshots only ------------------------

_CITY = OpenApiParameter("city", str, description="city code; optional for a city user (their own city)")
_PERIOD = OpenApiParameter("period", str, enum=["month", "quarter", "year"], description="default quarter")
_START = OpenApiParameter("start", OpenApiTypes.DATE, description="first day of the period (default: the current one)")
_RANK = OpenApiParameter("rank_by", str, enum=sorted(comparison_service.metrics.RANKABLE),
                         description="default reference_mean_score (own_mean_score when the city chose no pack)")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReferencePackIn(serializers.Serializer):
    reference_pack = serializers.CharField(max_length=160, help_text="NAME or NAME==VERSION of an installed pack")


class ReferencePackOut(serializers.Serializer):
    city = serializers.CharField()
    reference_pack = serializers.CharField(allow_null=True)
    set_by = serializers.CharField(allow_null=True)
    set_at = serializers.DateTimeField(allow_null=True)


def _comparison_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Invalid as exc:
        raise ValidationError({exc.field or "detail": [str(exc)]}) from None


class ComparisonViewSet(PublicViewSet):
    """A city's counties compared (aggregates only), from snapshots in the public schema.

    A city user sees their own city only: any other city answers 404, as a missing one does."""

    queryset = City.objects.none()
    lookup_field = "code"
    pagination_class = None
    serializer_class = ReferencePackOut

    def safely_get_queryset(self, user):
        return visible_cities(user).order_by("code")

    def _city(self, request) -> City:
        code = request.query_params.get("city")
        cities = self.get_queryset()
        if code:
            city = cities.filter(code=code).first()
            if city is None:
                raise NotFound()
            return city
        if request.user.role == "city_user":
            city = cities.first()
            if city is not None:
                return city
        raise ValidationError({"city": [_("请指明哪个市（?city=市的代码）。")]})

    @extend_schema(summary="A city's counties side by side for one period, ranked",
                   parameters=[_CITY, _PERIOD, _START, _RANK], responses=OpenApiTypes.OBJECT)
    def list(self, request):
        city = self._city(request)
        q = request.query_params
        # The rows come as JSON text from PostgreSQL (comparison_json): 1,000 counties in a few ms.
        content = _comparison_call(comparison_service.comparison_json, city, q.get("period"), q.get("start"),
                                   rank_by=q.get("rank_by") or "reference_mean_score")
        return HttpResponse(content, content_type="application/json")

    @extend_schema(summary="Quarterly trends of a city's counties",
                   parameters=[_CITY, OpenApiParameter("end", OpenApiTypes.DATE, description="first day of the last quarter"),
                               OpenApiParameter("quarters", int, description="how many quarters (1–20, default 8)")],
                   responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def trends(self, request):
        city = self._city(request)
        try:
            quarters = int(request.query_params.get("quarters") or 8)
        except ValueError:
            raise ValidationError({"quarters": [_("季度数应为整数。")]}) from None
        return Response(_comparison_call(comparison_service.trends, city, end=request.query_params.get("end"),
                                         quarters=quarters))

    @extend_schema(summary="The comparison as an Excel workbook (.xlsx)", parameters=[_CITY, _PERIOD, _START, _RANK],
                   responses={(200, XLSX): OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"])
    def export(self, request):
        city = self._city(request)
        q = request.query_params
        content, filename = _comparison_call(comparison_service.export_xlsx, city, q.get("period"), q.get("start"),
                                             rank_by=q.get("rank_by") or "reference_mean_score")
        return HttpResponse(content, content_type=XLSX,
                            headers={"Content-Disposition": content_disposition_header(True, filename)})

    @extend_schema(summary="What each metric means (label and definition, Chinese and English)",
                   responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def definitions(self, request):
        return Response(comparison_service.definitions())

    @extend_schema(methods=["GET"], summary="The city's reference pack", responses=ReferencePackOut)
    @extend_schema(methods=["POST"], summary="Choose the city's reference pack (rescores its counties)",
                   request=ReferencePackIn, responses=ReferencePackOut)
    @action(detail=True, methods=["get", "post"], url_path="reference-pack", serializer_class=ReferencePackOut)
    def reference_pack(self, request, code=None):
        city = self.get_object()
        if request.method == "POST":
            data = ReferencePackIn(data=request.data)
            data.is_valid(raise_exception=True)
            _comparison_call(do_set_reference_pack, city, data.validated_data["reference_pack"],
                             actor=request.user)
        chosen = comparison_service.CityComparisonSettings.objects.filter(city=city).first()
        return Response(ReferencePackOut({"city": city.code, "reference_pack": chosen.reference_pack if chosen else None,
                                          "set_by": chosen.set_by if chosen else None,
                                          "set_at": chosen.set_at if chosen else None}).data)
