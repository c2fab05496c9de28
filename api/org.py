"""Who I am, the county's units and users, and its rule pack (read-only)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from api import idempotency
from api.base import CountyViewSet, SingleObjectSchema, county_action
from duban.accounts.actions import do_change_role, do_create_user
from duban.accounts.models import COUNTY_ROLES, Role, User
from duban.core.county import county_pack
from duban.supervision.access import visible_units
from duban.units.actions import do_create_unit
from duban.units.models import Unit

ADMIN = (Role.COUNTY_ADMIN,)


class CountyOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class MeOut(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display")
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    county = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "role_label", "unit", "email", "phone", "county"]

    def get_county(self, user) -> dict:
        tenant = self.context["request"].tenant
        return {"slug": tenant.slug, "name": tenant.name}


class UnitOut(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "kind", "kind_label", "contact_person", "contact_phone", "is_active"]


class UnitIn(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    contact_person = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class UserOut(MeOut):
    class Meta(MeOut.Meta):
        fields = ["id", "username", "full_name", "role", "role_label", "unit", "email", "phone", "is_active",
                  "last_login", "date_joined"]


class UserIn(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    role = serializers.ChoiceField(choices=Role.choices, help_text="a county role")
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True)
    unit = serializers.SlugRelatedField(slug_field="code", queryset=Unit.objects.filter(is_active=True),
                                        required=False, allow_null=True, default=None)

    def validate_role(self, role):
        if role not in COUNTY_ROLES:
            raise serializers.ValidationError(_("县里的用户须选择县里的角色。"))
        return role

    def validate(self, data):
        try:
            validate_password(data["password"], User(username=data["username"], full_name=data["full_name"]))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return data


class RoleIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=[(role.value, role.label) for role in COUNTY_ROLES],
                                   help_text="the user's new county role")
    unit = serializers.SlugRelatedField(slug_field="code", queryset=Unit.objects.filter(is_active=True),
                                        required=False, allow_null=True, default=None,
                                        help_text="the unit's code; unit staff only")


class MeViewSet(CountyViewSet):
    schema = SingleObjectSchema()
    queryset = User.objects.none()
    serializer_class = MeOut
    pagination_class = None

    def safely_get_queryset(self, user):
        return User.objects.filter(pk=user.pk)

    @extend_schema(summary="Who I am, in which county", responses=MeOut)
    def list(self, request):
        return self.respond(MeOut, request.user)


@extend_schema_view(
    list=extend_schema(summary="The county's units (townships and departments)"),
    retrieve=extend_schema(summary="One unit, by code"),
    create=extend_schema(parameters=[idempotency.PARAMETER], summary="Add a unit (county admin)", request=UnitIn,
                         responses={201: UnitOut}),
)
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = Unit.objects.none()
    serializer_class = UnitOut
    lookup_field = "code"
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ("id", "code")
    ordering = ("kind", "code")
    roles = {"create": ADMIN}

    def safely_get_queryset(self, user):
        return visible_units(user).order_by("kind", "code")

    @idempotency.idempotent
    def create(self, request):
        serializer = UnitIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.respond(UnitOut, do_create_unit(actor=request.user, **serializer.validated_data), status_code=201)


@extend_schema_view(
    list=extend_schema(summary="The county's users (county admin)"),
    retrieve=extend_schema(summary="One user (county admin)"),
    create=extend_schema(parameters=[idempotency.PARAMETER], summary="Add a user (county admin)", request=UserIn,
                         responses={201: UserOut}),
)
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = User.objects.none()
    serializer_class = UserOut
    filterset_fields = ["role", "is_active"]
    ordering_fields = ("id", "date_joined", "last_login")
    ordering = ("id",)
    roles = {"list": ADMIN, "retrieve": ADMIN, "create": ADMIN, "role": ADMIN}

    def safely_get_queryset(self, user):
        if user.role != Role.COUNTY_ADMIN:
            return User.objects.none()
        return User.objects.select_related("unit").order_by("id")

    @idempotency.idempotent
    def create(self, request):
        serializer = UserIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        user = do_create_user(data.pop("username"), actor=request.user, **data)
        return self.respond(UserOut, user, status_code=201)

    @county_action(input=RoleIn, output=UserOut, summary="Change a user's role and unit (county admin; audited)")
    def role(self, request, data, pk=None):
        """The only way a role changes (the admin site shows roles read-only). One cannot change
        one's own role; unit staff need a unit and nobody else has one."""
        return do_change_role(self.get_object(), actor=request.user, **data)


class RulePackViewSet(CountyViewSet):
    schema = SingleObjectSchema()
    queryset = Unit.objects.none()
    pagination_class = None

    def safely_get_queryset(self, user):
        return Unit.objects.none()

    @extend_schema(summary="The county's rule pack: scope, ladder, deduction schedule, calendar, texts",
                   responses={200: OpenApiTypes.OBJECT})
    def list(self, request):
        pack = county_pack()
        return Response(pack.model_dump(mode="json", by_alias=True))
