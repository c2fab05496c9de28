"""The words of the pack's scoring rules, for pages and documents: how each deduction counts."""

from __future__ import annotations

from django.utils.translation import gettext as _


def counting_text(rule) -> str:
    """How ``rule`` (a schedule event) deducts, in the active language: 每次扣0.1分 /
    同一事项超过2次时扣0.1分（每个事项一次） / 同一事项超过2次后每次扣0.1分."""
    if rule.counting == "per_occurrence":
        return _("每次扣%(amount)s分") % {"amount": rule.amount}
    if rule.counting == "once_per_matter_over_threshold":
        return _("同一事项超过%(n)d次时扣%(amount)s分（每个事项一次）") % {"n": rule.threshold, "amount": rule.amount}
    return _("同一事项超过%(n)d次后每次扣%(amount)s分") % {"n": rule.threshold, "amount": rule.amount}


def rule_text(rule) -> str:
    """The rule as a document states it: its label and how it counts (复办次数超过两次，同一事项…)."""
    return f"{rule.label.zh}，{counting_text(rule)}"
