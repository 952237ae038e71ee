"""Accounts: password policy and hashing, log-in with lockout, optional TOTP, API tokens, role rules.

Every log-in, failed log-in, lockout and account change writes an audit entry in the caller's
transaction. Messages shown to people never say whether a user name exists.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from callback_service.contracts import ROLES
from callback_service.db.models import Station, User
from callback_service.security import audit

log = logging.getLogger(__name__)

PAGE_ROLES = ("admin", "supervisor", "legal", "station")   # "api" may only post reports
OVERSIGHT_ROLES = frozenset({"admin", "supervisor", "legal"})
TOTP_ROLES = frozenset({"admin", "legal"})
SENSITIVE_TAGS = frozenset({"domestic_violence", "minor"})
MIN_PASSWORD_LENGTH = 10

# What each role may do beyond viewing its own scope; checked by the web layer and the tests.
CAPABILITIES: dict[str, frozenset[str]] = {
    "view": frozenset(PAGE_ROLES),
    "correct_label": OVERSIGHT_ROLES,
    "open_ticket": OVERSIGHT_ROLES,
    "import": frozenset({"admin", "supervisor"}),
    "config_view": OVERSIGHT_ROLES,
    "audit_view": frozenset({"admin", "legal"}),
    "manage_users": frozenset({"admin"}),
    "export": OVERSIGHT_ROLES,
}

# Verifying against this when the user is unknown keeps the timing the same as a wrong password.
_DUMMY_HASH = generate_password_hash("dummy-password-for-timing")


class AccountError(ValueError):
    """An account change that breaks a rule (bad role, weak password, unknown station...)."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: enough to decide access without touching the database."""

    username: str
    role: str
    station_id: int | None = None

    def can(self, capability: str) -> bool:
        return self.role in CAPABILITIES.get(capability, frozenset())


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginOutcome:
    ok: bool
    user_id: int | None = None
    needs_totp: bool = False
    must_change_password: bool = False
    locked: bool = False


# --- access rules --------------------------------------------------------------------------------

def can_view_station(p: Principal, station_id: int | None) -> bool:
    if p.role in OVERSIGHT_ROLES:
        return True
    return p.role == "station" and p.station_id is not None and p.station_id == station_id


def can_view_report(p: Principal, station_id: int | None, tags: Iterable[str]) -> bool:
    """Station scoping, and domestic-violence/minor reports only for oversight and the owning station."""
    if not can_view_station(p, station_id):
        return False
    if SENSITIVE_TAGS & set(tags or ()):
        return p.role in OVERSIGHT_ROLES or (p.role == "station" and p.station_id == station_id)
    return True


def can_reveal_pii(p: Principal, station_id: int | None, tags: Iterable[str]) -> bool:
    return can_view_report(p, station_id, tags)


def station_scope(p: Principal) -> int | None:
    """The only station a station user may see; None means every station. -1 means none at all."""
    if p.role == "station":
        return p.station_id if p.station_id is not None else -1
    return None


# --- passwords -----------------------------------------------------------------------------------

def password_problems(password: str, username: str = "") -> list[str]:
    """Policy: at least 10 characters and three of lower, upper, digit, symbol; not the user name."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    return problems


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(stored_hash: str, password: str) -> bool:
    return check_password_hash(stored_hash, password)


# --- log-in --------------------------------------------------------------------------------------

def authenticate(session: Session, username: str, password: str, now: datetime, policy: LoginPolicy,
                 ip: str = "") -> LoginOutcome:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        audit.record(session, username[:64], "login.failed", "user", "", {"reason": "unknown_user"}, ip)
        return LoginOutcome(ok=False)
    if not user.active or user.role not in PAGE_ROLES:
        verify_password(_DUMMY_HASH, password)
        reason = "disabled" if not user.active else "role_cannot_log_in"
        audit.record(session, user.username, "login.failed", "user", user.id, {"reason": reason}, ip)
        return LoginOutcome(ok=False)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, user.username, "login.failed", "user", user.id, {"reason": "locked"}, ip)
        return LoginOutcome(ok=False, locked=True)
    if not verify_password(user.password_hash, password):
        return _failed(session, user, now, policy, ip, "bad_password")
    if user.totp_secret and user.role in TOTP_ROLES:
        audit.record(session, user.username, "login.password_ok", "user", user.id, {"next": "totp"}, ip)
        return LoginOutcome(ok=False, user_id=user.id, needs_totp=True)
    return _succeeded(session, user, now, ip)


def verify_totp_step(session: Session, user_id: int, code: str, now: datetime, policy: LoginPolicy,
                     ip: str = "") -> LoginOutcome:
    user = session.get(User, user_id)
    if user is None or not user.active or not user.totp_secret:
        return LoginOutcome(ok=False)
    if user.locked_until is not None and user.locked_until > now:
        return LoginOutcome(ok=False, locked=True)
    if not pyotp.TOTP(user.totp_secret).verify(code.strip(), for_time=now, valid_window=1):
        return _failed(session, user, now, policy, ip, "bad_totp")
    return _succeeded(session, user, now, ip)


def _failed(session: Session, user: User, now: datetime, policy: LoginPolicy, ip: str, reason: str
            ) -> LoginOutcome:
    user.failed_logins += 1
    if user.failed_logins >= policy.max_failures:
        user.locked_until = now + policy.lockout
        user.failed_logins = 0
        audit.record(session, user.username, "login.lockout", "user", user.id,
                     {"reason": reason, "until": user.locked_until.isoformat()}, ip)
        log.warning("account %s locked after repeated failed log-ins", user.username)
        return LoginOutcome(ok=False, locked=True)
    audit.record(session, user.username, "login.failed", "user", user.id,
                 {"reason": reason, "failures": user.failed_logins}, ip)
    return LoginOutcome(ok=False)


def _succeeded(session: Session, user: User, now: datetime, ip: str) -> LoginOutcome:
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record(session, user.username, "login", "user", user.id, {"role": user.role}, ip)
    return LoginOutcome(ok=True, user_id=user.id, must_change_password=user.must_change_password)


# --- account management ---------------------------------------------------------------------------

def _check_role(session: Session, role: str, station_id: int | None) -> None:
    if role not in ROLES:
        raise AccountError(f"未知角色 {role!r}（可选：{', '.join(ROLES)}）")
    if role == "station" and (station_id is None or session.get(Station, station_id) is None):
        raise AccountError("派出所账户必须指定所属单位")


def resolve_station(session: Session, ref: str | None) -> int | None:
    """A station by id, code or name (CLI and forms accept any of the three)."""
    if not ref:
        return None
    st = session.scalar(select(Station).where((Station.code == ref) | (Station.name == ref)))
    if st is None and ref.isdigit():
        st = session.get(Station, int(ref))
    if st is None:
        raise AccountError(f"找不到单位 {ref!r}")
    return st.id


def create_user(session: Session, username: str, role: str, password: str | None, actor: str, *,
                station_id: int | None = None, must_change_password: bool = False, ip: str = "") -> User:
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        raise AccountError("用户名只能包含字母、数字、下划线和点，最长 64 位")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"用户名 {username!r} 已存在")
    _check_role(session, role, station_id)
    if role == "api":
        # API accounts log in with a token only: a random unusable password keeps the column filled.
        password = secrets.token_urlsafe(32) + "aA1!"
    if password is None:
        raise AccountError("需要密码")
    problems = password_problems(password, username)
    if problems:
        raise AccountError("；".join(problems))
    user = User(username=username, password_hash=hash_password(password), role=role,
                station_id=station_id if role == "station" else None,
                must_change_password=must_change_password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id,
                 {"username": username, "role": role, "station_id": user.station_id}, ip)
    return user


def change_role(session: Session, user: User, role: str, station_id: int | None, actor: str, ip: str = ""
                ) -> None:
    _check_role(session, role, station_id)
    old = {"role": user.role, "station_id": user.station_id}
    user.role, user.station_id = role, station_id if role == "station" else None
    audit.record(session, actor, "user.role", "user", user.id,
                 {"username": user.username, "from": old, "to": {"role": role, "station_id": user.station_id}},
                 ip)


def set_active(session: Session, user: User, active: bool, actor: str, ip: str = "") -> None:
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "user.enable" if active else "user.disable", "user", user.id,
                 {"username": user.username}, ip)


def change_password(session: Session, user: User, new_password: str, actor: str, ip: str = "") -> None:
    problems = password_problems(new_password, user.username)
    if problems:
        raise AccountError("；".join(problems))
    if verify_password(user.password_hash, new_password):
        raise AccountError("新密码不能与原密码相同")
    user.password_hash, user.must_change_password = hash_password(new_password), False
    audit.record(session, actor, "user.password", "user", user.id, {"username": user.username}, ip)


# --- TOTP ----------------------------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def enable_totp(session: Session, user: User, secret: str, code: str, now: datetime, actor: str,
                ip: str = "") -> None:
    if user.role not in TOTP_ROLES:
        raise AccountError("仅管理员和法制账户可启用动态口令")
    if not pyotp.TOTP(secret).verify(code.strip(), for_time=now, valid_window=1):
        raise AccountError("动态口令不正确")
    user.totp_secret = secret
    audit.record(session, actor, "user.totp_enable", "user", user.id, {"username": user.username}, ip)


# --- API tokens ----------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(session: Session, user: User, actor: str, ip: str = "") -> str:
    """A new random token for an ``api`` user; only its hash is stored, so it is shown once."""
    if user.role != "api":
        raise AccountError("只有 api 角色的账户可以签发接口令牌")
    token = "cbs_" + secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    audit.record(session, actor, "user.token", "user", user.id, {"username": user.username}, ip)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    user = session.scalar(select(User).where(User.api_token_hash == digest))
    if user is None or not user.active or user.role != "api":
        return None
    # The lookup is by hash already; compare again in constant time so no branch leaks a prefix.
    return user if hmac.compare_digest(user.api_token_hash or "", digest) else None
