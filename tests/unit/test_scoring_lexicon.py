"""The lexicon scorer and the DTMF/speech combination, on the held-out split and on targeted cases."""

from __future__ import annotations

import argparse
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callback_service.contracts import LABELS, PROBLEM_CODES
from callback_service.scoring.base import ScoreResult
from callback_service.scoring.cli import add_score_parser, cmd_score
from callback_service.scoring.combine import parse_dtmf, score_answer
from callback_service.scoring.dataset import evaluate, load_labelled
from callback_service.scoring.factory import build_scorer
from callback_service.scoring.lexicon import LexiconScorer

S, B, U, X = "satisfied", "basically_satisfied", "unsatisfied", "unknown"
lexicon = LexiconScorer()


def label_of(text: str) -> str:
    return lexicon.score(text).label


# --- the held-out split ------------------------------------------------------------------------

def test_lexicon_label_accuracy_on_held_out_split_is_at_least_90_percent() -> None:
    metrics = evaluate(load_labelled("test"), lambda r: score_answer(r.dtmf, r.text))
    assert metrics.n >= 90
    assert metrics.accuracy >= 0.90, metrics.errors


def test_lexicon_problem_micro_f1_on_held_out_split_is_at_least_80_percent() -> None:
    metrics = evaluate(load_labelled("test"), lambda r: score_answer(r.dtmf, r.text))
    assert metrics.problem_f1 >= 0.80, metrics.errors


def test_labelled_set_is_large_stratified_and_covers_every_label_and_problem_code() -> None:
    rows = load_labelled()
    train, test = load_labelled("train"), load_labelled("test")
    assert len(rows) >= 300 and len(train) + len(test) == len(rows)
    assert 0.6 <= len(train) / len(rows) <= 0.75
    for label in LABELS:
        n_train = sum(r.label == label for r in train)
        n_test = sum(r.label == label for r in test)
        assert n_train >= 20 and n_test >= 10, label
    for code in PROBLEM_CODES:
        assert sum(code in r.problems for r in train) >= 10, code
        assert sum(code in r.problems for r in test) >= 5, code
    assert not {(r.text, r.dtmf) for r in train} & {(r.text, r.dtmf) for r in test}


# --- negation, hedges, contrast, rhetoric ------------------------------------------------------

@pytest.mark.parametrize("text, label", [
    ("不满意", U), ("很不满意", U), ("不太满意", U), ("不是很满意", U), ("一点都不满意", U),
    ("特别不满意", U), ("没什么不满意的", S), ("没有不满意的地方", S), ("很满意，没有任何不满意的", S),
    ("满意什么呀", U), ("有什么好满意的", U), ("你说我能满意吗", U), ("怎么可能满意呢", U),
    ("满意个屁", U), ("还满意？根本没人管", U), ("满意吗？满意", S),
])
def test_negation_double_negation_and_rhetoric(text: str, label: str) -> None:
    assert label_of(text) == label


@pytest.mark.parametrize("text, label", [
    ("非常满意", S), ("特别满意", S), ("比较满意", S), ("基本满意", B), ("还算满意吧", B),
    ("还行吧", B), ("一般般", B), ("凑合", B), ("马马虎虎", B), ("过得去", B), ("不好不坏吧", B),
    ("还可以，说不上特别满意", B),
])
def test_degree_words_limiters_and_hedges(text: str, label: str) -> None:
    assert label_of(text) == label


@pytest.mark.parametrize("text, label, problems", [
    ("态度挺好，就是一直没给我反馈", B, ("no_feedback",)),
    ("态度挺好就是一直没给我反馈", B, ("no_feedback",)),     # Whisper often drops the comma
    ("满意是满意，就是太慢了", B, ("slow",)),
    ("有点慢，但是总的来说很满意", S, ("slow",)),
    ("虽然慢了点，但是最后还是解决了", B, ("slow",)),
    ("态度倒是挺好，但是我还是不满意", U, ()),
    ("还行，就是没给我回执", B, ("no_receipt",)),
])
def test_the_clause_after_a_contrast_dominates(text: str, label: str, problems: tuple[str, ...]) -> None:
    result = lexicon.score(text)
    assert (result.label, result.problems) == (label, problems)


# --- ASR homophones via pinyin -----------------------------------------------------------------

@pytest.mark.parametrize("text, label", [
    ("慢意", S), ("很漫意", S), ("买一买一", S), ("嗯很买一", S), ("基本满一", B), ("滿意", S),
    ("不慢意", U), ("不漫意", U), ("不买一", U), ("不满一", U), ("步满意", U), ("不是很慢意", U),
    ("全部满意", S),
])
def test_homophones_are_read_on_pinyin(text: str, label: str) -> None:
    assert label_of(text) == label


@pytest.mark.parametrize("text", ["我买一个手机被骗了", "拖了满一个月了", "能不能慢一点说", "我的毛衣被偷了"])
def test_real_words_that_sound_like_manyi_are_not_repaired(text: str) -> None:
    assert S not in (label_of(text),)
    assert not any("→满意" in r for r in lexicon.score(text).reasons)


NEGATED_FORMS = ["不", "不太", "不是很", "一点都不", "很不", "不怎么", "没那么"]
HOMOPHONES = ["满意", "慢意", "漫意", "满一", "买一", "蛮意"]


@pytest.mark.parametrize("neg", NEGATED_FORMS)
@pytest.mark.parametrize("word", HOMOPHONES)
def test_a_negated_satisfied_homophone_is_never_satisfied(neg: str, word: str) -> None:
    assert label_of(neg + word) == U


@settings(max_examples=150, deadline=None)
@given(before=st.text(alphabet="嗯啊我觉得那个就是对吧，。 ", max_size=6),
       neg=st.sampled_from(NEGATED_FORMS), word=st.sampled_from(HOMOPHONES),
       after=st.text(alphabet="的了啊吧呀，。！ ", max_size=4))
def test_property_negation_survives_fillers_and_homophones(before: str, neg: str, word: str, after: str) -> None:
    assert label_of(before + neg + word + after) != S


# --- problems, safety, unknown -----------------------------------------------------------------

@pytest.mark.parametrize("text, code", [
    ("回值没给我", "no_receipt"), ("连个回执都没给", "no_receipt"), ("他们不给受理", "not_accepted"),
    ("说不归他们管", "not_accepted"), ("一直不给立案", "not_filed"), ("态度很差", "attitude"),
    ("爱理不理的", "attitude"), ("拖了三个月了", "slow"), ("报完就没下文了", "no_feedback"),
    ("他扬言要报复我", "safety"),
])
def test_problem_codes_are_detected(text: str, code: str) -> None:
    assert code in lexicon.score(text).problems


@pytest.mark.parametrize("text", ["回执当时就给我了", "当场就给立案了", "处理得不慢", "一点都不拖",
                                  "没问题，回执也给了"])
def test_positive_mentions_of_a_topic_are_not_problems(text: str) -> None:
    assert lexicon.score(text).problems == ()


@pytest.mark.parametrize("text, label", [
    ("满意，不过我还是怕他报复", S), ("他又来威胁我了", X), ("不满意，他说要弄死我", U),
])
def test_safety_is_urgent_whatever_the_label(text: str, label: str) -> None:
    result = lexicon.score(text)
    assert result.label == label and result.urgent and "safety" in result.problems


def test_result_type_forces_urgent_when_safety_is_among_the_problems() -> None:
    assert ScoreResult(label=S, score=90, confidence=0.9, problems=("safety",)).urgent


@pytest.mark.parametrize("text", ["你打错了吧", "我在开车，不方便", "喂？喂？听不清", "", "嗯", "……",
                                  "字幕由Amara.org社区提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目"])
def test_no_opinion_answers_are_unknown(text: str) -> None:
    assert label_of(text) == X


# --- DTMF and speech ---------------------------------------------------------------------------

def test_dtmf_only_answers_use_the_key() -> None:
    for key, label in (("1", S), ("2", B), ("3", U), ("1#", S)):
        result = score_answer(key, None)
        assert (result.label, result.method, result.conflict) == (label, "dtmf", False)


def test_pressed_1_then_complained_about_no_feedback_is_basically_satisfied() -> None:
    result = score_answer("1", "挺好，就是没人通知我后续")
    assert result.label == B and result.problems == ("no_feedback",) and not result.conflict


def test_pressed_1_but_said_not_satisfied_is_a_flagged_conflict() -> None:
    result = score_answer("1", "不满意")
    assert result.conflict and result.needs_review and result.label == B and result.method == "dtmf"


def test_pressed_3_but_said_very_satisfied_is_a_flagged_conflict_that_stays_unsatisfied() -> None:
    result = score_answer("3", "非常满意")
    assert result.conflict and result.needs_review and result.label == U


def test_pressed_2_then_said_plainly_not_satisfied_is_unsatisfied() -> None:
    assert score_answer("2", "不满意，太慢了").label == U
    assert score_answer("2", "还可以，说不上特别满意").label == B


def test_a_retracted_key_yields_to_speech() -> None:
    result = score_answer("3", "哎呀，刚才按错了，我是满意的")
    assert result.label == S and result.method == "lexicon"


def test_speech_only_uses_the_lexicon_and_keeps_safety_with_a_key() -> None:
    assert score_answer(None, "很满意").method == "lexicon"
    result = score_answer("1", "他说要弄死我")
    assert result.label == S and result.urgent and result.method == "dtmf"


def test_invalid_or_missing_key_without_speech_is_unknown() -> None:
    assert parse_dtmf("9") is None and parse_dtmf(None) is None
    assert score_answer("9", None).label == X and score_answer("9", None).needs_review
    assert score_answer(None, None).label == X


# --- CLI and factory ---------------------------------------------------------------------------

def _score_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_score_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["score", *argv])


def test_score_cli_jsonl_writes_one_result_per_line_in_order(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    lines = ['{"text": "不慢意"}', "", '{"text": "", "dtmf": "2"}', "not json", '{"text": "他说要弄死我", "dtmf": 1}']
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert cmd_score(_score_args("--jsonl")) == 2  # one bad line
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o.get("label") for o in out] == [U, B, None, S]
    assert "error" in out[2] and out[3]["urgent"] and out[3]["method"] == "dtmf"
    assert set(out[0]) >= {"label", "score", "confidence", "problems", "urgent", "reasons", "method"}


def test_score_cli_json_and_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_score(_score_args("--dtmf", "1", "挺好，就是没人通知我后续", "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["label"], result["problems"], result["method"]) == (B, ["no_feedback"], "dtmf")
    assert cmd_score(_score_args("不满意，回执也没给")) == 0
    assert "不满意 (unsatisfied)" in capsys.readouterr().out


def test_factory_without_a_model_path_is_lexicon_only() -> None:
    scorer = build_scorer(argparse.Namespace(scorer_model_path=""))
    assert scorer.names == ("lexicon",) and scorer("1", None).label == S
