"""The export's assistant turn, parsed back as a prediction, scores EM 1 against its own record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curator.answer_format import answer_spans, parse_answer, render_target
from curator.prompts import training_example
from curator.tatqa_metric import SCALES, score_question


def assistant_turn(q: dict[str, Any], rationale: bool) -> str:
    example = training_example(
        table=[["", "2019"]],
        paragraphs=[],
        question=q["question"],
        answer=q["answer"],
        scale=q["scale"],
        derivation=q.get("derivation", ""),
        rationale=rationale,
    )
    return example.assistant


@pytest.mark.shared
@pytest.mark.parametrize("name", ["tatqa_dataset_dev.json", "tatqa_dataset_test_gold.json"])
@pytest.mark.parametrize("rationale", [False, True])
def test_every_gold_record_round_trips_at_em_1(
    tatqa_dir: Path, name: str, rationale: bool, request: pytest.FixtureRequest
) -> None:
    gold = json.loads((tatqa_dir / name).read_text("utf-8"))
    oracle = None
    if not rationale:
        oracle = request.getfixturevalue("tatqa_official")
    failures, n = [], 0
    for context in gold:
        for q in context["questions"]:
            n += 1
            text = assistant_turn(q, rationale)
            parsed = parse_answer(text)
            spans: list[str | int | float] = list(parsed.spans)  # the metric's wider type
            score = score_question(spans, parsed.scale, q["answer"], q["scale"], q["answer_type"])
            if (score.em, score.f1, score.scale_correct) != (1.0, 1.0, True):
                failures.append((q["uid"], text, q["answer"], q["scale"]))
            if oracle is not None:
                metric = oracle.TaTQAEmAndF1()
                metric(ground_truth=q, prediction=parsed.spans, pred_scale=parsed.scale)
                assert metric.get_overall_metric()[:3] == (1.0, 1.0, 1.0), (q["uid"], text)
    assert n > 1600
    assert not failures, failures[:5]


def test_the_rendering_is_short_and_readable() -> None:
    assert render_target(["$1,496.5"], "million") == "$1,496.5 million"
    assert render_target(24.41, "percent") == "24.41%"
    assert render_target(["Copper", "Zinc"], "") == "Copper\nZinc"
    assert render_target(["$1.1 billion"], "") == '"$1.1 billion"'
    assert render_target(["(66)%", "(223)%"], "percent") == '(66)%\n"(223)%"%'
    assert render_target(2.0, "thousand") == "2 thousand"


_piece = st.sampled_from(
    [*'ab1.5$%()"; -', " ", "million", "Billion", "percent", "thousands.", "\t", "<answer>", "&"]
)
_span = st.lists(_piece, max_size=8).map("".join)


@settings(max_examples=500, deadline=None)
@given(
    answer=st.one_of(
        st.lists(_span, min_size=1, max_size=4),
        _span,
        st.integers(-(10**9), 10**9),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    scale=st.sampled_from(SCALES),
)
def test_generated_answers_and_scales_round_trip(answer: Any, scale: str) -> None:
    rendered = render_target(answer, scale)
    example = training_example(
        table=[], paragraphs=[], question="q", answer=answer, scale=scale, rationale=True
    )
    for text in (rendered, example.assistant):
        if "<answer>" in rendered and text is rendered:
            continue  # a plain target holding a literal <answer> tag is read as the tag
        parsed = parse_answer(text)
        expected = [" ".join(s.replace("\r", "\n").split("\n")) for s in answer_spans(answer)]
        assert (parsed.spans, parsed.scale) == (expected, scale), text
