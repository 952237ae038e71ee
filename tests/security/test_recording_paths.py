"""Recording paths: traversal, absolute paths, symlinks out of the root and encoded dots, at every
place a path is taken: Asterisk's reports (mapper), the outcome stage (with encryption at rest on, so
a file outside the root would be rewritten if it got through), retention's unlink, and playback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corpus import PATHS
from cryptography.fernet import Fernet
from sec_tally import TALLY
from sqlalchemy import select
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in

from callback_service.app import App
from callback_service.db.models import CallAttempt, Recording
from callback_service.db.session import transaction
from callback_service.pipeline.outcome import RecordingPathError, _recording, relative_recording_path
from callback_service.pipeline.retention import _unlink
from callback_service.security.recordings import RecordingAccessError, load_key, resolve_under
from callback_service.telephony.asterisk.recordings import RecordingMapper
from callback_service.telephony.dialer import DialerError

SECRET = b"RIFF-outside-the-root-secret"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A recordings root with a symlink inside it pointing at a secret file outside it."""
    root, outside = tmp_path / "recordings", tmp_path / "outside.wav"
    (root / "link").mkdir(parents=True)
    (root / "7").mkdir()
    outside.write_bytes(SECRET)
    os.symlink(outside, root / "link" / "escape.wav")
    os.symlink(tmp_path, root / "7" / "up")
    os.symlink(root / "7" / "loop", root / "7" / "loop")
    return root, outside


def _evil(root: Path) -> list[str]:
    return [*PATHS, "7/up/outside.wav", "7/loop/x.wav", str(root / ".." / "outside.wav"), f"{root}/link/escape.wav"]


def test_playback_resolution_refuses_every_escape(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    for path in _evil(root):
        try:
            resolved = resolve_under(root, path)
        except RecordingAccessError:
            TALLY.add("path traversal: recording path for playback (resolve_under)", "rejected")
            continue
        assert resolved.is_relative_to(root.resolve()) and not resolved.is_symlink(), path   # e.g. %2e%2e: a name
        TALLY.add("path traversal: recording path for playback (resolve_under)", "neutralised: a name inside the root")


def test_the_outcome_stage_refuses_paths_outside_the_root(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    for path in _evil(root):
        candidate = Path(path) if Path(path).is_absolute() else root / path
        try:
            relative = relative_recording_path(root, candidate)
        except RecordingPathError:
            TALLY.add("path traversal: recording path reported by a dialer (outcome stage)", "rejected")
            continue
        assert (root.resolve() / relative).resolve().is_relative_to(root.resolve()), path
        TALLY.add("path traversal: recording path reported by a dialer (outcome stage)",
                  "neutralised: a name inside the root")


def test_asterisk_reported_paths_must_lie_under_the_spool(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    mapper = RecordingMapper("/var/spool/asterisk/callback/", root)
    for path in [*_evil(root), *(f"/var/spool/asterisk/callback/{p}" for p in PATHS)]:
        try:
            local = mapper.to_local(path)
        except DialerError:
            TALLY.add("path traversal: File header of an Asterisk event (mapper)", "rejected")
            continue
        assert local.is_relative_to(root) and ".." not in local.parts, path
        TALLY.add("path traversal: File header of an Asterisk event (mapper)", "neutralised: a name inside the root")


def test_retention_never_unlinks_outside_the_root(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    for path in ("../outside.wav", str(outside), "7/up/outside.wav", "../../../../etc/passwd", "link/escape.wav"):
        assert _unlink(root, path) == "outside the recordings directory: not touched"
        TALLY.add("path traversal: retention deleting a recording row's path", "refused, file untouched")
    for path in ("7/loop/x.wav", "a\x00b.wav"):
        assert (_unlink(root, path) or "").startswith("unusable path")
        TALLY.add("path traversal: retention on a symlink loop or NUL byte", "refused, job carries on")
    assert outside.read_bytes() == SECRET


def test_encrypted_outcomes_never_rewrite_files_outside_the_root(app: App, layout: tuple[Path, Path]) -> None:
    """With a recording key the outcome stage rewrites files: an escape would encrypt someone else's."""
    root, outside = layout
    key_file = root.parent / "rec.key"
    key_file.write_text(Fernet.generate_key().decode())
    ctx = app.stage_context()
    ctx.recordings_root, ctx.recording_key = root, load_key(str(key_file))
    for path in ("link/escape.wav", "7/up/outside.wav", "../outside.wav", str(outside)):
        reported = Path(path) if Path(path).is_absolute() else root / path
        rec = _recording(ctx, CallAttempt(id=1), "q1", "answer", reported)
        assert rec.state == "rejected" and not rec.encrypted
        TALLY.add("path traversal: escaping recording with encryption at rest on", "rejected, outside file untouched")
    assert outside.read_bytes() == SECRET


ROW_PATHS = ["../../../../etc/passwd", "/etc/passwd", "link/escape.wav", "%2e%2e/%2e%2e/etc/passwd", "7/up/outside.wav",
             "7/loop/x.wav"]     # a NUL byte cannot even be stored on PostgreSQL: resolve_under covers it


def test_playback_of_a_row_with_an_escaping_path_is_404(web: tuple[App, Seeded]) -> None:
    app, sd = web
    root = app.settings.recordings_path
    (root.parent / "outside.wav").write_bytes(SECRET)
    (root / "link").mkdir(exist_ok=True)
    (root / "7").mkdir(exist_ok=True)
    os.symlink(root.parent / "outside.wav", root / "link" / "escape.wav")
    os.symlink(root.parent, root / "7" / "up")
    os.symlink(root / "7" / "loop", root / "7" / "loop")
    rec = sd.call_recordings["sat_1"]
    client = logged_in(flask_app(app), "admin1")
    for evil in ROW_PATHS:
        with transaction(app.sessions) as s:
            row = s.get(Recording, rec)
            assert row is not None
            row.path = evil
        for url in (f"/audio/{rec}", f"/audio/{rec}?download=1"):
            r = client.get(url)
            assert r.status_code == 404 and SECRET not in r.data and b"root:" not in r.data, evil
        TALLY.add("path traversal: recording row path served by /audio", "404, nothing served", 2)
    with app.sessions() as s:
        assert s.scalar(select(Recording.path).where(Recording.id == rec)) == ROW_PATHS[-1]
