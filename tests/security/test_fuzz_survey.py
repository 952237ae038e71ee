"""Fuzzing the survey-template loader: any file content gives a Survey or a SurveyTemplateError.

Templates are deploy-time files, but a bad one must stop start-up with a message naming the file and
field, never a traceback from deep inside PyYAML or the schema checks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sec_tally import TALLY

from callback_service.surveys.errors import SurveyTemplateError
from callback_service.surveys.loader import load_survey
from callback_service.surveys.model import Survey

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = (REPO / "survey_templates" / "first_callback.yaml").read_bytes()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YAML_BITS = st.sampled_from(["\n", ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "!!python/object:os.system ", "<<: *a",
                             "? ", "|", ">-", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "\t", "\x00", "\ufeff",
                             "id: ", "questions:", "kind: ", "dtmf_map: ", "branches: ", "012: ", "no", "~", "1e9999"])
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
tree = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["id", "title", "questions", "goodbye", "kind", "prompt", "text", "dtmf_map",
                                     "branches", "max_digits", "retries", "1", "*", "bureau_name", "x"]),
                    inner, max_size=5)), max_leaves=20)


def _load(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "first_callback.yaml"   # the id must match the file name
        path.write_bytes(content)
        try:
            survey = load_survey(path, bureau_name="某某市公安局")
        except SurveyTemplateError as exc:
            assert "first_callback.yaml" in str(exc)
            return "refused: SurveyTemplateError naming the file"
    assert isinstance(survey, Survey)
    return "loaded"


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_only_template_errors(content: bytes) -> None:
    TALLY.add("survey loader: arbitrary bytes (hypothesis)", _load(content))


@FUZZ
@given(st.lists(st.one_of(YAML_BITS, st.text(max_size=10)), max_size=30))
def test_yaml_shaped_text_gives_only_template_errors(parts: list[str]) -> None:
    TALLY.add("survey loader: YAML-shaped text incl. tags, anchors, merges (hypothesis)",
              _load("".join(parts).encode("utf-8", errors="surrogatepass")))


@FUZZ
@given(tree)
def test_documents_of_any_structure_give_only_template_errors(doc: object) -> None:
    TALLY.add("survey loader: YAML documents of any structure (hypothesis)",
              _load(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", errors="surrogatepass")))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(TEMPLATE) - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_real_template_with_corrupted_bytes_gives_only_template_errors(flips: list[tuple[int, int]]) -> None:
    data = bytearray(TEMPLATE)
    for at, value in flips:
        data[at] = value
    TALLY.add("survey loader: real template with corrupted bytes (hypothesis)", _load(bytes(data)))


def test_the_unmodified_template_loads() -> None:
    assert _load(TEMPLATE) == "loaded"


def test_billion_laughs_and_python_tags_are_refused() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12))
    for content in (laughs, "!!python/object/apply:os.system [id]\n", "id: !!python/name:os.system\n"):
        outcome = _load(content.encode())
        assert outcome.startswith("refused")
        TALLY.add("survey loader: YAML bombs and python tags", outcome)


TEMPLATE_DOC = yaml.safe_load(TEMPLATE)
QUESTION_FIELDS = ["id", "kind", "prompt", "text", "dtmf_map", "branches", "max_digits", "dtmf_timeout_s", "retries",
                   "record_max_s", "record_silence_s", "extra"]


@FUZZ
@given(st.integers(0, len(TEMPLATE_DOC["questions"]) - 1), st.sampled_from(QUESTION_FIELDS), tree)
def test_one_field_of_a_real_template_set_to_anything_gives_only_template_errors(index: int, key: str,
                                                                                 value: object) -> None:
    doc = yaml.safe_load(TEMPLATE)
    doc["questions"][index][key] = value
    TALLY.add("survey loader: one field of a real template set to any value (hypothesis)",
              _load(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", errors="surrogatepass")))
