"""Scoring answers: the best-practice post's token F1, TAT-QA's exact match and F1, token stats.

Token F1 (the post): tokens are lower-cased words; matching tokens are the distinct words found
in both answers; precision = matching / generated tokens, recall = matching / reference tokens,
F1 = 2PR / (P + R) x 100. Its worked example scores exactly 60.00.

TAT-QA EM / F1 (the benchmark's own evaluation, DROP-style): answers are normalised (lower case,
punctuation and articles removed, numbers compared as numbers), each span becomes a bag of
tokens, the spans of prediction and gold are aligned one-to-one to maximise F1, and a span pair
whose numbers disagree scores 0. The scale is scored separately.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curator.domain import AnswerValue
from curator.judges.numbers import parse_number
from curator.prompts import SPAN_SEPARATOR, render_number

# -- the post's token F1 --------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[\w.%$,-]+", text.lower())


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


# -- TAT-QA EM / F1 -------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)
_SCALE_WORDS = {
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "thousands": "thousand",
    "millions": "million",
    "billions": "billion",
    "percent": "percent",
    "%": "percent",
}


def _normalize_number(token: str) -> str:
    value = parse_number(token)
    if value is None:
        return token
    return str(round(value, 4))


def _tokens(text: str) -> list[str]:
    text = text.lower()
    text = text.replace("$", " ").replace("%", " ")
    out = []
    for raw in text.split():
        core = raw.strip(".,;:")
        if parse_number(core) is not None:
            out.append(_normalize_number(core))
            continue
        cleaned = "".join(ch for ch in raw if ch not in _PUNCTUATION)
        cleaned = _ARTICLES.sub("", cleaned)
        if cleaned:
            out.append(cleaned)
    return out


def _numbers(tokens: Sequence[str]) -> set[str]:
    return {t for t in tokens if re.fullmatch(r"-?\d+(\.\d+)?", t)}


def _bag_f1(pred: list[str], gold: list[str]) -> float:
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if not pred and not gold:
        return 1.0
    if same == 0:
        return 0.0
    p, r = same / len(pred), same / len(gold)
    return 2 * p * r / (p + r)


def _span_f1(pred: list[str], gold: list[str]) -> float:
    gold_numbers = _numbers(gold)
    if gold_numbers and not gold_numbers & _numbers(pred):
        return 0.0
    return _bag_f1(pred, gold)


def _align(pred_spans: list[list[str]], gold_spans: list[list[str]]) -> float:
    """Best one-to-one alignment of spans, averaged over the longer list (DROP's rule)."""
    if not pred_spans or not gold_spans:
        return 0.0
    n = max(len(pred_spans), len(gold_spans))
    scores = [[_span_f1(p, g) for g in gold_spans] for p in pred_spans]
    best = 0.0
    small, large = (
        (pred_spans, gold_spans) if len(pred_spans) <= len(gold_spans) else (gold_spans, pred_spans)
    )
    transpose = small is gold_spans
    for perm in itertools.permutations(range(len(large)), len(small)):
        total = sum(scores[j][i] if transpose else scores[i][j] for i, j in enumerate(perm))
        best = max(best, total)
    return best / n


@dataclass(frozen=True, slots=True)
class TatqaScore:
    em: float  # 0 or 1
    f1: float  # 0-1
    scale_correct: bool | None  # None when the prediction names no scale and gold has none


def split_prediction(text: str) -> tuple[list[str], str]:
    """A model's answer text as spans and the scale it states."""
    text = re.sub(r"</?answer>", "", text).strip()
    if "<rationale>" in text:
        text = re.sub(r"<rationale>.*?</rationale>", "", text, flags=re.DOTALL).strip()
    scale = ""
    lowered = text.lower()
    if lowered.endswith("%") or lowered.endswith(" percent"):
        scale = "percent"
    else:
        for word in ("thousand", "million", "billion"):
            if re.search(rf"\b{word}s?\.?$", lowered):
                scale = word
    spans = [s.strip() for s in text.split(SPAN_SEPARATOR.strip()) if s.strip()]
    cleaned = []
    for span in spans:
        span = re.sub(r"\s*\b(thousands?|millions?|billions?|percent)\.?$", "", span, flags=re.I)
        cleaned.append(span.rstrip("%").strip())
    return cleaned, scale


def gold_spans(gold: AnswerValue) -> list[str]:
    if isinstance(gold, list):
        return [str(g) for g in gold]
    if isinstance(gold, int | float):
        return [render_number(gold)]
    return [str(gold)]


def tatqa_score(prediction: str, gold: AnswerValue, gold_scale: str) -> TatqaScore:
    pred_spans, pred_scale = split_prediction(prediction)
    g_spans = gold_spans(gold)
    p_tokens = [_tokens(s) for s in pred_spans]
    g_tokens = [_tokens(s) for s in g_spans]
    em = float(sorted(" ".join(t) for t in p_tokens) == sorted(" ".join(t) for t in g_tokens))
    f1 = _align(p_tokens, g_tokens)
    scale_ok = None if not pred_scale and not gold_scale else pred_scale == gold_scale
    return TatqaScore(em, f1, scale_ok)


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
    records: int
    answered: int
    rejected_left_out: int
    token_f1: float
    em: float
    f1: float
    scale_accuracy: float | None
    tokens: TokenStats
    by_answer_type: dict[str, dict[str, float]]
    by_answer_from: dict[str, dict[str, float]]
    output_tokens: list[int]
    wrong: list[str]  # uids with TAT-QA F1 below 1

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "records": self.records,
            "answered": self.answered,
            "rejected_left_out": self.rejected_left_out,
            "token_f1": round(self.token_f1, 2),
            "tatqa_em": round(self.em * 100, 2),
            "tatqa_f1": round(self.f1 * 100, 2),
            "scale_accuracy": None
            if self.scale_accuracy is None
            else round(self.scale_accuracy * 100, 2),
            "output_tokens": {
                "mean": round(self.tokens.mean, 2),
                "median": self.tokens.median,
                "stdev": round(self.tokens.stdev, 2),
                "min": self.tokens.minimum,
                "max": self.tokens.maximum,
            },
            "by_answer_type": self.by_answer_type,
            "by_answer_from": self.by_answer_from,
            "wrong": len(self.wrong),
        }


def report(run: str, rows: Sequence[Any], rejected: int) -> RunReport:
    """Score every row (see store.predictions.ScoredRow) of one run."""
    from curator.prompts import render_answer

    token_f1s, ems, f1s, scale_hits, tokens = [], [], [], [], []
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    wrong = []
    for row in rows:
        prediction = row.prediction or ""
        reference = render_answer(row.gold, row.scale)
        token_f1s.append(token_f1(prediction, reference))
        score = tatqa_score(prediction, row.gold, row.scale)
        ems.append(score.em)
        f1s.append(score.f1)
        if score.scale_correct is not None:
            scale_hits.append(score.scale_correct)
        if row.prediction is not None:
            tokens.append(row.output_tokens)
        for key in (("type", row.answer_type), ("from", row.answer_from)):
            groups.setdefault(key, []).append((score.em, score.f1))
        if score.f1 < 1:
            wrong.append(row.uid)

    def summary(kind: str) -> dict[str, dict[str, float]]:
        out = {}
        for (k, name), values in sorted(groups.items()):
            if k == kind:
                out[name] = {
                    "n": len(values),
                    "em": round(100 * sum(v[0] for v in values) / len(values), 2),
                    "f1": round(100 * sum(v[1] for v in values) / len(values), 2),
                }
        return out

    n = len(rows)
    return RunReport(
        run=run,
        records=n,
        answered=sum(1 for r in rows if r.prediction is not None),
        rejected_left_out=rejected,
        token_f1=sum(token_f1s) / n if n else 0.0,
        em=sum(ems) / n if n else 0.0,
        f1=sum(f1s) / n if n else 0.0,
        scale_accuracy=sum(scale_hits) / len(scale_hits) if scale_hits else None,
        tokens=TokenStats.of(tokens),
        by_answer_type=summary("type"),
        by_answer_from=summary("from"),
        output_tokens=tokens,
        wrong=wrong,
    )


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
