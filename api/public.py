"""/api/v1/ on the public host (the base domain): platform operators and city users.

City users see their own city and its counties (aggregates only — never a county's matters);
platform operators see every city and county. A county's own users cannot log in here at all
(their accounts live in their county's schema)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.base import FINAL_METHODS, SingleObjectSchema
from duban.accounts.models import PUBLIC_ROLES, Role, User
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

    def safely_get_queryset(self, user):
        return visible_cities(user).prefetch_related("counties").order_by("code")


@extend_schema_view(list=extend_schema(summary="Counties of the cities I may see"),
                    retrieve=extend_schema(summary="One county"))
class CountiesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PublicViewSet):
    queryset = County.objects.none()
    serializer_class = CountyOut
    lookup_field = "slug"
    filterset_fields = ["status"]

    def safely_get_queryset(self, user):
        return visible_counties(user).select_related("city").order_by("city__code", "slug")
