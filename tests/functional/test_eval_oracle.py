"""`predict --import` then `eval` on the real dev file, against the official TAT-QA script, record
by record: adversarial answers in the official form (scales, negatives, parentheses, Unicode
minus, thousands separators, units, rounding, duplicates and order of spans, empty answers,
counts) and as model text read by the one parser; the by-type and by-scale figures too."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curator.answer_format import render_target
from tests.conftest import CliResult, write_json

pytestmark = pytest.mark.shared

Run = Callable[..., CliResult]
SUFFIX = {"": "", "thousand": " thousand", "million": " million", "billion": " billion"}


def _number(q: dict[str, Any]) -> list[tuple[str, Any]]:
    a, s = q["answer"], q["scale"]
    v = float(a)
    return [
        ("unicode minus", [f"\u2212{abs(v)}", s]),
        ("dollar parentheses", [f"$({abs(v):,.2f})", s]),
        ("parentheses", [f"({abs(v)})", s]),
        ("minus", [f"-{abs(v)}", s]),
        ("thousands separators", [f"{v:,.3f}", s]),
        ("rounded to 1", [round(v, 1), s]),
        ("rounded to 0", [round(v), s]),
        ("unit after", [f"{a} USD", s]),
        ("unit before", [f"USD {a}", s]),
        ("percent word", [f"{a} percent", ""]),
        ("percent sign and scale", [f"{a}%", "percent"]),
        ("exponent", [f"{v:e}", s]),
        ("scaled out", [v * 1000, ""]),
        ("zero text", ["0", s]),
        ("zero", [0.0, s]),
        ("padded", [f"  {a}  ", s]),
        ("plus", [f"+{a}", s]),
        ("number in a list", [[v], s]),
        ("twice", [[str(a), str(a)], s]),
    ]


def _count(q: dict[str, Any]) -> list[tuple[str, Any]]:
    n = q["answer"]
    return [
        ("count float", [float(n), ""]),
        ("count twice", [[str(n), str(n)], ""]),
        ("count negative", [f"-{n}", ""]),
        ("count with scale", [n, "percent"]),
    ]


def _spans(q: dict[str, Any]) -> list[tuple[str, Any]]:
    spans, s = list(q["answer"]), q["scale"]
    return [
        ("duplicate span", [[*spans, spans[0]], s]),
        ("reversed", [spans[::-1], s]),
        ("upper case", [[x.upper() for x in spans], s]),
        ("curly quotes", [[f"\u201c{x}\u201d" for x in spans], s]),
        ("no-break spaces", [[x.replace(" ", "\u00a0") for x in spans], s]),
        ("empty span added", [[*spans, ""], s]),
        ("only empty spans", [["", ""], s]),
        ("joined by newlines", ["\n".join(spans), s]),
        ("in parentheses", [[f"({x})" for x in spans], s]),
        ("percent signs", [[x + "%" for x in spans], s]),
        ("empty", ["", s]),
        ("blank", [" ", s]),
    ]


def _text(q: dict[str, Any], rnd: random.Random) -> str:
    """A model's reply: the export's rendering, or a plausible variant of it."""
    a, s = q["answer"], q["scale"]
    right = render_target(a, s)
    if q["answer_type"] == "arithmetic":
        v = float(a)
        suffix = SUFFIX.get(s, "%")
        variants = [
            f"{v}%." if s == "percent" else f"{v}{suffix}.",
            f"\u2212{abs(v)}{suffix}",
            f"({abs(v):,.2f}){suffix}",
            f"The answer is {v}{suffix}",
            f"{v / 100}" if s == "percent" else f"{v:,}",
        ]
    elif q["answer_type"] == "count":
        variants = [f"{a} items", f"{a}.0"]
    else:
        spans = list(a)
        variants = ["\n".join(spans[::-1]), ", ".join(spans), "", render_target(a, "")]
    reply = rnd.choice([right, *variants])
    return f"Reasoning first.\n<answer>{reply}</answer>" if rnd.random() < 0.5 else reply


def _official(oracle: Any, question: dict[str, Any], answer: Any, scale: Any) -> tuple[Any, ...]:
    metric = oracle.TaTQAEmAndF1()
    metric(ground_truth=question, prediction=answer, pred_scale=scale)
    detail = metric.get_raw()[-1]
    return float(detail["em"]), float(detail["f1"]), metric._scale_em == 1


def test_eval_equals_the_official_script_on_every_dev_record(
    run_cli: Run, tatqa_dir: Path, tatqa_official: Any, tmp_path: Path
) -> None:
    dev_file = tatqa_dir / "tatqa_dataset_dev.json"
    db = tmp_path / "dev.duckdb"
    assert run_cli("--db", db, "import", dev_file).code == 0
    rnd = random.Random(8)
    official: dict[str, Any] = {}
    texts: dict[str, str] = {}
    kinds: dict[str, str] = {}
    questions: dict[str, dict[str, Any]] = {}
    for context in json.loads(dev_file.read_text("utf-8")):
        for q in context["questions"]:
            questions[q["uid"]] = q
            texts[q["uid"]] = _text(q, rnd)
            if rnd.random() < 0.04:
                kinds[q["uid"]] = "missing"
                continue
            make = {"arithmetic": _number, "count": _count}.get(q["answer_type"], _spans)
            kinds[q["uid"]], official[q["uid"]] = rnd.choice(make(q))
    assert len(set(kinds.values())) >= 30
    official_file = write_json(tmp_path / "official.json", official)
    text_file = write_json(tmp_path / "text.json", texts)
    for run, path in (("official", official_file), ("text", text_file)):
        imported = run_cli("--db", db, "predict", "--import", path, "--name", run)
        assert imported.code == 0, imported.err
    lines = tmp_path / "questions.jsonl"
    result = run_cli("--db", db, "eval", "official", "text", "--per-question", lines, "--json")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in lines.read_text("utf-8").splitlines()]
    assert len(rows) == 2 * len(questions)
    mismatches = []
    for row in rows:
        q = questions[row["uid"]]
        if row["run"] == "official":
            answer, scale = official.get(row["uid"], (None, None))  # as the script reads the file
        else:  # the text as the parser read it, given to the script in the official form
            answer, scale = (row["prediction"]["answer"], row["prediction"]["scale"])
        expected = _official(tatqa_official, q, answer, scale)
        got = (row["em"], row["f1"], row["scale_correct"])
        if expected != got:
            mismatches.append((row["run"], kinds.get(row["uid"]), answer, scale, expected, got))
    assert not mismatches, mismatches[:5]

    # The breakdowns are the official means of their questions.
    runs = json.loads(result.out)["runs"]
    for report in runs:
        metric = tatqa_official.TaTQAEmAndF1()
        for row in (r for r in rows if r["run"] == report["run"]):
            pred = row["prediction"]
            if report["run"] == "official":
                answer, scale = official.get(row["uid"], (None, None))
            else:
                answer, scale = (pred["answer"], pred["scale"]) if pred else (None, None)
            metric(ground_truth=questions[row["uid"]], prediction=answer, pred_scale=scale)
        em, f1, scale_score, _ = metric.get_overall_metric()
        assert (report["tatqa_em"], report["tatqa_f1"], report["scale_accuracy"]) == (
            round(em * 100, 2),
            round(f1 * 100, 2),
            round(scale_score * 100, 2),
        )
        em_pivot, f1_pivot = metric.get_detail_metric()
        for kind, inner in report["by_answer_type_and_from"].items():
            for source, cell in inner.items():
                assert cell["em"] == round(em_pivot.loc[kind, ("em", source)] * 100, 2)
                assert cell["f1"] == round(f1_pivot.loc[kind, ("f1", source)] * 100, 2)
        assert sum(cell["n"] for cell in report["by_scale"].values()) == len(questions)
