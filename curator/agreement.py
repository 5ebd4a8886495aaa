"""Judge-versus-human agreement: 2x2 confusion matrices and Cohen's kappa.

Kappa corrects raw agreement for the agreement two raters would reach by chance given how often
each says "correct": kappa = (p_observed - p_chance) / (1 - p_chance). 1 is perfect agreement,
0 is chance level, below 0 worse than chance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

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
