"""curator's TAT-QA metric against the official script, question by question, on the dev file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curator.tatqa_metric import SCALES, score_question
from tests.tatqa_cases import generated_predictions

pytestmark = pytest.mark.shared


def official_scores(oracle: Any, question: dict[str, Any], entry: Any) -> tuple[float, float, bool]:
    """(EM, F1, scale right) of one question by the official TaTQAEmAndF1."""
    metric = oracle.TaTQAEmAndF1()
    answer, scale = entry if entry is not None else (None, None)
    metric(ground_truth=question, prediction=answer, pred_scale=scale)
    detail = metric.get_raw()[-1]
    return float(detail["em"]), float(detail["f1"]), metric._scale_em == 1


def ours(question: dict[str, Any], entry: Any) -> tuple[float, float, bool]:
    answer, scale = entry if entry is not None else (None, "")
    s = score_question(
        answer, scale, question["answer"], question["scale"], question["answer_type"]
    )
    return s.em, s.f1, s.scale_correct


@pytest.fixture(scope="module")
def dev(tatqa_dir: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((tatqa_dir / "tatqa_dataset_dev.json").read_text())
    return data


def test_generated_predictions_score_as_the_official_script_on_every_dev_question(
    tatqa_official: Any, dev: list[dict[str, Any]]
) -> None:
    predictions, kinds = generated_predictions(dev)
    used = Counter(kinds.values())
    assert len(used) >= 20, used
    for required in (
        "right",
        "missing",
        "wrong scale",
        "fraction",
        "count as word",
        "multi-span reordered",
        "multi-span joined",
        "zero",
        "empty",
    ):
        assert used[required] > 0, required
    mismatches = []
    total = [0.0, 0.0, 0.0]
    for context in dev:
        for q in context["questions"]:
            entry = predictions.get(q["uid"])
            expected, got = official_scores(tatqa_official, q, entry), ours(q, entry)
            if expected != got:
                mismatches.append((kinds[q["uid"]], q["uid"], entry, q["answer"], expected, got))
            total = [t + float(v) for t, v in zip(total, got, strict=True)]
    assert not mismatches, mismatches[:5]
    # Not degenerate: the set has right, partly right and wrong answers.
    n = sum(len(c["questions"]) for c in dev)
    assert 0.2 < total[0] / n < 0.8 and total[0] < total[1]


def test_the_whole_run_matches_the_official_overall_numbers(
    tatqa_official: Any, dev: list[dict[str, Any]]
) -> None:
    from curator.evaluate import official_summary

    predictions, _ = generated_predictions(dev)
    metric = tatqa_official.TaTQAEmAndF1()
    scores = []
    for context in dev:
        for q in context["questions"]:
            entry = predictions.get(q["uid"])
            answer, scale = entry if entry is not None else (None, None)
            metric(ground_truth=q, prediction=answer, pred_scale=scale)
            answer, scale = entry if entry is not None else (None, "")
            scores.append(score_question(answer, scale, q["answer"], q["scale"], q["answer_type"]))
    em, f1, scale_score, _ = metric.get_overall_metric()
    summary = official_summary(scores)
    assert f"{summary.em * 100:.2f}" == f"{em * 100:.2f}"
    assert f"{summary.f1 * 100:.2f}" == f"{f1 * 100:.2f}"
    assert f"{summary.scale * 100:.2f}" == f"{scale_score * 100:.2f}"


def test_gold_as_prediction_scores_what_the_official_script_gives_it(
    tatqa_official: Any, dev: list[dict[str, Any]]
) -> None:
    metric = tatqa_official.TaTQAEmAndF1()
    ems = []
    for context in dev:
        for q in context["questions"]:
            metric(ground_truth=q, prediction=q["answer"], pred_scale=q["scale"])
            ems.append(
                score_question(
                    q["answer"], q["scale"], q["answer"], q["scale"], q["answer_type"]
                ).em
            )
    em, _, _, _ = metric.get_overall_metric()
    assert sum(ems) / len(ems) == pytest.approx(em)
    assert 0.99 < em < 1  # the zero quirk: a numeric gold 0 given back scores 0


_PIECES = [*"0123456789.,$%()- abcxyzTHE€;'\"", "million", " the ", " 1.5", "(12)", "%", " "]
_spans = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
_answers = st.one_of(
    _spans,
    st.lists(_spans, min_size=0, max_size=3),
    st.integers(-(10**7), 10**7),
    st.floats(-1e7, 1e7, allow_nan=False),
)


@settings(max_examples=400, deadline=None)
@given(
    answer=_answers,
    scale=st.sampled_from(SCALES),
    gold=st.one_of(
        st.tuples(st.just("span"), st.lists(_spans, min_size=1, max_size=1)),
        st.tuples(st.just("multi-span"), st.lists(_spans, min_size=2, max_size=3)),
        st.tuples(st.just("arithmetic"), st.floats(-1e6, 1e6, allow_nan=False)),
        st.tuples(st.just("arithmetic"), st.integers(-(10**6), 10**6)),
        st.tuples(st.just("count"), st.integers(0, 20).map(str)),
    ),
    gold_scale=st.sampled_from(SCALES),
)
def test_generated_answers_and_scales_score_as_the_official_script(
    tatqa_official: Any, answer: Any, scale: str, gold: tuple[str, Any], gold_scale: str
) -> None:
    question = {
        "answer_type": gold[0],
        "answer": gold[1],
        "scale": gold_scale,
        "answer_from": "table",
    }
    entry = [answer, scale]
    assert ours(question, entry) == official_scores(tatqa_official, question, entry)


def test_f1_rounds_as_numpy_does() -> None:
    np = pytest.importorskip("numpy")
    from curator.tatqa_metric import _round2, _set_f1

    for common in range(0, 40):
        for p in range(max(common, 1), 60):
            for g in range(max(common, 1), 60):
                shared = {f"c{i}" for i in range(common)}
                predicted = shared | {f"p{i}" for i in range(p - common)}
                gold = shared | {f"g{i}" for i in range(g - common)}
                f1 = _set_f1(predicted, gold)
                assert _round2(f1) == float(np.round(np.float64(f1), 2)), (common, p, g)
