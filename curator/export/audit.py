"""Audited exports: how wrong is what we ship, estimated from a reviewed random sample.

`curator export --audit N` draws N of the exported records no person reviewed (those taken on a
judge's word), stratified by answer type with proportional allocation, and queues them for
review (the TUI's "audit sample" filter). Proportional allocation makes the sample
self-weighting, so the pooled error rate estimates the population's; its 95% interval is
Wilson's. An item counts as an error when a person rejected or edited it.

Human-accepted records are not sampled: their error is estimated from records two reviewers
decided (`curator review --shard K/N --overlap F`): the share where they disagreed.

The export manifest's `audit` field carries the estimate for the export's selection (same
judges and filters) from the latest audit, or the string "not audited".
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from curator.store.audits import audit_items, latest_audit, save_audit
from curator.store.db import Store
from curator.store.exports import CuratedKey
from curator.store.verdicts import work_item

NOT_AUDITED = "not audited"
#: z for a two-sided 95% interval
_Z = 1.959964


def wilson(errors: int, n: int) -> list[float] | None:
    """Wilson score 95% interval for a proportion (sound near 0, where error rates live)."""
    if n <= 0:
        return None
    p = errors / n
    denom = 1 + _Z**2 / n
    centre = (p + _Z**2 / (2 * n)) / denom
    half = _Z * math.sqrt(p * (1 - p) / n + _Z**2 / (4 * n * n)) / denom
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def selection_key(include_judged_correct: str | None, filt: Any) -> str:
    """What an export took, so a later export of the same selection finds its audit."""
    return json.dumps(
        {
            "include_judged_correct": include_judged_correct,
            "splits": sorted(filt.splits),
            "answer_types": sorted(filt.answer_types),
            "answer_sources": sorted(filt.answer_sources),
        },
        sort_keys=True,
    )


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of n draws over strata (largest remainder, capped by size)."""
    total = sum(sizes.values())
    n = min(n, total)
    if not total or n <= 0:
        return {k: 0 for k in sizes}
    exact = {k: n * v / total for k, v in sizes.items()}
    out = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: (out[k] - exact[k], k))[: n - sum(out.values())]:
        out[k] += 1
    return {k: min(v, sizes[k]) for k, v in out.items()}


def draw(records: Sequence[CuratedKey], n: int, seed: int) -> list[CuratedKey]:
    """A stratified (by answer type) random sample of the records no person reviewed."""
    strata: dict[str, list[CuratedKey]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.uid):
        if r.source != "reviewed":
            strata[r.answer_type].append(r)
    rng = random.Random(seed)
    picked: list[CuratedKey] = []
    for stratum, k in sorted(allocate({s: len(v) for s, v in strata.items()}, n).items()):
        picked += rng.sample(strata[stratum], k)
    return picked


def start_audit(
    store: Store, records: Sequence[CuratedKey], n: int, seed: int, selection: str
) -> int | None:
    """Queue an audit sample for this selection, unless one of this size is already open or
    done for it (re-running the export must not draw again). Returns the audit id."""
    population = sum(1 for r in records if r.source != "reviewed")
    current = latest_audit(store, selection)
    if current is not None and current.sample_size in (n, min(n, current.population)):
        return current.audit_id
    sample = draw(records, n, seed)
    if not sample:
        return None
    items = []
    for r in sample:
        item = work_item(store, r.uid)
        items.append((r.uid, item.record_hash if item else "", r.answer_type, r.source))
    return save_audit(store, selection, population, seed, items)


def _human_overlap(store: Store, uids: Sequence[str]) -> tuple[int, int]:
    """(records two or more reviewers decided, of which their latest decisions differ)."""
    if not uids:
        return 0, 0
    with store.connection() as con:
        row = con.execute(
            "WITH live AS (SELECT e.* FROM review_events e WHERE e.action IN ('accept', "
            "'reject', 'edit') AND NOT "
            "EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo' AND "
            "u.undoes = e.event_id)), per AS (SELECT record_uid, reviewer, "
            "arg_max(action, event_id) AS action FROM live GROUP BY ALL) "
            "SELECT count(*), count(*) FILTER (WHERE n_actions > 1) FROM (SELECT record_uid, "
            "count(DISTINCT action) AS n_actions, count(*) AS n FROM per "
            "WHERE record_uid IN (SELECT unnest(?::VARCHAR[])) GROUP BY record_uid) WHERE n > 1",
            [list(uids)],
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def audit_summary(
    store: Store, records: Sequence[CuratedKey], selection: str
) -> dict[str, Any] | str:
    """The manifest's `audit` field: error estimates per source and for the export, or
    "not audited" when no audit sample was ever drawn for this selection."""
    audit = latest_audit(store, selection)
    if audit is None:
        return NOT_AUDITED
    items = audit_items(store, audit.audit_id)
    decided = [i for i in items if i.decision]
    errors = sum(i.decision in ("reject", "edit") for i in decided)
    judged_rate = errors / len(decided) if decided else None
    status = "complete" if len(decided) == len(items) else ("pending" if not decided else "partial")
    reviewed = [r.uid for r in records if r.source == "reviewed"]
    pairs, differ = _human_overlap(store, reviewed)
    human: dict[str, Any] = {"records": len(reviewed)}
    if pairs:
        human.update(
            {
                "double_reviewed": pairs,
                "disagreements": differ,
                "error_rate": round(differ / pairs, 4),
                "ci": wilson(differ, pairs),
            }
        )
    else:
        human["status"] = NOT_AUDITED + " (no record decided by two reviewers)"
    n_judged = sum(1 for r in records if r.source != "reviewed")
    judged_ci = wilson(errors, len(decided))
    # The export's rate mixes the sources by their share of it; its bounds mix theirs the same
    # way (conservative: at least as wide as a joint interval).
    parts: list[tuple[int, float | None, list[float] | None]] = [(n_judged, judged_rate, judged_ci)]
    if reviewed:
        parts.append((len(reviewed), human.get("error_rate"), human.get("ci")))
    export_rate: dict[str, Any] = {"value": None, "ci": None}
    total = sum(n for n, _, _ in parts)
    known = [(n, rate, ci) for n, rate, ci in parts if n and rate is not None and ci is not None]
    if total and len(known) == len([p for p in parts if p[0]]):
        export_rate = {
            "value": round(sum(n * rate for n, rate, _ in known) / total, 4),
            "ci": [
                round(sum(n * ci[0] for n, _, ci in known) / total, 4),
                round(sum(n * ci[1] for n, _, ci in known) / total, 4),
            ],
        }
    return {
        "status": status,
        "audit_id": audit.audit_id,
        "drawn_at": audit.created_at.isoformat(timespec="seconds"),
        "sample": len(items),
        "reviewed": len(decided),
        "by_source": {
            "judge-accepted": {
                "population": audit.population,
                "records_in_export": n_judged,
                "sample": len(items),
                "reviewed": len(decided),
                "errors": errors,
                "error_rate": None if judged_rate is None else round(judged_rate, 4),
                "ci": wilson(errors, len(decided)),
            },
            "human-accepted": human,
        },
        "export_error_rate": export_rate,
    }


def nothing_to_audit(sample: int) -> str:
    """The export's line when `--audit N` drew nothing: every exported record has a person's
    decision (the sample is of records taken on a judge's word), so saying only "not audited"
    left the reviewer to guess why the N records never reached the audit filter."""
    return (
        f"audit: nothing to draw for --audit {sample}: every exported record was decided by a "
        "person (the sample is of records taken on a judge's word: --include-judged-correct)"
    )


def audit_line(audit: dict[str, Any] | str) -> str:
    """One line for the export command's output."""
    if isinstance(audit, str):
        return f"audit: {audit}"
    judged = audit["by_source"]["judge-accepted"]
    rate = judged["error_rate"]
    text = f"audit #{audit['audit_id']}: {audit['reviewed']}/{audit['sample']} reviewed" + (
        f", judge-accepted error {rate:.1%} (95% CI {judged['ci'][0]:.1%}-{judged['ci'][1]:.1%})"
        if rate is not None
        else " (review them with the audit filter in `curator review`)"
    )
    overall = audit["export_error_rate"]
    if overall["value"] is not None:
        text += f"; export error {overall['value']:.1%}"
    return text
