"""The only reader of environment variables and config files.

Settings come from, in increasing precedence: built-in defaults, an optional YAML file named by
``CALLBACK_SERVICE_CONFIG``, and ``CALLBACK_SERVICE_<FIELD>`` environment variables. Secrets can be
given as ``<FIELD>_FILE`` (a path whose content is the secret) so they never sit in the environment
or the repo. Everything is validated once, at start-up; a bad value raises ``ConfigError`` naming it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

ENV_PREFIX = "CALLBACK_SERVICE_"
# Shipped data (rules, survey templates, prompts) is found here when a relative path is not in the cwd.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PATHS = ("rules_path", "surveys_dir", "prompts_dir")
DIALERS = ("simulated", "sip", "asterisk")
SECRET_FIELDS = ("secret_key", "ami_secret", "sip_password", "id_hash_key")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    var_dir: Path = Path("var")
    database_url: str = ""                 # default: sqlite file under var_dir
    timezone: str = "Asia/Shanghai"
    bureau_name: str = "XX市公安局XX分局"
    recordings_dir: Path | None = None     # default: var_dir/recordings
    models_dir: Path | None = None         # default: $XDG_CACHE_HOME/callback-service/models
    rules_path: Path = Path("callback_rules.yaml")
    surveys_dir: Path = Path("survey_templates")
    prompts_dir: Path = Path("scripts_voice/audio")
    # intake
    max_field_length: int = 200
    max_import_bytes: int = 50 * 1024 * 1024
    max_api_body_bytes: int = 1024 * 1024
    # telephony
    dialer: str = "simulated"
    caller_id: str = "0356110"
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "callback"
    ami_secret: str = ""
    ami_spool_prefix: str = "/var/spool/asterisk/callback/"
    ami_trunk_channel: str = "PJSIP/{national}@carrier"   # dial string; see telephony/asterisk/trunks.py
    sip_server: str = "127.0.0.1"
    sip_port: int = 5060
    sip_username: str = "callback"
    sip_password: str = ""
    sip_local_ip: str = "127.0.0.1"
    trunk_max_concurrent: int = 4
    trunk_calls_per_minute: int = 30
    # transcription and scoring
    whisper_model_path: str = ""
    whisper_model_name: str = ""
    whisper_device: str = "auto"
    whisper_compute_type: str = "auto"
    whisper_threads: int = 2
    max_audio_bytes: int = 20 * 1024 * 1024
    max_audio_seconds: float = 600.0
    scorer_model_path: str = ""
    # pipeline
    broker_url: str = ""                   # empty: in-process runner
    lease_seconds: int = 600
    retention_days: int = 365
    audit_retention_days: int = 366
    # tickets
    sla_urgent_hours: float = 2.0
    sla_high_hours: float = 24.0
    sla_normal_hours: float = 72.0
    verification_delay_hours: float = 24.0
    notify_webhook_url: str = ""           # urgent flags are POSTed here as JSON when set
    # web and security
    secret_key: str = ""                   # default: generated once into var_dir/secret.key
    id_hash_key: str = ""                  # default: derived from secret_key
    session_idle_minutes: int = 30
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    cookie_secure: bool = True
    recording_key_file: str = ""           # optional Fernet key file: encrypt recordings at rest
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir or self.var_dir / "recordings"

    @property
    def models_path(self) -> Path:
        # Shared per user, not per var dir: the assembled model is ~150 MB and built once.
        if self.models_dir:
            return self.models_dir
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "callback-service" / "models"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    text = str(raw).strip()
    try:
        if kind in (int, "int"):
            return int(text)
        if kind in (float, "float"):
            return float(text)
        if kind in (bool, "bool"):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind in (Path, "Path", "Path | None"):
            return Path(text)
    except ValueError:
        raise ConfigError(f"setting {name!r}: cannot read {text!r} as {kind}") from None
    return raw if isinstance(raw, str) else text


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping")
    return data


def _gather(env: Mapping[str, str]) -> dict[str, Any]:
    names = {f.name: f for f in fields(Settings) if f.name != "extra"}
    values: dict[str, Any] = {}
    cfg_file = env.get(ENV_PREFIX + "CONFIG")
    if cfg_file:
        for key, raw in _read_yaml(Path(cfg_file)).items():
            if key not in names:
                raise ConfigError(f"config file {cfg_file}: unknown setting {key!r}")
            values[key] = raw
    for name in names:
        if ENV_PREFIX + name.upper() in env:
            values[name] = env[ENV_PREFIX + name.upper()]
        file_var = ENV_PREFIX + name.upper() + "_FILE"
        if name in SECRET_FIELDS and env.get(file_var):
            try:
                values[name] = Path(env[file_var]).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"setting {file_var}: {exc}") from None
    return {k: _coerce(k, names[k].type, v) for k, v in values.items()}


def _validate(s: Settings) -> None:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"setting 'timezone': unknown time zone {s.timezone!r}") from None
    if s.dialer not in DIALERS:
        raise ConfigError(f"setting 'dialer': {s.dialer!r} is not one of {', '.join(DIALERS)}")
    if not s.database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"setting 'database_url': unsupported database {s.database_url.split(':')[0]!r}")
    for name in ("trunk_max_concurrent", "trunk_calls_per_minute", "whisper_threads", "lease_seconds",
                 "max_field_length", "login_max_failures", "session_idle_minutes"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"setting {name!r}: must be positive")
    if s.audit_retention_days < 183:
        raise ConfigError("setting 'audit_retention_days': must keep audit entries at least 6 months (183 days)")


def _default_secret(var_dir: Path) -> str:
    path = var_dir / "secret.key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings. ``overrides`` win over everything (used by tests)."""
    values = _gather(os.environ if env is None else env)
    values.update(overrides)
    s = Settings(**values)
    if not s.database_url:
        s = replace(s, database_url=f"sqlite:///{(s.var_dir / 'callback.db').as_posix()}")
    for name in SHIPPED_PATHS:
        path = getattr(s, name)
        if not path.is_absolute() and not path.exists() and (PROJECT_ROOT / path).exists():
            s = replace(s, **{name: PROJECT_ROOT / path})
    _validate(s)
    if not s.secret_key:
        s = replace(s, secret_key=_default_secret(s.var_dir))
    if not s.id_hash_key:
        s = replace(s, id_hash_key=s.secret_key)
    return s
