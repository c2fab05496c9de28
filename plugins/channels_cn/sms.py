"""SMS through the providers' official SDKs: Alibaba Cloud SMS (Dysmsapi ``SendSms`` on the Tea
OpenAPI client, signed ACS3-HMAC-SHA256) or Tencent Cloud SMS (``SendSms`` 2021-01-11, signed
TC3-HMAC-SHA256). The county chooses one; its sign name (签名), template (模板) and which of the
notice's values fill the template's variables (``template_params``) are its own.

SMS is sent from a template the provider approved, so the message is the template with the
notice's values (each cut to ``MAX_VARIABLE`` characters): a template with the short link's code
(``链接码``) after fixed text ``https://<county host>/m/`` is what providers approve most readily.
The delivery's idempotency key goes with it (Alibaba Cloud ``OutId``, Tencent Cloud
``SessionContext``) and comes back in the delivery receipts. SMS is sent only for the events a
person must act on unless they choose more (``enabled_by_default``): every message costs money.

The SDKs make their own connections: the endpoint (``DUBAN_ALIYUN_SMS_ENDPOINT``,
``DUBAN_TENCENT_SMS_ENDPOINT``) is vetted by the webhooks' egress rules first (``egress.vet``).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as dysms_models
from alibabacloud_dysmsapi20170525.client import Client as DysmsClient
from alibabacloud_tea_openapi.utils_models import Config as AliyunConfig
from darabonba.runtime import RuntimeOptions
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tencent_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from duban.notifications import egress
from duban.notifications.channels import Undeliverable
from duban.notifications.models import ChannelAccount
from duban.notifications.providers import MAX_VARIABLE
from plugins.channels_cn.common import ProviderError, cut

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# The events SMS sends unless a person chooses otherwise: those that ask them to act.
SMS_EVENTS = frozenset({"matter.assigned", "feedback.missed", "light.red", "step.recorded", "notice.issued",
                        "result.sent_back"})
# Answers that mean this number will never get it (not worth another try).
ALIYUN_BAD_NUMBER = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"}
TENCENT_BAD_NUMBER = {"InvalidParameterValue.IncorrectPhoneNumber",
                      "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"}
TENCENT_DEFAULT_REGION = "ap-guangzhou"


def mobile_number(phone: str) -> str:
    """A mainland mobile number (``13800000001``) from what the user's phone field holds
    (``+86 138-0000-0001``…); :class:`Undeliverable` when it is not one."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
    if not MOBILE.match(digits):
        raise Undeliverable(_("收件人没有可接收短信的手机号码。"))
    return digits


def template_values(params, *, recipient: dict, subject: str, body: str, link: str) -> list[tuple[str, str]]:
    county = getattr(connection, "tenant", None)
    values = {"title": cut(subject, MAX_VARIABLE), "body": cut(body or subject, MAX_VARIABLE), "link": link,
              "code": link.rstrip("/").rsplit("/", 1)[-1] if link else "",
              "name": cut(recipient.get("name") or recipient.get("username") or "", MAX_VARIABLE),
              "county": cut(getattr(county, "name", ""), MAX_VARIABLE)}
    return [(name, values.get(source, "")) for name, source in params or []]


def _endpoint(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of an endpoint setting, vetted by the egress rules."""
    egress.vet(url, extra_hosts=egress.provider_hosts())
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc


class AliyunSms:
    def __init__(self, account):
        self.account = account

    def send(self, phone: str, values: list[tuple[str, str]], idempotency_key: str) -> None:
        scheme, endpoint = _endpoint(settings.DUBAN_ALIYUN_SMS_ENDPOINT)
        timeout = settings.DUBAN_WEBHOOK_TIMEOUT * 1000
        client = DysmsClient(AliyunConfig(access_key_id=self.account.app_id, access_key_secret=self.account.secret,
                                          endpoint=endpoint, protocol=scheme, read_timeout=timeout,
                                          connect_timeout=timeout))
        request = dysms_models.SendSmsRequest(
            phone_numbers=phone, sign_name=self.account.sign_name, template_code=self.account.template_code,
            template_param=json.dumps(dict(values), ensure_ascii=False) if values else None, out_id=idempotency_key)
        try:
            answer = client.send_sms_with_options(request, RuntimeOptions(autoretry=False)).body
        except Exception as exc:  # the SDK's ClientException, ServerException, network errors
            code = getattr(exc, "code", None) or type(exc).__name__
            raise ProviderError(f"Alibaba Cloud SendSms: {code} {getattr(exc, 'message', '') or exc}".strip()) from None
        if answer.code in ALIYUN_BAD_NUMBER:
            raise Undeliverable(_("短信服务商拒收这个手机号码。"))
        if answer.code != "OK":
            raise ProviderError(f"Alibaba Cloud SendSms: {answer.code} {answer.message or ''}".strip())


class TencentSms:
    def __init__(self, account):
        self.account = account

    def send(self, phone: str, values: list[tuple[str, str]], idempotency_key: str) -> None:
        scheme, endpoint = _endpoint(settings.DUBAN_TENCENT_SMS_ENDPOINT)
        profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=endpoint,
                                                        reqTimeout=settings.DUBAN_WEBHOOK_TIMEOUT),
                                disable_region_breaker=True)
        client = SmsClient(Credential(self.account.app_id, self.account.secret),
                           self.account.region or TENCENT_DEFAULT_REGION, profile)
        request = tencent_models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = self.account.agent_id
        request.SignName = self.account.sign_name
        request.TemplateId = self.account.template_code
        request.TemplateParamSet = [value for _name, value in sorted(values, key=lambda item: int(item[0]))]
        request.SessionContext = idempotency_key
        try:
            answer = client.SendSms(request)
        except TencentCloudSDKException as exc:
            raise ProviderError(f"Tencent Cloud SendSms: {exc.get_code()} {exc.get_message()}".strip()) from None
        status = (answer.SendStatusSet or [None])[0]
        if status is None:
            raise ProviderError("Tencent Cloud SendSms: no status in the answer")
        if status.Code in TENCENT_BAD_NUMBER:
            raise Undeliverable(_("短信服务商拒收这个手机号码。"))
        if status.Code != "Ok":
            raise ProviderError(f"Tencent Cloud SendSms: {status.Code} {status.Message or ''}".strip())


class SmsChannel:
    code = "sms"
    label = gettext_lazy("短信")
    carries_link = True
    quiet_hours = True

    def __init__(self, account):
        self.account = account
        self.provider = (AliyunSms if account.provider == ChannelAccount.Provider.ALIYUN_SMS else TencentSms)(account)

    def enabled_by_default(self, event: str) -> bool:
        return event in SMS_EVENTS

    def send(self, *, recipient: dict, subject: str, body: str, idempotency_key: str, link: str = "") -> None:
        phone = mobile_number(recipient.get("phone", ""))
        values = template_values(self.account.template_params, recipient=recipient, subject=subject, body=body,
                                 link=link)
        self.provider.send(phone, values, idempotency_key)
