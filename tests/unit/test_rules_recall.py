"""Recall of the rules judge on spans: a swapped span, a swapped year, a dropped or added item of
a multi-span answer and a wrong scale are caught with positive evidence, not left uncertain."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from curator.domain import Paragraph
from curator.judges.corruptions import (
    KINDS,
    all_corruptions,
    by_context,
    cases_from_tatqa,
    judge_case,
)
from curator.judges.rules import RuleVerdict, judge_record
from tests.builders import qa_record

TABLE = [
    ["", "2019", "2018"],
    ["", "$'000", "$'000"],
    ["Revenue", "1,200", "1,000"],
    ["Cost of sales", "700", "600"],
    ["Gross profit", "500", "400"],
]
TEXT = (
    Paragraph("p1", 1, "Revenue grew on strong demand from defence customers."),
    Paragraph(
        "p2",
        2,
        "The main risks are currency risk, credit risk and liquidity risk. "
        "Our auditor is Deloitte LLP, appointed at the annual general meeting in 2015.",
    ),
)


def v(
    question: str,
    answer: list[str] | int | float | str,
    answer_type: str = "span",
    answer_from: str = "table",
    scale: str = "thousand",
    derivation: str = "",
) -> RuleVerdict:
    record = qa_record(
        question, answer, answer_type, answer_from, scale, derivation, table=TABLE, paragraphs=TEXT
    )
    return judge_record(record)


def test_swapped_year_names_the_right_cell() -> None:
    out = v("What was the gross profit in 2019?", ["400"])
    assert out.verdict == "incorrect", out.reason
    assert (out.evidence[0].row, out.evidence[0].col) == (4, 1)
    assert "'500'" in out.reason


def test_another_line_item_is_caught() -> None:
    out = v("What was the revenue in 2019?", ["700"])
    assert out.verdict == "incorrect", out.reason
    assert any(e.row == 2 and e.col == 1 for e in out.evidence)


def test_one_year_of_a_change_is_caught() -> None:
    out = v("What was the change in revenue between 2018 and 2019?", ["1,000"])
    assert out.verdict == "incorrect" and "one year's value" in out.reason


def test_multi_span_one_value_per_named_year() -> None:
    q = "What was the revenue in 2019 and 2018 respectively?"
    assert v(q, ["1,200", "1,000"], "multi-span").verdict == "correct"
    for wrong in (["1,200"], ["1,200", "1,000", "700"], ["1,200", "600"], ["1,200", "1,200"]):
        out = v(q, wrong, "multi-span")
        assert out.verdict == "incorrect", (wrong, out.reason)
        assert out.evidence


def test_text_list_dropped_or_added_item() -> None:
    q = "What are the main risks?"
    full = ["currency risk", "credit risk", "liquidity risk"]
    assert v(q, full, "multi-span", "text", "").verdict == "correct"
    dropped = v(q, full[:2], "multi-span", "text", "")
    assert dropped.verdict == "incorrect" and dropped.evidence[0].kind == "sentence"
    added = v(q, [*full, "defence customers"], "multi-span", "text", "")
    assert added.verdict == "incorrect", added.reason


def test_span_from_the_wrong_sentence() -> None:
    q = "Who is the company's auditor appointed at the annual general meeting?"
    assert v(q, ["Deloitte LLP"], answer_from="text", scale="").verdict == "correct"
    out = v(q, ["defence customers"], answer_from="text", scale="")
    assert out.verdict == "incorrect" and out.evidence[0].kind == "sentence"
    assert "Deloitte" in out.evidence[0].text


def test_kind_of_answer() -> None:
    assert v("Which year had the higher revenue?", ["1,200"], scale="").verdict == "incorrect"
    out = v(
        "What are the two items above gross profit?",
        ["Revenue", "Cost of sales", "700"],
        "multi-span",
        scale="",
    )
    assert out.verdict == "incorrect"


def test_wrong_scale_on_a_span() -> None:
    out = v("What was the revenue in 2019?", ["1,200"], scale="percent")
    assert out.verdict == "incorrect" and out.evidence[0].kind == "cell"


@pytest.mark.shared
@pytest.mark.parametrize("name", ["tatqa_dataset_dev.json", "tatqa_dataset_test_gold.json"])
def test_every_corruption_kind_is_caught_at_least_half_the_time(tatqa_dir: Path, name: str) -> None:
    cases = list(cases_from_tatqa(json.loads((tatqa_dir / name).read_text("utf-8"))))
    groups = by_context(cases)
    rng = random.Random(7)
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    passed = 0
    for case in cases:
        for bad in all_corruptions(case, rng, groups[case.context.table]):
            verdict = judge_case(bad).verdict
            total[bad.corruption] += 1
            caught[bad.corruption] += verdict == "incorrect"
            passed += verdict == "correct"
    assert set(total) == set(KINDS)
    rates = {k: caught[k] / total[k] for k in KINDS}
    assert all(rate >= 0.5 for rate in rates.values()), rates
    assert passed / sum(total.values()) <= 0.05
