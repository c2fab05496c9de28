"""The channels that reach a person (issue 22): the county admin's 通知渠道 pages (each provider's
account) and the short link a notice carries (``/m/<code>``), which opens the notice's page after
the county's login. A person's own 接收方式 is on the notification settings page
(``views_notifications``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from duban.accounts.models import Role
from duban.core.errors import Invalid, NotFound
from duban.notifications import providers, reach
from duban.notifications.actions import do_open_phone_link, do_save_channel_account
from duban.notifications.models import ChannelAccount
from duban.web.forms_reach import ChannelAccountForm
from duban.web.shortcuts import add_error, not_found, page, require_role, safe_back

T = "web/reach/"


# --- the county admin's channel accounts -----------------------------------------------------------
@page
@require_safe
def channel_list(request):
    require_role(request.user, Role.COUNTY_ADMIN, what=_("只有县管理员可以设置通知渠道。"))
    stored = {account.provider: account for account in ChannelAccount.objects.all()}
    rows = [{"provider": code, "label": label, "account": stored.get(code)}
            for code, label in ChannelAccount.Provider.choices]
    return render(request, T + "channels.html", {"rows": rows})


@page
@require_http_methods(["GET", "HEAD", "POST"])
def channel_edit(request, provider: str):
    require_role(request.user, Role.COUNTY_ADMIN, what=_("只有县管理员可以设置通知渠道。"))
    if provider not in providers.FIELDS:
        raise NotFound(_("没有这种通知渠道。"))
    account = ChannelAccount.objects.filter(provider=provider).first() or ChannelAccount(provider=provider)
    form = ChannelAccountForm(request.POST if request.method == "POST" else None, account=account)
    if request.method == "POST":
        if form.is_valid():
            try:
                do_save_channel_account(provider, actor=request.user, values=form.values(),
                                        secret=form.cleaned_data.get(providers.SECRET_FIELD) or None,
                                        is_active=form.cleaned_data["is_active"])
            except Invalid as exc:
                add_error(form, exc)
            else:
                messages.success(request, _("已保存%(provider)s的设置。") % {"provider": account.get_provider_display()})
                return redirect("reach:channels")
        return render(request, T + "channel_edit.html", {"form": form, "account": account}, status=400)
    return render(request, T + "channel_edit.html", {"form": form, "account": account})


# --- the short link -------------------------------------------------------------------------------
@require_safe
def phone_link(request, code: str):
    """``/m/<code>``: a code of another county (or none) is not found; an expired one says so;
    otherwise the county's login first (``next`` back here), then the notice's page — where the
    matter's own rules decide, as for any link."""
    link = reach.open_link(code)
    if link is None:
        return not_found(request)
    if reach.expired(link):
        return render(request, T + "link_expired.html", {"days": settings.DUBAN_PHONE_LINK_DAYS}, status=410)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    note = link.notification
    if note.recipient_id == request.user.pk:
        do_open_phone_link(link, actor=request.user)
    return HttpResponseRedirect(safe_back(request, note.url) or "/notifications/")
