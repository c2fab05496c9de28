"""A request example for every operation that takes a body, added to the OpenAPI schema by a
drf-spectacular postprocessing hook (``tests/test_api_schema.py`` checks none is missing)."""

from __future__ import annotations

EXAMPLES: dict[str, dict] = {
    "units_create": {"code": "T06", "name": "六号镇", "kind": "township", "contact_person": "刘洋",
                     "contact_phone": "0551-1234567"},
    "users_role_create": {"role": "unit_staff", "unit": "T06"},
    "users_create": {"username": "t06", "role": "unit_staff", "unit": "T06", "password": "Duban@2026-t06",
                     "full_name": "刘洋", "phone": "13800000006", "email": "t06@example.gov.cn"},
    "rounds_create": {"title": "2027年度需要督办事项征集", "due_date": "2027-01-15", "leaders": ["leader"],
                      "note": "请各位领导于1月15日前提出需要督办的事项"},
    "rounds_close_create": {},
    "matters_create": {"title": "推进老旧小区改造", "content": "完成城关片区老旧小区改造，年底前交付。",
                       "category": "work_report", "proposed_units": ["D01"], "requested_deadline": "2026-12-31",
                       "source_reference": "县政府工作报告", "time_sensitive": False},
    "matters_register_create": {"expected_version": 1},
    "matters_approve_create": {"comment": "同意立项，请督查室抓紧交办", "expected_version": 2},
    "matters_reject_create": {"comment": "属日常工作，不列入督办", "expected_version": 2},
    "matters_assign_create": {"lead_unit": "D01", "co_units": ["T01"], "requirements": "按期办结，书面报告办理结果",
                              "deadline_working_days": 10, "feedback_every_working_days": 5,
                              "expected_version": 3},
    "matters_sign_create": {"expected_version": 4},
    "matters_feedback_create": {"kind": "written", "text": "已完成设计招标，12月开工。"},
    "matters_report_create": {"text": "改造工程已竣工验收，居民已入住。"},
    "matters_accept_create": {"reasons": "办理到位，同意办结"},
    "matters_send_back_create": {"reasons": "一号镇承办部分缺少竣工验收材料，请补充后重新报送", "units": ["T01"]},
    "matters_report_part_create": {"text": "一号镇承办的征地拆迁部分已完成，附验收材料。"},
    "matters_request_extension_create": {"new_deadline": "2027-01-31", "reason": "雨雪天气影响施工"},
    "matters_request_change_create": {"kind": "adjustment", "reason": "上级政策调整",
                                      "changes": {"requirements": "分两期实施，一期年底前完成"}},
    "matters_attach_create": {"file": "(binary: a PDF, image or Office document)"},
    "change_requests_decide_create": {"approve": True, "note": "同意延期至1月31日"},
    "steps_create": {"matter": 12, "tier": "phone", "unit": "D01", "on": "2026-11-20",
                     "evidence": {"contact": "王科长", "contacted_at": "2026-11-20T10:00",
                                  "promised_date": "2026-12-01"}},
    "steps_record_create": {"on": "2026-11-20", "evidence": {"contact": "王科长", "contacted_at": "2026-11-20T10:00",
                                                             "promised_date": "2026-12-01"}},
    "steps_skip_create": {"reason": "主要负责人已当面说明情况，经领导同意跳过"},
    "steps_reply_create": {"text": "关于延误原因及整改措施的专题答复"},
    "steps_withdraw_create": {"reason": "系误记：该次书面督办发给了协办单位"},
    "imports_preview_create": {"kind": "matters", "file": "(binary: an .xlsx workbook)", "proposed_by": "leader"},
    "imports_create": {"kind": "matters", "file": "(binary: an .xlsx workbook)", "proposed_by": "leader",
                       "expected_sha256": "9f2c…（the preview's sha256）"},
    "ledger_reverse_create": {"reason": "误记：该次电话督办系对协办单位"},
    "circulars_create": {"title": "2026年第四季度督查督办情况通报", "period_start": "2026-10-01",
                         "period_end": "2026-12-31"},
    "circulars_lists_create": {"praised": ["T01"], "criticised": ["D02"], "body": "现将第四季度督查督办情况通报如下"},
    "circulars_publish_create": {},
    "weekly_reports_edit_create": {"summary": "本周新交办事项5件，办结3件。",
                                   "attention": "城关片区改造进度滞后，建议召开专题会议。",
                                   "named_units": ["D01", "T01"], "expected_version": 2},
    "weekly_reports_submit_create": {"expected_version": 3},
    "weekly_reports_return_create": {"reason": "请补充逾期事项的督办情况。", "expected_version": 4},
    "weekly_reports_issue_create": {"expected_version": 4},
    "notifications_mark_read_create": {"ids": [41, 42]},
    "notification_preferences_create": {"event": "light.yellow", "channel": "email", "enabled": False},
    "inspection_items_record_create": {"result": "behind", "findings": "现场进度滞后约两周", "on": "2026-12-20"},
}


def add_examples(result, generator, request, public):
    """Postprocessing hook: put each operation's example on its request body."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            example = EXAMPLES.get(operation.get("operationId"))
            body = operation.get("requestBody")
            if example is None or not body:
                continue
            for media in body.get("content", {}).values():
                media.setdefault("examples", {})["example"] = {"value": example, "summary": "一个例子"}
    return result


def tidy_parameters(result, generator, request, public):
    """Postprocessing hook, for generated clients: ids in paths are integers (the routes take
    ASCII digits only; anything else is 404), and a query parameter's schema carries no
    ``title`` (django-filter copies the model field's Chinese verbose name there, which client
    generators turn into class names)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "id":
                    parameter["schema"] = {"type": "integer"}
                elif parameter.get("in") == "query":
                    schema = parameter.get("schema", {})
                    schema.pop("title", None)
                    if isinstance(schema.get("items"), dict):
                        schema["items"].pop("title", None)
    return result
