"""Recordings encrypted at rest: sealed right after the call, decrypted only for the transcriber (a
private copy that is removed) and for authorised playback (in memory)."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import select

from callback_service.app import App
from callback_service.db.models import Recording, Transcript
from callback_service.intake.service import import_rows
from callback_service.pipeline.scheduler import schedule_step
from callback_service.pipeline.stages import dial_attempt, transcribe_recording
from callback_service.pipeline.transcribe import run_transcriber
from callback_service.security.at_rest import TOKEN_MAGIC, AtRestError, plaintext, seal
from callback_service.security.recordings import load_key, open_recording
from callback_service.telephony.simulated import Citizen, SimulatedDialer
from callback_service.transcription.audio import load_audio

ANSWERS = Path(__file__).resolve().parents[1] / "fixtures" / "answers"
CLIP = ANSWERS / "basic_01.wav"          # "还行吧，基本满意。"
TZ = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)


def _key() -> MultiFernet:
    return MultiFernet([Fernet(Fernet.generate_key())])


def _private_copies() -> set[str]:
    dirs = [Path(tempfile.gettempdir()), Path("/dev/shm")]
    return {str(p) for d in dirs if d.is_dir() for p in d.glob("cbs-rec-*")}


def test_seal_encrypts_in_place_once_and_reports_the_plain_audio(tmp_path: Path) -> None:
    path, plain, key = tmp_path / "q1.wav", CLIP.read_bytes(), _key()
    path.write_bytes(plain)
    sealed = seal(path, key)
    token = path.read_bytes()
    assert token.startswith(TOKEN_MAGIC) and b"RIFF" not in token[:64] and key.decrypt(token) == plain
    assert (sealed.size_bytes, sealed.sha256, sealed.encrypted) == (len(plain), hashlib.sha256(plain).hexdigest(), True)
    assert seal(path, key) == sealed and path.read_bytes() == token      # an outcome recorded twice
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q1.wav"]     # no temporary file left behind
    with pytest.raises(AtRestError, match="not configured"):
        seal(path, _key())                                                # somebody else's key


def test_without_a_key_recordings_stay_plain(tmp_path: Path) -> None:
    path = tmp_path / "q1.wav"
    path.write_bytes(CLIP.read_bytes())
    assert seal(path, None).encrypted is False and path.read_bytes() == CLIP.read_bytes()
    assert seal(tmp_path / "missing.wav", _key()).size_bytes is None
    with plaintext(path, None) as audio:
        assert audio == path


def test_the_transcriber_gets_a_private_decrypted_copy_that_is_removed(tmp_path: Path) -> None:
    path, key = tmp_path / "q1.wav", _key()
    path.write_bytes(CLIP.read_bytes())
    seal(path, key)
    before = _private_copies()
    with plaintext(path, key) as audio:
        assert audio != path and audio.name == "q1.wav" and audio.read_bytes() == CLIP.read_bytes()
        assert stat.S_IMODE(audio.stat().st_mode) == 0o600 and stat.S_IMODE(audio.parent.stat().st_mode) == 0o700
        assert np.array_equal(load_audio(audio), load_audio(CLIP))      # the real decoder reads it
        copy = audio
    assert not copy.exists() and _private_copies() == before
    with pytest.raises(RuntimeError), plaintext(path, key) as audio:
        copy = audio
        raise RuntimeError("transcriber crashed")
    assert not copy.exists() and _private_copies() == before
    with pytest.raises(AtRestError, match="no recording key"), plaintext(path, None):
        pass


def test_an_encrypted_recording_without_the_key_is_a_permanent_transcription_error(app: App, tmp_path: Path) -> None:
    path = tmp_path / "q1.wav"
    path.write_bytes(CLIP.read_bytes())
    seal(path, _key())
    ctx = app.stage_context()
    outcome = run_transcriber(ctx, path)           # the model is never built for it
    assert outcome.result is None and outcome.transient is False and "no recording key" in (outcome.error or "")


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> object:
    from callback_service.transcription.model import ensure_bundled_model, resolve_model
    from callback_service.transcription.whisper import WhisperTranscriber
    model = ensure_bundled_model(tmp_path_factory.mktemp("models") / "whisper-base").path
    return WhisperTranscriber(resolve_model(model, None, model), device="cpu", threads=2)


@pytest.fixture
def keyed(app: App, tmp_path: Path) -> Iterator[tuple[App, Path]]:
    key_file = tmp_path / "recording.key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    os.chmod(key_file, 0o600)
    app.settings = replace(app.settings, recording_key_file=str(key_file))
    yield app, key_file


@pytest.mark.slow
def test_the_pipeline_seals_recordings_and_transcribes_them_decrypted(keyed: tuple[App, Path], whisper: object
                                                                      ) -> None:
    app, key_file = keyed
    app.overrides["transcriber"] = whisper
    import_rows(app.sessions, [(1, {"report_no": "ENC1", "received_at": "2026-11-24 09:00", "station": "城关派出所",
                                    "channel": "walk_in", "reporter_phone": "13835600001"})], app.intake_limits)
    citizen = Citizen(digits={"*": "1"}, speech=CLIP)
    ctx = app.stage_context(dialer=SimulatedDialer({"+8613835600001": citizen}, clock=lambda: MORNING))
    ctx.clock = lambda: MORNING
    claimed = schedule_step(ctx, MORNING).claimed
    assert dial_attempt(ctx, claimed[0]) == "answered_complete"
    with app.sessions() as s:
        recs = list(s.scalars(select(Recording).where(Recording.attempt_id == claimed[0], Recording.kind == "answer")))
    plain = CLIP.read_bytes()
    assert recs and all(r.encrypted and r.sha256 == hashlib.sha256(plain).hexdigest() for r in recs)
    for r in recs:
        assert (app.settings.recordings_path / r.path).read_bytes().startswith(TOKEN_MAGIC)
    before = _private_copies()
    assert [transcribe_recording(ctx, r.id) for r in recs] == ["done"] * len(recs)
    assert _private_copies() == before
    with app.sessions() as s:
        texts = list(s.scalars(select(Transcript.text)))
    assert texts and all("满意" in t for t in texts)
    served = open_recording(app.settings.recordings_path, recs[0].path, True, load_key(str(key_file)))
    assert served.data == plain and served.path is None               # decrypted in memory for playback
