"""Who is asking: the logged-in user, the per-request database session, and role guards."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, request
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from callback_service.app import App
from callback_service.db.models import User
from callback_service.security.auth import PAGE_ROLES, Principal, can_view_report

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class WebUser:
    """A snapshot of the user row for one request (Flask-Login's user object)."""

    id: int
    username: str
    role: str
    station_id: int | None
    must_change_password: bool
    totp_enabled: bool
    password_tag: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        # The password tag makes a password change end every other session of this user.
        return f"{self.id}.{self.password_tag}"

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, self.station_id)

    def can(self, capability: str) -> bool:
        return self.principal.can(capability)

    @classmethod
    def from_row(cls, user: User) -> WebUser:
        return cls(id=user.id, username=user.username, role=user.role, station_id=user.station_id,
                   must_change_password=user.must_change_password, totp_enabled=bool(user.totp_secret),
                   password_tag=password_tag(user.password_hash))


def password_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:12]


def load_user(user_id: str) -> WebUser | None:
    ident, _, tag = user_id.partition(".")
    if not ident.isdigit():
        return None
    user = db().get(User, int(ident))
    if user is None or not user.active or user.role not in PAGE_ROLES:
        return None
    if password_tag(user.password_hash) != tag:
        return None
    return WebUser.from_row(user)


def service() -> App:
    app: App = current_app.extensions["callback_service"]
    return app


def db() -> Session:
    """One session per request, closed (and rolled back if not committed) at teardown."""
    if "db" not in g:
        g.db = service().sessions()
    session: Session = g.db
    return session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def me() -> WebUser:
    user: WebUser = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def principal() -> Principal:
    return me().principal


def client_ip() -> str:
    return (request.remote_addr or "")[:64]


def require(capability: str) -> Callable[[F], F]:
    """Log-in required, then 403 unless the user's role has the capability."""
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not me().can(capability):
                abort(403)
            return view(*args, **kwargs)
        return login_required(wrapped)  # type: ignore[return-value]
    return decorator


def ensure_report_visible(station_id: int | None, tags: list[str] | None) -> None:
    """404 rather than 403, so a station user cannot probe which ids exist elsewhere."""
    if not can_view_report(principal(), station_id, tags or []):
        abort(404)
