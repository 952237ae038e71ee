"""Recordings: Range requests (plain and Fernet-encrypted), paths only from the database, audit."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in

from callback_service.app import App
from callback_service.db.models import AuditEntry, Recording
from callback_service.db.session import transaction
from callback_service.security.recordings import RecordingAccessError, resolve_under


def _file(app: App, rec_id: int) -> bytes:
    with app.sessions() as s:
        rec = s.get(Recording, rec_id)
        assert rec is not None
        return (app.settings.recordings_path / rec.path).read_bytes()


def _audits(app: App, action: str) -> int:
    with app.sessions() as s:
        return s.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def test_range_request_returns_exactly_those_bytes(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = logged_in(flask_app(app), "sup1")
    rec = sd.call_recordings["unsat_bg"]
    data = _file(app, rec)
    r = client.get(f"/audio/{rec}", headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert r.data == data[100:1100] and r.headers["Accept-Ranges"] == "bytes"
    whole = client.get(f"/audio/{rec}")
    assert whole.status_code == 200 and whole.data == data and whole.mimetype == "audio/wav"
    assert client.get(f"/audio/{rec}", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_one_audit_entry_per_playback_not_per_range_chunk(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = logged_in(flask_app(app), "legal1")
    rec = sd.answer_recordings["sat_1"]
    client.get(f"/audio/{rec}", headers={"Range": "bytes=0-"})
    client.get(f"/audio/{rec}", headers={"Range": "bytes=5000-6000"})
    client.get(f"/audio/{rec}", headers={"Range": "bytes=9000-"})
    assert _audits(app, "recording.play") == 1
    r = client.get(f"/audio/{rec}?download=1")
    assert "attachment" in r.headers["Content-Disposition"]
    assert _audits(app, "recording.download") == 1


def test_encrypted_recording_is_decrypted_in_memory_with_range_support(web: tuple[App, Seeded],
                                                                     tmp_path: Path) -> None:
    app, sd = web
    key_file = tmp_path / "recording.key"
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    key_file.write_text(f"{new_key.decode()}\n{old_key.decode()}\n")   # rotated: old files still open
    app.settings = replace(app.settings, recording_key_file=str(key_file))
    rec = sd.answer_recordings["unsat_nj"]
    plain = _file(app, rec)
    with transaction(app.sessions) as s:
        row = s.get(Recording, rec)
        assert row is not None
        (app.settings.recordings_path / row.path).write_bytes(Fernet(old_key).encrypt(plain))
        row.encrypted = True
    client = logged_in(flask_app(app), "sup1")
    r = client.get(f"/audio/{rec}", headers={"Range": "bytes=44-143"})
    assert r.status_code == 206 and r.data == plain[44:144]
    assert r.headers["Content-Range"] == f"bytes 44-143/{len(plain)}"
    assert client.get(f"/audio/{rec}").data == plain


def test_encrypted_recording_without_the_key_is_not_served(web: tuple[App, Seeded]) -> None:
    app, sd = web
    rec = sd.answer_recordings["unsat_cd"]
    with transaction(app.sessions) as s:
        row = s.get(Recording, rec)
        assert row is not None
        row.encrypted = True
    assert logged_in(flask_app(app), "sup1").get(f"/audio/{rec}").status_code == 404


@pytest.mark.parametrize("evil", ["../../../../etc/passwd", "/etc/passwd", "1/../../outside.wav",
                                  "link/escape.wav"])
def test_recording_paths_that_leave_the_root_are_refused(web: tuple[App, Seeded], evil: str) -> None:
    app, sd = web
    root = app.settings.recordings_path
    (root.parent / "outside.wav").write_bytes(b"RIFF-outside-secret")
    (root / "link").mkdir(exist_ok=True)
    if not (root / "link" / "escape.wav").exists():
        os.symlink(root.parent / "outside.wav", root / "link" / "escape.wav")
    rec = sd.call_recordings["sat_1"]
    with transaction(app.sessions) as s:
        row = s.get(Recording, rec)
        assert row is not None
        row.path = evil
    r = logged_in(flask_app(app), "admin1").get(f"/audio/{rec}")
    assert r.status_code == 404 and b"outside-secret" not in r.data and b"root:" not in r.data


def test_request_paths_never_reach_the_filesystem(seeded: tuple[App, Seeded]) -> None:
    client = logged_in(flask_app(seeded[0]), "admin1")
    for url in ("/audio/..%2F..%2Fetc%2Fpasswd", "/audio/1%2F..%2F..%2Fx", "/admin/prompts/..%2F..%2Fsecret.wav",
                "/admin/prompts/Common_Intro.wav", "/admin/surveys/..%2Fcallback_rules", "/static/..%2Fviews%2Fapi.py"):
        r = client.get(url)
        assert r.status_code == 404, url


def test_resolve_under_accepts_nested_paths_and_refuses_escapes(tmp_path: Path) -> None:
    (tmp_path / "12").mkdir()
    assert resolve_under(tmp_path, "12/call.wav") == (tmp_path / "12" / "call.wav").resolve()
    for bad in ("", ".", "..", "../x", "/abs", "a/../../x", "a\x00b"):
        with pytest.raises(RecordingAccessError):
            resolve_under(tmp_path, bad)
