"""The AMI wire reader and writer against the recorded Asterisk transcript."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callback_service.telephony.asterisk.protocol import (
    AmiProtocolError,
    FrameReader,
    Message,
    UnsafeValueError,
    encode_action,
    parse_message,
)

AMI = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


def server_bytes(name: str) -> bytes:
    """What Asterisk sent in a transcript: the ``>>> SENT`` blocks and markers removed."""
    data = (AMI / name).read_bytes()
    data = re.sub(rb">>> SENT\r\n.*?\r\n\r\n", b"", data, flags=re.S)
    return re.sub(rb">>> [A-Z]+[^\r]*\r\n", b"", data)


def read_all(data: bytes, step: int | None = None) -> tuple[FrameReader, list[Message]]:
    reader = FrameReader()
    step = step or len(data)
    messages = []
    for i in range(0, len(data), step):
        messages += reader.feed(data[i:i + step])
    return reader, messages


def test_recorded_session_parses_into_greeting_responses_and_events() -> None:
    reader, messages = read_all(server_bytes("survey-session.ami"))
    assert reader.greeting == "Asterisk Call Manager/13.0.0"
    responses = [m for m in messages if m.response]
    assert [m.response for m in responses] == ["Success"] * 6 + ["Goodbye"]
    assert [m.action_id for m in responses] == ["login-1", "ping-1", "cb-1001", "cb-1002", "cb-1003",
                                                "cb-1004", "bye"]
    originate = [m for m in messages if m.event == "OriginateResponse"]
    assert [(m.action_id, m.get("Reason")) for m in originate] == [
        ("cb-1001", "4"), ("cb-1002", "5"), ("cb-1003", "3"), ("cb-1004", "0")]
    answer = next(m for m in messages if m.get("UserEvent") == "SurveyAnswer")
    assert (answer.get("CallbackId"), answer.get("Question"), answer.get("Digits")) == ("1001", "q1", "1")


def test_empty_values_and_header_lookup_are_case_insensitive() -> None:
    _, messages = read_all(server_bytes("survey-session.ami"))
    new_channel = next(m for m in messages if m.event == "Newchannel")
    assert new_channel.get("AccountCode") == ""
    assert new_channel.get("accountcode") == "" and "UNIQUEID" in new_channel
    assert new_channel.get("NoSuchHeader") is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=200))
def test_any_split_of_the_byte_stream_yields_the_same_messages(cuts: list[int]) -> None:
    data = server_bytes("survey-session.ami")
    _, whole = read_all(data)
    reader, pieces, pos = FrameReader(), [], 0
    for cut in cuts:
        pieces += reader.feed(data[pos:pos + cut])
        pos += cut
    pieces += reader.feed(data[pos:])
    assert [m.headers for m in pieces] == [m.headers for m in whole]


def test_one_byte_at_a_time_yields_the_same_messages() -> None:
    data = server_bytes("survey-session.ami")
    assert [m.headers for m in read_all(data, 1)[1]] == [m.headers for m in read_all(data)[1]]


def test_repeated_headers_are_all_kept_in_order() -> None:
    _, messages = read_all(server_bytes("unknown-events.ami"))
    newexten = next(m for m in messages if m.event == "Newexten")
    assert newexten.get_all("ChanVariable") == ["A=1", "B=2", "C=3"]
    assert newexten.get("ChanVariable") == "A=1"


def test_unknown_shapes_are_kept_not_rejected() -> None:
    _, messages = read_all(server_bytes("unknown-events.ami"))
    odd = next(m for m in messages if m.event == "QuantumEntangle")
    assert ("", "this line has no colon") in odd.headers
    assert next(m for m in messages if m.event == "NonUtf8").get("CallerIDName") == "\ufffd\ufffd"
    assert len(next(m for m in messages if m.event == "LongHeader").get("Data") or "") == 4000
    follows = next(m for m in messages if m.response == "Follows")
    assert ("", "--END COMMAND--") in follows.headers


def test_a_peer_that_is_not_asterisk_is_refused() -> None:
    with pytest.raises(AmiProtocolError, match="not an Asterisk manager"):
        FrameReader().feed(b"SSH-2.0-OpenSSH_9.2\r\n")


def test_an_unterminated_frame_cannot_grow_without_bound() -> None:
    reader = FrameReader(max_frame_bytes=4096)
    reader.feed(b"Asterisk Call Manager/13.0.0\r\n")
    with pytest.raises(AmiProtocolError, match="larger than 4096"):
        for _ in range(10):
            reader.feed(b"Event: Flood\r\nData: " + b"x" * 1000 + b"\r\n")


def test_encode_action_writes_crlf_lines_and_a_blank_line() -> None:
    data = encode_action("Originate", [("ActionID", "cb-1"), ("Variable", "A=1"), ("Variable", "B=2")])
    assert data == b"Action: Originate\r\nActionID: cb-1\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    assert parse_message(data[:-4]).get_all("Variable") == ["A=1", "B=2"]


@pytest.mark.parametrize("bad", ["\r\n", "\n", "\r", "x\r\nAction: Originate", "\x00", "\x1b[2J", "\x7f",
                                 "\x0b", "tail\r"])
def test_encode_action_rejects_control_characters_in_any_value(bad: str) -> None:
    with pytest.raises(UnsafeValueError, match="control character"):
        encode_action("Originate", [("ActionID", "cb-1"), ("CallerID", f"name{bad}")])


@pytest.mark.parametrize("key", ["Bad Key", "X:Y", "", "1st", "Caller\r\nID", "名字"])
def test_encode_action_rejects_header_names_that_are_not_tokens(key: str) -> None:
    with pytest.raises(UnsafeValueError, match="not a plain token"):
        encode_action("Ping", [(key, "v")])


def test_encode_action_refuses_what_asterisk_would_silently_drop() -> None:
    with pytest.raises(UnsafeValueError, match="128"):
        encode_action("Originate", [("Variable", f"V{i}=1") for i in range(128)])
    with pytest.raises(UnsafeValueError, match="longer than 1024"):
        encode_action("Originate", [("Variable", "V=" + "x" * 1100)])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["CallerID", "Channel", "Variable", "Data"]),
                          st.text(max_size=60)), max_size=8))
def test_encoded_bytes_always_parse_back_to_the_same_headers_or_raise(headers: list[tuple[str, str]]) -> None:
    try:
        data = encode_action("Originate", headers)
    except UnsafeValueError:
        assert any(re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]", v) for _, v in headers)
        return
    assert data.endswith(b"\r\n\r\n") and data.count(b"\r\n") == len(headers) + 2
    assert data.count(b"\n") == data.count(b"\r\n")
    parsed = parse_message(data[:-4])
    assert parsed.headers[1:] == tuple((k, v.strip()) for k, v in headers)


def test_scenario_files_are_exactly_what_derive_scenarios_makes_from_the_recording() -> None:
    spec = importlib.util.spec_from_file_location("derive_scenarios", AMI / "derive_scenarios.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, build in module.SCENARIOS.items():
        text = build()
        expected = text.encode("latin-1") if "\xff" in text else text.encode("utf-8")
        assert (AMI / name).read_bytes() == expected, f"{name} is stale: run derive_scenarios.py"
