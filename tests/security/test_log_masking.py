"""Logs: records carrying phone and ID numbers, in every form, leave setup_logging's handler masked.

The numbers travel as format arguments, inside the message, inside containers, in exception messages
(with tracebacks) and in stack information, in the text and the JSON format. The check is on the
captured output with separators removed, so ``138-1234-5678`` cannot slip through as digits either.
"""

from __future__ import annotations

import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sec_tally import TALLY

from callback_service.security.logfilter import setup_logging

# (value as written, its digits as they must not appear)
PII = [
    ("13812345678", "13812345678"), ("138-1234-5678", "13812345678"), ("138 1234 5678", "13812345678"),
    ("138.1234.5678", "13812345678"), ("+8613912345678", "13912345678"), ("+86 139 1234 5678", "13912345678"),
    ("+86-139-1234-5678", "13912345678"), ("0086 15012345678", "15012345678"), ("86-18612345678", "18612345678"),
    ("１３７１２３４５６７８", "13712345678"), ("+８６ １８８１２３４５６７８", "18812345678"),
    ("140502199001011234", "140502199001011234"), ("14050219900101123X", "14050219900101123"),
    ("14050219900101123x", "14050219900101123"), ("１４０５０２１９９００１０１１２３Ｘ", "14050219900101123"),
    ("140502900101123", "140502900101123"), ("ID140502199001011234", "140502199001011234"),
    ("身份证号140502199001011234号", "140502199001011234"), ("0356-2021234", "03562021234"),
    ("03562021234", "03562021234"),
    ("(0356)2021234", "03562021234"), ("（０３５６）２０２１２３４", "03562021234"), ("010-12345678", "01012345678"),
    ("0356 202 1234", "03562021234"), ("+863562021234", "863562021234"), ("+86 356 2021234", "863562021234"),
    ("+1 415 555 0100", "14155550100"),
]
SEPARATORS = re.compile(r"[\s\-.()（）+]")


def _install(out: io.StringIO, json_format: bool = False) -> None:
    setup_logging("DEBUG", json_format=json_format)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """setup_logging's own handler, writing into a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    out = io.StringIO()
    _install(out)
    yield out
    root.handlers[:] = saved
    root.setLevel(level)


def _digits_only(text: str) -> str:
    return SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def _leaks(output: str, value: str, digits: str) -> list[str]:
    return [what for what, needle, hay in (("as written", value, output), ("as digits", digits, _digits_only(output)))
            if needle in hay]


def _emit_every_way(log: logging.Logger, value: str) -> None:
    log.info("calling %s now", value)
    log.warning(f"inline {value} in the message")
    log.error("dict %s list %r", {"phone": value}, [value])
    log.info("%(who)s %(num)s", {"who": "reporter", "num": value})
    try:
        raise ValueError(f"number {value} refused")
    except ValueError:
        log.exception("import failed for %s", value)
    try:
        {"k": 1}[value]
    except KeyError:
        log.debug("lookup failed", exc_info=True)
    log.info("with stack %s", value, stack_info=True)


@pytest.mark.parametrize("json_format", [False, True], ids=["text", "json"])
def test_no_phone_or_id_number_survives_the_handler(captured: io.StringIO, json_format: bool) -> None:
    out = captured
    _install(out, json_format)
    log = logging.getLogger("callback_service.test_pii")
    for value, _digits in PII:
        _emit_every_way(log, value)
    output = out.getvalue()
    assert output.count("Traceback") == 2 * len(PII) and "****" in output
    leaks = {value: _leaks(output, value, digits) for value, digits in PII}
    assert {v: w for v, w in leaks.items() if w} == {}
    TALLY.add(f"logs ({'json' if json_format else 'text'}): PII in args, message, containers, exception, stack",
              "masked in output", 7 * len(PII))
    if json_format:
        assert all(json.loads(line) for line in output.splitlines())


def test_a_line_break_in_a_value_cannot_forge_a_log_line(captured: io.StringIO) -> None:
    out = captured
    forged = "x\n2026-11-24 09:00:00,000 WARNING callback_service.web: user admin1 logged out"
    logging.getLogger("callback_service.test_pii").info("name %s", forged)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "\\n2026-11-24" in lines[0]
    TALLY.add("logs: CR/LF in a logged value (log forging)", "escaped, one line per record")


mobile = st.tuples(st.sampled_from(["", "+86", "+86 ", "0086", "86-"]), st.sampled_from("3456789"),
                   st.text(alphabet="0123456789", min_size=9, max_size=9), st.sampled_from(["", "-", " ", "."]),
                   st.booleans())


@settings(max_examples=300, deadline=None)
@given(mobile, st.text(alphabet=st.characters(blacklist_categories=["Nd", "Cs"]), max_size=12))
def test_generated_mobiles_in_any_layout_are_masked(parts: tuple[str, str, str, str, bool], noise: str) -> None:
    prefix, second, rest, sep, fullwidth = parts
    digits = "1" + second + rest
    value = prefix + digits[:3] + sep + digits[3:7] + sep + digits[7:]
    if fullwidth:
        value = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in value)
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    out = io.StringIO()
    try:
        _install(out)
        logging.getLogger("callback_service.test_pii").info("%s%s%s", noise, value, noise)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    assert digits not in _digits_only(out.getvalue())
    TALLY.add("logs: generated mobiles in any layout, ASCII or full-width (hypothesis)", "masked in output")
