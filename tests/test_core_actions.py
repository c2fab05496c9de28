"""duban.core.actions: every do_* is one durable transaction; actions called inside an action or
an action_scope join it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from duban.core.actions import action, action_scope, in_action


@action
def do_touch(log: list, *, fail: bool = False):
    log.append(("touch", connection.in_atomic_block, in_action()))
    if fail:
        raise ValueError("no")


@action
def do_outer(log: list):
    do_touch(log)
    try:
        do_touch(log, fail=True)
    except ValueError:
        log.append("caught")


@pytest.mark.django_db
def test_an_action_is_its_own_durable_transaction():
    log: list = []
    do_touch(log)
    assert log == [("touch", True, True)]
    assert not in_action()


@pytest.mark.django_db
def test_an_action_called_inside_someone_elses_transaction_fails_loudly():
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        do_touch([])


@pytest.mark.django_db
def test_actions_inside_an_action_or_a_scope_join_it():
    log: list = []
    do_outer(log)
    assert log == [("touch", True, True), ("touch", True, True), "caught"]
    with action_scope():
        do_touch(log)
        assert in_action()
    assert not in_action()
