"""county_strict: the default pack with a stricter deduction schedule (a vendor's example).

Only the parts that differ are declared; everything else comes from ``county_default``.
"""

from plugins.hookspecs import hookimpl

NAME = "county_strict"

PACK = {
    "name": NAME,
    "version": "2.1.0",
    "extends": "county_default",
    "title": {"zh-hans": "从严考核规则包", "en": "Strict assessment pack"},
    "vendor": "Example Vendor Ltd.",
    "schedule": {
        "events": [
            # The other reading of 六(五): 0.1 for every redo beyond the second.
            {"code": "redo", "counting": "per_occurrence_over_threshold", "threshold": 2},
            {"code": "phone_urging", "amount": "0.15"},
        ],
    },
}


class PagerChannel:
    code = "strict_pager"
    label = "寻呼通知"

    def __init__(self):
        self.sent = []

    def send(self, *, recipient, subject, body, idempotency_key):
        self.sent.append((recipient, subject, idempotency_key))


@hookimpl
def duban_rulepacks():
    return [PACK]


@hookimpl
def duban_notification_channels(pack):
    if pack.name != NAME:
        return None
    return [PagerChannel()]
