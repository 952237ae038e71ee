"""Fuzzing the AMI layer: the reader on arbitrary bytes, the writer and channel variables on any text.

The reader may only raise ``AmiProtocolError`` (the client then reconnects); the writer and the
variable encoder may only raise ``UnsafeValueError``, and what they do produce is exactly one line per
header with no character Asterisk would act on.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from sec_tally import TALLY

from callback_service.surveys.model import Question, Survey
from callback_service.telephony.asterisk.protocol import (
    AmiProtocolError,
    FrameReader,
    Message,
    UnsafeValueError,
    encode_action,
    parse_message,
)
from callback_service.telephony.asterisk.variables import check_value, pack_variables, survey_variables

FUZZ = settings(max_examples=400, deadline=None)
GREETING = b"Asterisk Call Manager/9.0.0\r\n"
AMI_BITS = st.sampled_from([b"\r\n", b"\r\n\r\n", b"\r", b"\n", b": ", b":", b"Event: Hangup", b"Response: Success",
                            b"ActionID: cb-1", b"\x00", b"\xff\xfe", "回访".encode(), b"Output: x", b"--END COMMAND--"])
ami_stream = st.lists(st.one_of(st.binary(max_size=40), AMI_BITS), max_size=40).map(b"".join)
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:/+@-]*\Z")
SAFE_CHARS = "abcXYZ019_.:/+@-"
INJECT = ["\r\n", "\n", "\r", "\x00", ",", ";", "|", "$", "{", "}", "[", "]", "(", ")", '"', "\\", "..", " ", "回访",
          "\r\nAction: Originate\r\nChannel: Local/666@evil", ",INJECTED=666", "${SHELL(id)}", "$[1+1]", "\t"]
# Mostly safe text with an occasional dangerous piece: both the accepted and the refused paths run.
mixed = st.lists(st.one_of(st.text(alphabet=SAFE_CHARS, min_size=1, max_size=6), st.sampled_from(INJECT),
                           st.text(max_size=3)), max_size=5).map("".join)
ident = st.one_of(st.text(alphabet="abc019_-", min_size=1, max_size=10), mixed)


def _feed(reader: FrameReader, data: bytes, cuts: list[int]) -> str:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    try:
        messages = [m for a, b in zip(points, points[1:]) for m in reader.feed(data[a:b])]
    except AmiProtocolError:
        return "connection dropped: AmiProtocolError"
    assert all(isinstance(m, Message) for m in messages)
    return "parsed" if messages else "buffered, no message"


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 4000), max_size=6), st.booleans())
def test_reader_on_arbitrary_bytes_raises_only_protocol_errors(data: bytes, cuts: list[int], greet: bool) -> None:
    reader = FrameReader(expect_greeting=greet)
    TALLY.add("AMI reader: arbitrary bytes in arbitrary pieces (hypothesis)", _feed(reader, data, cuts))


@FUZZ
@given(ami_stream, st.lists(st.integers(0, 4000), max_size=6))
def test_reader_on_ami_shaped_streams_raises_only_protocol_errors(data: bytes, cuts: list[int]) -> None:
    TALLY.add("AMI reader: AMI-shaped streams after a real greeting (hypothesis)",
              _feed(FrameReader(), GREETING + data, cuts))


def test_reader_refuses_a_flood_without_terminator() -> None:
    reader = FrameReader(expect_greeting=False, max_frame_bytes=4096)
    outcome = _feed(reader, b"Event: X\r\n" * 1000, [])
    assert outcome == "connection dropped: AmiProtocolError"
    TALLY.add("AMI reader: unterminated flood", outcome)


@FUZZ
@given(st.binary(max_size=2000))
def test_parse_message_never_raises(block: bytes) -> None:
    assert isinstance(parse_message(block), Message)
    TALLY.add("AMI parse_message: arbitrary frame bytes (hypothesis)", "parsed")


@FUZZ
@given(st.lists(st.tuples(st.one_of(st.sampled_from(["Channel", "Variable", "CallerID", "Context"]),
                                    st.text(max_size=8)),
                          st.one_of(mixed, st.text(max_size=60))), max_size=6))
def test_writer_emits_one_line_per_header_or_refuses(headers: list[tuple[str, str]]) -> None:
    try:
        wire = encode_action("Originate", headers)
    except UnsafeValueError:
        TALLY.add("AMI writer: arbitrary header names and values (hypothesis)", "refused: UnsafeValueError")
        return
    lines = wire.split(b"\r\n")
    assert lines[-2:] == [b"", b""] and len(lines) == len(headers) + 3
    assert b"\n" not in wire.replace(b"\r\n", b"") and b"\r" not in wire.replace(b"\r\n", b"")
    TALLY.add("AMI writer: arbitrary header names and values (hypothesis)", "written, one line per header")


@FUZZ
@given(st.one_of(mixed, st.text(max_size=40)))
def test_channel_variable_values_are_safe_or_refused(value: str) -> None:
    try:
        checked = check_value("CALLBACK_X", value)
    except UnsafeValueError:
        TALLY.add("channel variable values: arbitrary text (hypothesis)", "refused: UnsafeValueError")
        return
    assert checked == value and SAFE_VALUE.match(value)
    TALLY.add("channel variable values: arbitrary text (hypothesis)", "passed unchanged (safe charset)")


question = st.builds(Question, id=ident, text=st.text(max_size=8), prompt=ident,
                     kind=st.sampled_from(["dtmf", "speech", "both", "say", "x\r\n"]),
                     dtmf_map=st.dictionaries(st.one_of(st.text(alphabet="0123456789*", min_size=1, max_size=2),
                                                        mixed), ident, max_size=3),
                     max_digits=st.integers(-1, 30),
                     branches=st.one_of(st.just({}), st.dictionaries(st.text(max_size=3), ident, max_size=2)))


@FUZZ
@given(ident, st.lists(question, min_size=0, max_size=4),
       st.one_of(st.just("/var/spool/asterisk/callback"), st.just("/var/spool/../../etc"), mixed))
def test_survey_variables_from_any_survey_are_safe_or_refused(sid: str, questions: list[Question],
                                                              recdir: str) -> None:
    survey = Survey(id=sid, title="t", questions=tuple(questions))
    try:
        headers = pack_variables(survey_variables(7, survey, recording_dir=recdir, prompt_dir="callback"))
        wire = encode_action("Originate", [("Variable", h) for h in headers])
    except UnsafeValueError:
        TALLY.add("survey -> channel variables: arbitrary surveys (hypothesis)", "refused: UnsafeValueError")
        return
    assert wire.count(b"\r\n") == len(headers) + 2
    TALLY.add("survey -> channel variables: arbitrary surveys (hypothesis)", "encoded, all values in safe charset")


BASE_Q = Question(id="q1", text="t", prompt="satisfaction", kind="both",
                  dtmf_map={"1": "satisfied", "2": "unsatisfied"})


@FUZZ
@given(st.sampled_from(["survey_id", "question_id", "prompt", "dtmf_key", "answer", "branch", "recording_dir"]), mixed)
def test_one_fuzzed_field_in_a_valid_survey_is_refused_or_passes_safely(where: str, value: str) -> None:
    q, sid, recdir = BASE_Q, "first_callback", "/var/spool/asterisk/callback"
    if where == "survey_id":
        sid = value
    elif where == "question_id":
        q = Question(**{**q.__dict__, "id": value})
    elif where == "prompt":
        q = Question(**{**q.__dict__, "prompt": value})
    elif where in ("dtmf_key", "answer"):
        q = Question(**{**q.__dict__, "dtmf_map": {value: "x"} if where == "dtmf_key" else {"1": value}})
    elif where == "branch":
        q = Question(**{**q.__dict__, "branches": {"1": value}})
    else:
        recdir = "/var/spool/" + value
    try:
        headers = pack_variables(survey_variables(7, Survey(id=sid, title="t", questions=(q,)), recording_dir=recdir,
                                                  prompt_dir="callback"))
    except UnsafeValueError:
        TALLY.add("survey -> channel variables: one fuzzed field of a valid survey (hypothesis)",
                  "refused: UnsafeValueError")
        return
    wire = encode_action("Originate", [("Variable", h) for h in headers])
    assert wire.count(b"\r\n") == len(headers) + 2
    assert all(SAFE_VALUE.match(pair.partition("=")[2]) for h in headers for pair in h.split(","))
    TALLY.add("survey -> channel variables: one fuzzed field of a valid survey (hypothesis)",
              "encoded, all values in safe charset")
