"""Demo matters in every state of the workflow, made through the actions as of past days.

Used by `duban seed_demo`; grows as features are added so the demo shows every capability.
"""

from __future__ import annotations

from datetime import timedelta

from duban.accounts.models import Role, User
from duban.core import clock
from duban.core.clock import as_of
from duban.matters.actions import (
    do_accept_result,
    do_approve_matter,
    do_assign_matter,
    do_decide_request,
    do_give_feedback,
    do_propose_matter,
    do_register_matter,
    do_reject_matter,
    do_report_part,
    do_report_result,
    do_request_change,
    do_request_extension,
    do_send_back,
    do_sign_for_receipt,
)

MATTERS = [
    # (title, category, lead, co-units, target state, days ago assigned, working days given)
    ("城关片区老旧小区改造", "work_report", "D04", ["T01"], "closed_after_redos", 60, 20),
    ("高标准农田建设年度任务", "major_decision", "D05", ["T02", "T03"], "in_progress", 20, 30),
    ("中小学校舍安全排查整改", "leader_instruction", "D03", [], "overdue", 40, 10),
    ("人大代表建议：增设农村客运班线", "deputy_proposal", "D01", ["T04"], "reported", 25, 40),
    ("财政资金直达惠企政策落实", "document_report", "D02", [], "redo", 30, 20),
    ("上级查办件：河道非法采砂整治", "higher_instruction", "T05", ["D05"], "assigned", 2, 15),
    ("县长批示：营商环境投诉办理", "leader_requested", "D01", [], "extension_pending", 15, 20),
    ("乡镇污水处理设施运维", "leader_assigned_other", "T02", [], "cancelled", 10, 20),
    ("政府工作报告：新建城南幼儿园", "work_report", "D03", ["D04"], "approved", None, None),
    ("重点项目：物流园区一期开工", "major_decision", "D01", [], "registered", None, None),
    ("领导交办：春节前农民工工资清欠", "leader_assigned_other", "D02", [], "proposed", None, None),
    ("不属于督办范围的一般事务", "leader_requested", "D02", [], "rejected", None, None),
]


def _people():
    get = lambda role: User.objects.filter(role=role).order_by("id").first()  # noqa: E731
    return get(Role.COUNTY_LEADER), get(Role.OFFICE_LEADER), get(Role.SUPERVISION_STAFF)


def _clerk(unit_code: str) -> User:
    return User.objects.get(role=Role.UNIT_STAFF, unit__code=unit_code)


def seed_matters() -> int:
    leader, office, staff = _people()
    today = clock.today()
    made = 0
    for title, category, lead, cos, target, days_ago, working_days in MATTERS:
        start = today - timedelta(days=days_ago or 0)
        with as_of(start - timedelta(days=3)):
            matter = do_propose_matter(actor=leader, title=title, category=category,
                                               content=f"{title}：按县政府部署抓好落实，按时报告进展和结果。",
                                               proposed_units=[lead, *cos], source_reference="县政府办公室")
            made += 1
            if target == "proposed":
                continue
            do_register_matter(matter.pk, actor=staff)
            if target == "registered":
                continue
            if target == "rejected":
                do_reject_matter(matter.pk, actor=leader, comment="属于部门日常工作，不列入督办。")
                continue
            do_approve_matter(matter.pk, actor=leader, comment="同意立项，抓紧交办。")
            if target == "approved":
                continue
        with as_of(start):
            do_assign_matter(matter.pk, actor=staff, lead_unit=lead, co_units=cos,
                                     requirements="按期办结，每五个工作日反馈一次进展，办结后书面报告。",
                                     deadline_working_days=working_days, feedback_every_working_days=5)
        if target == "assigned":
            continue
        clerk = _clerk(lead)
        with as_of(start + timedelta(days=1)):
            do_sign_for_receipt(matter.pk, actor=clerk)
            for co in cos:
                do_sign_for_receipt(matter.pk, actor=_clerk(co))
        with as_of(start + timedelta(days=5)):
            # Co-operating units report their own parts; on the matter still in progress the second
            # has not yet (its part shows 未报送, and it is escalated only if the deadline passes so).
            for co in (cos[:1] if target == "in_progress" else cos):
                do_report_part(matter.pk, actor=_clerk(co), text="本单位承办部分已按要求完成，附相关材料。")
        with as_of(start + timedelta(days=6)):
            do_give_feedback(matter.pk, actor=clerk, kind="written", text="已制定工作方案，正在推进。")
        if target == "cancelled":
            request = do_request_change(matter.pk, actor=staff, kind="cancellation",
                                                reason="该任务已并入全县污水治理专项。")
            do_decide_request(request.pk, actor=leader, approve=True, note="同意取消。")
            continue
        if target == "extension_pending":
            matter.refresh_from_db()
            do_request_extension(matter.pk, actor=clerk, new_deadline=matter.deadline + timedelta(days=14),
                                         reason="需等待上级审批文件，申请延期两周。")
            continue
        if target in ("in_progress", "overdue"):
            continue
        with as_of(start + timedelta(days=10)):
            do_report_result(matter.pk, actor=clerk, text="已按要求完成，附验收材料。")
        if target == "reported":
            continue
        redos = 3 if target == "closed_after_redos" else 1
        for attempt in range(redos):
            with as_of(start + timedelta(days=12 + attempt * 4)):
                do_send_back(matter.pk, actor=office, reasons=f"第{attempt + 1}次审核：佐证材料不全，请补充后重报。")
            if target == "redo":
                break
            with as_of(start + timedelta(days=14 + attempt * 4)):
                do_report_result(matter.pk, actor=clerk, text=f"已补充材料（第{attempt + 2}次报送）。")
        if target == "closed_after_redos":
            do_accept_result(matter.pk, actor=office, reasons="材料齐全，同意办结。")
    return made
