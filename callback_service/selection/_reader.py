"""Typed access to a nested rules mapping; every error names the dotted key that is wrong."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class RulesError(ValueError):
    """A rules file or mapping holds a value the selection rules cannot use."""


class Reader:
    def __init__(self, data: Any, source: str, path: str = "") -> None:
        self._data = data
        self._source = source
        self._path = path

    def fail(self, key: str, message: str) -> RulesError:
        return RulesError(f"{self._source}: {self._key(key)}: {message}")

    def _key(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def raw(self, key: str) -> Any:
        if key not in self._data:
            raise self.fail(key, "missing")
        return self._data[key]

    def section(self, key: str) -> Reader:
        value = self.raw(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {value!r}")
        return Reader(value, self._source, self._key(key))

    def names(self, allowed: Iterable[str] | None = None) -> list[str]:
        names = [str(k) for k in self._data]
        if allowed is not None:
            allowed = set(allowed)
            for name in names:
                if name not in allowed:
                    raise self.fail(name, f"unknown key; expected one of {sorted(allowed)}")
        return names

    def reject_unknown(self, template: Mapping[str, Any]) -> None:
        """Typos must fail loudly: a misspelt key would otherwise silently keep its default."""
        self.names(allowed=template)
        for key, sub in template.items():
            if isinstance(sub, Mapping) and sub and key in self._data and _is_fixed(key):
                self.section(key).reject_unknown(sub)

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def integer(self, key: str, minimum: int) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def number(self, key: str, minimum: float, exclusive: bool = False) -> float:
        value = self.raw(key)
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        if bad or value < minimum or (exclusive and value == minimum):
            bound = f"> {minimum}" if exclusive else f">= {minimum}"
            raise self.fail(key, f"expected a number {bound}, got {value!r}")
        return float(value)

    def choice(self, key: str, allowed: Iterable[str]) -> str:
        value = self.raw(key)
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(key, f"expected one of {list(allowed)}, got {value!r}")
        return str(value)

    def strings(self, key: str) -> list[str]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, got {value!r}")
        return list(value)

    def choices(self, key: str, allowed: Iterable[str]) -> list[str]:
        values, allowed = self.strings(key), tuple(allowed)
        for value in values:
            if value not in allowed:
                raise self.fail(key, f"{value!r} is not one of {list(allowed)}")
        if len(set(values)) != len(values):
            raise self.fail(key, f"duplicate entries in {values!r}")
        return values

    def dates(self, key: str) -> list[date]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of dates (YYYY-MM-DD), got {value!r}")
        return [self._date(key, v) for v in value]

    def _date(self, key: str, value: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(key, f"{value!r} is not a date (YYYY-MM-DD)") from None

    def zone(self, key: str) -> ZoneInfo:
        value = self.raw(key)
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(key, f"unknown time zone {value!r}") from None

    def windows(self, key: str) -> list[tuple[time, time]]:
        spans = sorted(self._window(key, text) for text in self.strings(key))
        if not spans:
            raise self.fail(key, "at least one calling window is required")
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise self.fail(key, "calling windows overlap")
        return spans

    def _window(self, key: str, text: str) -> tuple[time, time]:
        match = _WINDOW.match(text)
        try:
            if match is None:
                raise ValueError(text)
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise self.fail(key, f"{text!r} is not a window like '09:00-12:00'") from None
        if end <= start:
            raise self.fail(key, f"{text!r} ends before it starts (windows cannot span midnight)")
        return start, end


# Maps whose keys are data (dispositions, channels, trunk names), validated by their builders.
_OPEN_MAPS = frozenset({"delay_minutes", "ineligible_channel_reasons", "trunks"})


def _is_fixed(key: str) -> bool:
    return key not in _OPEN_MAPS
