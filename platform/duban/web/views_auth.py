"""Login, logout, the one-time-password step and its set-up page, and the lockout page.

The same views serve every county's host and the public host: the user table, the session and
the lockout records are the host's schema's, so a county's user exists (and can log in) only on
that county's host.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from duban.identity import flow
from duban.identity.access import active_provider, county_provider, password_login_allowed
from duban.web import otp, slowdown
from duban.web.middleware import OTP_REQUIRED_KEY, needs_otp, otp_pending
from duban.web.shortcuts import refused

OTP_ERRORS = {
    "invalid": gettext_lazy("验证码不正确或已过期，请查看验证器应用中的最新6位数字。"),
    "throttled": gettext_lazy("验证码错误次数过多，请稍候再试。"),
    "no_device": gettext_lazy("尚未设置动态验证码。"),
    "role": gettext_lazy("您的角色无需设置动态验证码。"),
}


def safe_next(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


class SlowDownMixin:
    """Before the password is checked (and counted): a user name being guessed from many
    addresses waits (duban.web.slowdown), except at the user's own recent address."""

    retry_at = None

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and self.request is not None:
            self.retry_at = slowdown.retry_after(self.request, username)
            if self.retry_at is not None:
                raise forms.ValidationError(
                    _("该账号登录尝试过于频繁，请于%(time)s之后再试。")
                    % {"time": timezone.localtime(self.retry_at).strftime("%H:%M:%S")}, code="slowed_down")
        return super().clean()


class PasswordPolicyMixin:
    """A county whose single sign-on closes password logins (duban.identity) refuses them, but for
    its county admins: the escape hatch when the provider fails (docs/identity.md)."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not password_login_allowed(user):
            raise forms.ValidationError(_("本县已关闭用户名密码登录，请使用统一身份认证登录。"), code="password_login_off")


class LoginForm(PasswordPolicyMixin, SlowDownMixin, AuthenticationForm):
    """Django's login form (it passes the request to ``authenticate``, which django-axes needs)
    with our wording."""

    error_messages = {
        "invalid_login": gettext_lazy("用户名或密码不正确。连续多次输错，账号将被暂时锁定。"),
        "inactive": gettext_lazy("该账号已停用，请联系本县系统管理员。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = gettext_lazy("用户名")
        self.fields["password"].label = gettext_lazy("密码")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})


class AdminLoginForm(PasswordPolicyMixin, SlowDownMixin, AdminAuthenticationForm):
    """The admin site's login form (``admin.site.login_form``, set in WebConfig.ready) with the
    same slow-down."""


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("动态验证码"), max_length=8, min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": "[0-9]*", "autofocus": True}))


def _site_name(request) -> str:
    tenant = getattr(request, "tenant", None)
    if getattr(tenant, "pk", None) is not None:
        return tenant.name
    return _("督办平台")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = safe_next(request)
    if request.user.is_authenticated:
        if otp_pending(request):
            return HttpResponseRedirect("/login/otp/?" + urlencode({"next": next_url}))
        return HttpResponseRedirect(next_url)
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        auth_login(request, user)  # the user_logged_in signal notes whether a code is owed
        if needs_otp(user):
            return HttpResponseRedirect("/login/otp/?" + urlencode({"next": next_url}))
        return HttpResponseRedirect(next_url)
    sso = active_provider()  # the county's single sign-on (None on the public host)
    response = render(request, "web/login.html", {
        "form": form, "next": next_url, "site_name": _site_name(request),
        "is_public": getattr(request.tenant, "pk", None) is None,
        "sso": sso, "sso_url": "/login/sso/?" + urlencode({"next": next_url}),
        # Passwords closed: the form only for ?password=1 (county admins' escape hatch) or a refused POST.
        "show_password": sso is None or sso.password_login or request.GET.get("password") == "1"
        or request.method == "POST",
        "password_url": "/login/?" + urlencode({"password": "1", "next": next_url})})
    if form.retry_at is not None:
        response.status_code = 429
        response["Retry-After"] = str(max(1, int((form.retry_at - timezone.now()).total_seconds()) + 1))
    return response


@csrf_protect
@never_cache
def logout_view(request):
    if request.method == "POST":
        id_token = request.session.get(flow.ID_TOKEN_KEY)  # a single sign-on login: log out there too
        auth_logout(request)
        messages.success(request, _("您已安全退出。"))
        provider_logout = flow.logout_url(county_provider() if id_token else None, id_token,
                                          post_logout_redirect_uri=request.build_absolute_uri(settings.LOGIN_URL))
        if provider_logout:
            # On to the provider's end-session endpoint from a page of ours: a redirect answering the
            # form's POST would be refused by the browser (CSP form-action 'self' covers redirects).
            response = render(request, "web/logout_provider.html", {"url": provider_logout,
                                                                     "site_name": _site_name(request)})
            response["Cache-Control"] = "no-store"
            return response
        return HttpResponseRedirect(settings.LOGIN_URL)
    if not request.user.is_authenticated:
        return HttpResponseRedirect(settings.LOGIN_URL)
    return render(request, "web/logout.html", {"site_name": _site_name(request)})


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def otp_verify_view(request):
    """The second step of the login: the 6-digit code of the user's authenticator app."""
    next_url = safe_next(request)
    if not request.user.is_authenticated:
        return HttpResponseRedirect(settings.LOGIN_URL)
    if not otp_pending(request):
        return HttpResponseRedirect(next_url)
    if otp.confirmed_device(request.user) is None:  # removed meanwhile (e.g. by an admin)
        request.session.pop(OTP_REQUIRED_KEY, None)
        return HttpResponseRedirect(next_url)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = otp.verify_login_code(request.user, form.cleaned_data["token"])
        except otp.OTPError as exc:
            form.add_error("token", OTP_ERRORS[str(exc)])
        else:
            otp_login(request, device)
            request.session.pop(OTP_REQUIRED_KEY, None)
            return HttpResponseRedirect(next_url)
    return render(request, "web/otp_verify.html", {
        "form": form, "next": next_url, "site_name": _site_name(request)})


@sensitive_post_parameters("token")
@login_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def otp_setup_view(request):
    """``/account/otp/``: set up (scan the QR code, confirm with a code) or turn off the
    authenticator-app second factor."""
    user = request.user
    if not otp.may_use_otp(user):
        return refused(request, _("您的角色无需设置动态验证码。"))
    device = otp.confirmed_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        try:
            if action == "remove" and device is not None:
                otp.remove_device(user, form.cleaned_data["token"])
                messages.success(request, _("已停用动态验证码。"))
            elif action == "confirm" and device is None:
                device = otp.confirm_device(user, form.cleaned_data["token"])
                otp_login(request, device)  # this session has just proved the code
                request.session.pop(OTP_REQUIRED_KEY, None)
                messages.success(request, _("动态验证码已启用：今后登录时，输入密码后还需输入验证器应用中的验证码。"))
            else:
                return HttpResponseRedirect(request.path)
        except otp.OTPError as exc:
            form.add_error("token", OTP_ERRORS[str(exc)])
        else:
            return HttpResponseRedirect(request.path)
    context = {"form": form, "device": device}
    if device is None:
        pending = otp.pending_device(user)
        context.update({"qr_svg": otp.qr_svg(otp.config_url(pending)),
                        "secret": otp.secret_base32(pending), "issuer": otp.issuer()})
    return render(request, "web/otp_setup.html", context)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response (``AXES_LOCKOUT_CALLABLE``): the page of
    ``AXES_LOCKOUT_TEMPLATE``, HTTP 403, saying until when logins are refused.

    A refused attempt during the lockout starts the cool-off again (django-axes'
    ``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT``), so the lockout ends one cool-off period
    after this attempt."""
    cool_off = settings.AXES_COOLOFF_TIME
    if not isinstance(cool_off, timedelta):
        cool_off = timedelta(minutes=30)
    retry_at = timezone.localtime(timezone.now() + cool_off)
    minutes = max(1, int(cool_off.total_seconds() // 60))
    username = ""
    if credentials:
        username = credentials.get("username") or ""
    response = render(request, settings.AXES_LOCKOUT_TEMPLATE, {
        "retry_at": retry_at, "minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT,
        "username": str(username), "site_name": _site_name(request)},
        status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Cache-Control"] = "no-store"
    return response

