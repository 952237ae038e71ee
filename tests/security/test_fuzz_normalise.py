"""Fuzzing the phone and ID normalisers and the other field parsers: FieldError or a value, never a crash."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from sec_tally import TALLY

from callback_service.intake.normalise import (
    FieldError,
    IdValue,
    PhoneValue,
    clean_text,
    normalise_id,
    normalise_phone,
    parse_bool,
    parse_channel,
    parse_tags,
    parse_time,
)
from callback_service.security.masking import mask_id_number, mask_phone, mask_text

FUZZ = settings(max_examples=500, deadline=None)
TZ = ZoneInfo("Asia/Shanghai")
digits = st.text(alphabet="0123456789", min_size=1, max_size=22)
phone_like = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(["", "+86", "86", "0086", "+", "(0356)", "０", "+８６"]), digits,
              st.sampled_from(["", "-", " ", "ext1", "#", "\u200b", "\n"]),
              st.text(alphabet="0123456789０１２-", max_size=8))
    .map("".join))
id_like = st.one_of(st.text(max_size=30), st.tuples(digits, st.sampled_from(["", "X", "x", " ", "Y", "\x00"]))
                    .map("".join))


def _run(target: str, fn: object, *args: object) -> object:
    try:
        value = fn(*args)  # type: ignore[operator]
    except FieldError:
        TALLY.add(target, "rejected: FieldError")
        return None
    TALLY.add(target, "normalised" if value is not None else "empty: None")
    return value


@FUZZ
@given(phone_like)
def test_phone_normaliser_never_raises_and_never_keeps_an_unmasked_number(text: str) -> None:
    value = _run("normalise_phone (hypothesis)", normalise_phone, text)
    assert value is None or isinstance(value, PhoneValue)
    if isinstance(value, PhoneValue):
        assert value.e164 is None or (value.valid and value.e164.startswith("+") and value.e164[1:].isdigit())
        core = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
        if len(core) >= 7:
            assert core not in value.masked


@FUZZ
@given(id_like)
def test_id_normaliser_raises_only_field_error_and_masks_the_number(text: str) -> None:
    value = _run("normalise_id (hypothesis)", normalise_id, text, "key")
    assert value is None or isinstance(value, IdValue)
    if isinstance(value, IdValue) and len(value.number) >= 10:
        assert value.number not in value.masked and len(value.hash) == 64


@FUZZ
@given(st.text(max_size=60))
def test_text_time_bool_channel_and_tag_parsers_raise_only_field_error(text: str) -> None:
    _run("clean_text (hypothesis)", clean_text, text)
    _run("parse_time (hypothesis)", parse_time, text, TZ)
    _run("parse_bool (hypothesis)", parse_bool, text, None)
    _run("parse_channel (hypothesis)", parse_channel, text)
    _run("parse_tags (hypothesis)", parse_tags, text)


@FUZZ
@given(st.one_of(st.datetimes(), st.datetimes(timezones=st.timezones())),
       st.sampled_from(["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "iso"]))
def test_times_at_the_ends_of_the_calendar_are_field_errors_not_overflows(when: object, fmt: str) -> None:
    text = when.isoformat() if fmt == "iso" else when.strftime(fmt)  # type: ignore[attr-defined]
    _run("parse_time: datetimes from year 1 to 9999 (hypothesis)", parse_time, text, TZ)


@FUZZ
@given(st.text(max_size=80))
def test_maskers_never_raise(text: str) -> None:
    assert isinstance(mask_phone(text), str) and isinstance(mask_id_number(text), str)
    assert isinstance(mask_text(text), str)
    TALLY.add("mask_phone / mask_id_number / mask_text on any text (hypothesis)", "string returned")


def test_an_id_whose_region_stdnum_cannot_place_is_a_warning_not_a_crash() -> None:
    """Found by atheris (tests/fuzz): python-stdnum raised KeyError('county') for region 110505."""
    value = normalise_id("11050519491231003X", "key")
    assert value is not None and value.valid is False and value.masked == "110505********003X"
    TALLY.add("normalise_id: ID numbers from regions python-stdnum cannot place (atheris finding)",
              "flagged invalid (warning)")
