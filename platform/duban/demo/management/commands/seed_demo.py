"""`duban seed_demo`: a demo city with three counties, their units and a user per role.

Idempotent: a second run keeps what exists and adds what is missing. Later features extend the
seed so that the demo always shows every capability.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.comparison.actions import do_set_reference_pack
from duban.comparison.refresh import refresh_all
from duban.comparison.service import current_reference
from duban.core import dbowner
from duban.core.progress import progress_bar
from duban.demo.matters import seed_matters
from duban.demo.reports import seed_weekly_report
from duban.demo.supervision import seed_supervision
from duban.matters.models import Matter
from duban.units.actions import do_create_unit
from duban.units.models import Unit
from tenants import provisioning
from tenants.models import City, County

DEMO_PASSWORD = "Duban@2026"
CITY = ("shifan", "示范市")
COUNTIES = [  # slug, name, 发文机关代字, townships
    ("dongshan", "东山县", "东", ["城关镇", "桥头镇", "青石镇", "白沙镇", "龙泉镇"]),
    ("xihe", "西河县", "西", ["河口镇", "柳林镇", "石门镇", "新华镇", "高桥镇"]),
    ("nanling", "南岭县", "岭", ["岭南镇", "竹园镇", "松山镇", "临江镇", "花坪镇"]),
]
DEPARTMENTS = ["发展和改革局", "财政局", "教育局", "住房和城乡建设局", "农业农村局"]
PEOPLE = [
    # username, role, full name
    ("admin", Role.COUNTY_ADMIN, "县管理员"),
    ("leader", Role.COUNTY_LEADER, "王县长"),
    ("office", Role.OFFICE_LEADER, "李主任"),
    ("staff", Role.SUPERVISION_STAFF, "张督查"),
]
PLATFORM_PEOPLE = [
    # username, role, full name — public schema, on the base domain
    ("city", Role.CITY_USER, "市督查室（示范市）"),
    ("operator", Role.PLATFORM_OPERATOR, "平台运维"),
]
ACTOR = "seed_demo"


class Command(BaseCommand):
    help = "Seed the demo city (示范市) with three counties, units and users. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--summary", action="store_true", help="only print the URLs and logins")

    def handle(self, *args, **options):
        dbowner.use_owner_connection()  # it creates counties (DDL)
        if not options["summary"]:
            self.seed()
        self.print_summary()

    def seed(self):
        city = City.objects.filter(code=CITY[0]).first() or provisioning.create_city(
            CITY[0], CITY[1], actor=ACTOR)
        with progress_bar("创建示范县 seeding counties", total=len(COUNTIES)) as advance:
            for slug, name, abbreviation, townships in COUNTIES:
                county = County.objects.filter(slug=slug).first()
                if county is None:
                    county = provisioning.create_county(
                        slug, name, city.code, actor=ACTOR, admin_username=None, abbreviation=abbreviation).county
                with tenant_context(county):
                    self.seed_county(townships)
                    if not Matter.objects.exists():
                        seed_matters()
                    seed_supervision()
                    seed_weekly_report()
                advance()
        self.seed_platform(city)

    def seed_platform(self, city):
        """The city's own user and a platform operator (public schema), the city's reference pack,
        and every county's comparison snapshots, so the city portal opens with its charts."""
        connection.set_schema_to_public()
        for username, role, full_name in PLATFORM_PEOPLE:
            if User.objects.filter(username=username).exists():
                continue
            if role == Role.CITY_USER:
                provisioning.create_city_user(city.code, username, actor=ACTOR, password=DEMO_PASSWORD,
                                              full_name=full_name)
            else:
                do_create_user(username, actor=ACTOR, role=role, password=DEMO_PASSWORD, full_name=full_name)
        if not current_reference(city):
            do_set_reference_pack(city, "county_default", actor=ACTOR)
        refresh_all(list(city.counties.filter(status="active")), kind="full")

    def seed_county(self, townships: list[str]):
        units = [(f"T{i:02d}", n, Unit.Kind.TOWNSHIP) for i, n in enumerate(townships, 1)]
        units += [(f"D{i:02d}", n, Unit.Kind.DEPARTMENT) for i, n in enumerate(DEPARTMENTS, 1)]
        for code, name, kind in units:
            if not Unit.objects.filter(code=code).exists():
                do_create_unit(code, name, kind, actor=ACTOR, contact_person=f"{name}联络员",
                               contact_phone=f"0571-8800{code[1:]}{1 if kind == Unit.Kind.TOWNSHIP else 2}")
        for username, role, full_name in PEOPLE:
            if not User.objects.filter(username=username).exists():
                do_create_user(username, actor=ACTOR, role=role, password=DEMO_PASSWORD, full_name=full_name)
        for unit in Unit.objects.all():
            username = unit.code.lower()
            if not User.objects.filter(username=username).exists():
                do_create_user(username, actor=ACTOR, role=Role.UNIT_STAFF, password=DEMO_PASSWORD,
                               full_name=f"{unit.name}办事员", unit=unit)

    def print_summary(self):
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("演示用市：%(city)s（%(code)s）") % {"city": CITY[1], "code": CITY[0]}))
        for slug, name, _abbreviation, _rest in COUNTIES:
            county = County.objects.filter(slug=slug).first()
            if county is None:
                continue
            with tenant_context(county):
                units = Unit.objects.count()
                users = User.objects.count()
                matters = Matter.objects.count()
            self.stdout.write(f"  {name:<6} {provisioning.county_url(county):<32} "
                              + _("单位 %(units)d 个，用户 %(users)d 名，督办事项 %(matters)d 件")
                              % {"units": units, "users": users, "matters": matters})
        self.stdout.write("")
        self.stdout.write(_("各县通用的登录账号（密码 %(password)s）：") % {"password": DEMO_PASSWORD})
        for username, role, full_name in PEOPLE:
            self.stdout.write(f"  {username:<8} {Role(role).label}（{full_name}）")
        self.stdout.write(_("  t01…t05 乡镇办事员，d01…d05 部门办事员（每个单位一名）"))
        self.stdout.write("")
        self.stdout.write(_("平台主站 %(url)s（密码 %(password)s）：")
                          % {"url": provisioning.public_url(), "password": DEMO_PASSWORD})
        for username, role, full_name in PLATFORM_PEOPLE:
            self.stdout.write(f"  {username:<8} {Role(role).label}（{full_name}） → "
                              f"{'/city/' if role == Role.CITY_USER else '/platform/'}")
        self.stdout.write("")
