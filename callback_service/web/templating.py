"""Jinja filters and globals: local times, rates, SLA countdowns, display names, masked numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, request, url_for
from flask_babel import gettext as _

from callback_service.security.masking import mask_id_number, mask_phone
from callback_service.web.labels import display


def _localtime(app: Flask) -> Any:
    tz = app.extensions["callback_service"].settings.tz

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        return value.astimezone(tz).strftime(fmt)
    return localtime


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return _("%(d)d天%(h)d小时", d=days, h=hours)
    if hours:
        return _("%(h)d小时%(m)d分", h=hours, m=mins)
    return _("%(m)d分钟", m=mins)


def sla(due: datetime | None, status: str, now: datetime | None = None) -> dict[str, Any]:
    """Countdown for an active ticket; resolved and verified tickets have no running clock."""
    if due is None or status not in ("open", "assigned", "rectifying", "reopened"):
        return {"state": "stopped", "text": "—"}
    left = (due - (now or datetime.now(UTC))).total_seconds()
    if left < 0:
        return {"state": "overdue", "text": _("超时 %(t)s", t=_duration(left))}
    return {"state": "soon" if left < 4 * 3600 else "ok", "text": _("剩余 %(t)s", t=_duration(left))}


def url_with(**changes: Any) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    args: dict[str, Any] = dict(request.args.items())
    args.update(changes)
    values: dict[str, Any] = {**(request.view_args or {}), **{k: v for k, v in args.items() if v not in (None, "")}}
    return url_for(request.endpoint or "dashboard.index", **values)


def install(app: Flask) -> None:
    app.jinja_env.filters.update(localtime=_localtime(app), pct=pct, mask_phone=mask_phone,
                                 mask_id=mask_id_number, code=lambda v, table: display(table, v))
    app.jinja_env.globals.update(sla=sla, url_with=url_with, display=display)
