"""DingTalk (钉钉) work notices (工作通知) to a person by their DingTalk userid.

The county's internal application (AppKey, AppSecret, AgentId) gets an access token
(``GET /gettoken?appkey=…&appsecret=…``, valid ``expires_in`` seconds, cached) and sends an action
card to the person (``POST /topapi/message/corpconversation/asyncsend_v2?access_token=…``:
``agent_id``, ``userid_list``, ``msg``) whose button opens the notice's short link. An invalid or
expired token (40014, 42001) is fetched again and the notice sent once more; any other error
raises and the outbox retries. DingTalk shows a person the same content from one application
once a day: the short link makes every notice's content its own.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.notifications.channels import Undeliverable
from plugins.channels_cn.common import TOKEN_EXPIRED, ProviderError, TokenCache, api_url, call_json, cut


class DingTalkChannel:
    code = "dingtalk"
    label = gettext_lazy("钉钉")
    carries_link = True
    quiet_hours = True

    def __init__(self, account):
        self.app_key, self.secret = account.app_id, account.secret
        self.agent_id = int(account.agent_id)
        self.tokens = TokenCache("dingtalk", self.app_key, self.secret)

    def _fetch_token(self) -> tuple[str, int]:
        answer = call_json("GET", api_url(settings.DUBAN_DINGTALK_API_BASE, "/gettoken", appkey=self.app_key,
                                          appsecret=self.secret), what="DingTalk gettoken")
        if answer.get("errcode") not in (0, None) or not answer.get("access_token"):
            raise ProviderError(f"DingTalk gettoken: errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip())
        return answer["access_token"], int(answer.get("expires_in") or 7200)

    def send(self, *, recipient: dict, subject: str, body: str, idempotency_key: str, link: str = "") -> None:
        userid = recipient.get("dingtalk_userid")
        if not userid:
            raise Undeliverable(_("收件人没有填写钉钉用户ID。"))
        title = cut(subject, 60)
        message = {
            "agent_id": self.agent_id, "userid_list": userid,
            "msg": {"msgtype": "action_card", "action_card": {
                "title": title, "markdown": f"### {title}\n\n{cut(body or subject, 300)}",
                "single_title": str(_("查看详情")), "single_url": link}},
        }
        for attempt in (1, 2):
            token = self.tokens.get(self._fetch_token)
            answer = call_json("POST", api_url(settings.DUBAN_DINGTALK_API_BASE,
                                               "/topapi/message/corpconversation/asyncsend_v2", access_token=token),
                               payload=message, idempotency_key=idempotency_key, what="DingTalk asyncsend_v2")
            errcode = answer.get("errcode")
            if errcode in TOKEN_EXPIRED and attempt == 1:
                self.tokens.forget()
                continue
            if errcode != 0:
                raise ProviderError(f"DingTalk asyncsend_v2: errcode {errcode} {answer.get('errmsg', '')}".strip())
            return
