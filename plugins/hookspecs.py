"""Hook specifications of Duban rule packs (pluggy project ``duban``): markers and specs only.

Every hook receives the county's :class:`plugins.pack.RulePack` as ``pack``. An implementation
that only serves its own pack returns ``None`` for other packs. Built-in defaults are registered
last (``trylast``), so a pack's own implementation runs first.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from plugins.events import Deduction, NotificationChannel, ScoringEvent
    from plugins.pack import RulePack, Tier

PROJECT = "duban"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def duban_rulepacks() -> list:
    """Declare the rule packs this plugin provides.

    Each item is a :class:`plugins.pack.RulePack` or plain data of the same shape; data with
    ``"extends": "other_pack"`` overrides only the parts it names (lists merge by ``code``).
    Called once when the registry loads; a pack that fails validation is listed as broken
    with the field that failed, and nothing else is affected.

    :return: a list of packs (usually one).
    """


@hookspec(firstresult=True)
def duban_compute_deductions(pack: RulePack, event: ScoringEvent,
                             history: list[ScoringEvent]) -> list[Deduction] | None:
    """The deductions an event causes.

    Stops at first non-None result. The default implementation reads ``pack.schedule``:
    the rule whose code is ``event.code``, its amount and counting mode (per occurrence, once
    per matter when a threshold is first crossed, or per occurrence beyond a threshold),
    borne by the addressed or the lead unit, in the assessment year of ``event.occurred_on``.

    :param pack: the county's rule pack.
    :param event: the event being scored.
    :param history: earlier events of the same matter (any code), oldest first.
    :return: the deductions (possibly empty), or None to leave it to the next implementation.
    """


@hookspec(firstresult=True)
def duban_assessment_year(pack: RulePack, day: date) -> int | None:
    """The assessment year an event on ``day`` counts in.

    Stops at first non-None result. Default: the calendar year, or the year starting in
    ``pack.schedule.year_starts_month``.

    :param pack: the county's rule pack.
    :param day: the date of the event.
    :return: the year, or None.
    """


@hookspec(firstresult=True)
def duban_next_tier(pack: RulePack, recorded: list[str]) -> Tier | None:
    """The next ladder tier due for a matter, given the tier codes already recorded on it.

    Stops at first non-None result. Default: the tier after the highest one recorded (the
    ladder is climbed in order; a tier marked ``skippable`` may be passed over by staff but is
    still offered). Returns None when the ladder is exhausted.

    :param pack: the county's rule pack.
    :param recorded: codes of the tiers recorded on the matter so far, oldest first.
    :return: the tier to open next, or None.
    """


@hookspec
def duban_notification_channels(pack: RulePack) -> list[NotificationChannel]:
    """Notification channels (SMS, WeCom, DingTalk senders…) a plugin contributes.

    All implementations are called and their lists joined; the first channel of a code wins.
    Called in the county's schema (a channel may read the county's own settings, as
    ``plugins.channels_cn`` reads its ``ChannelAccount`` rows), and once at load outside any
    county, where it should return an empty list.

    :param pack: the county's rule pack.
    :return: channels implementing :class:`plugins.events.NotificationChannel`.
    """


@hookspec
def duban_document_context(pack: RulePack, document: str, context: dict) -> dict | None:
    """Extra template context for an official document.

    All implementations are called; their dicts are merged over ``context`` in order.

    :param pack: the county's rule pack.
    :param document: the document code (e.g. ``supervision_notice``).
    :param context: the context built so far (read it, do not change it).
    :return: keys to add or replace, or None.
    """


@hookspec
def duban_validate_pack(pack: RulePack) -> list[str] | None:
    """Extra checks a pack makes of itself (or of packs built on it) at load time.

    All implementations are called; any problem marks the pack broken.

    :param pack: a pack that passed the structural validation.
    :return: problems as ``"field: message"`` strings, or None.
    """
