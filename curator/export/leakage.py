"""Keeping near-duplicate tables on one side of an export, and a chosen split out of it.

Splitting by context uid is not enough: TAT-QA-style data holds the same table under several uids
(another header layout, an extra column), and a copy in train with its twin in validation makes
the validation loss look better than it is. So the export clusters near-duplicate contexts
(union-find over the pairs `curator leaks` finds) and splits by cluster. With
`--exclude-overlap-with SPLIT` it first drops every record of that split, every record whose
table near-duplicates one of that split's, and every record whose normalised question and answer
is asked in that split (on any table), so the training set never saw the held-out test set.
The manifest says what was dropped and counts the near-duplicate pairs left across train and
validation (0 unless something is wrong).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from curator.leaks import clusters
from curator.split_choice import check_splits
from curator.store.db import Store
from curator.store.leaks import ContextPair, context_pairs, overlapping_records


class _Record(Protocol):
    @property
    def uid(self) -> str: ...

    @property
    def context_uid(self) -> str: ...


R = TypeVar("R", bound=_Record)

#: How many dropped record uids the manifest lists (the counts are always complete).
MAX_LISTED_DROPPED = 50


@dataclass(frozen=True, slots=True)
class LeakPlan:
    """What the export needs: the pairs, the clusters of the exported contexts, what was dropped."""

    threshold: float
    pairs: list[ContextPair]
    groups: dict[str, str]
    exclude_overlap_with: str | None
    dropped: dict[str, str]  # record uid -> why


def plan(
    store: Store,
    records: Sequence[R],
    *,
    threshold: float,
    exclude_overlap_with: str | None,
) -> tuple[list[R], LeakPlan]:
    """(the records to export, the plan): overlap with the excluded split dropped, clusters made."""
    if exclude_overlap_with is not None:
        check_splits(store, [exclude_overlap_with], "--exclude-overlap-with")
    pairs = context_pairs(store, threshold=threshold)
    dropped: dict[str, str] = {}
    if exclude_overlap_with is not None:
        why = overlapping_records(store, exclude_overlap_with, pairs)
        dropped = {r.uid: why[r.uid] for r in records if r.uid in why}
        records = [r for r in records if r.uid not in dropped]
    groups = clusters(((p.a, p.b) for p in pairs), {r.context_uid for r in records})
    return list(records), LeakPlan(threshold, pairs, groups, exclude_overlap_with, dropped)


def _cross_pairs(
    pairs: Iterable[ContextPair], left: set[str], right: set[str]
) -> list[ContextPair]:
    return [p for p in pairs if (p.a in left and p.b in right) or (p.b in left and p.a in right)]


def manifest_section(
    leak_plan: LeakPlan, train: Sequence[_Record], validation: Sequence[_Record]
) -> dict[str, Any]:
    """The manifest's `leaks` entry: clusters, pairs left across the split, what was dropped."""
    train_ctx = {r.context_uid for r in train}
    validation_ctx = {r.context_uid for r in validation}
    exported = train_ctx | validation_ctx
    sizes = Counter(leak_plan.groups[c] for c in exported if c in leak_plan.groups)
    cross = _cross_pairs(leak_plan.pairs, train_ctx, validation_ctx)
    section: dict[str, Any] = {
        "threshold": leak_plan.threshold,
        "near_duplicate_clusters": sum(1 for n in sizes.values() if n > 1),
        "contexts_in_clusters": sum(n for n in sizes.values() if n > 1),
        "cross_split_pairs": len(cross),
        "cross_split_examples": [[p.a, p.b] for p in cross[:10]],
        "exclude_overlap_with": leak_plan.exclude_overlap_with,
    }
    if leak_plan.exclude_overlap_with is not None:
        split = leak_plan.exclude_overlap_with
        left = [
            p
            for p in leak_plan.pairs
            if (p.split_a == split and p.b in exported) or (p.split_b == split and p.a in exported)
        ]
        # 0 unless something is wrong: no exported table near-duplicates one of that split.
        section["pairs_with_excluded_split"] = len(left)
        reasons = Counter(leak_plan.dropped.values())
        section["dropped"] = {
            "records": len(leak_plan.dropped),
            "in_split": reasons.get("in-split", 0),
            "near_duplicate_table": reasons.get("table", 0),
            "repeated_question": reasons.get("question", 0),
            "uids": sorted(leak_plan.dropped)[:MAX_LISTED_DROPPED],
        }
    return section
