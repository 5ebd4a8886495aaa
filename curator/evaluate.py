"""Scoring answers: the best-practice post's token F1, TAT-QA's exact match and F1, token stats.

Token F1 (the post): tokens are lower-cased words (a word's trailing . , ; : ! ? is not part of
it, so "revenue." and "revenue" match, while "$" "%" and a decimal point inside a number are);
matching tokens are the DISTINCT words found in both answers, precision = matching / generated
tokens and recall = matching / reference tokens, where the token counts include repeats (so a
repeated word lowers precision once it has matched); F1 = 2PR / (P + R) x 100. Its worked example
scores exactly 60.00. The reference is the export's rendering of the gold answer.

TAT-QA EM / F1 / scale: exactly the official script's rules, question by question
(curator.tatqa_metric); a question without a prediction scores 0 and stays in the denominator.
A model's text answer is read into (answer, scale) by curator.answer_format.parse_answer; an
answer imported in a structured form is scored as given.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.answer_format import parse_answer, render_target
from curator.domain import CuratorError
from curator.tatqa_metric import SCALES, PredictedAnswer, QuestionScore, Scalar, score_question


class OutputUnusable(CuratorError):
    """A file the user asked for cannot be written (exit code 3)."""

    exit_code = 3


# -- the post's token F1 --------------------------------------------------------------------

_TRAILING = ".,;:!?"


def _words(text: str) -> list[str]:
    # The minus sign (U+2212) is a minus: left out of the word characters, `−5` matched `5`.
    text = text.lower().replace("\u2212", "-")
    words = (w.rstrip(_TRAILING) for w in re.findall(r"[\w.%$,-]+", text))
    return [w for w in words if w]


def token_f1(generated: str, reference: str) -> float:
    """The post's token F1 in percent (0-100)."""
    gen, ref = _words(generated), _words(reference)
    if not gen or not ref:
        return 100.0 if gen == ref else 0.0
    matching = len(set(gen) & set(ref))
    if matching == 0:
        return 0.0
    p, r = matching / len(gen), matching / len(ref)
    return 2 * p * r / (p + r) * 100


# -- TAT-QA, question by question -----------------------------------------------------------


def structured_answer(answer_json: str) -> tuple[PredictedAnswer, str]:
    """A stored structured prediction: {"answer": ..., "scale": ...}."""
    data = json.loads(answer_json)
    return data["answer"], str(data["scale"])


def tatqa_score(text: str, gold: Any, gold_scale: str, answer_type: str) -> QuestionScore:
    """A text answer (a model's reply) read by the parser and scored against one gold answer."""
    parsed = parse_answer(text)
    spans: list[Scalar] = list(parsed.spans)
    return score_question(spans, parsed.scale, gold, gold_scale, answer_type)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question of a run, scored: what `eval --per-question` writes and the TUI lists."""

    uid: str
    question: str
    answer_type: str
    answer_from: str
    gold: Any
    gold_scale: str
    prediction: PredictedAnswer | None  # None: no prediction for this question
    pred_scale: str
    text: str | None  # the model's (or file's) text answer, when the prediction is text
    em: float
    f1: float
    scale_correct: bool
    token_f1: float
    output_tokens: int

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "answer_type": self.answer_type,
            "answer_from": self.answer_from,
            "gold": {"answer": self.gold, "scale": self.gold_scale},
            "prediction": None
            if self.prediction is None
            else {"answer": self.prediction, "scale": self.pred_scale, "text": self.text},
            "em": self.em,
            "f1": self.f1,
            "scale_correct": self.scale_correct,
        }


def score_row(row: Any) -> QuestionResult:
    """Score one store.predictions.ScoredRow."""
    prediction: PredictedAnswer | None = None
    pred_scale = ""
    if row.answer_json is not None:
        prediction, pred_scale = structured_answer(row.answer_json)
    elif row.prediction is not None:
        parsed = parse_answer(row.prediction)
        prediction, pred_scale = list(parsed.spans), parsed.scale
    score = score_question(prediction, pred_scale, row.gold, row.scale, row.answer_type)
    text = row.prediction
    if text is None and prediction is not None:
        text = render_target(prediction, pred_scale) if prediction != [] else ""
    reference = render_target(row.gold, row.scale)
    return QuestionResult(
        uid=row.uid,
        question=row.question,
        answer_type=row.answer_type,
        answer_from=row.answer_from,
        gold=row.gold,
        gold_scale=row.scale,
        prediction=prediction,
        pred_scale=pred_scale,
        text=row.prediction,
        em=score.em,
        f1=score.f1,
        scale_correct=score.scale_correct,
        token_f1=token_f1(text, reference) if text is not None else 0.0,
        output_tokens=row.output_tokens,
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """Means over all questions, as the official script averages them."""

    n: int
    em: float
    f1: float
    scale: float


def official_summary(scores: Sequence[QuestionScore | QuestionResult]) -> Summary:
    n = len(scores)
    if not n:
        return Summary(0, 0.0, 0.0, 0.0)
    em = sum(s.em for s in scores)
    f1 = sum(s.f1 for s in scores)
    scale = sum(1 for s in scores if s.scale_correct)
    return Summary(n, em / n, f1 / n, scale / n)


# -- a run's report -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenStats:
    mean: float
    median: float
    stdev: float
    minimum: int
    maximum: int

    @classmethod
    def of(cls, values: Sequence[int]) -> TokenStats:
        if not values:
            return cls(math.nan, math.nan, math.nan, 0, 0)
        return cls(
            statistics.mean(values),
            statistics.median(values),
            statistics.pstdev(values),
            min(values),
            max(values),
        )


@dataclass(frozen=True, slots=True)
class RunReport:
    run: str
    records: int  # every question scored (missing predictions included, scoring 0)
    answered: int  # questions with a prediction
    #: Questions whose latest answer was cut off by max_tokens: not answered, so they score 0
    #: (left out, a rambling model would look better than one that answers every question).
    truncated: int
    rejected_left_out: int
    token_f1: float
    em: float
    f1: float
    scale_accuracy: float  # the official scale score: right scale over all questions
    tokens: TokenStats
    by_answer_type: dict[str, dict[str, float]]
    by_answer_from: dict[str, dict[str, float]]
    by_type_and_from: dict[str, dict[str, dict[str, float]]]
    output_tokens: list[int]
    questions: list[QuestionResult]
    #: By the gold answer's scale ("" = none): n, EM, F1 and the scale score of those questions.
    by_scale: dict[str, dict[str, float]]
    #: Answers given for an earlier version of their record (edited or re-imported since): scored
    #: against today's gold all the same; `curator predict` of the run asks them again.
    outdated: int = 0

    @property
    def wrong(self) -> list[QuestionResult]:
        """Questions not exactly right (EM 0), in record order: the TUI's list."""
        return [q for q in self.questions if q.em < 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "records": self.records,
            "answered": self.answered,
            "truncated": self.truncated,
            "rejected_left_out": self.rejected_left_out,
            "outdated_answers": self.outdated,
            "token_f1": round(self.token_f1, 2),
            "tatqa_em": round(self.em * 100, 2),
            "tatqa_f1": round(self.f1 * 100, 2),
            "scale_accuracy": round(self.scale_accuracy * 100, 2),
            "output_tokens": {
                "mean": json_number(self.tokens.mean),
                "median": json_number(self.tokens.median),
                "stdev": json_number(self.tokens.stdev),
                "min": self.tokens.minimum,
                "max": self.tokens.maximum,
            },
            "by_answer_type": self.by_answer_type,
            "by_answer_from": self.by_answer_from,
            "by_answer_type_and_from": self.by_type_and_from,
            "by_scale": self.by_scale,
            "wrong": len(self.wrong),
        }


def _group(results: Sequence[QuestionResult]) -> dict[str, float]:
    summary = official_summary(results)
    return {"n": summary.n, "em": round(summary.em * 100, 2), "f1": round(summary.f1 * 100, 2)}


def _scale_group(results: Sequence[QuestionResult]) -> dict[str, float]:
    return {**_group(results), "scale": round(official_summary(results).scale * 100, 2)}


def report(run: str, rows: Sequence[Any], rejected: int) -> RunReport:
    """Score every row (see store.predictions.ScoredRow) of one run."""
    from curator.store.predictions import is_truncated

    results = [score_row(row) for row in rows]
    by_type: dict[str, list[QuestionResult]] = {}
    by_from: dict[str, list[QuestionResult]] = {}
    by_both: dict[str, dict[str, list[QuestionResult]]] = {}
    by_scale: dict[str, list[QuestionResult]] = {}
    for r in results:
        by_scale.setdefault(r.gold_scale, []).append(r)
        by_type.setdefault(r.answer_type, []).append(r)
        by_from.setdefault(r.answer_from, []).append(r)
        by_both.setdefault(r.answer_type, {}).setdefault(r.answer_from, []).append(r)
    summary = official_summary(results)
    tokens = [r.output_tokens for r in results if r.prediction is not None]
    n = len(results)
    return RunReport(
        run=run,
        records=n,
        answered=sum(1 for r in results if r.prediction is not None),
        truncated=sum(1 for row in rows if is_truncated(row.error)),
        rejected_left_out=rejected,
        token_f1=sum(r.token_f1 for r in results) / n if n else 0.0,
        em=summary.em,
        f1=summary.f1,
        scale_accuracy=summary.scale,
        tokens=TokenStats.of(tokens),
        by_answer_type={k: _group(v) for k, v in sorted(by_type.items())},
        by_answer_from={k: _group(v) for k, v in sorted(by_from.items())},
        by_type_and_from={
            k: {f: _group(v) for f, v in sorted(inner.items())}
            for k, inner in sorted(by_both.items())
        },
        output_tokens=tokens,
        questions=results,
        by_scale={k: _scale_group(by_scale[k]) for k in SCALES if k in by_scale}
        | {k: _scale_group(v) for k, v in sorted(by_scale.items()) if k not in SCALES},
        outdated=sum(1 for row in rows if getattr(row, "outdated", False)),
    )


def same_questions(reports: Sequence[RunReport]) -> bool:
    """Whether every run was scored on the same questions: otherwise the "vs base" figures
    compare scores over different sets (a run asked one split, the other another)."""
    sets = {frozenset(q.uid for q in r.questions) for r in reports}
    return len(sets) <= 1


def write_per_question(reports: Sequence[RunReport], path: Path) -> int:
    """One JSON line per question and run (with "run" first); returns the number of lines."""
    lines = [
        json.dumps({"run": r.run, **q.to_json()}, ensure_ascii=False)
        for r in reports
        for q in r.questions
    ]
    from curator.tempfiles import replaced_whole

    try:
        with replaced_whole(path) as target:
            target.write_text("".join(line + "\n" for line in lines), "utf-8")
    except OSError as exc:
        raise OutputUnusable(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return len(lines)


def json_number(value: float, digits: int = 2) -> float | None:
    """`value` rounded for JSON, or None when undefined (a run without answers has no mean):
    NaN is not JSON, and strict parsers (jq, JSON.parse) refuse the whole document."""
    return round(value, digits) if math.isfinite(value) else None


def reduction(base: float, other: float) -> float:
    """% reduction of `other` against `base` (positive = fewer)."""
    return (base - other) / base * 100 if base else 0.0


def histogram(values: Sequence[int], *, bins: int = 10, width: int = 40) -> list[str]:
    """A terminal histogram, one line per bin."""
    if not values:
        return ["(no answers)"]
    low, high = min(values), max(values)
    step = max(1, math.ceil((high - low + 1) / bins))
    counts = Counter((v - low) // step for v in values)
    peak = max(counts.values())
    lines = []
    for b in range(math.ceil((high - low + 1) / step)):
        n = counts.get(b, 0)
        bar = "█" * round(width * n / peak) if n else ""
        lines.append(f"{low + b * step:>6}-{low + (b + 1) * step - 1:<6} {bar} {n}")
    return lines


def plot_bins(top: int, most: int = 30) -> list[int]:
    """Bin edges from 0 for the PNG histogram of answers of up to `top` tokens: at most about
    `most` bins of one width, the last edge above `top`, so the longest answers are drawn too
    (edges that stopped short of `top` left them out of the plot without a word)."""
    step = max(1, math.ceil((top + 1) / most))
    return list(range(0, top + step + 1, step))


def compare(reports: Sequence[RunReport]) -> dict[str, dict[str, float]]:
    """Each run against the first (the baseline): token F1 and TAT-QA F1 points gained, and the
    % fewer output tokens. Both the JSON and the table print these numbers."""
    if not reports:
        return {}
    base = reports[0]
    return {
        r.run: {
            "token_f1": r.token_f1 - base.token_f1,
            "tatqa_f1": (r.f1 - base.f1) * 100,
            "output_tokens_reduction_pct": reduction(base.tokens.mean, r.tokens.mean),
        }
        for r in reports[1:]
    }
