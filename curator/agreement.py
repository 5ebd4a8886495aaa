"""Judge-versus-human agreement: 2x2 confusion matrices and Cohen's kappa.

Kappa corrects raw agreement for the agreement two raters would reach by chance given how often
each says "correct": kappa = (p_observed - p_chance) / (1 - p_chance). 1 is perfect agreement,
0 is chance level, below 0 worse than chance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LABELS = ("correct", "incorrect")


@dataclass(frozen=True, slots=True)
class Confusion:
    """counts[(human, judge)] over the labels correct / incorrect."""

    counts: Mapping[tuple[str, str], int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def cell(self, human: str, judge: str) -> int:
        return self.counts.get((human, judge), 0)

    @property
    def observed(self) -> float | None:
        n = self.total
        return sum(self.cell(label, label) for label in LABELS) / n if n else None

    @property
    def kappa(self) -> float | None:
        n = self.total
        if not n:
            return None
        p_o = sum(self.cell(label, label) for label in LABELS) / n
        p_e = sum(
            (sum(self.cell(label, j) for j in LABELS) / n)
            * (sum(self.cell(h, label) for h in LABELS) / n)
            for label in LABELS
        )
        if p_e >= 1.0:
            return 1.0 if p_o >= 1.0 else None
        return (p_o - p_e) / (1 - p_e)


def by_judge(
    cells: Mapping[tuple[str, str, str, str], int],
) -> dict[str, tuple[Confusion, dict[str, Confusion]]]:
    """{judge: (overall, {answer_type: confusion})} from (judge, type, human, verdict) counts."""
    overall: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    per_type: dict[str, dict[str, dict[tuple[str, str], int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for (judge, answer_type, human, verdict), n in cells.items():
        key = (human, verdict)
        overall[judge][key] = overall[judge].get(key, 0) + n
        per_type[judge][answer_type][key] = per_type[judge][answer_type].get(key, 0) + n
    return {
        judge: (
            Confusion(overall[judge]),
            {t: Confusion(c) for t, c in sorted(per_type[judge].items())},
        )
        for judge in sorted(overall)
    }


# -- what a person's decision says about the judge's verdict ---------------------------------

#: The fields whose value a judge vouches for. The question is not one of them: rewording it
#: says nothing about whether the answer was right.
JUDGED_FIELDS = ("answer", "scale", "derivation")


def human_label(action: str, before: Mapping[str, Any], edited: Mapping[str, Any] | None) -> str:
    """The person's decision as a label to compare a judge with: `correct` when they accepted
    the record, or edited it without changing the value of its answer, scale or derivation
    (a reworded question, `9336.36` written `9336`); `incorrect` otherwise."""
    if action == "accept":
        return "correct"
    if action == "edit" and edited is not None and not edit_changes_value(before, edited):
        return "correct"
    return "incorrect"


def edit_changes_value(before: Mapping[str, Any], edited: Mapping[str, Any]) -> bool:
    """Did an edit (the changed fields only) change a value a judge vouched for?

    Numbers are compared at the rounding of the less precise of the two (the rules judge's
    `matches`), so `9336.36` -> `9336` is the same value; a derivation is the same when it
    reads the same or evaluates to the same value; a scale is the same only when equal.
    """
    if "scale" in edited and (edited["scale"] or "") != (before.get("scale") or ""):
        return True
    if "answer" in edited and not _same_answer(before.get("answer"), edited["answer"]):
        return True
    return "derivation" in edited and not _same_derivation(
        str(before.get("derivation") or ""), str(edited["derivation"] or "")
    )


def _items(answer: Any) -> list[str]:
    if isinstance(answer, list):
        return [str(a) for a in answer]
    if isinstance(answer, bool) or answer is None:
        return [str(answer)]
    if isinstance(answer, int | float):
        return [repr(answer)]
    return [str(answer)]


def _same_answer(old: Any, new: Any) -> bool:
    """Span lists compare as multisets (order is not a value); each span, or a number, as
    `_same_item`."""
    a, b = _items(old), _items(new)
    if len(a) != len(b):
        return False
    left = list(b)
    for item in a:
        match = next((i for i, other in enumerate(left) if _same_item(item, other)), None)
        if match is None:
            return False
        left.pop(match)
    return True


def _same_item(a: str, b: str) -> bool:
    from curator.numbers import decimals_of, matches, parse_number

    x, y = parse_number(a), parse_number(b)
    if x is None or y is None:
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    # The less precise of the two sets the rounding: 9336.36 rounds to 9336, so it is unchanged.
    if decimals_of(a) <= decimals_of(b):
        return matches(y, x, decimals_of(a))
    return matches(x, y, decimals_of(b))


def _same_derivation(old: str, new: str) -> bool:
    from curator.numbers import DerivationError, evaluate

    if " ".join(old.split()) == " ".join(new.split()):
        return True
    if not old.strip() or not new.strip():
        return False
    try:
        before, after = evaluate(old), evaluate(new)
    except DerivationError:
        return False  # text changed and its value cannot be shown to be the same
    return any(
        math.isclose(a.value, b.value, rel_tol=1e-9, abs_tol=1e-9) for a in before for b in after
    )
