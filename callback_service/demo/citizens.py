"""Scripted citizens for the demo: who answers, what they press and which recorded answer they say."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from callback_service.intake.normalise import normalise_phone
from callback_service.selection.codes import S_DOMESTIC_VIOLENCE, S_FIRST_CALLBACK, S_GUARDIAN

PHONE_FIELDS = ("reporter_phone", "guardian_phone")
CLIP_STRIDE = 3    # a short (SIP) demo still gets satisfied, basically satisfied and unsatisfied answers


@dataclass(frozen=True)
class Script:
    phone_e164: str
    outcomes: tuple[str, ...]            # answer | busy | no_answer, one per successive call
    digits: dict[str, str]               # question id -> key ("*": any other question; "": no key)
    clip: Path | None
    clip_text: str = ""
    survey: str = S_FIRST_CALLBACK       # the round-1 survey the planner picks for this number


def load_manifest(corpus: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load((corpus / "manifest.yaml").read_text(encoding="utf-8"))
    return [c for c in data["clips"] if c["kind"] in ("answer", "unrelated")]


def digits_for(clip: dict[str, Any]) -> dict[str, str]:
    problems = set(clip.get("problems") or ())
    return {"*": "1", "identity": "1", "safe_to_talk": "1",
            "receipt": "2" if "no_receipt" in problems else "1",
            "attitude": "3" if "attitude" in problems else "1",
            "safety": "2" if "safety" in problems else "1",
            "satisfaction": clip.get("dtmf") or ""}


def round1_survey(row: dict[str, Any], field: str) -> str:
    """The survey ``selection.categories.survey_for`` picks in round 1 when this number is dialled:
    domestic violence wins, a minor's guardian gets the guardian survey, everyone else the first one."""
    if "domestic_violence" in str(row.get("tags", "")):
        return S_DOMESTIC_VIOLENCE
    return S_GUARDIAN if field == "guardian_phone" else S_FIRST_CALLBACK


def scripts_for(rows: list[dict[str, Any]], corpus: Path) -> list[Script]:
    """One script per dialable phone, in row order and reporter before guardian: the order in which
    ``sample.sample_reports`` numbers the phones."""
    clips = load_manifest(corpus)
    scripts = []
    for i, row in enumerate(rows):
        for field in PHONE_FIELDS:
            phone = normalise_phone(row.get(field, ""))
            if phone is None or not phone.e164:
                continue
            clip = clips[i * CLIP_STRIDE % len(clips)]
            outcomes = ("busy", "answer") if i % 7 == 3 else ("no_answer",) if i % 11 == 5 else ("answer",)
            scripts.append(Script(phone.e164, outcomes, digits_for(clip), corpus / clip["file"], clip["text"],
                                  round1_survey(row, field)))
    return scripts
