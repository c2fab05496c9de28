"""Pages of the public host (the base domain): the landing page, the city portal for city
users, and the platform operator's list of counties. Users here live in the public schema."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from duban.accounts.models import Role
from tenants.models import County


def county_url(county: County) -> str:
    port = settings.DUBAN_PUBLIC_PORT
    default_port = {"http": 80, "https": 443}[settings.DUBAN_URL_SCHEME]
    suffix = "" if port == default_port else f":{port}"
    return f"{settings.DUBAN_URL_SCHEME}://{county.slug}.{settings.DUBAN_BASE_DOMAIN}{suffix}/"


def _rows(counties):
    return [{"county": c, "url": county_url(c)} for c in counties]


@never_cache
def public_home(request):
    """``/``: signed-in platform users go to their page; everyone else sees the landing page."""
    user = request.user
    if user.is_authenticated:
        if user.role == Role.CITY_USER:
            return HttpResponseRedirect("/city/")
        if user.role == Role.PLATFORM_OPERATOR:
            return HttpResponseRedirect("/platform/")
    counties = County.objects.select_related("city").order_by("city__code", "slug")
    return render(request, "web/public/home.html", {"counties": counties, "count": counties.count()})


@never_cache
@login_required
def city_portal(request):
    """A city user's portal: the counties of their city. The comparison of counties comes with
    the cross-county metrics (a placeholder until then)."""
    if request.user.role != Role.CITY_USER:
        raise PermissionDenied(_("只有市政府用户可以查看本页。"))
    membership = getattr(request.user, "city_membership", None)
    if membership is None:
        raise PermissionDenied(_("您的账号尚未关联到任何市，请联系平台运维。"))
    city = membership.city
    counties = County.objects.filter(city=city).order_by("slug")
    return render(request, "web/public/city.html", {"city": city, "rows": _rows(counties)})


@never_cache
@login_required
def platform_counties(request):
    """The platform operator's page: every county with its city, status, rule pack and host."""
    if request.user.role != Role.PLATFORM_OPERATOR and not request.user.is_superuser:
        raise PermissionDenied(_("只有平台运维人员可以查看本页。"))
    counties = County.objects.select_related("city").order_by("city__code", "slug")
    return render(request, "web/public/platform.html", {
        "rows": _rows(counties), "active": sum(1 for c in counties if c.is_active),
        "suspended": sum(1 for c in counties if not c.is_active)})
