"""Rule packs: the default pack, a vendor pack installed with pip, broken packs, selection."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from conftest import REPO, subprocess_env
from django.core.management import call_command
from django.test import Client
from packs_fixture import on_path, pip_install

from duban.scoring.engine import replay
from plugins.events import ScoringEvent
from plugins.manager import get_registry, pack_for_county
from plugins.pack import PackError, build_pack, merge
from plugins.testing import STANDARD_SCENARIOS, assert_conformant, run_scenarios, scenario_events
from tenants import provisioning


@pytest.fixture(scope="session")
def pack_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    return {"strict": pip_install(root / "strict", "duban-pack-strict"),
            "broken": pip_install(root / "broken", "duban-broken-packs")}


@pytest.fixture
def strict_installed(pack_dirs):
    with on_path(pack_dirs["strict"]) as registry:
        yield registry


@pytest.fixture
def broken_installed(pack_dirs):
    with on_path(pack_dirs["strict"], pack_dirs["broken"]) as registry:
        yield registry


def default_pack():
    return get_registry().pack("county_default")


# --- the default pack ------------------------------------------------------------------------
def test_default_pack_is_registered_through_its_entry_point():
    entry = get_registry().get("county_default")
    assert entry.ok and entry.version == "1.0.0"
    assert "county_default = plugins.county_default" in entry.source
    assert entry.source.startswith("duban ")


def test_default_pack_values_trace_to_the_seed():
    pack = default_pack()
    schedule = {r.code: (r.amount, r.counting, r.threshold, r.clause) for r in pack.schedule.events}
    assert schedule == {
        "phone_urging": (Decimal("0.1"), "per_occurrence", 0, "六（二）"),
        "written_notice": (Decimal("0.2"), "per_occurrence", 0, "六（三）"),
        "onsite_urging": (Decimal("0.3"), "per_occurrence", 0, "六（四）"),
        "redo": (Decimal("0.1"), "once_per_matter_over_threshold", 2, "六（五）"),
        "special_meeting": (Decimal("0.5"), "per_occurrence", 0, "六（六）"),
        "criticism_circular": (Decimal("0.5"), "per_occurrence", 0, "六（七）"),
        "named_criticism": (Decimal("0"), "per_occurrence", 0, "五（三）"),  # 点名批评: no deduction in 六
    }
    assert (pack.schedule.base, pack.schedule.floor) == (Decimal("3.0"), Decimal("0"))
    assert [t.code for t in pack.tiers] == ["phone", "written_notice", "onsite", "special_meeting", "accountability"]
    assert [t.clause for t in pack.tiers] == ["四（一）", "四（二）", "四（三）", "四（四）", "四（五）"]
    assert pack.tier("written_notice").document == "supervision_notice"
    assert pack.document("supervision_notice").title == "督查督办通知单"
    assert pack.tier("special_meeting").skippable and not pack.tier("onsite").skippable
    assert [c.clause for c in pack.scope] == [f"二（{n}）" for n in "一二三四五六七八"]
    assert pack.category("deputy_proposal").statutory_clock.months == 3
    assert pack.calendar.inspection_window.weeks == 2
    # Durations the seed leaves open are marked as the pack's choices.
    assert all(t.trigger.pack_choice for t in pack.tiers[1:]) and pack.calendar.warnings.pack_choice
    assert {i.code for i in pack.interpretations} >= {"redo_once", "bearing_unit", "assessment_year", "floor_on_sum"}


def test_default_pack_passes_its_own_conformance_kit():
    assert assert_conformant("county_default").name == "county_default"


def test_default_pack_scenarios_match_the_seed():
    scores = {(r.scenario, r.year): r.score for r in run_scenarios(default_pack())}
    assert scores[("ladder_mix", 2026)] == Decimal("2.0")  # 3.0 − 0.3 − 0.4 − 0.3
    assert scores[("seven_meetings", 2026)] == Decimal("0")
    assert scores[("three_redos", 2026)] == Decimal("2.9")
    assert scores[("four_redos", 2026)] == Decimal("2.9")
    assert scores[("never_supervised", 2026)] == Decimal("3.0")
    assert scores[("year_boundary", 2026)] == scores[("year_boundary", 2027)] == Decimal("2.9")
    assert scores[("criticism", 2026)] == Decimal("2.5")
    rows = {r.scenario: r for r in run_scenarios(default_pack())}
    assert rows["seven_meetings"].entries == 7 and rows["seven_meetings"].deducted == Decimal("3.5")


def test_rulepack_check_cli_prints_the_scenario_table(capsys):
    call_command("rulepack", "check", "county_default")
    out = capsys.readouterr().out
    assert "符合性检查全部通过" in out
    assert "ladder_mix" in out and "2.0" in out and "seven_meetings" in out


@pytest.mark.django_db
def test_rulepack_list_and_show_cli(world, capsys):
    call_command("rulepack", "list")
    out = capsys.readouterr().out
    assert "county_default" in out and "1.0.0" in out and "plugins.county_default" in out and "正常" in out
    call_command("rulepack", "show", "county_default")
    out = capsys.readouterr().out
    for text in ("电话、口头督办", "督查督办通知单", "六（五）", "每件事项次数超过 2 时扣一次", "每季度最后 2 周"):
        assert text in out


# --- a vendor pack ---------------------------------------------------------------------------
def test_vendor_pack_is_discovered_validated_and_overrides_only_what_it_names(strict_installed):
    entry = strict_installed.get("county_strict")
    assert entry.ok, entry.error
    assert entry.source.startswith("duban-pack-strict 2.1.0")
    strict, default = entry.pack, strict_installed.pack("county_default")
    assert strict.extends == "county_default" and strict.vendor == "Example Vendor Ltd."
    assert strict.scope == default.scope and strict.tiers == default.tiers and strict.calendar == default.calendar
    assert strict.schedule.rule("redo").counting == "per_occurrence_over_threshold"
    assert strict.schedule.rule("phone_urging").amount == Decimal("0.15")
    assert strict.schedule.rule("onsite_urging") == default.schedule.rule("onsite_urging")
    assert_conformant(strict)


def test_same_events_different_deductions_under_the_vendor_pack(strict_installed):
    strict, default = strict_installed.pack("county_strict"), strict_installed.pack("county_default")
    by_pack = {p.name: {(r.scenario, r.year): r.score for r in run_scenarios(p)} for p in (strict, default)}
    assert by_pack["county_default"][("four_redos", 2026)] == Decimal("2.9")
    assert by_pack["county_strict"][("four_redos", 2026)] == Decimal("2.8")  # two redos beyond the second
    assert by_pack["county_strict"][("ladder_mix", 2026)] == Decimal("1.85")  # 3×0.15 + 0.4 + 0.3
    deductions = replay(strict, scenario_events(strict, STANDARD_SCENARIOS[0])).deductions
    assert {(d.pack, d.version) for d in deductions} == {("county_strict", "2.1.0")}


def test_vendor_code_hook_contributes_a_channel_for_its_own_pack_only(strict_installed):
    hook = strict_installed.pm.hook
    strict_channels = [c for group in hook.duban_notification_channels(pack=strict_installed.pack("county_strict"))
                       if group for c in group]
    default_channels = [c for group in hook.duban_notification_channels(pack=strict_installed.pack("county_default"))
                        if group for c in group]
    assert [c.code for c in strict_channels] == ["strict_pager"]
    assert default_channels == []


@pytest.mark.django_db
def test_one_county_selects_the_vendor_pack_the_other_keeps_the_default(world, strict_installed):
    from django_tenants.utils import schema_context

    from duban.audit.models import AuditEvent

    county = provisioning.set_rulepack("beta", "county_strict==2.1.0", actor="tests")
    assert (county.rulepack_name, county.rulepack_version) == ("county_strict", "2.1.0")
    world.alpha.refresh_from_db()
    assert pack_for_county(county).name == "county_strict"
    assert pack_for_county(world.alpha).name == "county_default"
    event = ScoringEvent(code="phone_urging", unit="T01", occurred_on=date(2026, 5, 6), matter="m1")
    amounts = {c.slug: replay(pack_for_county(c), [event]).deductions[0].amount for c in (county, world.alpha)}
    assert amounts == {"beta": Decimal("0.15"), "alpha": Decimal("0.1")}
    audit = AuditEvent.objects.filter(action="county.set_rulepack", object_id=str(county.pk)).latest("id")
    assert audit.before == {"rulepack": "county_default==1.0.0"} and audit.after == {"rulepack": "county_strict==2.1.0"}
    with schema_context(county.schema_name):
        assert AuditEvent.objects.filter(action="county.set_rulepack").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("spec", "message"), [
    ("county_strict==9.0", "已安装的版本是 2.1.0，不是 9.0"),
    ("no_such_pack", "没有名为“no_such_pack”的规则包"),
    ("county_default", "已在使用规则包 county_default==1.0.0"),
])
def test_set_rulepack_refuses_bad_input(world, strict_installed, spec, message):
    with pytest.raises(provisioning.ProvisioningError, match=message):
        provisioning.set_rulepack("alpha", spec, actor="tests")


@pytest.mark.django_db
def test_set_rulepack_cli(world, strict_installed, capsys):
    call_command("county", "set-rulepack", "alpha", "county_strict")
    assert "甲县（alpha）现使用规则包 county_strict==2.1.0" in capsys.readouterr().out


# --- broken packs ------------------------------------------------------------------------------
BROKEN = {
    "broken_negative": ("schedule.events[phone_urging].amount", "应大于或等于 0"),
    "broken_duplicate_tier": ("tiers", "代码“phone”重复"),
    "broken_unknown_event": ("tiers[onsite].deduction_event", "未知的事件代码“site_visit”"),
    "broken_floor": ("schedule", "floor 5 高于 base 3.0"),
    "broken_no_zh": ("scope[major_decision].label.zh-hans", "中文（zh-hans）名称为空"),
    "broken_raises": ("hooks", "ZeroDivisionError: the vendor divided by zero"),
    "broken_misspelt": ("", "实现了未知的钩子"),
    "broken_import": ("", "无法导入 duban_broken_packs.import_error"),
    # A plugin whose hook raises for every pack is blamed itself; the packs it broke stay fine.
    "broken_careless": ("", "插件“broken_careless”的钩子 duban_next_tier 在处理规则包"),
}


def test_each_broken_pack_is_refused_naming_pack_and_field(broken_installed):
    for name, (field, message) in BROKEN.items():
        entry = broken_installed.get(name)
        assert entry is not None, name
        assert not entry.ok, name
        assert name in entry.error or entry.plugin == name, entry.error
        assert message in entry.error, (name, entry.error)
        if field:
            assert entry.field == field, (name, entry.field, entry.error)
    # Everything else still loads and works.
    assert broken_installed.get("county_default").ok and broken_installed.get("county_strict").ok
    assert run_scenarios(broken_installed.pack("county_default"))[0].score == Decimal("2.0")


def test_a_raising_plugin_is_taken_out_so_it_cannot_break_other_packs(broken_installed):
    names = {broken_installed.pm.get_name(p) for p in broken_installed.pm.get_plugins()}
    assert "broken_raises" not in names and "broken_misspelt" not in names and "broken_careless" not in names
    assert "county_default" in names and "county_strict" in names


@pytest.mark.django_db
def test_with_broken_packs_installed_counties_still_answer(world, broken_installed):
    assert Client().get("/healthz", HTTP_HOST=world.owner.host).status_code == 200
    response = Client().get("/api/v1/me/", HTTP_HOST=world.owner.host, HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert response.status_code == 200
    with pytest.raises(provisioning.ProvisioningError, match="broken"):
        provisioning.set_rulepack("alpha", "broken_floor", actor="tests")


@pytest.mark.django_db
def test_rulepack_list_cli_names_the_failing_field(world, pack_dirs):
    env = subprocess_env(PYTHONPATH=os.pathsep.join([str(pack_dirs["broken"]), str(pack_dirs["strict"])]),
                         COLUMNS="250")
    result = subprocess.run([sys.executable, "-m", "duban.cli", "rulepack", "list"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "schedule.events[phone_urging].amount" in out
    assert "tiers[onsite].deduction_event" in out
    assert "broken" in out and "county_strict" in out
    assert out.count("broken_") >= len(BROKEN)


# --- validation and extension, without installing anything --------------------------------------
def test_build_pack_errors_name_pack_and_field():
    data = default_pack().to_data()
    bad = merge(data, {"name": "x_pack", "schedule": {"events": [{"code": "redo", "threshold": 0}]}})
    with pytest.raises(PackError) as excinfo:
        build_pack(bad)
    assert excinfo.value.pack == "x_pack"
    assert excinfo.value.field == "schedule.events[redo]"
    assert "需要至少为1的 threshold" in str(excinfo.value)
    without_redo = merge(data, {"name": "y_pack", "schedule": {"events": [{"code": "redo", "remove": True}]}})
    with pytest.raises(PackError, match="核心会记入 redo 事件"):
        build_pack(without_redo)


def test_merge_overrides_by_code_adds_and_removes():
    base = [{"code": "a", "v": 1, "w": 1}, {"code": "b", "v": 2}]
    assert merge(base, [{"code": "a", "v": 9}, {"code": "c", "v": 3}]) == [
        {"code": "a", "v": 9, "w": 1}, {"code": "b", "v": 2}, {"code": "c", "v": 3}]
    assert merge(base, [{"code": "b", "remove": True}]) == [{"code": "a", "v": 1, "w": 1}]
    assert merge({"x": {"y": 1, "z": 2}}, {"x": {"z": 3}}) == {"x": {"y": 1, "z": 3}}


def test_derive_in_python_builds_on_a_pack():
    strict = default_pack().derive(name="derived", version="1.1",
                                   schedule={"events": [{"code": "onsite_urging", "amount": "0.4"}]})
    assert strict.extends == "county_default"
    assert strict.schedule.rule("onsite_urging").amount == Decimal("0.4")
    assert strict.tiers == default_pack().tiers


def test_next_tier_with_tiers_unknown_to_the_pack_starts_the_ladder():
    pack = default_pack()
    hook = get_registry().pm.hook
    assert hook.duban_next_tier(pack=pack, recorded=["renamed_tier"]).code == "phone"
    assert hook.duban_next_tier(pack=pack, recorded=["renamed_tier", "phone"]).code == "written_notice"
    assert hook.duban_next_tier(pack=pack, recorded=[t.code for t in pack.tiers]) is None
