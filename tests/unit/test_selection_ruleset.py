"""callback_rules.yaml: documented defaults, merging, and validation errors that name the key."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from callback_service.selection import Pacing, RulesError, load_rules, rules_from_mapping
from callback_service.selection.ruleset import DEFAULTS, Window

REPO_RULES = Path(__file__).resolve().parents[2] / "callback_rules.yaml"


def test_repo_rules_file_documents_exactly_the_built_in_defaults() -> None:
    assert yaml.safe_load(REPO_RULES.read_text(encoding="utf-8")) == DEFAULTS
    assert load_rules(REPO_RULES) == load_rules(None)


def test_defaults() -> None:
    r = load_rules(None)
    assert str(r.tz) == "Asia/Shanghai"
    assert r.calendar.windows == (Window(time(9), time(12)), Window(time(14, 30), time(20)))
    assert r.calendar.call_on_weekends is True
    assert r.round1.eligible_channels == {"walk_in", "kiosk"}
    assert r.round1.due_after == timedelta(hours=24) and r.round1.expires_after == timedelta(days=7)
    assert r.round2.repeat_min_reports == 3 and r.round2.repeat_window == timedelta(days=30)
    assert r.round2.due_after_round1 == timedelta(days=7)
    assert r.retry.max_attempts == 3 and r.retry.delays["busy"] == timedelta(minutes=30)
    assert r.max_tasks_per_phone_per_day == 1
    assert r.pacing_for(None) == Pacing(4, 30)


def test_a_site_file_overrides_only_the_keys_it_names(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "calendar:\n  call_on_weekends: false\n  extra_holidays: [2031-01-01]\n"
        "retry:\n  delay_minutes: {busy: 45}\n"
        "pacing:\n  trunks: {pstn-1: {max_concurrent: 8, max_per_minute: 60}}\n",
        encoding="utf-8",
    )
    r = load_rules(path)
    assert r.calendar.call_on_weekends is False and r.calendar.extra_holidays == {date(2031, 1, 1)}
    assert r.calendar.windows == load_rules(None).calendar.windows
    assert r.retry.delays["busy"] == timedelta(minutes=45) and r.retry.delays["no_answer"] == timedelta(hours=2)
    assert r.pacing_for("pstn-1") == Pacing(8, 60) and r.pacing_for("other") == Pacing(4, 30)


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    assert load_rules(path) == load_rules(None)


@pytest.mark.parametrize("override,key,fragment", [
    ({"retry": {"delay_minutes": {"busy": -5}}}, "retry.delay_minutes.busy", "number > 0"),
    ({"retry": {"delay_minutes": {"answered_complete": 5}}}, "retry.delay_minutes.answered_complete", "unknown key"),
    ({"retry": {"max_attempts": 0}}, "retry.max_attempts", "integer >= 1"),
    ({"retry": {"max_attempts": 2.5}}, "retry.max_attempts", "integer >= 1"),
    ({"calendar": {"calling_windows": ["12:00-09:00"]}}, "calendar.calling_windows", "ends before it starts"),
    ({"calendar": {"calling_windows": ["09:00-12:00", "11:00-13:00"]}}, "calendar.calling_windows", "overlap"),
    ({"calendar": {"calling_windows": ["9am-noon"]}}, "calendar.calling_windows", "not a window"),
    ({"calendar": {"calling_windows": ["09:00-25:00"]}}, "calendar.calling_windows", "not a window"),
    ({"calendar": {"calling_windows": []}}, "calendar.calling_windows", "at least one"),
    ({"calendar": {"call_on_weekends": "yes"}}, "calendar.call_on_weekends", "true or false"),
    ({"calendar": {"extra_holidays": ["2025-13-01"]}}, "calendar.extra_holidays", "not a date"),
    ({"calendar": {"extra_holiday": []}}, "calendar.extra_holiday", "unknown key"),
    ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ({"key_tags": ["domestic_violence", "fraud"]}, "key_tags", "'fraud' is not one of"),
    ({"round1": {"eligible_channels": ["walk_in", "email"]}}, "round1.eligible_channels", "'email'"),
    ({"round1": {"ineligible_channel_reasons": {"fax": "channel_not_eligible"}}},
     "round1.ineligible_channel_reasons.fax", "unknown key"),
    ({"round1": {"ineligible_channel_reasons": {"phone": "nope"}}},
     "round1.ineligible_channel_reasons.phone", "expected one of"),
    ({"round1": {"expires_after_days": 0}}, "round1.expires_after_days", "number > 0"),
    ({"round1": {"due_after_hour": 24}}, "round1.due_after_hour", "unknown key"),
    ({"round2": {"repeat_min_reports": 0}}, "round2.repeat_min_reports", "integer >= 1"),
    ({"per_phone": {"max_tasks_per_day": 0}}, "per_phone.max_tasks_per_day", "integer >= 1"),
    ({"priority": {"first_tags": ["minor", "minor"]}}, "priority.first_tags", "duplicate"),
    ({"pacing": {"trunks": {"t1": {"max_concurrent": 0, "max_per_minute": 5}}}},
     "pacing.trunks.t1.max_concurrent", "integer >= 1"),
    ({"pacing": {"trunks": {"t1": {"max_concurrent": 2}}}}, "pacing.trunks.t1.max_per_minute", "missing"),
    ({"pacing": {"default": {"max_per_second": 1}}}, "pacing.default.max_per_second", "unknown key"),
    ({"minors": None}, "minors", "expected a mapping"),
    ({"surprise": 1}, "surprise", "unknown key"),
])
def test_bad_value_names_the_key(override: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(RulesError) as err:
        rules_from_mapping(override, source="site.yaml")
    assert f"site.yaml: {key}: " in str(err.value) and fragment in str(err.value)


def test_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("retry:\n  delay_minutes:\n    busy: soon\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"rules\.yaml: retry\.delay_minutes\.busy: expected a number"):
        load_rules(path)


def test_unreadable_or_malformed_files_raise_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read rules"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("calendar: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesError, match="cannot read rules"):
        load_rules(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n", encoding="utf-8")
    with pytest.raises(RulesError, match="mapping at the top level"):
        load_rules(listy)
