"""Load and validate ``survey_templates/*.yaml`` into ``Survey`` objects.

Files whose name starts with ``_`` are not surveys; ``_common.yaml`` holds settings shared by all
templates (today only ``bureau_name``). A template may override ``bureau_name`` at its top level, and
the caller may override both (the composition root passes ``Settings.bureau_name``).

YAML is read with two deliberate departures from PyYAML's YAML 1.1 defaults, because both bite
survey authors: mapping keys keep their source text (``1:`` is the digit "1", ``012:`` stays
"012" and is rejected instead of silently becoming 10), and only true/false are booleans (an answer
value ``no`` stays the string "no"). Duplicate keys are an error instead of last-one-wins.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from callback_service.surveys.errors import SurveyTemplateError
from callback_service.surveys.model import Question, Survey
from callback_service.surveys.schema import CJK_RE, build_survey

log = logging.getLogger(__name__)

COMMON_FILE = "_common.yaml"
COMMON_KEYS = frozenset({"bureau_name"})
MAX_TEMPLATE_BYTES = 256 * 1024
MAX_BUREAU_CHARS = 40


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader with source-text mapping keys, YAML 1.2 booleans and no duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(
                    None, None, "mapping keys must be plain scalars", key_node.start_mark
                )
            key = key_node.value
            if key in out:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            out[key] = self.construct_object(value_node, deep=deep)
        return out


_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TemplateLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_TemplateLoader.add_constructor("tag:yaml.org,2002:map", _TemplateLoader.construct_mapping)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; every failure becomes a SurveyTemplateError naming the file (and line)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SurveyTemplateError(path, "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise SurveyTemplateError(path, "", f"file is larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SurveyTemplateError(path, "", "is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_TemplateLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else ""
        raise SurveyTemplateError(path, where, str(exc.problem or exc.context)) from None
    except yaml.YAMLError as exc:
        raise SurveyTemplateError(path, "", str(exc)) from None


def _check_bureau_name(value: Any, file: Path, field: str) -> str:
    if not isinstance(value, str) or not CJK_RE.search(value):
        raise SurveyTemplateError(file, field, "must be the bureau's name in Simplified Chinese")
    if len(value) > MAX_BUREAU_CHARS or any(ch in value for ch in "{}\n"):
        raise SurveyTemplateError(file, field, f"must be one line of at most {MAX_BUREAU_CHARS} characters")
    return value.strip()


def _common_bureau_name(directory: Path) -> str | None:
    path = directory / COMMON_FILE
    if not path.exists():
        return None
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SurveyTemplateError(path, "", "must be a mapping")
    unknown = sorted(set(data) - COMMON_KEYS)
    if unknown:
        raise SurveyTemplateError(path, unknown[0], "unknown field")
    return _check_bureau_name(data["bureau_name"], path, "bureau_name") if "bureau_name" in data else None


def _load(path: Path, common_name: str | None, override: str | None) -> Survey:
    data = read_yaml(path)
    name = override
    if name is None and isinstance(data, dict) and "bureau_name" in data:
        name = _check_bureau_name(data["bureau_name"], path, "bureau_name")
    name = name if name is not None else common_name
    if name is None:
        raise SurveyTemplateError(path, "bureau_name", f"is not set here nor in {COMMON_FILE}")
    return build_survey(data, path, name)


def load_survey(path: Path | str, *, bureau_name: str | None = None) -> Survey:
    """Load one template; ``_common.yaml`` next to it supplies shared settings."""
    path = Path(path)
    override = _check_bureau_name(bureau_name, path, "bureau_name") if bureau_name is not None else None
    return _load(path, _common_bureau_name(path.parent), override)


def template_paths(directory: Path | str) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        raise SurveyTemplateError(directory, "", "survey template directory not found")
    paths = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    if not paths:
        raise SurveyTemplateError(directory, "", "no survey templates (*.yaml) found")
    return paths


def load_all(directory: Path | str, *, bureau_name: str | None = None) -> dict[str, Survey]:
    """Load every template in ``directory``, keyed by survey id; prompt names must agree across files."""
    paths = template_paths(directory)
    common = _common_bureau_name(Path(directory))
    override = _check_bureau_name(bureau_name, paths[0], "bureau_name") if bureau_name is not None else None
    surveys = {p.stem: _load(p, common, override) for p in paths}
    prompt_texts(surveys, Path(directory))
    log.debug("loaded %s survey templates from %s", len(surveys), directory)
    return surveys


def survey_prompts(survey: Survey) -> Iterator[tuple[str, Question]]:
    """(field path, question) for every prompt the survey plays, the goodbye included."""
    for i, q in enumerate(survey.questions):
        yield f"questions[{i}]", q
    if survey.goodbye is not None:
        yield "goodbye", survey.goodbye


def prompt_texts(surveys: dict[str, Survey], directory: Path) -> dict[str, str]:
    """Prompt name -> text over all surveys. One name may be shared only if the text is the same."""
    texts: dict[str, tuple[str, str]] = {}
    for sid, survey in surveys.items():
        for field, q in survey_prompts(survey):
            where = f"{sid}.yaml {field}"
            seen = texts.setdefault(q.prompt, (q.text, where))
            if seen[0] != q.text:
                raise SurveyTemplateError(
                    directory / f"{sid}.yaml",
                    f"{field}.prompt",
                    f"prompt {q.prompt!r} is also used by {seen[1]} with different text",
                )
    return {name: text for name, (text, _) in sorted(texts.items())}
