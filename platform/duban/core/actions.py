"""The one door for writes: every ``do_*`` function of an area's ``actions.py`` is an action.

An action is one transaction. Called from a view, a task or a command, it opens a *durable*
transaction (``transaction.atomic(durable=True)``, as Zulip's actions do): when it returns, its
change is committed, and calling it by mistake inside someone's open transaction fails loudly
instead of silently becoming part of it.

An action may call other actions; they join its transaction (each in a savepoint, so a caller
that catches an action's error has lost nothing but that action's part). Three kinds of caller
also want several actions in one transaction and declare it with :func:`action_scope`: a flow
made of actions (which is then itself an action), an import that is all or nothing, and an API
request sent with an ``Idempotency-Key`` (its remembered answer commits with its change).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")

_in_action: contextvars.ContextVar[bool] = contextvars.ContextVar("duban_in_action", default=False)


@contextlib.contextmanager
def action_scope() -> Iterator[None]:
    """One transaction for the actions called inside: durable when it is the outermost, a
    savepoint of the enclosing action's transaction otherwise."""
    if _in_action.get():
        with transaction.atomic():
            yield
        return
    token = _in_action.set(True)
    try:
        with transaction.atomic(durable=True):
            yield
    finally:
        _in_action.reset(token)


def action(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a ``do_*`` function: it runs in :func:`action_scope`."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with action_scope():
            return func(*args, **kwargs)

    return run


def in_action() -> bool:
    """Whether the caller runs inside an action's transaction."""
    return _in_action.get()
