"""Pure parts of transcription: CER, Simplified clean-up, hallucination and repetition checks, packing."""

from __future__ import annotations

import numpy as np
import pytest

from callback_service.transcription.base import TranscriptSegment
from callback_service.transcription.guards import compression_ratio, looks_repetitive
from callback_service.transcription.metrics import cer, corpus_cer, edit_distance, normalise_for_cer
from callback_service.transcription.packing import SAMPLE_RATE, WINDOW_SECONDS, PackingPlan
from callback_service.transcription.text import clean_segment_text, is_hallucination, join_segments


def test_cer_ignores_punctuation_spaces_and_script() -> None:
    assert cer("我现在在开车，不方便说。", "我現在在開車, 不方便說") == 0.0


def test_cer_counts_substitutions_insertions_and_deletions() -> None:
    assert edit_distance("满意", "买一") == 2
    assert edit_distance("不满意", "满意") == 1
    assert edit_distance("满意", "很满意啊") == 2
    assert cer("不满意", "不买意") == pytest.approx(1 / 3)


def test_cer_of_empty_reference_penalises_any_text() -> None:
    assert cer("", "") == 0.0
    assert cer("", "谢谢观看") == 1.0


def test_corpus_cer_weighs_by_reference_length() -> None:
    pairs = [("满意", "满意"), ("民警处理得很及时", "民警处理得很急时")]
    assert corpus_cer(pairs) == pytest.approx(1 / 10)


def test_normalisation_folds_full_width_and_case() -> None:
    assert normalise_for_cer("ＯＫ，好的！ Abc") == "ok好的abc"


def test_clean_segment_text_is_simplified_with_chinese_punctuation() -> None:
    assert clean_segment_text("為 為 聽不清楚 你大點聲") == "为，为，听不清楚，你大点声"
    assert clean_segment_text("你找谁啊?就不是他的电话") == "你找谁啊？就不是他的电话"
    assert clean_segment_text(" 。 ") == ""


@pytest.mark.parametrize("text", [
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
    "字幕由Amara.org社区提供",
    "謝謝觀看",
    "谢谢大家收看!",
])
def test_known_hallucinations_are_recognised(text: str) -> None:
    assert is_hallucination(text)


@pytest.mark.parametrize("text", [
    "谢谢你们啊", "满意，谢谢", "请你们关注一下我的案子", "谢谢你们的支持", "我觉得挺好的，没有什么意见",
])
def test_real_answers_are_not_taken_for_hallucinations(text: str) -> None:
    assert not is_hallucination(text)


def test_repetition_detector_flags_loops_but_not_natural_doubling() -> None:
    assert looks_repetitive("说不上特别满意，说不上特别满意")
    assert looks_repetitive("回直也没给回直也没给回直直")
    assert not looks_repetitive("满意满意，那个小伙子人挺好的")
    assert not looks_repetitive("我很不满意")


def test_compression_ratio_grows_with_repetition() -> None:
    assert compression_ratio("到现在也没个结果" * 8) > 2.4
    assert compression_ratio("上个月我电动车被偷了，去派出所报了案") < 2.4


def test_join_segments_puts_a_comma_between_unpunctuated_clauses() -> None:
    segs = [TranscriptSegment(0, 1, "满意", 1.0), TranscriptSegment(1, 2, "处理得挺快的", 1.0),
            TranscriptSegment(2, 3, "。", 1.0)]
    assert join_segments(segs) == "满意，处理得挺快的。"


def _clip(seconds: float) -> np.ndarray:
    return np.ones(int(seconds * SAMPLE_RATE), dtype=np.float32)


def test_packing_keeps_every_clip_inside_the_window_with_gaps() -> None:
    plan = PackingPlan()
    clips = [(i, _clip(d)) for i, d in enumerate([3.0, 11.5, 2.0, 4.2, 7.7, 1.1, 5.0, 6.3, 3.3])]
    windows = plan.plan(clips)
    placed = sorted(p.index for w in windows for p in w.placements)
    assert placed == list(range(len(clips)))
    for window in windows:
        spans = sorted((p.offset, p.end) for p in window.placements)
        assert spans[0][0] >= plan.lead
        assert spans[-1][1] <= WINDOW_SECONDS - plan.tail
        assert all(b[0] - a[1] >= plan.gap - 1e-9 for a, b in zip(spans, spans[1:]))


def test_packing_fills_windows_before_opening_new_ones() -> None:
    windows = PackingPlan().plan([(i, _clip(3.5)) for i in range(12)])
    assert [len(w.placements) for w in windows] == [6, 6]


def test_rendered_window_holds_each_clip_at_its_offset() -> None:
    windows = PackingPlan().plan([(0, _clip(2.0) * 0.5), (1, _clip(1.0) * 0.25)])
    audio = windows[0].render()
    assert audio.size == int(WINDOW_SECONDS * SAMPLE_RATE)
    for p in windows[0].placements:
        start = int(round(p.offset * SAMPLE_RATE))
        assert np.array_equal(audio[start:start + p.samples.size], p.samples)
    assert np.count_nonzero(audio) == 3 * SAMPLE_RATE


def test_clips_longer_than_the_packing_limit_are_not_packed() -> None:
    plan = PackingPlan(max_clip=12.0)
    assert plan.fits(_clip(12.0)) and not plan.fits(_clip(12.5))
