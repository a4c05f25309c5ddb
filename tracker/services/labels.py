"""Words for the codes the system stores: flag kinds, audit actions, roles, audited objects and results.

Pages never show a code (`implied_one`, `report_accepted`, `admin`, `refused:403`): they show these words, in
Chinese, and the English catalogue translates them like any other message id. A code without a word here still
shows (as itself) rather than failing the page, and the tests in tests/unit/tracker/test_labels.py fail on
it: every flag kind the readers emit and every audit action the code records must have its word.
"""

from __future__ import annotations

from tracker.models.accounts import ROLE_LABELS

# --- flag kinds ------------------------------------------------------------------------------------------------

# The guideline parser's doubts about the structure (imports.guideline_model.FlagKind).
STRUCTURE_FLAGS = {
    "lost_heading": "标题缺失",
    "no_indicator_block": "缺少考核指标",
    "unexpected_field": "意外的字段",
    "empty_field": "字段为空",
    "unknown_numbering": "未知的编号形式",
    "numbering_gap": "编号跳号",
    "numbering_duplicate": "编号重复或倒退",
    "untitled_direction": "方向无标题",
    "unnumbered_heading": "无编号的标题",
    "unbalanced_brackets": "括号不配对",
    "source_problem": "源文件问题",
}
# The clause reader's doubts about a reading (indicators.reading.targets.FLAG_KINDS), and the twin check of an
# import (tracker.services.twins).
READING_FLAGS = {
    "typo": "原文笔误",
    "absurd_value": "数值异常",
    "garbage_number": "数字无法识别",
    "unknown_unit": "单位无法识别",
    "comparator_conflict": "比较词矛盾",
    "ignored_number": "非指标数字",
    "nominal": "标称值（方向待确认）",
    "implied_one": "未写数量，按1计",
    "qualitative_guess": "类别为推测",
    "metric_name": "未读出指标名称",
    "duplicate": "重复条款",
    "split": "且/或混合已拆分",
    "mixed_connectives": "且/或混用",
    "non_binding": "非约束性表述",
    "no_target": "未读出指标",
    "empty": "空条款",
    "internal_error": "解读出错",
    "twin_conflict": "与同名方向数字不一致",
}
# The rule readers' doubts (indicators.rules: selection, funding and period rules of a direction).
RULE_FLAGS = {
    "bad_ratio": "配套比例有误",
    "by_category": "期限按项目类型区分",
    "case_by_case": "可一事一议",
    "clause_level": "条款内的备选",
    "conflicting_amounts": "金额不一致",
    "conflicting_formula": "多个计算公式",
    "duplicate_category": "类别重复",
    "eligibility_refs": "引用申报要求",
    "external_standard": "标准见其他文件",
    "floor_above_cap": "下限高于上限",
    "keyed_by_content_item": "指标按内容逐项对应",
    "milestones_missing": "未定义里程碑",
    "mixed_rules": "规则写法不一",
    "mode_inferred": "资助方式为推定",
    "mode_missing": "未写资助方式",
    "multiple_rules": "多条规则",
    "not_text": "不是文本",
    "parse_error": "规则无法解析",
    "range_reversed": "范围颠倒",
    "trigger_missing": "未写拨付时点",
    "unbindable": "规则与指标不符",
    "unit_without_yuan": "金额缺“元”字",
    "unknown_base": "计算基数未知",
    "unknown_mode": "资助方式未知",
    "unknown_ref": "引用了不存在的指标",
    "unmatched": "未能识别",
    "unparsed": "未能识别",
    "unreadable_amount": "金额无法识别",
    "unusual_unit": "金额单位异常",
}
FLAG_LABELS = {**RULE_FLAGS, **STRUCTURE_FLAGS, **READING_FLAGS}

# --- audit log -------------------------------------------------------------------------------------------------

# What the services record (tracker.services.*, imports.*, tracker.demo).
SERVICE_ACTIONS = {
    "login": "登录",
    "login_failed": "登录失败",
    "password_changed": "修改密码",
    "password_reset": "重置密码",
    "language_changed": "切换界面语言",
    "activation_issued": "发放激活链接",
    "api_token_created": "创建 API 令牌",
    "api_token_revoked": "撤销 API 令牌",
    "user_created": "新建用户",
    "user_updated": "修改用户",
    "user_enabled": "启用用户",
    "user_disabled": "停用用户",
    "programmes_assigned": "分配项目计划",
    "programme_created": "新建项目计划",
    "organisation_created": "新建单位",
    "organisation_updated": "修改单位",
    "organisation_enabled": "启用单位",
    "organisation_disabled": "停用单位",
    "guideline_imported": "导入指南",
    "corrections_carried_over": "沿用上一版的更正",
    "clause_corrected": "更正条款目标",
    "selection_rule_corrected": "更正指标选择规则",
    "funding_rule_corrected": "更正资助规则",
    "period_rule_corrected": "更正实施期限规则",
    "marked_reviewed": "标记为已核对",
    "review_reopened": "重新标记为待核对",
    "award_list_imported": "导入立项清单",
    "project_created": "新建项目",
    "project_contacts_changed": "指定项目联系人",
    "task_book_confirmed": "确认任务书",
    "project_extended": "项目延期",
    "project_terminated": "终止项目",
    "report_save": "保存报告草稿",
    "report_submit": "提交报告",
    "report_accepted": "报告审核通过",
    "report_returned": "退回报告",
    "report_revise": "修改已提交的报告",
    "acceptance_applied": "申请验收",
    "acceptance_meeting_formed": "组建验收会",
    "expert_check_submitted": "提交专家核查意见",
    "acceptance_verdict": "登记验收结论",
    "acceptance_verdict_superseded": "更正验收结论",
    "milestone_checked": "核查里程碑",
    "disbursement_created": "生成后补助拨付",
    "disbursement_updated": "补充拨付信息",
    "disbursement_approved": "审批拨付",
    "disbursement_returned": "退回拨付",
    "disbursement_paid": "登记支付",
    "disbursement_voided": "作废拨付",
    "disbursement_reversal_due": "待冲销支付",
    "disbursement_reversed": "冲销支付",
    "calendar_seeded": "导入工作日历",
    "calendar_year_entered": "录入年度工作日历",
    "settings_changed": "修改业务设置",
    "mail_resent": "重发邮件",
    "evidence_files_removed": "清理无用的佐证材料文件",
    "unknown": "未知操作",
}
# A request that changed nothing the services audit, or was refused, is recorded under its route's name
# (tracker.web.context): the route names of every form and API write.
ROUTE_ACTIONS = {
    "login_submit": "登录",
    "logout": "退出登录",
    "activate_submit": "激活账号",
    "account_language": "切换界面语言",
    "account_password": "修改密码",
    "account_token_create": "创建 API 令牌",
    "account_token_revoke": "撤销 API 令牌",
    "admin_user_create": "新建用户",
    "admin_user_update": "修改用户",
    "admin_user_active": "启用或停用用户",
    "admin_user_activation": "发放激活链接",
    "admin_user_programmes": "分配项目计划",
    "admin_organisation_create": "新建单位",
    "admin_organisation_update": "修改单位",
    "admin_organisation_active": "启用或停用单位",
    "admin_programme_create": "新建项目计划",
    "admin_calendar_enter": "录入年度工作日历",
    "admin_calendar_seed": "导入工作日历",
    "admin_settings_save": "修改业务设置",
    "admin_mail_resend": "重发邮件",
    "guideline_upload": "上传指南（预览）",
    "guideline_upload_confirm": "确认导入指南",
    "review_clause_correct": "更正条款目标",
    "review_clause_mark": "标记条款核对状态",
    "review_rule_correct": "更正方向规则",
    "project_import": "上传立项清单（预览）",
    "project_import_confirm": "确认导入立项清单",
    "project_task_book_confirm": "确认任务书",
    "project_contacts": "指定项目联系人",
    "project_extend": "项目延期",
    "project_terminate": "终止项目",
    "report_save": "保存报告草稿",
    "report_excel_upload": "上传报告 Excel 文件",
    "report_revise": "修改已提交的报告",
    "report_review": "审核报告",
    "api_report_save": "保存报告草稿（API）",
    "api_report_submit": "提交报告（API）",
    "acceptance_apply": "申请验收",
    "acceptance_meeting_create": "组建验收会",
    "acceptance_check": "提交专家核查意见",
    "acceptance_verdict": "登记验收结论",
    "milestone_check": "核查里程碑",
    "disbursement_update": "补充拨付信息",
    "disbursement_approve": "审批拨付",
    "disbursement_return": "退回拨付",
    "disbursement_pay": "登记支付",
    "disbursement_reverse": "冲销支付",
}
ACTION_LABELS = {**ROUTE_ACTIONS, **SERVICE_ACTIONS}

ROLE_WORDS = {**{role.value: label for role, label in ROLE_LABELS.items()},
              "system": "系统", "anonymous": "未登录访客"}

# The system's own actors (tracker.services.audit.Actor.system(name)): what did it, in words.
SYSTEM_ACTORS = {
    "system": "系统",
    "demo": "系统（演示数据）",
    "install": "系统（安装）",
    "cli": "系统（命令行）",
    "housekeeping": "系统（定时清理）",
    "disbursements": "系统（拨付计算）",
}

# The scheduled jobs (reminders.jobs.JOBS): their names are commands (`tracker jobs run send-mail`), pages say what
# they do.
JOB_LABELS = {
    "reminders": "催报与期限提醒",
    "send-mail": "发送邮件",
    "assess": "绩效监测评估",
    "disbursements": "补建后补助拨付",
    "housekeeping": "定时清理",
}

OBJECT_LABELS = {
    "user": "用户",
    "organisation": "单位",
    "programme": "项目计划",
    "guideline_document": "指南",
    "guideline_node": "指南方向",
    "guideline_clause": "指南条款",
    "project": "项目",
    "report": "进展报告",
    "acceptance_meeting": "验收会",
    "acceptance_case": "验收申请",
    "disbursement": "后补助拨付",
    "outbox": "邮件",
    "api_token": "API 令牌",
    "settings": "业务设置",
    "work_calendar": "工作日历",
    "work_calendar_year": "年度工作日历",
    "evidence_file": "佐证材料文件",
}

RESULT_LABELS = {
    "ok": "成功",
    "locked": "失败：账号暂时锁定",
    "invalid": "失败：用户名或密码错误",
}
# `refused:<HTTP status>`: why a request was refused, in words.
REFUSALS = {
    "400": "被拒绝：输入有误",
    "401": "被拒绝：未登录",
    "403": "被拒绝：无权操作",
    "404": "被拒绝：对象不存在或无权查看",
    "405": "被拒绝：不支持的请求",
    "409": "被拒绝：数据已被他人修改",
    "413": "被拒绝：文件过大",
    "415": "被拒绝：文件类型不支持",
    "422": "被拒绝：输入有误",
    "429": "被拒绝：请求过于频繁",
    "500": "失败：系统出错",
    "503": "失败：系统繁忙",
}
REFUSED = "被拒绝"


def flag(kind: str | None) -> str:
    return FLAG_LABELS.get(kind or "", kind or "")


def action(code: str | None) -> str:
    return ACTION_LABELS.get(code or "", code or "")


def role(code: str | None) -> str:
    return ROLE_WORDS.get(code or "", code or "")


def job(name: str | None) -> str:
    return JOB_LABELS.get(name or "", name or "")


def object_type(code: str | None) -> str:
    return OBJECT_LABELS.get(code or "", code or "")


def result(code: str | None) -> str:
    code = code or ""
    if code.startswith("refused:"):
        return REFUSALS.get(code.removeprefix("refused:"), REFUSED)
    return RESULT_LABELS.get(code, code)


def actor(username: str | None, user_id: int | None, role_code: str | None) -> str:
    """Who did it: a user's name, or the system (`demo` → 系统（演示数据）); an anonymous visitor by the name typed."""
    name = username or ""
    if user_id is None and name in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[name]
    if user_id is None and role_code == "system":
        return SYSTEM_ACTORS["system"]
    return name
