"""Coverage-guided fuzzing (atheris/libFuzzer) of the service's parsers of untrusted input.

    .venv/bin/pip install atheris
    python tests/fuzz/fuzz_targets.py TARGET [libFuzzer options]
    python tests/fuzz/fuzz_targets.py csv -runs=20000              # a bounded run
    python tests/fuzz/fuzz_targets.py ami -max_total_time=600 corpus/ami/   # a longer one, keeping a corpus

TARGET is one of: csv, json, xlsx, phone, id, ami, survey, all. Each target accepts only the
project's own errors (FileFormatError, FieldError, AmiProtocolError, SurveyTemplateError); any other
exception is a finding: libFuzzer stops, prints the traceback and writes the input as crash-<sha1>
(``-artifact_prefix=DIR/`` chooses where). tests/security/test_atheris_smoke.py runs each target for
a few seconds; the hypothesis tests in tests/security/ are the ones CI relies on.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import atheris

with atheris.instrument_imports(include=["callback_service"]):
    from callback_service.intake.normalise import FieldError, normalise_id, normalise_phone, parse_time
    from callback_service.intake.parsers import FileFormatError, read_csv, read_json, read_xlsx
    from callback_service.intake.validate import Limits, validate_row
    from callback_service.security.masking import mask_text
    from callback_service.surveys.errors import SurveyTemplateError
    from callback_service.surveys.loader import load_survey
    from callback_service.telephony.asterisk.protocol import AmiProtocolError, FrameReader

LIMITS = Limits(tz=ZoneInfo("Asia/Shanghai"), id_hash_key="fuzz")
_SURVEY_DIR = Path(tempfile.mkdtemp(prefix="cbs-fuzz-"))   # under $TMPDIR; removed at exit where Python exits
_SURVEY = _SURVEY_DIR / "first_callback.yaml"
atexit.register(shutil.rmtree, _SURVEY_DIR, True)


def _rows(reader: Callable[[bytes, str], object], data: bytes) -> None:
    try:
        for line, row in reader(data, "fuzz"):  # type: ignore[attr-defined]
            validate_row(line, row, LIMITS)
    except FileFormatError:
        pass


def fuzz_csv(data: bytes) -> None:
    _rows(read_csv, b"report_no,received_at,station,channel,reporter_phone,reporter_id_number,tags\n" + data)


def fuzz_json(data: bytes) -> None:
    _rows(read_json, data)


def fuzz_xlsx(data: bytes) -> None:
    _rows(read_xlsx, data)


def fuzz_phone(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(64)
    normalise_phone(text)
    mask_text(text)
    try:
        normalise_id(text, "fuzz")
    except FieldError:
        pass


def fuzz_id(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(40)
    try:
        normalise_id(text, "fuzz")
    except FieldError:
        pass
    try:
        parse_time(text, LIMITS.tz)
    except FieldError:
        pass


def fuzz_ami(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    reader = FrameReader(expect_greeting=fdp.ConsumeBool(), max_frame_bytes=4096)
    try:
        while fdp.remaining_bytes():
            reader.feed(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64)))
    except AmiProtocolError:
        pass


def fuzz_survey(data: bytes) -> None:
    _SURVEY.write_bytes(data)
    try:
        load_survey(_SURVEY, bureau_name="某某市公安局")
    except SurveyTemplateError:
        pass


TARGETS: dict[str, Callable[[bytes], None]] = {
    "csv": fuzz_csv, "json": fuzz_json, "xlsx": fuzz_xlsx, "phone": fuzz_phone, "id": fuzz_id, "ami": fuzz_ami,
    "survey": fuzz_survey,
}


def fuzz_all(data: bytes) -> None:
    if data:
        list(TARGETS.values())[data[0] % len(TARGETS)](data[1:])


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {*TARGETS, "all"}:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join([*TARGETS, 'all'])}}} [libFuzzer options]")
    target = fuzz_all if sys.argv[1] == "all" else TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
