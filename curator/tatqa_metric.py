"""TAT-QA exact match, F1 and scale score, question by question, as the benchmark defines them.

Published TAT-QA numbers come from the official evaluation script (NExTplusplus/TAT-QA,
`tatqa_metric.py`); this module computes the same numbers without numpy, scipy or pandas, and
the test suite checks it against that script question by question (tests/unit/test_tatqa_oracle).
The rules, in the script's order:

1. A question without a prediction, or whose prediction is falsy (an empty string or list, and
   also the number 0: the script's `if not prediction`), scores EM 0, F1 0, scale wrong.
2. The gold answer becomes a list of strings: the spans of a span / multi-span answer,
   `str(answer)` for arithmetic, `str(int(answer))` for count. An empty list scores 0.
3. Gold and prediction each become ONE string: the spans sorted, each span turned into text,
   joined with a space. A span that reads as a number (see `looks_numeric`) becomes the number
   with 4 decimals: multiplied by the scale after rounding to 2 decimals, or, when the span has a
   `%` sign, taken as written (12% -> 0.1200) without the scale. Any other span gets the scale
   word appended ("Zinc million"). So a wrong scale changes the number and scores 0.
4. A single numeric prediction with no scale and no `%` is also tried as its plain number, to 4
   decimals without rounding to 2 (0.2342 is accepted for 23.42 percent); the better of the two
   tries counts (EM first, then F1).
5. Both strings are normalised token by token (split on single spaces; lower case; punctuation
   dropped unless the token reads as a number; numeric tokens rewritten as Python prints the
   number, so "1,000" and "1000.0" agree; "a", "an", "the" removed). EM is 1 when the normalised
   strings are equal. F1 compares the SETS of words (a repeated word counts once), rounded to 2
   decimals the way numpy rounds (x * 100 rounded half to even, / 100).
6. For arithmetic and count questions F1 is set to EM.
7. The scale is right when the prediction's scale equals the gold scale, counted only for
   questions scored past rule 1 and 2. Every score is averaged over all questions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: What the official format allows as a scale, in its order.
SCALES = ("", "thousand", "million", "billion", "percent")

Scalar = str | int | float
PredictedAnswer = Scalar | list[Scalar]

# -- numbers as the benchmark reads them ----------------------------------------------------

_NOT_IN_NUMBERS = frozenset("'\"\\$€£¥%(),[]")
_FIRST_NUMBER = re.compile(r"([+-]?\d+(\.\d+)?)|([+-]?\.\d+)")
_NUMBER_THEN_WORD = re.compile(r"[\d.]+\s?[a-zA-Z]+")
_BRACKETED = re.compile(r"\([\d.\s]+\)")
_PERCENTAGE = re.compile(r"[\d.\s]+%")
_FACTORS: tuple[tuple[str, int | float], ...] = (
    ("hundred", 100),
    ("thousand", 1_000),
    ("million", 1_000_000),
    ("billion", 1_000_000_000),
    ("percent", 0.01),
)


def _drop_symbols(text: str) -> str:
    return "".join(ch for ch in text if ch not in _NOT_IN_NUMBERS)


def scale_factor(word: str) -> int | float:
    """The multiplier a word names: the first of hundred, thousand, million, billion, percent
    found anywhere in it ("thousands" and "percentage" count), else 1."""
    lowered = word.lower()
    for name, factor in _FACTORS:
        if name in lowered:
            return factor
    return 1


def looks_numeric(text: str) -> bool:
    """Whether the benchmark treats `text` as a number: its first whitespace-separated word, with
    currency signs, quotes, commas, brackets and % removed, parses as a Python float other than
    NaN, and a second word, if any, names a scale ("1.2 million" yes, "1.2 tonnes" no)."""
    words = [w for w in (_drop_symbols(w) for w in text.split()) if w]
    if not words:
        return False
    try:
        value = float(words[0])
    except ValueError:
        return False
    if value != value:  # NaN
        return False
    return len(words) < 2 or scale_factor(words[1]) != 1


def _first_number(text: str) -> int | float | None:
    found = _FIRST_NUMBER.search(_drop_symbols(text))
    if found is None or found.group(1) is None:
        return None  # no digits, or only a bare ".5"-style fraction, which the benchmark skips
    digits = found.group(1)
    if "." in digits:
        return float(digits)
    try:
        return int(digits)
    except ValueError:  # over Python's 4,300-digit limit (the official script stops here)
        return float(digits)


def number_value(text: str) -> int | float | None:
    """The value the benchmark gives `text`: the first number in it, times the scale word right
    after the first digits ("1.1 billion"), negated when digits stand alone in brackets
    ("(134)"), divided by 100 when digits are followed by % ("12%"), rounded to 4 decimals."""
    number = _first_number(text)
    if number is None:
        return None
    after = _NUMBER_THEN_WORD.search(text)
    factor = scale_factor(after.group(0)) if after else 1
    sign = -1 if _BRACKETED.search(text) else 1
    percent = 0.01 if _PERCENTAGE.search(text.strip()) else 1
    return round(number * factor * sign * percent, 4)


# -- answers as one comparable string -------------------------------------------------------


def _span_text(span: Scalar, scale: str) -> str:
    text = str(span)
    if looks_numeric(text):
        value = number_value(text)
        if value is None:
            pass  # numeric-looking but without digits the benchmark can read: treated as text
        elif "%" in text:
            return f"{value:.4f}"
        else:
            return f"{round(value, 2) * scale_factor(scale):.4f}"
    return f"{text} {scale}" if scale else text


def answer_string(spans: Sequence[Scalar], scale: str) -> str:
    """Spans sorted, each as text (numbers scaled, see rule 3), joined with single spaces."""
    ordered: list[Any] = sorted(spans)
    return " ".join(_span_text(span, scale) for span in ordered)


def _plain_number(spans: Sequence[Scalar], scale: str) -> str | None:
    """Rule 4: the second try for one unscaled number, e.g. a fraction for a percentage."""
    if len(spans) != 1 or scale:
        return None
    text = str(spans[0])
    if "%" in text or not looks_numeric(text):
        return None
    value = number_value(text)
    return None if value is None else f"{value:.4f}"


# -- normalisation and the two scores -------------------------------------------------------

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLE = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def _normal_token(token: str) -> str:
    token = token.lower()
    if not looks_numeric(token):
        token = "".join(ch for ch in token if ch not in _PUNCTUATION)
    if looks_numeric(token):
        # str(None) when no digits can be read: the benchmark writes "None" too.
        token = str(number_value(token))
    return " ".join(_ARTICLE.sub(" ", token).split())


def normalize(text: str) -> str:
    """Rule 5's normal form: tokens split on single spaces, each normalised, blanks dropped."""
    return " ".join(t for t in (_normal_token(tok) for tok in text.split(" ")) if t.strip())


def _round2(value: float) -> float:
    """numpy's round(value, 2): scale by 100, round half to even, scale back."""
    return round(value * 100) / 100


def _set_f1(predicted: set[str], gold: set[str]) -> float:
    common = len(predicted & gold)
    precision = common / float(len(predicted)) if predicted else 1.0
    recall = common / float(len(gold)) if gold else 1.0
    if precision == 0.0 and recall == 0.0:
        return 0.0
    return (2 * precision * recall) / (precision + recall)


def string_scores(predicted: str, gold: str) -> tuple[float, float]:
    """(EM, F1) of two answer strings (rule 5)."""
    p, g = normalize(predicted), normalize(gold)
    em = 1.0 if p == g else 0.0
    return em, _round2(_set_f1(set(p.split()), set(g.split())))


# -- one question ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionScore:
    """One question's scores; `answered` is False when no prediction was given (rule 1)."""

    em: float
    f1: float
    scale_correct: bool
    answered: bool


def gold_spans(answer: Any, answer_type: str) -> list[Scalar]:
    """Rule 2. A span answer stored as a plain string (an edit) counts as one span; a count that
    is not an integer is compared as written (the official script would stop with an error)."""
    if answer_type in ("span", "multi-span"):
        return list(answer) if isinstance(answer, list) else [str(answer)]
    if answer_type == "count":
        try:
            return [str(int(answer))]
        except (TypeError, ValueError):
            return [str(answer)]
    return [str(answer)]


def score_question(
    prediction: PredictedAnswer | None,
    pred_scale: str,
    gold_answer: Any,
    gold_scale: str,
    answer_type: str,
) -> QuestionScore:
    """Rules 1-7 for one question. `prediction` is what the official format's first element
    holds: a list of spans, a number or a string; None when the question has no prediction."""
    answered = prediction is not None
    if not prediction:
        return QuestionScore(0.0, 0.0, False, answered)
    gold = gold_spans(gold_answer, answer_type)
    if not gold:
        return QuestionScore(0.0, 0.0, False, answered)
    spans: list[Scalar] = list(prediction) if isinstance(prediction, list) else [prediction]
    gold_text = answer_string(gold, gold_scale)
    tries = [answer_string(spans, pred_scale)]
    if (plain := _plain_number(spans, pred_scale)) is not None:
        tries.append(plain)
    em, f1 = max(string_scores(t, gold_text) for t in tries)
    if answer_type in ("arithmetic", "count"):
        f1 = em
    return QuestionScore(em, f1, pred_scale == gold_scale, answered)
