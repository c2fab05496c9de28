"""The default rule pack, as data: 县政务督查督办工作方案 (docs/county-supervision-plan.zh.md).

Every value carries the clause of the seed it comes from (``clause``). Where the seed leaves a
value open — how long before the next tier, when the yellow light comes on, when the weekly
report is due — the value is this pack's choice and is marked ``pack_choice`` (or says so in
its note); another pack may choose differently. The readings the pack commits to are listed
under ``interpretations`` and explained in README.md beside this file.
"""

from __future__ import annotations

NAME = "county_default"
VERSION = "1.0.0"

SEED = "县政务督查督办工作方案"


def _evidence(code, zh, en, kind="text", required=True, help=""):
    return {"code": code, "label": {"zh-hans": zh, "en": en}, "kind": kind, "required": required, "help": help}


PACK = {
    "name": NAME,
    "version": VERSION,
    "title": {"zh-hans": "县政务督查督办工作方案（默认规则包）", "en": "County supervision plan (default rule pack)"},
    "vendor": "Duban",
    "source": SEED,
    "issued": "2026-11-25",
    "description": "The seed work plan's rules: what can be supervised (part 二), the escalation ladder "
                   "(part 四), the inspection window and weekly report (part 五) and the deduction "
                   "schedule (part 六).",
    # 二、督查督办工作内容和范围
    "scope": [
        {"code": "major_decision", "clause": "二（一）",
         "label": {"zh-hans": "重大决策和重要工作部署贯彻落实", "en": "Major decisions and work deployments"},
         "description": "市委、市政府、县委、县政府重大决策和重要工作部署的贯彻落实情况",
         "default_deadline_working_days": 20},
        {"code": "leader_requested", "clause": "二（二）",
         "label": {"zh-hans": "领导明确要求督办的事项", "en": "Matters leaders ask to be supervised"},
         "description": "市委、市政府、县委、县政府领导明确要求督查督办的事项",
         "default_deadline_working_days": 15},
        {"code": "document_report", "clause": "二（三）",
         "label": {"zh-hans": "公文要求报告落实情况的事项", "en": "Documents requiring implementation reports"},
         "description": "市委、市政府、县委、县政府公文中明确要求报告贯彻落实情况的事项",
         "default_deadline_working_days": 20},
        {"code": "higher_instruction", "clause": "二（四）",
         "label": {"zh-hans": "上级批示件、查办件", "en": "Instructions and files from higher authorities"},
         "description": "上级党政机关转来的批示件、查办件的落实情况",
         "default_deadline_working_days": 10},
        {"code": "leader_instruction", "clause": "二（五）",
         "label": {"zh-hans": "领导重要批示", "en": "Leaders' important written instructions"},
         "description": "领导同志重要批示涉及相关乡镇、部门需要查办落实并报告处理结果的事项",
         "default_deadline_working_days": 10},
        {"code": "work_report", "clause": "二（六）",
         "label": {"zh-hans": "政府工作报告、年度季度工作要点、重大项目",
                   "en": "Government Work Report, work priorities and major projects"},
         "description": "《政府工作报告》及县政府年度、季度工作要点涉及的事项，县政府确定的重要工作和重大项目的落实情况",
         "default_deadline_working_days": 60},
        {"code": "deputy_proposal", "clause": "二（七）",
         "label": {"zh-hans": "人大代表建议、政协委员提案", "en": "Deputies' suggestions and CPPCC proposals"},
         "description": "全国和省、市、县人大代表建议、政协委员提案的督办落实工作",
         "statutory_clock": {"months": 3, "basis": "人大代表建议、政协委员提案自交办之日起三个月内办复（本规则包的规定）"},
         "proposer_satisfaction": {"second_reply_working_days": 22, "pack_choice": True,
                                   "clause": "二（七）（代表、委员对答复不满意的，一个月内再次办理答复；本规则包的规定）"}},
        {"code": "leader_assigned_other", "clause": "二（八）",
         "label": {"zh-hans": "领导交办的其他事项", "en": "Other matters assigned by county leaders"},
         "description": "县政府领导同志交办需要督办的其他事项",
         "default_deadline_working_days": 15},
    ],
    # 四、督查督办方式 — applied in order (依次, 五（一）).
    "tiers": [
        {"code": "phone", "clause": "四（一）",
         "label": {"zh-hans": "电话、口头督办", "en": "Phone or oral urging"},
         "description": "督办人员以电话询问的方式掌握进展，明确完成时限",
         "trigger": {"basis": "deadline_passed", "working_days": 0, "answers": ["deadline_missed"]},
         "evidence": [_evidence("contact", "接听人", "Person contacted", "person"),
                      _evidence("contacted_at", "通话时间", "Time of call", "datetime"),
                      _evidence("promised_date", "承诺完成日期", "Promised completion date", "date"),
                      _evidence("note", "通话记录", "Call note", required=False)],
         "promise_field": "promised_date",
         "mode": "manual", "deduction_event": "phone_urging"},
        {"code": "written_notice", "clause": "四（二）",
         "label": {"zh-hans": "书面督办", "en": "Written notice"},
         "description": "下发《督查督办通知单》，要求责任单位在规定时限内专题答复",
         "trigger": {"basis": "since_previous_tier", "working_days": 5, "answers": ["deadline_missed"], "pack_choice": True},
         "evidence": [_evidence("requirements", "督办要求", "Requirements"),
                      _evidence("reply_due", "专题答复期限", "Written reply due", "date")],
         "document": "supervision_notice", "reply_deadline_working_days": 5,
         "mode": "manual", "deduction_event": "written_notice"},
        {"code": "onsite", "clause": "四（三）",
         "label": {"zh-hans": "现场督办", "en": "On-site supervision"},
         "description": "指派专人到现场了解情况，进行督查督办",
         "trigger": {"basis": "since_previous_tier", "working_days": 5, "answers": ["deadline_missed"], "pack_choice": True},
         "evidence": [_evidence("inspector", "督办人员", "Inspector", "person"),
                      _evidence("visited_at", "到场时间", "Time of visit", "datetime"),
                      _evidence("findings", "现场情况", "Findings")],
         "mode": "manual", "deduction_event": "onsite_urging"},
        {"code": "special_meeting", "clause": "四（四）",
         "label": {"zh-hans": "专项会议督办", "en": "Special meeting"},
         "description": "责任单位写出书面检查存档；主要领导向县政府领导当面说明；必要时召开专项会议协调",
         "trigger": {"basis": "since_previous_tier", "working_days": 10, "answers": ["deadline_missed"], "pack_choice": True},
         "evidence": [_evidence("self_examination", "书面检查", "Written self-examination", "file"),
                      _evidence("explanation", "主要领导当面说明情况", "Head's in-person explanation"),
                      _evidence("minutes", "会议纪要", "Meeting minutes", "file", required=False)],
         # 四（五）: accountability follows on-site OR special-meeting supervision.
         "skippable": True, "mode": "manual", "deduction_event": "special_meeting"},
        {"code": "accountability", "clause": "四（五）",
         "label": {"zh-hans": "责任追究", "en": "Accountability"},
         "description": "按有关规定对责任单位有关领导和人员严肃处理",
         "trigger": {"basis": "since_previous_tier", "working_days": 10, "answers": ["deadline_missed"], "pack_choice": True},
         "evidence": [_evidence("decision", "处理决定", "Decision"),
                      _evidence("decided_by", "决定机关", "Decided by")],
         "mode": "manual"},
    ],
    # 六、考核标准; 五（四） 考评制度: 3% = 3 points.
    "schedule": {
        "base": "3.0", "floor": "0", "clause": "五（四）、六（一）", "year_starts_month": 1,
        "events": [
            {"code": "phone_urging", "clause": "六（二）", "amount": "0.1", "counting": "per_occurrence",
             "label": {"zh-hans": "电话或口头催办", "en": "Phone or oral urging"}},
            {"code": "written_notice", "clause": "六（三）", "amount": "0.2", "counting": "per_occurrence",
             "label": {"zh-hans": "下发《督查督办通知单》", "en": "Supervision notice issued"}},
            {"code": "onsite_urging", "clause": "六（四）", "amount": "0.3", "counting": "per_occurrence",
             "label": {"zh-hans": "现场催办", "en": "On-site urging"}},
            {"code": "redo", "clause": "六（五）", "amount": "0.1",
             "counting": "once_per_matter_over_threshold", "threshold": 2,
             "label": {"zh-hans": "复办次数超过两次", "en": "Redone more than twice"},
             "note": "Once per matter, on its third redo (see interpretation redo_once)."},
            {"code": "special_meeting", "clause": "六（六）", "amount": "0.5", "counting": "per_occurrence",
             "label": {"zh-hans": "因落实不力召开专项会议督办", "en": "Special meeting for poor implementation"}},
            {"code": "criticism_circular", "clause": "六（七）", "amount": "0.5", "counting": "per_occurrence",
             "label": {"zh-hans": "全县通报批评", "en": "County-wide criticism circular"}},
            {"code": "named_criticism", "clause": "五（三）", "amount": "0", "counting": "per_occurrence",
             "label": {"zh-hans": "点名批评", "en": "Criticised by name in a circular"},
             "note": "五（三） criticises laggards; 六 deducts only for 全县通报批评 (see interpretation criticism_kinds)."},
        ],
        # 冲正: how a wrong deduction is corrected (see interpretation reversal_kinds).
        "reversal_kinds": [
            {"code": "recorded_in_error", "label": {"zh-hans": "系误记", "en": "Recorded in error"},
             "withdraws_step": True, "clause": "一（三）"},
            {"code": "points_waived", "label": {"zh-hans": "情况说明属实，免予扣分", "en": "Explanation accepted, points waived"},
             "withdraws_step": False, "clause": "六"},
        ],
    },
    # 五、保障措施
    "calendar": {
        "holidays": "chinese_calendar",
        "inspection_window": {"kind": "last_weeks_of_quarter", "weeks": 2, "clause": "五（一）"},
        "weekly_report": {"weekday": 5, "at": "16:00", "clause": "五（二）（每周；星期五16时为本规则包的规定）"},
        "warnings": {"yellow_working_days": 3, "pack_choice": True},
        "time_sensitive_check_working_days": 2,
    },
    "documents": [
        {"code": "collection_form", "title": "需要督办事项", "clause": "三（一）",
         "issuing_office": "{county}人民政府办公室", "number_prefix": "政督征"},
        {"code": "assignment_notice", "title": "重点事项交办通知单", "clause": "三（二）", "format": "letter",
         "issuing_office": "{county}人民政府办公室", "number_prefix": "政督交",
         "closing": "请于规定时限内办结并报送落实结果。"},
        {"code": "supervision_notice", "title": "督查督办通知单", "clause": "四（二）", "format": "letter",
         "issuing_office": "{county}人民政府办公室", "number_prefix": "政督",
         "closing": "请尽快赶上工作进度，并在规定时限内进行专题答复。"},
        {"code": "weekly_report", "title": "督查专报", "clause": "五（二）",
         "issuing_office": "{county}人民政府督查室", "number_prefix": "督查专报"},
        {"code": "circular", "title": "通报", "clause": "五（三）",
         "issuing_office": "{county}人民政府办公室", "number_prefix": "政督通"},
        {"code": "annual_assessment", "title": "督查督办工作年度考评表", "clause": "五（四）、六",
         "issuing_office": "{county}人民政府督查室"},
    ],
    # 五（三） 鼓励先进，批评后进: what praise and criticism rest on (interpretations praise_criterion,
    # criticism_facts).
    "circulars": {
        "praise": {"min_closed_on_time": 1, "max_closed_late": 0, "max_overdue": 0, "max_steps": 0, "max_redos": 0},
        "criticism_needs_fact": True,
        "clause": "五（三）",
    },
    "interpretations": [
        {"code": "proposer_satisfaction", "clause": "二（七）", "text": {
            "zh-hans": "人大代表建议、政协委员提案类事项办结时，由办公室领导记录代表委员对答复的意见（满意、基本满意、不满意）；"
                       "不满意的，事项重新办理，自当日起22个工作日（约一个月，本规则包的规定）内再次答复，不计复办、不扣分；"
                       "再次答复后按代表委员意见办结。《督查专报》和年度考评表统计各类意见件数。",
            "en": "A deputy's suggestion or CPPCC proposal closes with the proposer's view of the reply (satisfied, basically "
                  "satisfied, unsatisfied), recorded by the office leader; unsatisfied reopens it once for a second reply "
                  "within 22 working days (about a month, this pack's choice), not counted as a redo; the weekly report "
                  "and the annual table count the views."}},
        {"code": "praise_criterion", "clause": "五（三）“鼓励先进”", "text": {
            "zh-hans": "通报表扬的单位，须在通报期内至少按期办结督办事项1件，且无逾期办结、无逾期未办结事项、未被采取督办措施、"
                       "无退回复办；不符合的不得列入表扬名单。表扬语句按该单位本期实际情况生成。",
            "en": "A unit praised in a circular must have closed at least one matter on time in the period, with no matter "
                  "closed late, none overdue, no ladder step and no redo; one that does not cannot be listed. The praise "
                  "sentence states the unit's own record."}},
        {"code": "criticism_facts", "clause": "五（三）“批评后进”、六（七）", "text": {
            "zh-hans": "点名批评或全县通报批评的单位，须在通报期内有逾期未办结、逾期办结、被采取督办措施或退回复办之一；"
                       "批评语句按该单位本期实际情况生成。各单位排名的按期办结率以已到期事项（已办结或已超过办结时限）为分母，"
                       "尚未到期的事项不计入。",
            "en": "A unit criticised (by name or county-wide) must have an adverse fact in the period: a matter overdue, "
                  "closed late, a ladder step or a redo; the sentence states them. The ranking's on-time rate is over the "
                  "matters that are due (closed, or past their deadline); matters not yet due are left out."}},
        {"code": "redo_once", "clause": "六（五）", "text": {
            "zh-hans": "“复办次数超过两次以上的，扣0.1分”未写“每次”：本包理解为每个事项在第三次复办时扣0.1分一次。",
            "en": "The redo row has no 'per time': 0.1 once per matter, when its redo count first exceeds two "
                  "(the third redo)."}},
        {"code": "bearing_unit", "clause": "六（二）–(七)", "text": {
            "zh-hans": "扣分由督办所针对的单位承担；有牵头单位和协办单位的事项，由督办文书所列单位承担。",
            "en": "Deductions fall on the unit the step was addressed to (for matters with co-operating units, "
                  "the unit named on the step)."}},
        {"code": "co_unit_parts", "clause": "三、四（一）", "text": {
            "zh-hans": "牵头单位对事项办理结果负责，协办单位对本单位承办部分负责：办结时限届满仍未办结的，对牵头单位依次督办；"
                       "协办单位未报送本单位承办部分的，对该协办单位单独依次督办，已报送的不予督办。退回复办时注明承办部分不合格的单位"
                       "（未注明的为牵头单位），复办按第六（五）项计入所注明的单位，其承办部分须重新报送。",
            "en": "The lead unit answers for the matter's result, each co-operating unit for its own part: past the deadline the "
                  "lead unit is escalated, and each co-unit that has not reported its part is escalated on a ladder of its own "
                  "(one that has is not). A send-back names the units whose part fell short (the lead unit if none is named); "
                  "the redo counts against them under 六（五） and their part is due again."}},
        {"code": "assessment_year", "clause": "六", "text": {
            "zh-hans": "扣分计入督办发生日期所在年度，而非事项立项年度。",
            "en": "A deduction counts in the assessment year of the step's date, not of the matter's creation."}},
        {"code": "floor_on_sum", "clause": "六（二）–(七)“直至扣完3分为止”", "text": {
            "zh-hans": "得分下限作用于合计：扣至0分后再发生的扣分照常记录，但不再改变得分。",
            "en": "The floor applies to the sum: deductions after reaching 0 are kept as facts but change nothing."}},
        {"code": "ledger_facts", "clause": "一（三）", "text": {
            "zh-hans": "扣分是台账中的事实，错误的扣分以带理由的冲正记录更正，不删除、不修改。",
            "en": "Deductions are ledger facts: a wrong one is corrected by a reversing entry with a reason, "
                  "never edited or deleted."}},
        {"code": "leader_assigned", "clause": "六（二）", "text": {
            "zh-hans": "系统中的督办事项均经领导审批立项，均视为“领导交办的督办事项”。",
            "en": "Every matter in the system was approved by a leader, so all count as leader-assigned for 六（二）."}},
        {"code": "ladder_triggers", "clause": "四（一）", "text": {
            "zh-hans": "督办方式只对“在规定期限内未能完成的”事项启动（办结时限已过仍未办结）。"
                       "定期反馈逾期、时效性强事项到期检查，"
                       "只向责任单位催报并亮黄灯、红灯，不启动扣分的督办措施。",
            "en": "The ladder starts only for matters past their deadline and not done (四（一）). A late periodic feedback or "
                  "a due check of a time-sensitive matter gets a reminder (催报) and a warning light, "
                  "never a step that deducts."}},
        {"code": "ladder_timing", "clause": "四、五（一）", "text": {
            "zh-hans": "第一级督办（电话、口头督办）在办结时限后的第一个工作日到期；"
                       "此后各级在上一级督办后按本包间隔的工作日数到期；"
                       "督办措施在到期当日由自动巡查开启，任何督办措施都不在非工作日（含调休）到期。领导批准延期后，"
                       "未办理的督办措施失效，督办自新的办结时限重新起算，已办理的督办措施及其扣分保留。",
            "en": "The first tier falls due on the first working day after the deadline; each later tier this pack's gap in "
                  "working days after the previous one; a step is opened by the sweep of its due day, and nothing falls due "
                  "on a non-working day (调休 included). After an approved extension, open steps lapse and the ladder "
                  "restarts from the new deadline; recorded steps and their deductions stay."}},
        {"code": "promised_date", "clause": "四（一）“明确完成时限”", "text": {
            "zh-hans": "电话督办时责任单位承诺的完成日期，即为该事项下一次检查的日期：承诺日期之后的第一个工作日仍未办结的，"
                       "才启动下一级督办；承诺日期晚于本包间隔所允许的，按间隔执行。",
            "en": "The completion date promised on the phone is when the matter is next checked: the next tier falls due on "
                  "the first working day after it, unless that is later than this pack's gap allows."}},
        {"code": "criticism_kinds", "clause": "五（三）、六（七）", "text": {
            "zh-hans": "通报可以点名批评（五（三）“批评后进”，不扣分），也可以全县通报批评（六（七），每次扣0.5分）；"
                       "两者在通报中分别列出。",
            "en": "A circular may criticise a unit by name (五（三）, no deduction) or county-wide (六（七）, 0.5 each); "
                  "the circular lists them apart."}},
        {"code": "reversal_kinds", "clause": "一（三）、六", "text": {
            "zh-hans": "冲正分两类：“系误记”的，该督办措施视为未采取（保留记录并标明已撤销），督办阶梯须重新经过该级；"
                       "“情况说明属实，免予扣分”的，只退回分数，督办措施仍然有效。",
            "en": "Two kinds of reversal: 'recorded in error' withdraws the step (kept, marked withdrawn; the ladder needs "
                  "that tier again); 'explanation accepted' gives the points back and the step stands."}},
        {"code": "ladder_in_order", "clause": "五（一）、四（五）", "text": {
            "zh-hans": "督办方式依次升级；专项会议督办可跳过（四（五）：现场督办或专项会议督办后均可责任追究）。"
                       "各级之间的间隔由本规则包规定。",
            "en": "Tiers are climbed in order; the special meeting may be skipped (四（五）). "
                  "The gaps between tiers are this pack's choices."}},
    ],
}
