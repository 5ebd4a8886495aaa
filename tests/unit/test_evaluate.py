"""Scores: the post's token F1, TAT-QA EM/F1 on every answer type, token statistics."""

from __future__ import annotations

import pytest

from curator.answer_format import parse_answer, render_target
from curator.evaluate import (
    TokenStats,
    histogram,
    plot_bins,
    reduction,
    tatqa_score,
    token_f1,
)

GENERATED = "The cat sits on the mat in the sun"
REFERENCE = "The cat sits on the soft mat under the warm sun"


def test_the_posts_worked_example_is_exactly_60() -> None:
    assert round(token_f1(GENERATED, REFERENCE), 2) == 60.00


def test_token_f1_trailing_punctuation_and_repeated_words() -> None:
    # A sentence's final punctuation is not part of the word; numbers keep their decimals.
    assert token_f1("Revenue rose 1.5%.", "revenue rose 1.5%") == 100.0
    assert token_f1("1.5", "15") == 0.0
    assert token_f1("\u22125.2", "5.2") == 0.0  # a minus sign is not dropped
    assert token_f1("\u22125.2", "-5.2") == 100.0
    # Matching counts distinct words; the generated count keeps repeats: P = 1/3, R = 1.
    assert token_f1("zinc zinc zinc", "zinc") == pytest.approx(50.0)


def test_tatqa_on_the_worked_pair() -> None:
    score = tatqa_score(GENERATED, [REFERENCE], "", "span")
    assert score.em == 0
    # Word SETS without articles: {cat sits on mat in sun} vs {cat sits on soft mat under warm
    # sun}: 5 common, P = 5/6, R = 5/8, F1 = 0.714 -> 0.71 (rounded to 2 as the script does).
    assert score.f1 == 0.71


@pytest.mark.parametrize(
    ("prediction", "gold", "scale", "kind", "em", "f1"),
    [
        ("$1,496.5 million", ["$1,496.5"], "million", "span", 1, 1),  # currency, scale
        ("1496.5 million", 1496.5, "million", "arithmetic", 1, 1),
        ("1,496.50", 1496.5, "", "arithmetic", 1, 1),
        ("-19411 thousand", -19411, "thousand", "arithmetic", 1, 1),
        ("(110)", -110, "", "arithmetic", 1, 1),  # accounting negative
        ("1,497", 1496.5, "", "arithmetic", 0, 0),  # a different number scores nothing
        ("1496.5 thousand", 1496.5, "million", "arithmetic", 0, 0),  # a wrong scale neither
        ("1496.5", 1496.5, "million", "arithmetic", 0, 0),  # nor a missing one
        ("24.41%", 24.41, "percent", "arithmetic", 1, 1),
        ("0.2441", 24.41, "percent", "arithmetic", 1, 1),  # the fraction is accepted
        ("24.414%", 24.41, "percent", "arithmetic", 1, 1),  # both rounded to 2 decimals
        ("24.42%", 24.41, "percent", "arithmetic", 0, 0),
        ("3", "3", "", "count", 1, 1),
        ("2", "3", "", "count", 0, 0),
        ("Copper\nZinc", ["Zinc", "Copper"], "", "multi-span", 1, 1),  # order free
        ("Copper", ["Copper", "Zinc"], "", "multi-span", 0, 0.67),  # one word set of 2
        ("the write-off of spare parts", ["write-off of certain spare parts"], "", "span", 0, 0.89),
        ('"$1.1 billion"', ["$1.1 billion"], "", "span", 1, 1),
    ],
)
def test_tatqa_by_answer_type(
    prediction: str, gold: object, scale: str, kind: str, em: float, f1: float
) -> None:
    score = tatqa_score(prediction, gold, scale, kind)
    assert (score.em, score.f1) == (em, f1)


def test_the_scale_is_right_only_when_it_equals_the_gold_scale() -> None:
    assert tatqa_score("5 million", 5, "million", "arithmetic").scale_correct is True
    assert tatqa_score("5 thousand", 5, "million", "arithmetic").scale_correct is False
    assert tatqa_score("5", 5, "", "arithmetic").scale_correct is True
    assert tatqa_score("", 5, "", "arithmetic").scale_correct is False  # no answer, no scale


def test_prediction_parsing() -> None:
    parsed = parse_answer("<rationale>a - b &lt; c</rationale>\n<answer>R&amp;D\n12.5%</answer>")
    assert (parsed.spans, parsed.scale) == (["R&D", "12.5"], "percent")
    assert (parse_answer("a; b million").spans, parse_answer("a; b million").scale) == (
        ["a; b"],
        "million",
    )
    assert parse_answer('"$3 million" million').spans == ["$3 million"]
    assert parse_answer("  \n ").spans == []


def test_token_stats_reduction_and_histogram() -> None:
    stats = TokenStats.of([34, 20, 22, 30])
    assert (stats.mean, stats.median, stats.minimum, stats.maximum) == (26.5, 26.0, 20, 34)
    assert reduction(34, 22) == pytest.approx(35.29, abs=0.01)
    lines = histogram([1, 2, 2, 3, 10], bins=3)
    assert sum(int(line.split()[-1]) for line in lines) == 5


def test_a_sentences_final_point_after_the_percent_sign_is_not_part_of_the_answer() -> None:
    # "12.5 percent." was read as 12.5 percent, "12.5%." as the text "12.5%." (scale ""),
    # which the official script reads as no number at all: EM 0 for a right answer.
    for text in ("12.5%.", "12.5 %.", "<answer>12.5%.</answer>"):
        parsed = parse_answer(text)
        assert (parsed.spans, parsed.scale) == (["12.5"], "percent"), text
    assert tatqa_score("12.5%.", 12.5, "percent", "arithmetic").em == 1.0
    assert parse_answer('"2.1%."').spans == ["2.1%."]  # quoted: verbatim, as before
    # A span that is a sentence ending in "%." stays text (exports wrote it unquoted), and the
    # target of a numeric span ending in "%." is quoted, so it reads back as written.
    sentence = "The rate of return is 3.3%."
    assert (parse_answer(sentence).spans, parse_answer(sentence).scale) == ([sentence], "")
    assert render_target([sentence], "") == sentence
    assert parse_answer(render_target(["12.5%."], "")).spans == ["12.5%."]


def test_the_plots_bins_hold_the_longest_answer() -> None:
    """The PNG's bins ended below the longest answers once they passed ~180 tokens (edges 0 to
    990 for a longest answer of 1,000): those answers were left out of the plot."""
    import itertools

    import numpy as np

    for top in (0, 1, 7, 29, 30, 100, 179, 180, 500, 999, 1000, 2048, 100_000):
        bins = plot_bins(top)
        assert bins[0] == 0 and bins[-1] > top, (top, bins[-3:])
        assert len(bins) - 1 <= 30 and len({b - a for a, b in itertools.pairwise(bins)}) == 1
        values = [0, top // 2, top, top]
        counts, _ = np.histogram(values, bins=bins)
        assert counts.sum() == len(values), top
