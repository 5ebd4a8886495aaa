"""Cohen's kappa and edit validation (headless parts of the review screens)."""

from __future__ import annotations

import pytest

from curator.agreement import Confusion, by_judge
from curator.editing import EditError, parse_answer, validate_edit


def test_kappa_textbook_example() -> None:
    # 50 items: both say correct 20, both incorrect 15, disagreements 10 and 5.
    c = Confusion(
        {
            ("correct", "correct"): 20,
            ("correct", "incorrect"): 5,
            ("incorrect", "correct"): 10,
            ("incorrect", "incorrect"): 15,
        }
    )
    # p_o = 35/50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5
    assert c.observed == pytest.approx(0.7)
    assert c.kappa == pytest.approx(0.4)


def test_kappa_edge_cases() -> None:
    assert Confusion({}).kappa is None
    perfect = Confusion({("correct", "correct"): 3, ("incorrect", "incorrect"): 2})
    assert perfect.kappa == pytest.approx(1.0)
    assert Confusion({("correct", "correct"): 4}).kappa == 1.0  # one label only, all agree
    opposite = Confusion({("correct", "incorrect"): 2, ("incorrect", "correct"): 2})
    assert opposite.kappa == pytest.approx(-1.0)


def test_by_judge_groups_overall_and_per_type() -> None:
    cells = {
        ("rules", "span", "correct", "correct"): 3,
        ("rules", "arithmetic", "incorrect", "incorrect"): 2,
        ("rules", "arithmetic", "correct", "incorrect"): 1,
        ("anthropic", "span", "correct", "correct"): 1,
    }
    result = by_judge(cells)
    overall, per_type = result["rules"]
    assert overall.total == 6 and set(per_type) == {"arithmetic", "span"}
    assert per_type["arithmetic"].cell("correct", "incorrect") == 1
    assert list(result) == ["anthropic", "rules"]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("$1,200", "span", ["$1,200"]),
        ("a\nb\n", "multi-span", ["a", "b"]),
        ("a; b", "multi-span", ["a", "b"]),
        ("-1,310", "arithmetic", -1310),
        ("(110)", "arithmetic", -110),
        ("12.50", "arithmetic", 12.5),
        ("3", "count", "3"),
    ],
)
def test_parse_answer_by_type(text: str, kind: str, value: object) -> None:
    assert parse_answer(text, kind) == value


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "span", "must not be empty"),
        ("a\nb", "span", "one line"),
        ("twelve", "arithmetic", "needs a number"),
        ("2.5", "count", "whole number"),
        ("-3", "count", "cannot be negative"),
        ("(3)", "count", "cannot be negative"),
    ],
)
def test_parse_answer_refuses(text: str, kind: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        parse_answer(text, kind)


def test_validate_edit_returns_only_changes_and_a_diff() -> None:
    original = {"question": "Q?", "answer": 5, "derivation": "2 + 3", "scale": "million"}
    changed, diffs = validate_edit(
        answer_type="arithmetic",
        original=original,
        question="Q?",
        answer="6",
        derivation="2 + 4",
        scale="million",
    )
    assert changed == {"answer": 6, "derivation": "2 + 4"}
    assert [(d.field, d.old, d.new) for d in diffs] == [
        ("answer", "5", "6"),
        ("derivation", "2 + 3", "2 + 4"),
    ]
    with pytest.raises(EditError, match="scale"):
        validate_edit(
            answer_type="arithmetic",
            original=original,
            question="Q?",
            answer="6",
            derivation="",
            scale="lakh",
        )
    with pytest.raises(EditError, match="question"):
        validate_edit(
            answer_type="arithmetic",
            original=original,
            question=" ",
            answer="6",
            derivation="",
            scale="",
        )
