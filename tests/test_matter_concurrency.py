"""Two people acting on the same matter at once: one wins, the other gets a clear error."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from matter_helpers import Cast, to_state
from sweep_helpers import in_thread

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role
from duban.core.errors import Conflict
from duban.matters import actions
from duban.matters.states import InvalidTransition
from duban.units.actions import do_create_unit
from tenants import provisioning

pytestmark = pytest.mark.django_db


def test_concurrent_review_of_one_matter(world):
    def setup():
        county = provisioning.create_county("concurrency", "并发县", "testcity", actor="tests", admin_username=None).county
        with tenant_context(county):
            d01 = do_create_unit("D01", "一号局", "department", actor="tests")
            t01 = do_create_unit("T01", "一号镇", "township", actor="tests")
            users = {name: do_create_user(name, actor="tests", role=role, password="x", unit=unit)
                     for name, role, unit in [("m_leader", Role.COUNTY_LEADER, None), ("office", Role.OFFICE_LEADER, None),
                                              ("office2", Role.OFFICE_LEADER, None), ("staff", Role.SUPERVISION_STAFF, None),
                                              ("clerk", Role.UNIT_STAFF, d01), ("clerk1", Role.UNIT_STAFF, t01),
                                              ("other", Role.UNIT_STAFF, t01)]}
            cast = Cast(users["m_leader"], users["office"], users["staff"], users["clerk"], users["clerk1"], users["other"])
            matter = to_state(cast, "reported")
            return county, matter.pk, matter.version, users["office"], users["office2"]

    county, matter_id, version, office, office2 = in_thread(setup)
    barrier = threading.Barrier(2)
    outcomes = {}

    def review(name, fn):
        def go():
            with tenant_context(county):
                barrier.wait()
                try:
                    fn()
                    outcomes[name] = "ok"
                except (Conflict, InvalidTransition) as exc:
                    outcomes[name] = exc
                finally:
                    connection.close()
        return threading.Thread(target=go)

    threads = [review("accept", lambda: actions.do_accept_result(matter_id, actor=office, reasons="通过",
                                                                  expected_version=version)),
               review("send_back", lambda: actions.do_send_back(matter_id, actor=office2, reasons="不通过",
                                                                 expected_version=version))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [name for name, result in outcomes.items() if result == "ok"]
    losers = [result for result in outcomes.values() if result != "ok"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict)
    assert "已被他人修改" in str(losers[0])

    def final():
        with tenant_context(county):
            from duban.matters.models import Matter, Review

            matter = Matter.objects.get(pk=matter_id)
            return matter.state, Review.objects.filter(report__matter=matter).count()

    state, reviews = in_thread(final)
    assert reviews == 1  # exactly one review recorded; nothing half-written
    assert state == {"accept": "closed", "send_back": "redo"}[winners[0]]
