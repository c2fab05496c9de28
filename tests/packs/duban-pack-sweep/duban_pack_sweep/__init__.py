"""county_sweep_check: the default pack whose phone tier the sweep records itself (mode
automatic: a deduction and a notification per step) and which escalates late feedback and due
checks of time-sensitive matters as well as missed deadlines — every branch of the sweep's
set-based path and of its Python path, for tests/test_sweep_bulk.py."""

from plugins.hookspecs import hookimpl

NAME = "county_sweep_check"

PACK = {
    "name": NAME,
    "version": "1.0.0",
    "extends": "county_default",
    "title": {"zh-hans": "自动电话督办测试规则包", "en": "Automatic phone urging test pack"},
    "vendor": "Duban tests",
    "tiers": [
        {"code": "phone", "mode": "automatic",
         "trigger": {"basis": "deadline_passed", "working_days": 2,
                     "answers": ["deadline_missed", "feedback_overdue", "check_due"]}},
    ],
}


@hookimpl
def duban_rulepacks():
    return [PACK]
