"""Display names for stored codes. Source strings are Simplified Chinese; the English catalog translates.

Codes not listed show as themselves, so a new code from another stage never breaks a page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

LABELS: dict[str, Any] = {
    "satisfied": _l("满意"), "basically_satisfied": _l("基本满意"), "unsatisfied": _l("不满意"),
    "unknown": _l("未表态"),
}
PROBLEMS: dict[str, Any] = {
    "no_receipt": _l("未出具回执"), "not_accepted": _l("应受不受"), "not_filed": _l("应立不立"),
    "attitude": _l("态度"), "slow": _l("拖延"), "no_feedback": _l("无反馈"), "safety": _l("人身安全"),
}
TICKET_STATUS: dict[str, Any] = {
    "open": _l("待分派"), "assigned": _l("已分派"), "rectifying": _l("整改中"), "resolved": _l("已整改待回访"),
    "verified": _l("已销号"), "reopened": _l("已重开"),
}
TRANSITION_VERBS: dict[str, Any] = {
    "assigned": _l("分派"), "rectifying": _l("开始整改"), "resolved": _l("整改完成"), "verified": _l("核实销号"),
    "reopened": _l("重开"),
}
SEVERITY: dict[str, Any] = {"urgent": _l("紧急"), "high": _l("高"), "normal": _l("一般")}
TICKET_REASONS: dict[str, Any] = {
    "unsatisfied": _l("回访不满意"), "safety": _l("人身安全"), "unreachable": _l("重点回访未接通"),
    "manual_contact": _l("需人工联系"), "review": _l("审听要求跟进"),
}
ROLES: dict[str, Any] = {
    "admin": _l("系统管理员"), "supervisor": _l("督察"), "legal": _l("法制"), "station": _l("派出所"),
    "api": _l("接口账户"),
}
CHANNELS: dict[str, Any] = {"walk_in": _l("上门"), "kiosk": _l("自助终端"), "phone": _l("电话"), "transfer": _l("移交")}
TAGS: dict[str, Any] = {
    "domestic_violence": _l("家暴"), "minor": _l("涉未成年人"), "porn_gambling_drugs": _l("黄赌毒"),
    "mass_involvement": _l("涉众"),
}
PLAN_STATES: dict[str, Any] = {"new": _l("待计划"), "planned": _l("回访中"), "closed": _l("已结束")}
TASK_STATUS: dict[str, Any] = {
    "pending": _l("待拨打"), "claimed": _l("已领取"), "dialing": _l("拨号中"), "done": _l("已完成"),
    "unreachable": _l("未接通"), "manual": _l("转人工"), "skipped": _l("不回访"), "expired": _l("已过期"),
}
DISPOSITIONS: dict[str, Any] = {
    "answered_complete": _l("接通并完成"), "answered_partial": _l("接通未完成"), "no_answer": _l("无人接听"),
    "busy": _l("占线"), "congestion": _l("线路拥塞"), "failed": _l("呼叫失败"), "machine": _l("语音信箱"),
    "declined_unsafe": _l("当前不便通话"), "invalid_number": _l("空号"),
    "created": _l("已创建"), "dialing": _l("拨号中"), "ended": _l("已结束"),
}
REASONS: dict[str, Any] = {
    "not_due": _l("未到回访时间"), "window_expired": _l("超出回访期限"), "do_not_call": _l("群众拒绝回访"),
    "invalid_phone": _l("电话号码无效"), "unsafe_to_call": _l("不宜电话联系"), "domestic_violence": _l("家暴案件"),
    "minor": _l("未成年人"), "guardian_phone": _l("拨打监护人电话"), "no_reachable_phone": _l("无可拨打号码"),
    "repeat_reporter": _l("重复报警人"), "key_category": _l("重点类别"), "transfer_not_eligible": _l("转办不回访"),
    "channel_not_eligible": _l("报案方式不在回访范围"), "outside_calling_hours": _l("不在拨打时段"),
    "holiday": _l("节假日"), "phone_daily_cap": _l("号码当日拨打已达上限"), "max_attempts": _l("已达最大拨打次数"),
    "retry": _l("重拨"), "due": _l("到期回访"), "reached": _l("已接通"), "phone_in_call": _l("号码正在通话"),
    "weekend": _l("周末"), "porn_gambling_drugs": _l("黄赌毒"), "mass_involvement": _l("涉众"),
    "verification": _l("整改核实回访"),
}
DECISIONS: dict[str, Any] = {"call": _l("安排回访"), "skip": _l("不回访"), "manual": _l("转人工"), "defer": _l("暂缓")}
FLAGS: dict[str, Any] = {
    "urgent": _l("人身安全"), "unsatisfied": _l("不满意"), "problem": _l("反映问题"), "conflict": _l("按键与语音矛盾"),
    "low_confidence": _l("识别置信度低"), "qc_sample": _l("质检抽查"),
}
TABLES: dict[str, dict[str, Any]] = {
    "label": LABELS, "problem": PROBLEMS, "ticket_status": TICKET_STATUS, "verb": TRANSITION_VERBS,
    "severity": SEVERITY, "role": ROLES, "channel": CHANNELS, "tag": TAGS, "plan_state": PLAN_STATES,
    "task_status": TASK_STATUS, "disposition": DISPOSITIONS, "reason": REASONS, "decision": DECISIONS,
    "flag": FLAGS,
}


def display(table: str, code: Any) -> str:
    if code is None or code == "":
        return "—"
    text = str(code)
    if table == "ticket_reason":
        if text.startswith("problem:"):
            return str(PROBLEMS.get(text[8:], text[8:]))
        return str(TICKET_REASONS.get(text, text))
    return str(TABLES.get(table, {}).get(text, text))
