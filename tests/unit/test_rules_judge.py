"""The offline rules judge: hand-made cases, the sample answer key, and the real gold files."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from curator.domain import Paragraph
from curator.judges.corruptions import Case, cases_from_tatqa, corrupt, corrupt_scale, judge_case
from curator.judges.rules import judge_record
from tests.builders import qa_record
from tests.conftest import SAMPLE_DATA

TABLE = (
    ("", "Year Ended December 31,", ""),
    ("", "2019", "2018"),
    ("Fixed Price", "$ 1,452.4", "$ 1,146.2"),
    ("Other", "44.1", "56.7"),
    ("Total sales", "$1,496.5", "$1,202.9"),
    ("Other income (expense)", "(11.5)", "(21.7)"),
)
PARAS = (
    Paragraph("p1", 1, "The table below presents net sales by contract type (in millions):"),
    Paragraph("p2", 2, "Sales growth was driven by strong demand from defence customers."),
)


def verdict(
    question: str,
    answer: list[str] | int | float | str,
    answer_type: str,
    derivation: str = "",
    scale: str = "",
    answer_from: str = "table",
) -> str:
    record = qa_record(
        question, answer, answer_type, answer_from, scale, derivation, table=TABLE, paragraphs=PARAS
    )
    return judge_record(record).verdict


def test_span_in_the_named_row_and_year_is_correct() -> None:
    assert (
        verdict("What were total sales in 2019?", ["$1,496.5"], "span", scale="million")
        == "correct"
    )


def test_span_from_another_row_is_incorrect() -> None:
    assert (
        verdict("What were total sales in 2019?", ["44.1"], "span", scale="million") == "incorrect"
    )


def test_span_from_the_other_year_is_not_correct() -> None:
    assert (
        verdict("What were total sales in 2019?", ["$1,202.9"], "span", scale="million")
        != "correct"
    )


def test_span_nowhere_in_the_context_is_incorrect() -> None:
    assert verdict("What were total sales in 2019?", ["$9,999"], "span") == "incorrect"


def test_text_span_in_a_matching_sentence_is_correct() -> None:
    assert (
        verdict(
            "What drove sales growth?",
            ["strong demand from defence customers"],
            "span",
            answer_from="text",
        )
        == "correct"
    )


def test_arithmetic_recomputed() -> None:
    q = "What was the change in total sales from 2018 to 2019?"
    assert verdict(q, 293.6, "arithmetic", "1,496.5 - 1,202.9", "million") == "correct"
    assert verdict(q, 293.7, "arithmetic", "1,496.5 - 1,202.9", "million") == "incorrect"


def test_percentage_change_and_scale() -> None:
    q = "What was the percentage change in total sales from 2018 to 2019?"
    d = "(1,496.5 - 1,202.9) / 1,202.9"
    assert verdict(q, 24.41, "arithmetic", d, "percent") == "correct"
    assert verdict(q, 24.41, "arithmetic", d, "million") == "incorrect"


def test_accounting_negatives_in_derivations() -> None:
    q = "What was the average other income (expense) for 2019 and 2018?"
    assert verdict(q, -16.6, "arithmetic", "(-11.5 + -21.7) / 2", "million") == "correct"
    assert verdict(q, -16.6, "arithmetic", "(-11.5 + -21.7) / 2", "percent") == "incorrect"


def test_derivation_with_numbers_not_in_the_context_is_not_correct() -> None:
    q = "What was the change in total sales from 2018 to 2019?"
    assert verdict(q, 300.0, "arithmetic", "1,502.9 - 1,202.9", "million") != "correct"


def test_count_matches_listed_items() -> None:
    q = "How many years did total sales exceed $1,300 million?"
    assert verdict(q, "1", "count", "2019") == "correct"
    assert verdict(q, "2", "count", "2019") == "incorrect"


def test_count_reasons_say_item_or_items() -> None:
    """A reason a reviewer reads: "lists 1 item", "lists 2 items", never "1 items"."""
    q = "How many years did total sales exceed $1,100 million?"

    def reason(answer: str, derivation: str) -> str:
        record = qa_record(
            q, answer, "count", "table", "", derivation, table=TABLE, paragraphs=PARAS
        )
        return judge_record(record).reason

    assert reason("2", "2019") == "the derivation lists 1 item but the answer is 2"
    assert reason("1", "2019") == "the derivation lists 1 item, all in the context"
    assert reason("2", "2019##2018") == "the derivation lists 2 items, all in the context"


def test_multi_span_needs_one_cell_per_named_year() -> None:
    q = "What were the total sales in 2019 and 2018?"
    assert verdict(q, ["$1,496.5", "$1,202.9"], "multi-span", scale="million") == "correct"
    assert verdict(q, ["$1,496.5"], "multi-span", scale="million") != "correct"


def test_comparison_answers() -> None:
    q = "In which year were total sales the largest?"
    assert verdict(q, ["2019"], "span", "1,496.5>1,202.9") == "correct"
    assert verdict(q, ["2018"], "span", "1,496.5>1,202.9") == "incorrect"


def test_every_deliberately_wrong_sample_answer_is_caught() -> None:
    wrong = {
        r["uid"]: r["what_is_wrong"]
        for r in csv.DictReader((SAMPLE_DATA / "answer_key.csv").open(encoding="utf-8"))
    }
    results: Counter[tuple[bool, str]] = Counter()
    for name in ("sample_train.json", "sample_dev.json"):
        for case in cases_from_tatqa(json.loads((SAMPLE_DATA / name).read_text("utf-8"))):
            v = judge_case(case).verdict
            results[(case.uid in wrong, v)] += 1
    assert results[(True, "correct")] == 0
    assert results[(True, "incorrect")] >= 0.8 * len(wrong)
    assert results[(False, "incorrect")] == 0
    assert results[(False, "correct")] >= 125


@pytest.mark.shared
def test_real_gold_and_corruptions_within_targets(tatqa_dir: Path) -> None:
    rng = random.Random(11)
    gold: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    cases: list[Case] = list(
        cases_from_tatqa(json.loads((tatqa_dir / "tatqa_dataset_dev.json").read_text("utf-8")))
    )
    for case in cases:
        gold[judge_case(case).verdict] += 1
        for c in (corrupt(case, rng), corrupt_scale(case, rng)):
            if c is not None:
                bad[judge_case(c).verdict] += 1
    n_gold, n_bad = sum(gold.values()), sum(bad.values())
    assert gold["incorrect"] / n_gold <= 0.03
    assert bad["correct"] / n_bad <= 0.05
    assert gold["uncertain"] / n_gold <= 0.30
    assert bad["incorrect"] / n_bad >= 0.40


def test_a_percentage_reason_writes_the_percentage_out() -> None:
    """ "= 0.244077 (as a percentage), which rounds to the answer 24.41" left the sum to the
    reader; the percentage itself is written beside the derivation's value."""
    q = "What was the percentage change in total sales from 2018 to 2019?"
    record = qa_record(
        q, 24.41, "arithmetic", "table", "percent", "(1,496.5-1,202.9)/1,202.9",
        table=TABLE, paragraphs=PARAS,
    )  # fmt: skip
    result = judge_record(record)
    assert result.verdict == "correct", result.reason
    assert result.reason.startswith(
        "(1,496.5-1,202.9)/1,202.9 = 0.244077, 24.4077%, which rounds to the answer 24.41; "
    ), result.reason
