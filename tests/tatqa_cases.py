"""A generated TAT-QA prediction set: every question of a gold file gets one kind of answer.

The kinds cover what real systems produce (right, near-right, wrong, missing, other formats), so
scoring the set with curator and with the official script compares every rule of the metric.
Deterministic: the kind of a question depends only on its position and answer type.
"""

from __future__ import annotations

from typing import Any

SCALES = ("", "thousand", "million", "billion", "percent")
WORDS = {0: "zero", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}


def _num(answer: Any) -> float:
    return float(answer)


def _other_scale(scale: str) -> str:
    return SCALES[(SCALES.index(scale) + 2) % len(SCALES)]


def _numeric_kinds(q: dict[str, Any]) -> dict[str, Any]:
    value, scale = _num(q["answer"]), q["scale"]
    return {
        "right": [q["answer"], scale],
        "right as string": [str(q["answer"]), scale],
        "right as list": [[str(q["answer"])], scale],
        "perturbed": [value * 1.013 + 1, scale],
        "rounded 1 decimal": [round(value, 1), scale],
        "rounded 0 decimals": [str(round(value)), scale],
        "rounded 3 decimals": [f"{value:.3f}", scale],
        "wrong scale": [q["answer"], _other_scale(scale)],
        "no scale": [q["answer"], ""],
        "percent sign": [f"{q['answer']}%", ""],
        "fraction": [round(value / 100, 6), ""],
        "fraction 2 decimals": [f"{value / 100:.2f}", ""],
        "dollars and commas": [f"${value:,.2f}", scale],
        "negative in parentheses": [f"({abs(value):,})", scale],
        "negated": [-value, scale],
        "scale word inside": [f"{q['answer']} {scale or 'million'}", ""],
        "extra words": [f"about {q['answer']} in total", scale],
        "empty": ["", scale],
        "zero": [0, scale],
        "word": ["not stated", scale],
    }


def _count_kinds(q: dict[str, Any]) -> dict[str, Any]:
    n = int(q["answer"])
    return {
        "count right": [q["answer"], ""],
        "count as int": [n, ""],
        "count as word": [WORDS.get(n, "many"), ""],
        "count off by one": [str(n + 1), ""],
        "count with scale": [n, "thousand"],
        "count with words": [f"{n} items", ""],
    }


def _span_kinds(q: dict[str, Any], other: list[str]) -> dict[str, Any]:
    spans: list[str] = list(q["answer"])
    scale = q["scale"]
    first = spans[0] if spans else ""
    kinds: dict[str, Any] = {
        "span right": [spans, scale],
        "span as string": [first, scale] if len(spans) == 1 else ["; ".join(spans), scale],
        "wrong span": [other, scale],
        "case and articles": [[f"The {s.upper()}" for s in spans], scale],
        "extra words": [[f"{s} in the year, as reported" for s in spans], scale],
        "truncated": [[" ".join(s.split()[: max(1, len(s.split()) // 2)]) for s in spans], scale],
        "trailing punctuation": [[f"{s}." for s in spans], scale],
        "repeated word": [[f"{s} {s.split()[0] if s.split() else ''}" for s in spans], scale],
        "span wrong scale": [spans, _other_scale(scale)],
        "span scale dropped": [spans, ""],
        "span empty list": [[], scale],
        "span missing": None,
    }
    if len(spans) > 1:
        kinds |= {
            "multi-span reordered": [list(reversed(spans)), scale],
            "multi-span dropped": [spans[:-1], scale],
            "multi-span added": [[*spans, "other item"], scale],
            "multi-span joined": [", ".join(spans), scale],
            "multi-span joined with and": [" and ".join(spans), scale],
        }
    return kinds


def generated_predictions(gold: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """({uid: [answer, scale]} in the official format, {uid: kind}); missing ones are absent."""
    predictions: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    previous: list[str] = ["Zinc"]
    position = 0
    for context in gold:
        for q in context["questions"]:
            position += 1
            kind_type = q["answer_type"]
            if kind_type in ("span", "multi-span"):
                options = _span_kinds(q, previous)
                previous = list(q["answer"]) or previous
            elif kind_type == "count":
                options = _count_kinds(q)
            else:
                options = _numeric_kinds(q)
            names = sorted(options)
            name = names[(position * 7) % len(names)]
            if position % 29 == 0:
                name = "missing"
            kinds[q["uid"]] = name
            value = options.get(name)
            if value is not None:
                predictions[q["uid"]] = value
    return predictions, kinds
