"""Session guards of the web UI: default language, idle timeout, and the one-time-password step.

Order in ``MIDDLEWARE`` (see settings.base): ``DefaultLanguageMiddleware`` before Django's
``LocaleMiddleware``; ``IdleTimeoutMiddleware`` and ``OTPRequiredMiddleware`` after
``AuthenticationMiddleware``, django-otp's ``OTPMiddleware`` and ``MessageMiddleware``.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.accounts.models import NO_ROLE

# Session keys (prefixed so that nobody else's code takes them by accident).
LAST_ACTIVITY_KEY = "duban_last_activity"
OTP_REQUIRED_KEY = "duban_otp_required"

# Roles that may (and, once they confirmed a device, must) use a TOTP second factor.
OTP_ROLES = ("office_leader", "supervision_staff", "county_admin")

# Paths a user who still owes the one-time password may reach.
OTP_OPEN_PREFIXES = ("/login/", "/logout/", "/i18n/", "/static/", "/healthz", "/readyz")
# Paths a user without a role (opened by single sign-on, waiting for a county admin) may reach.
NO_ROLE_OPEN_PREFIXES = ("/logout/", "/i18n/", "/static/", "/healthz", "/readyz")


class DefaultLanguageMiddleware:
    """Simplified Chinese unless the user picked a language with the switch in the top bar.

    Django's ``LocaleMiddleware`` would otherwise follow the browser's ``Accept-Language``, so a
    county clerk on an English-language browser (or a headless test browser) would get English.
    The choice made with ``/i18n/setlang/`` (the language cookie) still wins. The API
    (``/api/``) keeps following ``Accept-Language``: integrators ask for the language they parse.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


def needs_otp(user) -> bool:
    """A user of an OTP role with a confirmed TOTP device (must pass ``/login/otp/``)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "role", None) not in OTP_ROLES:
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@receiver(user_logged_in, dispatch_uid="duban.web.otp_required_on_login")
def _mark_otp_required(sender, request, user, **kwargs):
    """Whatever the login page (ours, the admin site's), a user with a confirmed device still
    owes the one-time password: the session says so until ``/login/otp/`` clears it."""
    if request is None or not hasattr(request, "session"):
        return
    if needs_otp(user) and getattr(user, "otp_device", None) is None:
        request.session[OTP_REQUIRED_KEY] = True
    else:
        request.session.pop(OTP_REQUIRED_KEY, None)
    request.session[LAST_ACTIVITY_KEY] = int(time.time())


def otp_pending(request) -> bool:
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False) or not request.session.get(OTP_REQUIRED_KEY):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified and is_verified())


def login_url_with_next(request) -> str:
    path = request.get_full_path()
    if request.method != "GET" or path.startswith(("/login/", "/logout/")):
        return settings.LOGIN_URL
    return f"{settings.LOGIN_URL}?{urlencode({'next': path})}"


class IdleTimeoutMiddleware:
    """Logs a session out after ``DUBAN_IDLE_TIMEOUT_SECONDS`` without a request.

    The time of the last request is kept in the session (epoch seconds). It is written at most
    once every tenth of the timeout (at most once a minute), so a busy page does not write the
    session on every request. Requests authenticated by an API token do not use the session and
    are not affected.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if getattr(user, "is_authenticated", False):
            timeout = settings.DUBAN_IDLE_TIMEOUT_SECONDS
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY)
            if isinstance(last, (int, float)) and now - last > timeout:
                logout(request)
                messages.info(request, _("由于长时间未操作，您已自动退出登录，请重新登录。"))
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return HttpResponseRedirect(login_url_with_next(request))
            if not isinstance(last, (int, float)) or now - last >= min(60, max(1, timeout // 10)):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class OTPRequiredMiddleware:
    """Until a user who owes the one-time password has given it, every page but the OTP step
    (and logout, the language switch, static files and health probes) sends them there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if otp_pending(request) and not request.path.startswith(OTP_OPEN_PREFIXES):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {
                    "code": "otp_required", "message": "one-time password required: complete /login/otp/",
                    "fields": {}}}, status=403)
            target = "/login/otp/"
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(target)
        return self.get_response(request)


class RoleRequiredMiddleware:
    """A county user opened by single sign-on who has no role yet (duban.identity) sees one page
    saying so — every other page, the API included, is closed until a county admin gives a role."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (getattr(user, "is_authenticated", False) and getattr(user, "role", None) == NO_ROLE
                and not request.path.startswith(NO_ROLE_OPEN_PREFIXES)):
            message = _("您已通过统一身份认证登录，但本县系统管理员尚未为您分配角色。分配后刷新本页即可使用。")
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "no_role", "message": message, "fields": {}}}, status=403)
            return render(request, "web/pending_role.html", {"message": message}, status=403)
        return self.get_response(request)
