"""Precision of the rules judge's `incorrect`: every one names its evidence, and the kinds of
wrong reasons users met (percent-vs-thousand for dollar amounts, the wrong row, `None` in a
column name, unit headers like `$'000` and `USDm`) are gone. On the real gold files, the records
called incorrect are exactly the reviewed list in tests/fixtures/rules_incorrect_gold.csv."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from curator.domain import AnswerValue, Paragraph
from curator.judges.corruptions import cases_from_tatqa, judge_case
from curator.judges.rules import RuleVerdict, judge_record
from tests.builders import qa_record

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "rules_incorrect_gold.csv"


def _judge(
    table: list[list[str]],
    question: str,
    answer: AnswerValue,
    answer_type: str = "span",
    derivation: str = "",
    scale: str = "",
    text: str = "The table shows the figures.",
) -> RuleVerdict:
    paras = (Paragraph("p1", 1, text),)
    record = qa_record(
        question, answer, answer_type, "table", scale, derivation, table=table, paragraphs=paras
    )
    return judge_record(record)


SEPARATION = [
    ["", "", "Years Ended December 31,", ""],
    ["", "2019", "2018", "2017"],
    ["", "", "(in thousands)", ""],
    ["Employee separation expenses", "$1,150", "$2,094", "$8,353"],
    ["Lease related expenses", "1,301", "1,608", "1,025"],
    ["", "$2,636", "$3,838", "$9,524"],
]


def test_dollar_amount_under_a_ratio_looking_label_is_not_a_percentage() -> None:
    # "separation" contains "ratio": that made $1,150 a percentage before.
    v = _judge(
        SEPARATION,
        "What is the Employee separation expenses in 2019?",
        ["$1,150"],
        scale="thousand",
    )
    assert v.verdict == "correct", v.reason
    avg = _judge(
        SEPARATION,
        "What is the average Employee separation expenses for 2019 and 2018?",
        1622,
        "arithmetic",
        "(1,150+2,094) / 2",
        "thousand",
    )
    assert avg.verdict == "correct", avg.reason


def test_except_percentages_header_does_not_make_amounts_percentages() -> None:
    table = [
        ["", "Fiscal years ended July 31,", ""],
        ["", "2019", "2018"],
        [
            "",
            "Amount (In thousands, except percentages)",
            "Amount (In thousands, except percentages)",
        ],
        ["Interest income", "$30,182", "$13,281"],
        ["Interest margin %", "5.1%", "4.0%"],
    ]
    v = _judge(
        table,
        "What was the Interest income in 2019 and 2018 respectively?",
        ["$30,182", "$13,281"],
        "multi-span",
        scale="thousand",
    )
    assert v.verdict != "incorrect", v.reason


UK_TAX = [
    ["", "2019", "2018"],
    ["", "€m", "€m"],
    ["United Kingdom corporation tax expense/(credit):", "", ""],
    ["Current year", "21", "70"],
    ["Adjustments in respect of prior years", "(9)", "(5)"],
    ["Overseas current tax expense/(credit):", "", ""],
    ["Current year", "1,098", "1,055"],
    ["Total current tax expense", "1,062", "1,018"],
]


def test_a_row_under_its_heading_beats_a_total_with_the_same_words() -> None:
    q = "How much is the 2019 United Kingdom corporation current year tax expense?"
    v = _judge(UK_TAX, q, ["21"], scale="million")
    assert v.verdict == "correct", v.reason
    assert "United Kingdom corporation" in v.reason
    assert _judge(UK_TAX, q, ["70"], scale="million").verdict != "correct"


TERMS = [
    ["", "", "For the Year Ended", ""],
    ["Stock Purchase Plan", "January 31, 2020", "February 1, 2019", "February 2, 2018"],
    ["Dividend yield", "None", "None", "None"],
    ["Expected volatility", "27.4%", "33.5%", "22.6%"],
    ["Expected term (in years)", "0.6", "0.8", "0.9"],
]


def test_placeholder_row_is_data_and_fiscal_year_columns_are_not_guessed() -> None:
    v = _judge(TERMS, "What was the expected term in 2019 in years?", ["0.6"])
    # Fiscal 2019 ends January 31, 2020: the rules cannot tell which column is "2019".
    assert v.verdict == "uncertain", v.reason
    assert "None" not in v.reason
    from curator.judges.rules import Grid

    assert "None" not in Grid(TERMS).column_header(2)
    assert Grid(TERMS).header_rows == 2


@pytest.mark.parametrize("unit", ["$'000", "USDm", "US$m", "€m", "RMB'000", "$000s"])
def test_unit_headers_state_the_scale(unit: str) -> None:
    table = [["", "2019", "2018"], ["", unit, unit], ["Revenue", "1,200", "1,000"]]
    scale = "million" if unit.lower().endswith("m") else "thousand"
    v = _judge(
        table,
        "What was the change in revenue from 2018 to 2019?",
        200,
        "arithmetic",
        "1,200 - 1,000",
        scale,
    )
    assert v.verdict == "correct", v.reason


def test_every_incorrect_names_its_evidence() -> None:
    table = [
        ["", "2019", "2018"],
        ["", "$'000", "$'000"],
        ["Revenue", "1,200", "1,000"],
        ["Costs", "700", "600"],
    ]
    cases = [
        _judge(table, "What was the Revenue in 2019?", ["1,000"], scale="thousand"),
        _judge(
            table, "What was the change in revenue?", 250, "arithmetic", "1,200 - 1,000", "thousand"
        ),
        _judge(table, "What was the Revenue in 2019?", ["9,999"], scale="thousand"),
        _judge(table, "How many items?", "3", "count", "Revenue##Costs"),
    ]
    for v in cases:
        assert v.verdict == "incorrect", v.reason
        assert v.evidence, v.reason
        assert all(e.text for e in v.evidence)
    cell = cases[0].evidence[0]
    assert (cell.kind, cell.row, cell.col) == ("cell", 2, 1)
    assert "'Revenue'" in cell.text and "2019" in cell.text and "'1,200'" in cell.text
    assert (
        cases[1].evidence[0].kind == "calculation" and "1,200 - 1,000" in cases[1].evidence[0].text
    )


def uid_key(uid: str) -> str:
    """How the fixture names a record: the first 16 hex digits of its uid's sha256 (the uids of
    the shared TAT-QA files are not copied into the project)."""
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:16]


def _reviewed() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with FIXTURE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = row["uid_sha256"]
            assert row["why"].strip(), f"{key}: a reviewed entry says why it is an error"
            out.setdefault(row["file"], {})[key] = row["why"]
    return out


@pytest.mark.shared
@pytest.mark.parametrize("name", ["tatqa_dataset_dev.json", "tatqa_dataset_test_gold.json"])
def test_gold_records_called_incorrect_are_exactly_the_reviewed_errors(
    tatqa_dir: Path, name: str
) -> None:
    """Anything else called incorrect is a false alarm (fails); a listed error no longer caught
    fails too, so a change in the rules that loses a genuine catch is seen and decided on."""
    reviewed = _reviewed().get(name, {})
    called: dict[str, str] = {}
    for case in cases_from_tatqa(json.loads((tatqa_dir / name).read_text("utf-8"))):
        v = judge_case(case)
        if v.verdict == "incorrect":
            assert v.evidence, f"{case.uid}: incorrect without evidence: {v.reason}"
            called[uid_key(case.uid)] = v.reason
    false_alarms = {u: r for u, r in called.items() if u not in reviewed}
    assert not false_alarms, f"called incorrect but not a reviewed data error: {false_alarms}"
    lost = sorted(set(reviewed) - set(called))
    assert not lost, f"reviewed data errors no longer caught: {lost}"
