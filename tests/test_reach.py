"""Issue 22 points 2 and 3, in the test's own transaction (county ``alpha``): the county admin's
provider accounts (validated, audited, the secret never shown again), a person's ids and quiet
hours, which channels send by default, the quiet-hours arithmetic, and the providers' local
servers refusing a request that is not signed as they document — so that the worker tests'
"signed request checked" means something. The full path through the outbox and a real Celery
worker is tests/test_reach_worker.py; the short link, tests/test_phone_link.py."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, to_state
from provider_servers import AliyunSmsServer, TencentSmsServer, WeComServer

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.core.errors import Invalid, NotAllowed
from duban.notifications import reach
from duban.notifications.actions import do_save_channel_account, do_set_preference, do_set_reach_settings
from duban.notifications.models import Delivery, DeliveryAttempt, Notification, PhoneLink
from duban.notifications.tasks import deliver_one

pytestmark = pytest.mark.django_db

SHANGHAI = timezone.get_default_timezone()


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        cast = make_cast()
        cast.lead_clerk.phone = "138-0000-0001"
        cast.lead_clerk.save(update_fields=["phone"])
        # Deliveries in these tests go whatever the hour the suite runs at (the quiet-hours tests
        # set their own periods).
        do_set_reach_settings(cast.lead_clerk, actor="tests", quiet_enabled=False)
        yield cast


@pytest.fixture
def admin(cast):
    return User.objects.get(username="admin")


def client_of(world, user) -> Client:
    client = Client(HTTP_HOST=world.owner.host)
    client.force_login(user)
    return client


# --- quiet hours ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("period", "now", "until"), [
    ((time(22), time(7)), at("2026-12-01", "23:30"), at("2026-12-02", "07:00")),   # evening: tomorrow morning
    ((time(22), time(7)), at("2026-12-31", "22:00"), at("2027-01-01", "07:00")),   # across the year
    ((time(22), time(7)), at("2026-12-02", "06:59"), at("2026-12-02", "07:00")),   # before dawn: this morning
    ((time(22), time(7)), at("2026-12-02", "07:00"), None),                         # the end is not quiet
    ((time(22), time(7)), at("2026-12-02", "21:59"), None),
    ((time(12), time(14)), at("2026-12-02", "12:30"), at("2026-12-02", "14:00")),  # a midday rest
    ((time(12), time(14)), at("2026-12-02", "14:30"), None),
    (None, at("2026-12-02", "23:30"), None),                                        # turned off
])
def test_quiet_hours_end_where_the_period_says(period, now, until):
    assert reach.quiet_end(period, now) == until
    assert reach.quiet_end(period, now.astimezone(UTC)) == until  # an instant in any zone


def test_nobody_has_chosen_yet_means_22_to_7_and_only_buzzing_channels_wait(cast):
    quiet = reach.quiet_hours_of([cast.co_clerk])[cast.co_clerk.pk]
    assert quiet == (time(22), time(7))

    class Buzz:
        quiet_hours = True

    class Mail:
        pass

    night = at("2026-12-01", "23:00")
    assert reach.quiet_until(quiet, Buzz(), night) == at("2026-12-02", "07:00")
    assert reach.quiet_until(quiet, Mail(), night) is None  # e-mail, the group robots: not held


# --- the county admin's provider accounts ----------------------------------------------------------------
def test_an_account_is_switched_on_only_complete_by_the_county_admin_and_audited_without_its_secret(cast, admin):
    values = {"app_id": "ww0123456789abcdef", "agent_id": "1000002"}
    with pytest.raises(NotAllowed):
        do_save_channel_account("wecom", actor=cast.staff, values=values, secret="S3cret-wecom", is_active=True)
    with pytest.raises(Invalid) as missing:
        do_save_channel_account("wecom", actor=admin, values=values, is_active=True)
    assert missing.value.field == "secret"
    with pytest.raises(Invalid) as bad:
        do_save_channel_account("wecom", actor=admin, values={**values, "agent_id": "一〇〇"}, secret="x",
                                is_active=True)
    assert bad.value.field == "agent_id"
    account = do_save_channel_account("wecom", actor=admin, values=values, secret="S3cret-wecom", is_active=True)
    assert account.secret == "S3cret-wecom" and account.is_active
    again = do_save_channel_account("wecom", actor=admin, values={**values, "agent_id": "1000003"}, secret=None,
                                    is_active=True)
    assert again.secret == "S3cret-wecom" and again.agent_id == "1000003"  # kept when left empty
    trail = AuditEvent.objects.filter(action__startswith="notification.channel_account").order_by("id")
    assert [e.action for e in trail] == ["notification.channel_account.created", "notification.channel_account.changed"]
    assert "S3cret-wecom" not in json.dumps([e.before for e in trail] + [e.after for e in trail], ensure_ascii=False)
    assert trail.last().after["secret_set"] is True and trail.last().after["secret_changed"] is False


def test_one_sms_provider_at_a_time_and_template_variables_read_as_written(cast, admin):
    aliyun = {"app_id": "LTAI5tExample", "sign_name": "甲县督查", "template_code": "SMS_154950909",
              "template_params": "title=标题\ncode=链接码"}
    account = do_save_channel_account("aliyun_sms", actor=admin, values=aliyun, secret="ali-secret", is_active=True)
    assert account.template_params == [["title", "title"], ["code", "code"]]
    tencent = {"app_id": "AKIDExample", "agent_id": "1400000001", "sign_name": "甲县督查", "template_code": "1234567",
               "template_params": "1=标题\n2=链接码"}
    with pytest.raises(Invalid) as both:
        do_save_channel_account("tencent_sms", actor=admin, values=tencent, secret="tc-secret", is_active=True)
    assert both.value.field == "is_active" and "阿里云短信" in str(both.value)
    with pytest.raises(Invalid) as named:
        do_save_channel_account("tencent_sms", actor=admin, values={**tencent, "template_params": "title=标题"},
                                secret="tc-secret", is_active=False)
    assert named.value.field == "template_params" and "序号" in str(named.value)
    with pytest.raises(Invalid) as unknown:
        do_save_channel_account("aliyun_sms", actor=admin, values={**aliyun, "template_params": "title=密码"},
                                is_active=True)
    assert unknown.value.field == "template_params" and "第1行" in str(unknown.value)


def test_the_channel_pages_are_the_county_admins_and_never_show_a_secret(world, cast, admin):
    page = client_of(world, admin)
    listing = page.get("/settings/channels/")
    assert listing.status_code == 200 and "企业微信应用消息" in listing.content.decode()
    assert client_of(world, cast.staff).get("/settings/channels/").status_code == 403
    assert client_of(world, cast.staff).get("/settings/channels/wecom/").status_code == 403
    assert page.get("/settings/channels/pigeon/").status_code == 404
    form = {"app_id": "ww0123456789abcdef", "agent_id": "1000002", "secret": "Very-secret-1", "is_active": "on"}
    assert page.post("/settings/channels/wecom/", form).status_code == 302
    shown = page.get("/settings/channels/wecom/").content.decode()
    assert "Very-secret-1" not in shown and "已设置（不再显示）" in shown and "ww0123456789abcdef" in shown
    assert "Very-secret-1" not in page.get("/settings/channels/").content.decode()
    refused = page.post("/settings/channels/aliyun_sms/", {"app_id": "LTAI5t", "secret": "s", "sign_name": "甲县",
                                                           "template_code": "SMS_1", "template_params": "title",
                                                           "is_active": "on"})
    assert refused.status_code == 400 and "变量名=内容" in refused.content.decode()
    secret_input = re.search(r'<input[^>]*name="secret"[^>]*>', refused.content.decode()).group(0)
    assert "value=" not in secret_input  # what was typed is not rendered back either


# --- a person's ids, quiet hours and channels ---------------------------------------------------------------
def test_a_person_sets_their_ids_quiet_hours_and_phone_on_the_settings_page(world, cast):
    page = client_of(world, cast.lead_clerk)
    data = {"reach-phone": "13900000002", "reach-wecom_userid": "ZhaoKeYuan", "reach-dingtalk_userid": "manager4021",
            "reach-quiet_enabled": "on", "reach-quiet_start": "21:30", "reach-quiet_end": "06:45", "reach-submit": "1"}
    assert page.post("/notifications/preferences/", data).status_code == 302
    mine = reach.settings_of(cast.lead_clerk)
    assert (mine.wecom_userid, mine.dingtalk_userid, mine.quiet_start, mine.quiet_end) == (
        "ZhaoKeYuan", "manager4021", time(21, 30), time(6, 45))
    cast.lead_clerk.refresh_from_db()
    assert cast.lead_clerk.phone == "13900000002"
    assert AuditEvent.objects.filter(action="notification.reach_settings", actor=cast.lead_clerk).exists()
    bad = page.post("/notifications/preferences/", {**data, "reach-wecom_userid": "赵 科员"})
    assert bad.status_code == 400 and "账号只能包含字母" in bad.content.decode()
    with pytest.raises(NotAllowed):
        do_set_reach_settings(cast.lead_clerk, actor=cast.co_clerk, wecom_userid="someone")


def test_sms_sends_what_asks_for_action_unless_a_person_chooses_more(world, cast, admin):
    do_save_channel_account("aliyun_sms", actor=admin, is_active=True, secret="s", values={
        "app_id": "LTAI5t", "sign_name": "甲县督查", "template_code": "SMS_1", "template_params": "code=链接码"})
    do_save_channel_account("wecom", actor=admin, is_active=True, secret="s", values={"app_id": "ww1", "agent_id": "1"})
    matter = to_state(cast, "assigned")
    assigned = Notification.objects.get(recipient=cast.lead_clerk, matter=matter, event="matter.assigned")
    assert sorted(assigned.deliveries.values_list("channel", flat=True)) == ["email", "sms", "wecom"]
    assert PhoneLink.objects.filter(notification=assigned).exists()  # SMS and WeCom carry it
    do_set_preference(cast.lead_clerk, event="matter.assigned", channel="sms", enabled=False)
    again = to_state(cast, "assigned")
    note = Notification.objects.get(recipient=cast.lead_clerk, matter=again, event="matter.assigned")
    assert sorted(note.deliveries.values_list("channel", flat=True)) == ["email", "wecom"]
    page = client_of(world, cast.lead_clerk).get("/notifications/preferences/")
    grid = page.context["form"]
    assert grid["result__accepted--sms"].value() is False and grid["result__accepted--wecom"].value() is True
    assert grid["matter__assigned--sms"].value() is False  # their choice


# --- the local servers check what the providers check ----------------------------------------------------------
def test_a_request_not_signed_with_the_countys_secret_is_refused_and_retried(cast, admin, settings):
    """A wrong AccessKey Secret / SecretKey: the local servers answer as the providers do
    (SignatureDoesNotMatch, AuthFailure.SignatureFailure), nothing is sent, the outbox tries again."""
    with AliyunSmsServer({"LTAI5t": "right"}, {("甲县督查", "SMS_1")}) as aliyun, \
            TencentSmsServer({"AKIDx": "right"}, {"1400000001": {("甲县督查", "1234567")}}) as tencent:
        settings.DUBAN_ALIYUN_SMS_ENDPOINT, settings.DUBAN_TENCENT_SMS_ENDPOINT = aliyun.base, tencent.base
        do_save_channel_account("aliyun_sms", actor=admin, is_active=True, secret="wrong", values={
            "app_id": "LTAI5t", "sign_name": "甲县督查", "template_code": "SMS_1", "template_params": "code=链接码"})
        matter = to_state(cast, "assigned")
        delivery = Delivery.objects.get(channel="sms", notification__recipient=cast.lead_clerk,
                                        notification__matter=matter)
        assert deliver_one(delivery.pk) == "pending"
        assert aliyun.refused == ["SignatureDoesNotMatch"] and aliyun.sent == []
        assert "SignatureDoesNotMatch" in DeliveryAttempt.objects.get(delivery=delivery).error

        do_save_channel_account("aliyun_sms", actor=admin, is_active=False, values={})
        do_save_channel_account("tencent_sms", actor=admin, is_active=True, secret="wrong", values={
            "app_id": "AKIDx", "agent_id": "1400000001", "sign_name": "甲县督查", "template_code": "1234567",
            "template_params": "1=链接码"})
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert deliver_one(delivery.pk) == "pending"
        assert tencent.refused == ["AuthFailure.SignatureFailure"] and tencent.sent == []

        do_save_channel_account("tencent_sms", actor=admin, is_active=True, secret="right", values={})
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert deliver_one(delivery.pk) == "sent"
        assert [m["PhoneNumber"] for m in tencent.sent] == ["+8613800000001"]
        assert tencent.sent[0]["SessionContext"] == delivery.idempotency_key


def test_wecom_does_not_know_the_userid_so_the_delivery_is_skipped(cast, admin, settings):
    with WeComServer({"ww1": ("wecom-secret", 1000002)}, users={"ZhaoKeYuan"}) as wecom:
        settings.DUBAN_WECOM_API_BASE = wecom.base
        do_save_channel_account("wecom", actor=admin, is_active=True, secret="wecom-secret",
                                values={"app_id": "ww1", "agent_id": "1000002"})
        do_set_reach_settings(cast.lead_clerk, actor=cast.lead_clerk, wecom_userid="NoSuchPerson",
                              quiet_enabled=False)
        matter = to_state(cast, "assigned")
        delivery = Delivery.objects.get(channel="wecom", notification__recipient=cast.lead_clerk,
                                        notification__matter=matter)
        assert deliver_one(delivery.pk) == "skipped"
        assert DeliveryAttempt.objects.get(delivery=delivery).error == "企业微信中没有账号“NoSuchPerson”。"
        assert wecom.sent == [] and wecom.issued == 1


def test_a_delivery_coming_due_in_quiet_hours_waits_without_spending_an_attempt(cast, admin, settings):
    with WeComServer({"ww1": ("wecom-secret", 1000002)}, users={"ZhaoKeYuan"}) as wecom:
        settings.DUBAN_WECOM_API_BASE = wecom.base
        do_save_channel_account("wecom", actor=admin, is_active=True, secret="wecom-secret",
                                values={"app_id": "ww1", "agent_id": "1000002"})
        do_set_reach_settings(cast.lead_clerk, actor=cast.lead_clerk, wecom_userid="ZhaoKeYuan", quiet_enabled=False)
        matter = to_state(cast, "assigned")
        delivery = Delivery.objects.get(channel="wecom", notification__recipient=cast.lead_clerk,
                                        notification__matter=matter)
        # The person turns quiet hours on around now before the (say, retried) delivery comes due.
        now = timezone.localtime(timezone.now(), SHANGHAI)
        start, end = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0), \
            (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
        do_set_reach_settings(cast.lead_clerk, actor=cast.lead_clerk, quiet_enabled=True, quiet_start=start,
                              quiet_end=end)
        assert deliver_one(delivery.pk) == "quiet"
        delivery.refresh_from_db()
        assert delivery.attempts == 0 and delivery.status == "pending" and wecom.sent == []
        assert timezone.localtime(delivery.next_attempt_at, SHANGHAI).time() == end
        assert delivery.next_attempt_at > timezone.now()
