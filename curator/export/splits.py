"""Train / validation split by context, stratified by answer type, deterministic for a seed.

No table appears in both splits (questions about one table are too alike to validate on), nor
do two near-duplicate tables (same figures under another uid): a cluster of them counts as one. Each
context is put in the stratum of its most common answer type; within a stratum contexts are
ordered by a seeded hash of their uid and the first ones go to validation until that stratum's
share is reached. The same store, options and seed give the same split on any machine.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar


class Splittable(Protocol):
    @property
    def uid(self) -> str: ...

    @property
    def context_uid(self) -> str: ...

    @property
    def answer_type(self) -> str: ...


R = TypeVar("R", bound=Splittable)


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{key}".encode()).hexdigest()


def split_by_context(
    records: Sequence[R],
    validation_fraction: float,
    seed: int,
    groups: Mapping[str, str] | None = None,
) -> tuple[list[R], list[R]]:
    """(train, validation), each in the input order.

    `groups` maps a context uid to its cluster of near-duplicate contexts (`curator.leaks`):
    a cluster goes to one side as a whole, as if it were one context.
    """
    if not 0 <= validation_fraction < 1:
        raise ValueError("the validation fraction must be at least 0 and below 1")
    group_of = groups or {}
    by_context: dict[str, list[R]] = defaultdict(list)
    for record in records:
        by_context[group_of.get(record.context_uid, record.context_uid)].append(record)
    strata: dict[str, list[str]] = defaultdict(list)
    for context, members in by_context.items():
        counts = Counter(r.answer_type for r in members)
        stratum = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        strata[stratum].append(context)
    validation_contexts: set[str] = set()
    for contexts in strata.values():
        total = sum(len(by_context[c]) for c in contexts)
        want = round(total * validation_fraction)
        taken = 0
        for context in sorted(contexts, key=lambda c: _rank(seed, c)):
            if taken >= want:
                break
            validation_contexts.add(context)
            taken += len(by_context[context])

    def in_validation(r: R) -> bool:
        return group_of.get(r.context_uid, r.context_uid) in validation_contexts

    train = [r for r in records if not in_validation(r)]
    validation = [r for r in records if in_validation(r)]
    return train, validation


def stratified_sample(records: Sequence[R], size: int, seed: int) -> list[R]:
    """`size` records keeping each answer type's share, chosen by seeded hash, input order kept."""
    if size >= len(records):
        return list(records)
    by_type: dict[str, list[R]] = defaultdict(list)
    for r in records:
        by_type[r.answer_type].append(r)
    quotas = {t: int(size * len(rs) / len(records)) for t, rs in by_type.items()}
    if size >= len(by_type):
        # Every answer type present keeps at least one record: a rare type (a few counts) must
        # not vanish from a capped training set by rounding.
        quotas = {t: max(q, 1) for t, q in quotas.items()}
    # Hand out what rounding left, largest remainders first; or take back what the minimum of
    # one added, from the largest quotas.
    remainders = sorted(
        by_type, key=lambda t: (-(size * len(by_type[t]) / len(records) - quotas[t]), t)
    )
    for t in remainders[: max(0, size - sum(quotas.values()))]:
        quotas[t] += 1
    while sum(quotas.values()) > size:
        largest = max(sorted(quotas), key=lambda t: quotas[t])
        quotas[largest] -= 1
    chosen: set[str] = set()
    for t, rs in by_type.items():
        chosen.update(r.uid for r in sorted(rs, key=lambda r: _rank(seed, r.uid))[: quotas[t]])
    return [r for r in records if r.uid in chosen]
