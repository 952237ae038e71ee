"""Opening recordings for playback: paths from the database only, confined to the recordings root.

A recording row stores a path relative to ``settings.recordings_path``. The resolved file (symlinks
followed) must stay inside that root, whatever the row says. Files encrypted at rest with Fernet are
decrypted in memory; the caller serves the bytes with Range support either way.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)
MAX_DECRYPT_BYTES = 200 * 1024 * 1024


class RecordingAccessError(Exception):
    """The recording cannot be served: missing, outside the root, or undecryptable."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class RecordingFile:
    mimetype: str
    download_name: str
    path: Path | None = None        # plain file: served straight from disk
    data: bytes | None = None       # decrypted content: served from memory
    mtime: float | None = None


def resolve_under(root: Path, relative: str) -> Path:
    """``root/relative`` resolved, refusing anything that escapes ``root``."""
    if not relative or "\x00" in relative or Path(relative).is_absolute():
        raise RecordingAccessError(f"recording path {relative!r} is not a relative path")
    try:
        base = root.resolve()
        candidate = (base / relative).resolve()
    except (OSError, RuntimeError) as exc:   # a symlink loop, an unreadable directory
        raise RecordingAccessError(f"recording path {relative!r} cannot be resolved: {exc}") from None
    if not candidate.is_relative_to(base) or candidate == base:
        raise RecordingAccessError(f"recording path {relative!r} leaves the recordings root")
    return candidate


def load_key(key_file: str) -> MultiFernet | None:
    """One Fernet key per line; the first encrypts, all decrypt (so keys can be rotated)."""
    if not key_file:
        return None
    try:
        lines = [ln.strip() for ln in Path(key_file).read_text(encoding="utf-8").splitlines()]
        keys = [Fernet(ln.encode("ascii")) for ln in lines if ln and not ln.startswith("#")]
    except (OSError, ValueError) as exc:
        raise RecordingAccessError(f"recording key file {key_file}: {exc.__class__.__name__}") from None
    if not keys:
        raise RecordingAccessError(f"recording key file {key_file}: no key")
    return MultiFernet(keys)


def open_recording(root: Path, relative: str, encrypted: bool, key: MultiFernet | None) -> RecordingFile:
    path = resolve_under(root, relative)
    if not path.is_file():
        raise RecordingAccessError(f"recording file {relative} is missing", not_found=True)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype == "audio/x-wav":
        mimetype = "audio/wav"
    name = path.name
    if not encrypted:
        return RecordingFile(mimetype=mimetype, download_name=name, path=path, mtime=path.stat().st_mtime)
    if key is None:
        raise RecordingAccessError(f"recording {relative} is encrypted and no key is configured")
    if path.stat().st_size > MAX_DECRYPT_BYTES:
        raise RecordingAccessError(f"recording {relative} is too large to decrypt in memory")
    try:
        data = key.decrypt(path.read_bytes())
    except InvalidToken:
        raise RecordingAccessError(f"recording {relative} cannot be decrypted with the configured key") from None
    return RecordingFile(mimetype=mimetype, download_name=name, data=data, mtime=path.stat().st_mtime)
