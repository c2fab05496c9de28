"""Channels that reach a person where they work (issue 22 point 2): SMS through Alibaba Cloud's or
Tencent Cloud's official SDK, WeCom (企业微信) application messages and DingTalk (钉钉) work notices
to a person by their id in the county's organisation.

A plugin of the ``duban.rulepacks`` entry-point group (pyproject.toml), registered exactly as a
vendor's pack or channel would be, contributing through ``duban_notification_channels``. Each
county switches on the providers it has an account with (``ChannelAccount``, the county admin's
page 通知渠道); a channel exists in a county only while its account is on. Every message carries
the notice's short link (``carries_link``) and keeps to the person's quiet hours (``quiet_hours``);
the outbox sends, retries and re-drives them like any other delivery. docs/identity.md ("Channels that reach a person")
is the county's and the operator's guide.
"""

from __future__ import annotations

from django.db import connection

from duban.notifications.models import ChannelAccount
from plugins.channels_cn.dingtalk import DingTalkChannel
from plugins.channels_cn.sms import SmsChannel
from plugins.channels_cn.wecom import WeComChannel
from plugins.hookspecs import hookimpl

__all__ = ["DingTalkChannel", "SmsChannel", "WeComChannel", "duban_notification_channels"]

P = ChannelAccount.Provider


def _in_a_county() -> bool:
    tenant = getattr(connection, "tenant", None)
    return getattr(tenant, "pk", None) is not None and getattr(tenant, "schema_name", "public") != "public"


@hookimpl
def duban_notification_channels(pack) -> list:
    """The county's switched-on providers as channels (none outside a county: at load, the
    platform's own pages)."""
    if not _in_a_county():
        return []
    accounts = {account.provider: account for account in ChannelAccount.objects.filter(is_active=True)}
    channels: list = []
    sms = accounts.get(P.ALIYUN_SMS) or accounts.get(P.TENCENT_SMS)
    if sms is not None:
        channels.append(SmsChannel(sms))
    if P.WECOM in accounts:
        channels.append(WeComChannel(accounts[P.WECOM]))
    if P.DINGTALK in accounts:
        channels.append(DingTalkChannel(accounts[P.DINGTALK]))
    return channels
