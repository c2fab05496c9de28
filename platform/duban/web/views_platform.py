"""The platform operator's console on the public host: counties (create, suspend, resume, switch
rule pack), cities (create) and city users (add, list, remove).

Every write calls the function the CLI calls (tenants.provisioning, as `duban county …` and `duban
city …` do), with the signed-in operator as the actor, so it is validated and audited the same
way. A refusal goes under the field it names and the page is shown again with status 400."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from duban.accounts.models import Role
from duban.core import dbowner
from duban.core.errors import NotAllowed, NotFound
from duban.web.forms_platform import CityForm, CityUserForm, CountyForm, RulepackForm, StatusForm
from duban.web.shortcuts import add_error, page
from plugins.manager import get_registry
from tenants import provisioning
from tenants.models import City, County

CONSOLE = "web/public/platform.html"


def _operator(request) -> None:
    if request.user.role != Role.PLATFORM_OPERATOR and not request.user.is_superuser:
        raise NotAllowed(_("只有平台运维人员可以使用运维控制台。"))


def _packs() -> list[str]:
    return [f"{p.name}=={p.version}" for p in get_registry().all() if p.ok]


def _county(slug: str) -> County:
    county = County.objects.select_related("city").filter(slug=slug).first()
    if county is None:
        raise NotFound(_("没有这个县。"))
    return county


def _city(code: str) -> City:
    city = City.objects.filter(code=code).first()
    if city is None:
        raise NotFound(_("没有这个市。"))
    return city


def _refused(form, exc: provisioning.ProvisioningError) -> None:
    """A provisioning refusal under the field it names (above the form when it names none the
    form shows); the page names the field either way (``data-field``)."""
    add_error(form, exc)
    form.refused_field = exc.field or ""


def _denied(form, exc: DatabaseError) -> None:
    """The web's database role cannot create schemas where the owner role is set apart (production):
    say so, and where the work can be done, instead of a 500."""
    if not dbowner.permission_denied(exc):
        raise exc
    form.add_error(None, _("数据库拒绝了这项操作：网页服务以应用角色连接数据库，不能建立数据库模式。"
                           "请在服务器上用命令行开通：duban county create（见运维手册“数据库角色”）。"))


# --- counties -----------------------------------------------------------------------------------
@never_cache
@page
def console(request):
    """Every county with its city, status, rule pack and host; what the operator can do next."""
    _operator(request)
    counties = list(County.objects.select_related("city").order_by("city__code", "slug"))
    return render(request, CONSOLE, {
        "rows": [{"county": c, "url": provisioning.county_url(c)} for c in counties],
        "active": sum(1 for c in counties if c.is_active),
        "suspended": sum(1 for c in counties if c.status == County.Status.SUSPENDED),
        "archived": sum(1 for c in counties if c.status == County.Status.ARCHIVED),
        "cities": City.objects.count(), "tab": "counties"})


@never_cache
@page
@require_http_methods(["GET", "POST"])
def county_new(request):
    """Open a county: its row, host, schema (a clone of the template) and admin user
    (provisioning.create_county, as `duban county create`)."""
    _operator(request)
    cities, packs = list(City.objects.order_by("code")), _packs()
    form = CountyForm(request.POST or None, cities=cities, packs=packs,
                      initial={"rulepack": next((p for p in packs if p.startswith("county_default==")), None)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = provisioning.create_county(
                data["slug"], data["name"], data["city"], actor=request.user, rulepack=data["rulepack"],
                admin_username=data["admin"], admin_password=data["admin_password"] or None,
                abbreviation=data["abbreviation"])
        except provisioning.ProvisioningError as exc:
            _refused(form, exc)
        except DatabaseError as exc:
            _denied(form, exc)
        else:
            return render(request, "web/public/platform_county_created.html", {
                "made": made, "county": made.county, "url": provisioning.county_url(made.county),
                "password_shown": not data["admin_password"], "tab": "counties"})
    status = 400 if request.method == "POST" else 200
    return render(request, "web/public/platform_county_new.html", {"form": form, "tab": "counties",
                                                                   "no_city": not cities}, status=status)


def _county_page(request, county, *, status_form=None, pack_form=None, status=200):
    return render(request, "web/public/platform_county.html", {
        "county": county, "url": provisioning.county_url(county), "tab": "counties",
        "status_form": status_form or StatusForm(),
        "pack_form": pack_form or RulepackForm(packs=_packs(),
                                               initial={"rulepack": f"{county.rulepack_name}=={county.rulepack_version}"}),
        "archived": county.status == County.Status.ARCHIVED}, status=status)


@never_cache
@page
def county_detail(request, slug):
    _operator(request)
    return _county_page(request, _county(slug))


def _set_status(request, slug, status, done):
    _operator(request)
    county = _county(slug)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            county = provisioning.set_status(county.slug, status, actor=request.user, reason=form.cleaned_data["reason"])
        except provisioning.ProvisioningError as exc:
            _refused(form, exc)
        else:
            messages.success(request, done % {"name": county.name})
            return HttpResponseRedirect(reverse("platform_county", args=[county.slug]))
    return _county_page(request, _county(slug), status_form=form, status=400)


@never_cache
@page
@require_POST
def county_suspend(request, slug):
    """Suspend a county (provisioning.set_status, as `duban county suspend`): its data stays; its
    host answers with the suspended page."""
    return _set_status(request, slug, County.Status.SUSPENDED, _("已暂停%(name)s；其数据全部保留，恢复后照常使用。"))


@never_cache
@page
@require_POST
def county_resume(request, slug):
    """Resume a suspended county (as `duban county resume`)."""
    return _set_status(request, slug, County.Status.ACTIVE, _("已恢复%(name)s，其网址照常服务。"))


@never_cache
@page
@require_POST
def county_rulepack(request, slug):
    """Switch a county to another installed rule pack (provisioning.set_rulepack, as `duban county
    set-rulepack`): history keeps the pack that produced it; new events use the new pack."""
    _operator(request)
    county = _county(slug)
    form = RulepackForm(request.POST, packs=_packs())
    if form.is_valid():
        try:
            county = provisioning.set_rulepack(county.slug, form.cleaned_data["rulepack"], actor=request.user)
        except provisioning.ProvisioningError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("%(name)s已改用规则包 %(pack)s；已有的扣分记录仍按原规则包保留。")
                             % {"name": county.name, "pack": f"{county.rulepack_name}=={county.rulepack_version}"})
            return HttpResponseRedirect(reverse("platform_county", args=[county.slug]))
    return _county_page(request, county, pack_form=form, status=400)


# --- cities and their users ---------------------------------------------------------------------
def _cities_page(request, form, status=200):
    cities = City.objects.order_by("code")
    rows = [{"city": c, "counties": c.counties.exclude(status=County.Status.ARCHIVED).count(),
             "users": c.members.filter(ended_at__isnull=True).count()} for c in cities]
    return render(request, "web/public/platform_cities.html", {"rows": rows, "form": form, "tab": "cities"},
                  status=status)


@never_cache
@page
@require_http_methods(["GET", "POST"])
def cities(request):
    """The cities, their counties and users; a new city (provisioning.create_city, as `duban city create`)."""
    _operator(request)
    form = CityForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                city = provisioning.create_city(form.cleaned_data["code"], form.cleaned_data["name"], actor=request.user)
            except provisioning.ProvisioningError as exc:
                _refused(form, exc)
            else:
                messages.success(request, _("已添加%(name)s。") % {"name": city.name})
                return HttpResponseRedirect(reverse("platform_city", args=[city.code]))
        return _cities_page(request, form, status=400)
    return _cities_page(request, form)


def _city_page(request, city, *, form=None, created=None, remove_error=None, status=200):
    _, members = provisioning.city_users(city.code)
    return render(request, "web/public/platform_city.html", {
        "city": city, "form": form or CityUserForm(), "created": created, "remove_error": remove_error, "tab": "cities",
        "current": [m for m in members if m.ended_at is None], "ended": [m for m in members if m.ended_at is not None],
        "counties": city.counties.order_by("slug")}, status=status)


@never_cache
@page
@require_http_methods(["GET", "POST"])
def city_detail(request, code):
    """A city's users, current and removed; a new one (provisioning.create_city_user, as `duban city
    user add`): the password typed, or a random one shown once."""
    _operator(request)
    city = _city(code)
    if request.method != "POST":
        return _city_page(request, city)
    form = CityUserForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        password = data["password"] or secrets.token_urlsafe(12)
        try:
            user = provisioning.create_city_user(city.code, data["username"], actor=request.user, password=password,
                                                 full_name=data["full_name"], email=data["email"])
        except provisioning.ProvisioningError as exc:
            _refused(form, exc)
        else:
            created = {"username": user.username, "password": "" if data["password"] else password}
            return _city_page(request, city, created=created)
    return _city_page(request, city, form=form, status=400)


@never_cache
@page
@require_POST
def city_user_remove(request, code, username):
    """Deactivate a city user and end the membership (provisioning.remove_city_user, as `duban city
    user remove`): the row stays, with the time it ended."""
    _operator(request)
    city = _city(code)
    try:
        membership = provisioning.remove_city_user(city.code, username, actor=request.user)
    except provisioning.ProvisioningError as exc:
        return _city_page(request, city, remove_error={"field": exc.field or "", "message": str(exc)}, status=400)
    messages.success(request, _("已停用市级用户 %(username)s；其成员记录保留。") % {"username": membership.user.username})
    return HttpResponseRedirect(reverse("platform_city", args=[city.code]))
