from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from callback_service.intake.normalise import (
    FieldError,
    clean_text,
    normalise_id,
    normalise_phone,
    parse_bool,
    parse_channel,
    parse_tags,
    parse_time,
)
from callback_service.intake.parsers import FileFormatError, decode, read_csv, read_json
from callback_service.security.masking import mask_id_number, mask_phone, mask_text

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("raw,e164", [
    ("13812345678", "+8613812345678"),
    ("１３８１２３４５６７８", "+8613812345678"),
    ("+86 138-1234-5678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("0356-2021234", "+863562021234"),
    ("(0356)2021234", "+863562021234"),
    ("010-62345678", "+861062345678"),
])
def test_phone_is_normalised_to_e164(raw: str, e164: str) -> None:
    value = normalise_phone(clean_text(raw))
    assert value is not None and value.valid and value.e164 == e164


@pytest.mark.parametrize("raw", ["12345", "1381234567", "abc", "99999999999999"])
def test_invalid_phone_is_kept_but_flagged(raw: str) -> None:
    value = normalise_phone(raw)
    assert value is not None and not value.valid and value.e164 is None


def test_id_checksum_failure_is_a_warning_not_an_error() -> None:
    good = normalise_id("11010119900307451X".replace("X", "4"), "k")
    assert good is not None
    bad = normalise_id("110101199003074515", "k")
    assert bad is not None and not bad.valid and bad.masked == "110101********4515"


def test_id_with_letters_is_rejected() -> None:
    with pytest.raises(FieldError):
        normalise_id("11010119900307ABCD", "k")


def test_id_hash_depends_on_key() -> None:
    assert normalise_id("110101199003074514", "a").hash != normalise_id("110101199003074514", "b").hash


@pytest.mark.parametrize("text", ["a\rb", "a\nb", "x\x00", "\x1b[31m", "a\u2028b"])
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(FieldError):
        clean_text(text)


def test_full_width_is_folded() -> None:
    assert clean_text("ＪＪ２０２６") == "JJ2026"


def test_local_time_is_shanghai() -> None:
    t = parse_time("2026-11-20 09:15", TZ)
    assert t.astimezone(UTC) == datetime(2026, 11, 20, 1, 15, tzinfo=UTC)


def test_iso_time_with_offset_is_respected() -> None:
    t = parse_time("2026-11-20T09:15:00+00:00", TZ)
    assert t.astimezone(UTC).hour == 9


@pytest.mark.parametrize("text", ["2026-13-01 10:00", "yesterday", "2026-11-20T10:00:00", ""])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(FieldError):
        parse_time(text, TZ)


def test_channels_tags_and_booleans() -> None:
    assert parse_channel("上门") == "walk_in" and parse_channel("KIOSK") == "kiosk"
    assert parse_tags("家暴；涉青少年;minor") == ["domestic_violence", "minor"]
    assert parse_bool("是", False) is True and parse_bool("", None) is None and parse_bool("0", True) is False
    for bad in (lambda: parse_channel("邮寄"), lambda: parse_tags("涉黑"), lambda: parse_bool("maybe", None)):
        with pytest.raises(FieldError):
            bad()


def test_encoding_detection_order() -> None:
    text = "报案编号\n甲"
    assert decode(text.encode("utf-8-sig"), "f") == text
    assert decode(text.encode("utf-8"), "f") == text
    assert decode(text.encode("gbk"), "f") == text
    assert decode("𠀀".encode("gb18030"), "f") == "𠀀"


def test_csv_without_report_no_column_is_a_file_error() -> None:
    with pytest.raises(FileFormatError, match="report_no"):
        list(read_csv(b"a,b\n1,2\n", "x.csv"))


def test_csv_line_numbers_follow_physical_lines() -> None:
    data = b'report_no,reporter_name\nA1,"two\nlines"\nA2,x\n'
    assert [line for line, _ in read_csv(data, "x.csv")] == [2, 4]


def test_json_accepts_chinese_keys_and_wrapped_lists() -> None:
    rows = list(read_json('{"reports": [{"报案编号": "A1"}, 5]}'.encode(), "x.json"))
    assert rows[0] == (1, {"report_no": "A1"}) and "__error__" in rows[1][1]


def test_masking() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_id_number("140502198805061232") == "140502********1232"
    masked = mask_text("call 13812345678 or +8613912345678, id 140502198805061232, tel 0356-2021234")
    for secret in ("13812345678", "13912345678", "198805061232", "2021234"):
        assert secret not in masked
