"""Recordings encrypted at rest with Fernet, right after the call is recorded.

``seal`` runs in the outcome stage: it replaces the plain WAV with its Fernet token (written next to
it and renamed over it, so a crash leaves either the plain file or the token, never half of one) and
returns size and SHA-256 of the *plain* audio. It is idempotent: a file that is already a token for
the configured key is left alone, so re-recording an outcome after a rolled-back transaction does not
encrypt twice.

``plaintext`` hands the transcriber a readable file: the path itself for plain audio, otherwise a
decrypted copy in a private directory (mode 0700, in RAM under /dev/shm where available) that is
removed when the block ends, whatever happens inside it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import InvalidToken, MultiFernet

# Every Fernet token starts with version byte 0x80 then a timestamp; base64url makes that "gAAAAA".
TOKEN_MAGIC = b"gAAAAA"
MAX_SEAL_BYTES = 200 * 1024 * 1024      # the same bound playback uses for in-memory decryption
_RAM_DIR = Path("/dev/shm")


class AtRestError(Exception):
    """A recording cannot be encrypted or decrypted (no key, wrong key, unreadable, too large)."""


@dataclass(frozen=True)
class Sealed:
    size_bytes: int | None      # of the plain audio; None when the file is missing
    sha256: str | None
    encrypted: bool


def is_token(data: bytes) -> bool:
    return data.startswith(TOKEN_MAGIC)


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_SEAL_BYTES:
            raise AtRestError(f"recording {path.name} is larger than {MAX_SEAL_BYTES} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AtRestError(f"recording {path.name}: {exc.strerror or exc}") from None


def _facts(plain: bytes, encrypted: bool) -> Sealed:
    return Sealed(len(plain), hashlib.sha256(plain).hexdigest(), encrypted)


def _replace_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".enc", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def seal(path: Path, key: MultiFernet | None) -> Sealed:
    """Encrypt ``path`` in place when a key is configured; facts always describe the plain audio."""
    data = _read(path)
    if data is None:
        return Sealed(None, None, False)
    if key is None:
        return _facts(data, False)
    if is_token(data):
        try:
            return _facts(key.decrypt(data), True)    # sealed already (an outcome recorded twice)
        except InvalidToken:
            raise AtRestError(f"recording {path.name} looks encrypted with a key that is not configured") from None
    try:
        _replace_atomically(path, key.encrypt(data))
    except OSError as exc:
        raise AtRestError(f"recording {path.name}: cannot write the encrypted file: {exc.strerror or exc}") from None
    return _facts(data, True)


def decrypt_bytes(path: Path, key: MultiFernet | None) -> bytes:
    data = _read(path)
    if data is None:
        raise AtRestError(f"recording {path.name} is missing")
    if key is None:
        raise AtRestError(f"recording {path.name} is encrypted and no recording key is configured")
    try:
        return key.decrypt(data)
    except InvalidToken:
        raise AtRestError(f"recording {path.name} cannot be decrypted with the configured key") from None


def _private_dir() -> str:
    base = str(_RAM_DIR) if _RAM_DIR.is_dir() and os.access(_RAM_DIR, os.W_OK | os.X_OK) else None
    return tempfile.mkdtemp(prefix="cbs-rec-", dir=base)    # mkdtemp: mode 0700, owner only


def _is_encrypted_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return is_token(fh.read(len(TOKEN_MAGIC)))
    except OSError:
        return False      # missing or unreadable: the transcriber reports it with the real name


@contextmanager
def plaintext(path: Path, key: MultiFernet | None) -> Iterator[Path]:
    """A path whose content is the plain audio, valid inside the ``with`` block only."""
    if not _is_encrypted_file(path):
        yield path
        return
    plain = decrypt_bytes(path, key)
    directory = _private_dir()
    try:
        copy = Path(directory) / path.name   # same name: errors from the decoder still name the file
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(plain)
        yield copy
    finally:
        shutil.rmtree(directory, ignore_errors=True)
