"""Values passed to and returned by rule-pack hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ScoringEvent:
    """Something that may cost a unit points: a recorded ladder step, a redo, a circular.

    ``code`` is an event code of the pack's deduction schedule. ``unit`` is the unit the step
    was addressed to; ``lead_unit`` the matter's lead unit (they differ for co-operating units).
    ``ref`` identifies the record that caused it (e.g. ``escalation:42``).
    """

    code: str
    unit: str
    occurred_on: date
    matter: str | None = None
    lead_unit: str | None = None
    ref: str = ""


@dataclass(frozen=True)
class Deduction:
    """Points taken from a unit in an assessment year, and exactly why."""

    unit: str
    year: int
    amount: Decimal
    event_code: str
    rule_code: str
    pack: str
    version: str
    matter: str | None = None
    ref: str = ""
    reason: str = ""


@runtime_checkable
class NotificationChannel(Protocol):
    """A way to reach people (SMS, WeCom, DingTalk, …) contributed by a plugin.

    ``recipient`` holds ``username``, ``name``, ``email``, ``phone``, ``wecom_userid`` and
    ``dingtalk_userid`` (empty strings where the person has none). Raise
    ``duban.notifications.channels.Undeliverable`` when the person cannot be reached this way at
    all (skipped, not retried); any other exception makes the outbox try again later.

    Optional attributes: ``carries_link = True`` (``send`` then also gets ``link=``, the notice's
    short link that opens it on a phone after login); ``quiet_hours = True`` (deliveries wait for
    the end of the person's quiet hours unless the notice is urgent); ``enabled_by_default(event)``
    (whether a person who never chose gets that event on this channel; default: yes).
    """

    code: str
    label: str

    def send(self, *, recipient: dict, subject: str, body: str, idempotency_key: str) -> None:
        """Deliver one message or raise; must be safe to call again with the same key."""


@dataclass
class ScenarioResult:
    """Scores of units after replaying events (used by `duban rulepack check`)."""

    deductions: list[Deduction] = field(default_factory=list)
    scores: dict[tuple[str, int], Decimal] = field(default_factory=dict)
