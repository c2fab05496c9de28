"""My inbox (通知) and my notification preferences.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from duban.core.errors import Invalid
from duban.notifications import reach
from duban.notifications.actions import do_mark_read, do_set_preferences, do_set_reach_settings
from duban.notifications.channels import available_channels
from duban.notifications.events import EVENTS
from duban.notifications.models import Notification, Preference
from duban.web import forms_supervision as forms
from duban.web.forms_reach import ReachForm
from duban.web.shortcuts import (
    add_error,
    page,
    paginate,
    safe_back,
)

T = "web/supervision/"


# --- notifications -------------------------------------------------------------------------------
@page
@require_safe
def notification_list(request):
    user = request.user
    qs = Notification.objects.filter(recipient=user).select_related("matter").order_by("-id")
    unread_only = request.GET.get("unread") in ("1", "true")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page_obj = paginate(request, qs, 30)
    return render(request, T + "notification_list.html", {
        "page_obj": page_obj, "unread_only": unread_only, "events": EVENTS,
        "unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
        "rows": [{"note": n, "event_label": EVENTS.get(n.event, n.event)} for n in page_obj],
    })


@page
@require_POST
def notification_read(request):
    """Mark one (``id``), some or all (no ``id``) of my notifications read."""
    user = request.user
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    marked = do_mark_read(user, ids or None)
    if request.htmx and len(ids) == 1:
        note = Notification.objects.filter(recipient=user, pk=ids[0]).select_related("matter").first()
        if note is None:
            raise Http404("no such notification")
        return render(request, T + "_notification_row.html",
                      {"row": {"note": note, "event_label": EVENTS.get(note.event, note.event)}})
    if not ids or len(ids) > 1:  # all, or the ones ticked on the list (批量标为已读)
        messages.success(request, _("已将%(n)d条通知标为已读。") % {"n": marked})
    return redirect("supervision:notification_list")


@page
@require_safe
def notification_open(request, notification_id: int):
    """Open a notification's page, marking it read."""
    note = Notification.objects.filter(recipient=request.user, pk=notification_id).first()
    if note is None:
        raise Http404("no such notification")
    do_mark_read(request.user, [note.pk])
    url = safe_back(request, note.url or "")
    if url:
        return HttpResponseRedirect(url)
    return redirect("supervision:notification_list")


def _current_preferences(user) -> dict:
    return {(p.event, p.channel): p.enabled for p in Preference.objects.filter(user=user)}


def reach_form(user, data=None) -> ReachForm:
    mine = reach.settings_of(user)
    return ReachForm(data, prefix="reach", initial={
        "phone": user.phone, "wecom_userid": mine.wecom_userid, "dingtalk_userid": mine.dingtalk_userid,
        "quiet_enabled": mine.quiet_enabled, "quiet_start": mine.quiet_start, "quiet_end": mine.quiet_end})


@page
@require_http_methods(["GET", "HEAD", "POST"])
def notification_preferences(request):
    """Which channels I get each event on, and how I am reached (接收方式: my phone, my WeCom and
    DingTalk ids, my quiet hours) — two forms on one page, each posting on its own."""
    user = request.user
    channels = available_channels()
    current = _current_preferences(user)
    posted = request.method == "POST"
    reach_posted = posted and "reach-submit" in request.POST
    form = forms.PreferencesForm(request.POST if posted and not reach_posted else None, events=EVENTS,
                                 channels=channels, current=current)
    reach_box = reach_form(user, request.POST if reach_posted else None)
    if reach_posted:
        if reach_box.is_valid():
            phone, changes = reach_box.changes()
            try:
                do_set_reach_settings(user, actor=user, phone=phone, **changes)
            except Invalid as exc:
                add_error(reach_box, exc)
            else:
                messages.success(request, _("已保存接收方式。"))
                return redirect("supervision:notification_preferences")
    elif posted and form.is_valid():
        try:
            do_set_preferences(user, changes=form.changes(current))
        except Invalid as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已保存。"))
            return redirect("supervision:notification_preferences")
    return render(request, T + "notification_preferences.html", {"form": form, "channels": channels,
                                                                 "reach": reach_box},
                  status=400 if posted else 200)
