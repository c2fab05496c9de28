"""Issue 22 point 2 through the real outbox and a real Celery worker: notices of a committed county
(``reach``) reach a clerk by SMS (Alibaba Cloud, then Tencent Cloud, each through its official SDK),
WeCom application messages and DingTalk work notices, sent by a worker process to the providers'
local stand-ins (tests/provider_servers.py), which check every request's signature or token as the
provider documents it and record what a person would have been shown.

Shown here: one notice delivered by each channel with the signed request checked and the short
link in it; a provider failing → the outbox's retry → sent once, with the same idempotency key
both times; WeCom's and DingTalk's tokens expiring → fetched again, the notice sent in the same
attempt; quiet hours → the deliveries wait for their end (an urgent notice does not) and the
re-drive sends them then; a person without a phone or userid → skipped, not retried; a channel
turned off → no delivery at all.

The worker has one process (concurrency 1), so its access-token cache is one, as Redis makes it
for every worker in production (``DUBAN_CACHE_URL``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from browser_helpers import drop_county, in_county
from conftest import REPO, Worker, subprocess_env, wait_until
from provider_servers import AliyunSmsServer, DingTalkServer, TencentSmsServer, WeComServer
from sweep_helpers import in_thread

pytestmark = [pytest.mark.django_db, pytest.mark.worker]

SLUG = "reach"
QUEUE = f"duban-reach-{uuid.uuid4().hex[:8]}"
PASSWORD = "Reach-pass-2026"
CLERK = {"phone": "13800000001", "wecom": "ZhaoKeYuan", "dingtalk": "manager4021"}
ALIYUN = {"app_id": "LTAI5tReachCounty", "secret": "aliyun-secret-of-reach", "sign_name": "乙县督查",
          "template_code": "SMS_154950909"}
TENCENT = {"app_id": "AKIDReachCounty", "secret": "tencent-secret-of-reach", "agent_id": "1400787878",
           "sign_name": "乙县督查", "template_code": "1961234"}
WECOM = {"app_id": "ww7fa1a2b3c4d5e6f7", "secret": "wecom-app-secret", "agent_id": 1000005}
DINGTALK = {"app_id": "dingreachappkey", "secret": "dingtalk-app-secret", "agent_id": 2876543210}


class ReachWorker(Worker):
    """A worker on this module's queue, pointed at the local providers."""

    def __init__(self, log_path, env: dict):
        super().__init__(log_path, name="reach", concurrency=1)
        self.env = env

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
             "--concurrency", "1", "--hostname", f"reach-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--queues", QUEUE],
            env=subprocess_env(DUBAN_TASK_QUEUE=QUEUE, DUBAN_NOTIFY_RETRY_SECONDS="1", **self.env),
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        if not wait_until(lambda: "ready." in self.log() or self.process.poll() is not None, timeout=60):
            raise RuntimeError(f"worker not ready in 60 s:\n{self.log()[-3000:]}")
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log()[-3000:]}")
        return self


def build_county() -> str:
    from django_tenants.utils import tenant_context

    from duban.accounts.actions import do_create_user
    from duban.accounts.models import Role, User
    from duban.notifications.actions import do_save_channel_account, do_set_reach_settings
    from duban.units.actions import do_create_unit
    from tenants import provisioning

    city = provisioning.create_city(f"{SLUG}city", "触达市", actor="tests").code
    county = provisioning.create_county(SLUG, "触达县", city, actor="tests", admin_username="admin",
                                        admin_password=PASSWORD).county
    with tenant_context(county):
        d01 = do_create_unit("D01", "县发展和改革局", "department", actor="tests")
        t01 = do_create_unit("T01", "城关镇", "township", actor="tests")
        for name, role, unit, full_name in [("m_leader", Role.COUNTY_LEADER, None, "王县长"),
                                            ("m_office", Role.OFFICE_LEADER, None, "李主任"),
                                            ("staff", Role.SUPERVISION_STAFF, None, "张督办"),
                                            ("clerk", Role.UNIT_STAFF, d01, "赵科员"),
                                            ("clerk1", Role.UNIT_STAFF, t01, "钱干事"),
                                            ("m_other", Role.UNIT_STAFF, t01, "孙干事")]:
            user = do_create_user(name, actor="tests", role=role, password=PASSWORD, unit=unit, full_name=full_name,
                                  phone=CLERK["phone"] if name == "clerk" else "")
            # Nobody keeps quiet hours here unless a test says so: the suite runs at any hour.
            ids = {"wecom_userid": CLERK["wecom"], "dingtalk_userid": CLERK["dingtalk"]} if name == "clerk" else {}
            do_set_reach_settings(user, actor="tests", quiet_enabled=False, **ids)
        admin = User.objects.get(username="admin")
        do_save_channel_account("aliyun_sms", actor=admin, is_active=True, secret=ALIYUN["secret"], values={
            "app_id": ALIYUN["app_id"], "sign_name": ALIYUN["sign_name"], "template_code": ALIYUN["template_code"],
            "template_params": "title=标题\ncode=链接码"})
        do_save_channel_account("tencent_sms", actor=admin, is_active=False, secret=TENCENT["secret"], values={
            "app_id": TENCENT["app_id"], "agent_id": TENCENT["agent_id"], "sign_name": TENCENT["sign_name"],
            "template_code": TENCENT["template_code"], "template_params": "1=标题\n2=链接码"})
        do_save_channel_account("wecom", actor=admin, is_active=True, secret=WECOM["secret"],
                                values={"app_id": WECOM["app_id"], "agent_id": str(WECOM["agent_id"])})
        do_save_channel_account("dingtalk", actor=admin, is_active=True, secret=DINGTALK["secret"],
                                values={"app_id": DINGTALK["app_id"], "agent_id": str(DINGTALK["agent_id"])})
    return county.schema_name


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory):
    from duban.celery import app

    aliyun = AliyunSmsServer({ALIYUN["app_id"]: ALIYUN["secret"]}, {(ALIYUN["sign_name"], ALIYUN["template_code"])})
    tencent = TencentSmsServer({TENCENT["app_id"]: TENCENT["secret"]},
                               {TENCENT["agent_id"]: {(TENCENT["sign_name"], TENCENT["template_code"])}})
    wecom = WeComServer({WECOM["app_id"]: (WECOM["secret"], WECOM["agent_id"])}, users={CLERK["wecom"]})
    dingtalk = DingTalkServer({DINGTALK["app_id"]: (DINGTALK["secret"], DINGTALK["agent_id"])},
                              users={CLERK["dingtalk"]})
    with django_db_blocker.unblock(), aliyun, tencent, wecom, dingtalk:
        schema = in_thread(build_county, timeout=180)
        worker = ReachWorker(tmp_path_factory.mktemp("reach") / "worker.log", env={
            "DUBAN_ALIYUN_SMS_ENDPOINT": aliyun.base, "DUBAN_TENCENT_SMS_ENDPOINT": tencent.base,
            "DUBAN_WECOM_API_BASE": wecom.base, "DUBAN_DINGTALK_API_BASE": dingtalk.base})
        default_queue = app.conf.task_default_queue
        app.conf.task_default_queue = QUEUE  # the deliveries this module writes go to its worker only
        try:
            worker.start()
            yield SimpleNamespace(schema=schema, worker=worker, aliyun=aliyun, tencent=tencent, wecom=wecom,
                                  dingtalk=dingtalk, run=lambda fn: in_county(schema, fn))
        finally:
            app.conf.task_default_queue = default_queue
            worker.stop()
            drop_county(SLUG)


# --- helpers (each runs inside the county, on its own committed connection) ---------------------------------------
def cast():
    from matter_helpers import Cast

    from duban.accounts.models import User

    people = {u.username: u for u in User.objects.filter(username__in=["m_leader", "m_office", "staff", "clerk",
                                                                          "clerk1", "m_other"])}
    return Cast(people["m_leader"], people["m_office"], people["staff"], people["clerk"], people["clerk1"],
                people["m_other"])


def assign(title: str) -> int:
    from matter_helpers import proposed

    from duban.matters import actions

    who = cast()
    matter = proposed(who, title=title)
    actions.do_register_matter(matter.pk, actor=who.staff)
    actions.do_approve_matter(matter.pk, actor=who.leader, comment="同意立项")
    actions.do_assign_matter(matter.pk, actor=who.staff, lead_unit="D01", co_units=["T01"],
                             requirements="按期办结，书面报告", deadline_working_days=10)
    return matter.pk


def deliveries(site, matter_id: int) -> dict[tuple[str, str], dict]:
    """(username, channel) → the delivery of the matter's assignment notice, with its attempts."""
    def read():
        from duban.notifications.models import Delivery, DeliveryAttempt

        rows = {}
        for d in Delivery.objects.filter(notification__matter_id=matter_id).select_related("notification__recipient"):
            rows[(d.notification.recipient.username, d.channel)] = {
                "pk": d.pk, "status": d.status, "attempts": d.attempts, "key": d.idempotency_key,
                "error": d.last_error, "next": d.next_attempt_at, "notification": d.notification_id,
                "log": list(DeliveryAttempt.objects.filter(delivery=d).values_list("number", "ok"))}
        return rows
    return site.run(read)


def settled(site, matter_id, *, expect: int) -> dict:
    """The matter's deliveries once none is pending (the worker is done with them)."""
    def done():
        rows = deliveries(site, matter_id)
        return rows if len(rows) == expect and all(r["status"] != "pending" for r in rows.values()) else None
    rows = wait_until(done, timeout=90, interval=0.5)
    assert rows, (deliveries(site, matter_id), site.worker.log()[-4000:])
    return rows


def link_of(site, notification_id: int) -> str:
    def read():
        from duban.notifications import reach
        from duban.notifications.models import PhoneLink

        return reach.link_url(PhoneLink.objects.get(notification_id=notification_id))
    return site.run(read)


# Per assignment: clerk (D01) and clerk1, m_other (T01), each on e-mail, SMS, WeCom and DingTalk.
ALL = 12
PERSONAL = ("sms", "wecom", "dingtalk")


# --- the tests ---------------------------------------------------------------------------------------------------
def test_a_notice_reaches_the_clerk_by_sms_wecom_and_dingtalk_with_each_request_signed(site):
    matter_id = site.run(lambda: assign("推进城区燃气管道更新改造"))
    rows = settled(site, matter_id, expect=ALL)
    mine = {channel: rows[("clerk", channel)] for channel in PERSONAL}
    assert {c: (r["status"], r["attempts"]) for c, r in mine.items()} == {c: ("sent", 1) for c in PERSONAL}
    link = link_of(site, mine["sms"]["notification"])
    code = link.rsplit("/m/", 1)[1]

    # Alibaba Cloud: SendSms signed ACS3-HMAC-SHA256 with the county's AccessKey (the server checked it).
    sms = [m for m in site.aliyun.sent if m["OutId"] == mine["sms"]["key"]]
    assert len(sms) == 1 and site.aliyun.refused == []
    assert sms[0]["PhoneNumbers"] == CLERK["phone"] and sms[0]["SignName"] == ALIYUN["sign_name"]
    assert json.loads(sms[0]["TemplateParam"]) == {"title": "交办：推进城区燃气管道更新改造", "code": code}
    request = next(r for r in site.aliyun.requests if r["query"].get("OutId") == mine["sms"]["key"])
    assert request["headers"]["authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={ALIYUN['app_id']},")
    assert ALIYUN["secret"] not in json.dumps(request["headers"]) + json.dumps(request["query"], ensure_ascii=False)

    # WeCom: a text card to the clerk's userid, opening the short link, with the app's valid token.
    card = [m for m in site.wecom.sent if m["key"] == mine["wecom"]["key"]]
    assert len(card) == 1 and card[0]["touser"] == CLERK["wecom"] and card[0]["agentid"] == WECOM["agent_id"]
    assert card[0]["textcard"]["url"] == link and "推进城区燃气管道更新改造" in card[0]["textcard"]["title"]
    # DingTalk: a work notice to the clerk's userid whose button opens the same link.
    notice = [m for m in site.dingtalk.sent if m["key"] == mine["dingtalk"]["key"]]
    assert len(notice) == 1 and notice[0]["userid"] == CLERK["dingtalk"]
    assert notice[0]["msg"]["action_card"]["single_url"] == link
    assert link.startswith(f"http://{SLUG}.") and len(code) == 12

    # The co-operating unit's people have no phone or userid: skipped, not retried.
    for person in ("clerk1", "m_other"):
        assert {c: (rows[(person, c)]["status"], rows[(person, c)]["attempts"]) for c in PERSONAL} == {
            c: ("skipped", 1) for c in PERSONAL}
        assert rows[(person, "sms")]["error"] == "收件人没有可接收短信的手机号码。"
        assert rows[(person, "wecom")]["error"] == "收件人没有填写企业微信账号。"
        assert rows[(person, "dingtalk")]["error"] == "收件人没有填写钉钉用户ID。"


def test_the_county_switches_sms_to_tencent_cloud_and_the_request_is_signed_tc3(site):
    def switch(to_tencent: bool):
        from duban.accounts.models import User
        from duban.notifications.actions import do_save_channel_account

        admin = User.objects.get(username="admin")
        first, second = ("aliyun_sms", "tencent_sms") if to_tencent else ("tencent_sms", "aliyun_sms")
        do_save_channel_account(first, actor=admin, is_active=False, values={})
        do_save_channel_account(second, actor=admin, is_active=True, values={})

    site.run(lambda: switch(True))
    try:
        matter_id = site.run(lambda: assign("完成农村饮水安全巩固提升工程"))
        sms = settled(site, matter_id, expect=ALL)[("clerk", "sms")]
    finally:
        site.run(lambda: switch(False))
    assert (sms["status"], sms["attempts"]) == ("sent", 1)
    sent = [m for m in site.tencent.sent if m["SessionContext"] == sms["key"]]
    assert len(sent) == 1 and site.tencent.refused == []
    assert sent[0]["PhoneNumberSet"] == ["+86" + CLERK["phone"]] and sent[0]["SmsSdkAppId"] == TENCENT["agent_id"]
    code = link_of(site, sms["notification"]).rsplit("/", 1)[1]
    assert sent[0]["TemplateParamSet"] == ["交办：完成农村饮水安全巩固提升工程", code]
    request = next(r for r in site.tencent.requests if json.loads(r["body"]).get("SessionContext") == sms["key"])
    assert request["headers"]["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={TENCENT['app_id']}/")
    assert "SignedHeaders=content-type;host" in request["headers"]["authorization"]


def test_a_provider_failing_once_is_retried_with_the_same_key_and_the_person_gets_it_once(site):
    for server in (site.aliyun, site.wecom, site.dingtalk):
        server.fail_next = 1
    matter_id = site.run(lambda: assign("整治城乡结合部环境卫生"))
    rows = settled(site, matter_id, expect=ALL)
    for channel in PERSONAL:
        row = rows[("clerk", channel)]
        assert (row["status"], row["attempts"], row["log"]) == ("sent", 2, [(1, False), (2, True)]), (channel, row)
    sms_key, wecom_key, dingtalk_key = (rows[("clerk", c)]["key"] for c in PERSONAL)
    # Alibaba Cloud answered 500 once: two requests carried the key (OutId), one message was sent.
    assert [r["query"].get("OutId") for r in site.aliyun.requests].count(sms_key) == 2
    assert [m["OutId"] for m in site.aliyun.sent].count(sms_key) == 1
    # WeCom and DingTalk answered "system busy" (errcode -1) once: two sends with the key, one shown.
    for server, key in ((site.wecom, wecom_key), (site.dingtalk, dingtalk_key)):
        sends = [r for r in server.requests if r["method"] == "POST" and r["headers"].get("idempotency-key") == key]
        assert len(sends) == 2 and json.loads(sends[0]["body"]) == json.loads(sends[1]["body"])
        assert [m["key"] for m in server.sent].count(key) == 1

    def first_error():
        from duban.notifications.models import DeliveryAttempt

        return DeliveryAttempt.objects.get(delivery_id=rows[("clerk", "sms")]["pk"], number=1).error
    assert "InternalError" in site.run(first_error)


def test_expired_tokens_of_wecom_and_dingtalk_are_fetched_again_within_the_attempt(site):
    settled(site, site.run(lambda: assign("预热：检查令牌")), expect=ALL)  # the worker holds both apps' tokens now
    issued = site.wecom.issued, site.dingtalk.issued
    site.wecom.expire_tokens()
    site.dingtalk.expire_tokens()
    marks = len(site.wecom.requests), len(site.dingtalk.requests)
    matter_id = site.run(lambda: assign("开展校园周边食品安全专项检查"))
    rows = settled(site, matter_id, expect=ALL)
    for channel in ("wecom", "dingtalk"):
        assert (rows[("clerk", channel)]["status"], rows[("clerk", channel)]["attempts"]) == ("sent", 1)
    assert (site.wecom.issued, site.dingtalk.issued) == (issued[0] + 1, issued[1] + 1)
    wecom_paths = [r["path"] for r in site.wecom.requests[marks[0]:]]
    assert wecom_paths == ["/cgi-bin/message/send", "/cgi-bin/gettoken", "/cgi-bin/message/send"]
    dingtalk_paths = [r["path"] for r in site.dingtalk.requests[marks[1]:]]
    assert dingtalk_paths == ["/topapi/message/corpconversation/asyncsend_v2", "/gettoken",
                              "/topapi/message/corpconversation/asyncsend_v2"]
    assert [m["key"] for m in site.wecom.sent].count(rows[("clerk", "wecom")]["key"]) == 1


def test_quiet_hours_hold_the_deliveries_until_they_end_and_an_urgent_notice_goes_at_once(site):
    from django.utils import timezone

    zone = timezone.get_default_timezone()
    now = timezone.localtime(timezone.now(), zone)
    # Quiet since two hours ago, ending at the next full minute at least 20 seconds away.
    ends = (now + timedelta(seconds=20)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start, end = (now - timedelta(hours=2)).time().replace(second=0, microsecond=0), ends.time()

    def quiet(on: bool):
        from duban.accounts.models import User
        from duban.notifications.actions import do_set_reach_settings

        clerk = User.objects.get(username="clerk")
        do_set_reach_settings(clerk, actor="tests", quiet_enabled=on, quiet_start=start, quiet_end=end)

    site.run(lambda: quiet(True))
    try:
        matter_id = site.run(lambda: assign("推进背街小巷路灯改造"))

        def urgent():
            from django.db import transaction

            from duban.accounts.models import User
            from duban.notifications.service import notify

            with transaction.atomic():
                notify("step.recorded", recipients=[User.objects.get(username="clerk")], urgent=True,
                       title="责任追究：推进背街小巷路灯改造", body="请立即说明情况。", url="/matters/")
        site.run(urgent)
        def others_done():
            rows = deliveries(site, matter_id)
            held_back = {("clerk", c) for c in PERSONAL}
            return rows if len(rows) == ALL and all(r["status"] != "pending" for k, r in rows.items()
                                                    if k not in held_back) else None
        held = wait_until(others_done, timeout=60)
        assert held, deliveries(site, matter_id)
        time.sleep(2)  # long enough for a worker that ignored quiet hours to have sent them
        for channel in PERSONAL:
            row = deliveries(site, matter_id)[("clerk", channel)]
            assert (row["status"], row["attempts"]) == ("pending", 0), (channel, row)
            assert timezone.localtime(row["next"], zone).replace(tzinfo=None) == datetime.combine(
                ends.date(), end), row["next"]
        keys = {c: held[("clerk", c)]["key"] for c in PERSONAL}
        assert not [m for m in site.aliyun.sent if m["OutId"] == keys["sms"]]
        assert not [m for m in site.wecom.sent if m["key"] == keys["wecom"]]
        # The urgent notice went at once, on every channel.
        assert wait_until(lambda: any("责任追究" in m["textcard"]["title"] for m in site.wecom.sent)
                          and any("责任追究" in m["msg"]["action_card"]["title"] for m in site.dingtalk.sent)
                          and any("责任追究" in m["TemplateParam"] for m in site.aliyun.sent), timeout=60)

        # After the end of the quiet period the periodic re-drive (beat, every minute) sends them.
        time.sleep(max((ends - timezone.localtime(timezone.now(), zone)).total_seconds(), 0) + 1)

        def redrive():
            from django.conf import settings

            from duban.notifications.tasks import redrive as run
            return run(now=timezone.now() + timedelta(seconds=settings.DUBAN_OUTBOX_GRACE_SECONDS))
        assert site.run(redrive) >= 3
        rows = settled(site, matter_id, expect=ALL)
        for channel in PERSONAL:
            assert (rows[("clerk", channel)]["status"], rows[("clerk", channel)]["attempts"]) == ("sent", 1)
        assert [m["OutId"] for m in site.aliyun.sent].count(keys["sms"]) == 1
    finally:
        site.run(lambda: quiet(False))


def test_a_channel_turned_off_gets_no_delivery_at_all(site):
    def choose(enabled: bool):
        from duban.accounts.models import User
        from duban.notifications.actions import do_set_preference

        do_set_preference(User.objects.get(username="clerk"), event="matter.assigned", channel="dingtalk",
                          enabled=enabled)

    before = len(site.dingtalk.requests)
    site.run(lambda: choose(False))
    try:
        matter_id = site.run(lambda: assign("建设乡镇综合文化站"))
        rows = settled(site, matter_id, expect=ALL - 1)
    finally:
        site.run(lambda: choose(True))
    assert ("clerk", "dingtalk") not in rows
    assert rows[("clerk", "wecom")]["status"] == "sent" and rows[("clerk", "sms")]["status"] == "sent"
    assert len(site.dingtalk.requests) == before
