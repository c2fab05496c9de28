"""`duban city user add|list|remove`: city government users in the public schema (issue 20 point 12)."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from duban.accounts.models import Role, User
from duban.audit.models import AuditEvent
from tenants.models import CityMembership

pytestmark = pytest.mark.django_db


def city(*args, stdin=None) -> str:
    out = io.StringIO()
    call_command("city", *args, stdout=out)
    return out.getvalue()


def test_city_user_add_list_remove_keeps_the_membership_history(world, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("Long-enough-2026\n")
    printed = city("user", "add", "testcity", "wang", "--full-name", "王科长", "--email", "wang@example.cn",
                   "--password-file", str(secret))
    assert "wang" in printed and "测试市" in printed
    user = User.objects.get(username="wang")
    assert (user.role, user.full_name, user.email, user.is_active) == (Role.CITY_USER, "王科长", "wang@example.cn", True)
    assert user.check_password("Long-enough-2026")
    assert user.city_membership.city.code == "testcity" and user.city_membership.ended_at is None

    generated = city("user", "add", "testcity", "li")  # no file, no terminal: a generated password, shown once
    li = User.objects.get(username="li")
    shown = [word for word in re.findall(r"[\w-]{12,}", generated, re.ASCII) if li.check_password(word)]
    assert len(shown) == 1

    listed = city("user", "list", "testcity")
    assert "wang" in listed and "王科长" in listed and "li" in listed

    removed = city("user", "remove", "testcity", "wang")
    assert "wang" in removed
    user.refresh_from_db()
    assert user.is_active is False
    membership = CityMembership.objects.get(user=user)  # kept: history is not deleted
    assert membership.ended_at is not None and membership.city.code == "testcity"
    listed = city("user", "list", "testcity")
    assert "li" in listed and "wang" not in listed.split("已停用")[0]
    events = list(AuditEvent.objects.filter(action__in=["city.member", "city.member_remove"], after__user__in=["wang", "li"])
                  .order_by("id").values_list("action", "after"))
    assert [a for a, _ in events] == ["city.member", "city.member", "city.member_remove"]
    assert events[-1][1]["user"] == "wang"

    with pytest.raises(CommandError, match="已停用"):  # removed twice
        city("user", "remove", "testcity", "wang")


def test_city_user_errors_name_the_problem(world):
    with pytest.raises(CommandError, match="nocity"):
        city("user", "add", "nocity", "zhao")
    with pytest.raises(CommandError, match="nocity"):
        city("user", "list", "nocity")
    city("user", "add", "testcity", "zhao")
    with pytest.raises(CommandError, match="zhao"):  # duplicate
        city("user", "add", "testcity", "zhao")
    with pytest.raises(CommandError, match="nobody"):
        city("user", "remove", "testcity", "nobody")
    with pytest.raises(CommandError, match="staff"):  # a county user is no city user of this city
        city("user", "remove", "testcity", "staff")
    with pytest.raises(CommandError, match="文件"):
        city("user", "add", "testcity", "qian", "--password-file", "/nonexistent/pw")
    assert not User.objects.filter(username="qian").exists()


def test_city_command_still_compares_and_refreshes(world):
    assert "测试市" in city("compare", "testcity")
    assert "testcity" in city("list")
