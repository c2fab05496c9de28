"""The demo seed: a city, three counties, ten units each and a user per role; idempotent."""

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from duban.accounts.models import Role, User
from duban.core import clock
from duban.demo.management.commands.seed_demo import DEMO_PASSWORD
from duban.matters import queries
from duban.matters.models import ChangeRequest, Matter
from duban.matters.states import State
from duban.units.models import Unit
from tenants.models import County

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_everything_once(world, capsys):
    call_command("seed_demo")
    call_command("seed_demo")  # a second run adds nothing
    out = capsys.readouterr().out
    counties = County.objects.filter(city__code="shifan").order_by("slug")
    assert [c.slug for c in counties] == ["dongshan", "nanling", "xihe"]
    for county in counties:
        with tenant_context(county):
            assert Unit.objects.filter(kind="township").count() == 5
            assert Unit.objects.filter(kind="department").count() == 5
            roles = set(User.objects.values_list("role", flat=True))
            assert roles == {Role.COUNTY_ADMIN, Role.COUNTY_LEADER, Role.OFFICE_LEADER,
                             Role.SUPERVISION_STAFF, Role.UNIT_STAFF}
            assert User.objects.filter(role=Role.UNIT_STAFF).count() == 10
            assert User.objects.get(username="staff").check_password(DEMO_PASSWORD)
            states = set(Matter.objects.values_list("state", flat=True))
            assert states == set(State.values), set(State.values) - states
            assert Matter.objects.filter(state="closed", redo_count=3).exists()
            assert queries.no_answer(User.objects.get(username="staff"), clock.today()).exists()
            assert ChangeRequest.objects.filter(status="pending", kind="extension").exists()
    assert "http://dongshan.localhost:8000/" in out
    assert DEMO_PASSWORD in out


def test_seed_demo_shows_every_tier_and_a_reversal(world):
    from duban.supervision.models import EscalationStep, LedgerEntry

    call_command("seed_demo")
    county = County.objects.get(slug="xihe")
    with tenant_context(county):
        tiers = set(EscalationStep.objects.filter(status="recorded").values_list("tier", flat=True))
        assert tiers == {"phone", "written_notice", "onsite", "special_meeting", "accountability"}
        assert EscalationStep.objects.exclude(reply_text="").exists()
        assert LedgerEntry.objects.filter(reverses__isnull=False).exists()
        assert LedgerEntry.objects.filter(rule_code="redo").exists()  # the matter redone three times
        from duban.supervision.models import Circular, InspectionRound

        assert Circular.objects.filter(status="published").exists()
        assert LedgerEntry.objects.filter(rule_code="criticism_circular").exists()
        assert InspectionRound.objects.exists() and InspectionRound.objects.get().items.exists()
