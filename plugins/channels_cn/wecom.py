"""WeCom (企业微信) application messages to a person by their WeCom userid.

The county's self-built application (corpid, AgentId, Secret) gets an access token
(``GET /cgi-bin/gettoken?corpid=…&corpsecret=…``, valid ``expires_in`` seconds, cached) and sends a
text card (``POST /cgi-bin/message/send?access_token=…``: ``touser``, ``msgtype: "textcard"``,
``agentid``; the card opens the notice's short link). WeCom's own duplicate check is on
(``enable_duplicate_check``, 4 hours): a retry of the same delivery — same card, same link — is not
shown twice. A token WeCom calls invalid or expired (40014, 42001) is fetched again and the message
sent once more; a userid WeCom does not know (``invaliduser``, 81013) makes the delivery
undeliverable; any other error raises and the outbox retries.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.notifications.channels import Undeliverable
from plugins.channels_cn.common import TOKEN_EXPIRED, ProviderError, TokenCache, api_url, call_json, cut

DUPLICATE_CHECK_SECONDS = 4 * 3600  # WeCom's longest
ALL_INVALID = 81013  # user, party and tag all invalid


class WeComChannel:
    code = "wecom"
    label = gettext_lazy("企业微信")
    carries_link = True
    quiet_hours = True

    def __init__(self, account):
        self.corp_id, self.secret = account.app_id, account.secret
        self.agent_id = int(account.agent_id)
        self.tokens = TokenCache("wecom", f"{self.corp_id}:{self.agent_id}", self.secret)

    def _fetch_token(self) -> tuple[str, int]:
        answer = call_json("GET", api_url(settings.DUBAN_WECOM_API_BASE, "/cgi-bin/gettoken", corpid=self.corp_id,
                                          corpsecret=self.secret), what="WeCom gettoken")
        if answer.get("errcode") not in (0, None) or not answer.get("access_token"):
            raise ProviderError(f"WeCom gettoken: errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip())
        return answer["access_token"], int(answer.get("expires_in") or 7200)

    def send(self, *, recipient: dict, subject: str, body: str, idempotency_key: str, link: str = "") -> None:
        userid = recipient.get("wecom_userid")
        if not userid:
            raise Undeliverable(_("收件人没有填写企业微信账号。"))
        message = {
            "touser": userid, "msgtype": "textcard", "agentid": self.agent_id,
            # WeCom's limits are in bytes (title 128, description 512): 3 bytes a Chinese character.
            "textcard": {"title": cut(subject, 40), "description": cut(body or subject, 160),
                         "url": link, "btntxt": str(_("详情"))},
            "enable_duplicate_check": 1, "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
        }
        for attempt in (1, 2):
            token = self.tokens.get(self._fetch_token)
            answer = call_json("POST", api_url(settings.DUBAN_WECOM_API_BASE, "/cgi-bin/message/send",
                                               access_token=token),
                               payload=message, idempotency_key=idempotency_key, what="WeCom message/send")
            errcode = answer.get("errcode")
            if errcode in TOKEN_EXPIRED and attempt == 1:
                self.tokens.forget()
                continue
            if errcode == ALL_INVALID or userid in str(answer.get("invaliduser") or "").split("|"):
                raise Undeliverable(_("企业微信中没有账号“%(userid)s”。") % {"userid": userid})
            if errcode != 0:
                raise ProviderError(f"WeCom message/send: errcode {errcode} {answer.get('errmsg', '')}".strip())
            return
