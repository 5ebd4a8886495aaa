"""Scores: the post's token F1, TAT-QA EM/F1 on every answer type, token statistics."""

from __future__ import annotations

import pytest

from curator.evaluate import (
    TokenStats,
    histogram,
    reduction,
    split_prediction,
    tatqa_score,
    token_f1,
)

GENERATED = "The cat sits on the mat in the sun"
REFERENCE = "The cat sits on the soft mat under the warm sun"


def test_the_posts_worked_example_is_exactly_60() -> None:
    assert round(token_f1(GENERATED, REFERENCE), 2) == 60.00


def test_tatqa_on_the_worked_pair() -> None:
    score = tatqa_score(GENERATED, [REFERENCE], "")
    assert score.em == 0
    assert score.f1 == pytest.approx(2 * (5 / 6) * (5 / 8) / (5 / 6 + 5 / 8))
    assert round(score.f1, 2) == 0.71


@pytest.mark.parametrize(
    ("prediction", "gold", "scale", "em", "f1"),
    [
        ("$1,496.5 million", ["$1,496.5"], "million", 1, 1),  # span with currency and scale
        ("1496.5", 1496.5, "million", 1, 1),  # arithmetic, numbers compared as numbers
        ("1,496.50", 1496.5, "", 1, 1),
        ("-19411", -19411, "thousand", 1, 1),
        ("(110)", -110, "", 1, 1),  # accounting negative
        ("1,497", 1496.5, "", 0, 0),  # a different number scores nothing
        ("24.41%", 24.41, "percent", 1, 1),
        ("3", "3", "", 1, 1),  # count
        ("2", "3", "", 0, 0),
        ("Copper; Zinc", ["zinc", "copper"], "", 1, 1),  # multi-span, order free
        ("Copper", ["Copper", "Zinc"], "", 0, 0.5),  # a dropped span halves F1
        # 4 of 5 gold tokens, all 4 predicted tokens right: P = 1, R = 0.8, F1 = 0.89.
        ("the write-off of spare parts", ["write-off of certain spare parts"], "", 0, 0.89),
    ],
)
def test_tatqa_by_answer_type(
    prediction: str, gold: object, scale: str, em: float, f1: float
) -> None:
    score = tatqa_score(prediction, gold, scale)  # type: ignore[arg-type]
    assert score.em == em
    assert score.f1 == pytest.approx(f1, abs=0.01)


def test_scale_is_scored_separately() -> None:
    assert tatqa_score("5 million", 5, "million").scale_correct is True
    assert tatqa_score("5 thousand", 5, "million").scale_correct is False
    assert tatqa_score("5 thousand", 5, "million").em == 1
    assert tatqa_score("5", 5, "").scale_correct is None


def test_prediction_parsing() -> None:
    assert split_prediction("<rationale>a - b</rationale>\n<answer>12.5%</answer>") == (
        ["12.5"],
        "percent",
    )
    assert split_prediction("a; b million") == (["a", "b"], "million")


def test_token_stats_reduction_and_histogram() -> None:
    stats = TokenStats.of([34, 20, 22, 30])
    assert (stats.mean, stats.median, stats.minimum, stats.maximum) == (26.5, 26.0, 20, 34)
    assert reduction(34, 22) == pytest.approx(35.29, abs=0.01)
    lines = histogram([1, 2, 2, 3, 10], bins=3)
    assert sum(int(line.split()[-1]) for line in lines) == 5
