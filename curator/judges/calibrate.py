"""How far one judge can be trusted: corruption detection, agreement with people, a policy.

`curator calibrate` answers three questions for one judge:

(a) Does it catch wrong answers? Records people accepted (or, with `--assume-gold SPLIT`, a
    whole split taken as right) are corrupted on purpose, one copy per kind in
    `corruptions.KINDS`, and judged: per kind, how many were caught (incorrect), passed (correct)
    or left uncertain.
(b) Does it agree with people? For every record a person decided, the judge's verdict on the very
    version the person decided (same record hash) is paired with the decision (accepted =
    correct; rejected or edited = incorrect). From the pairs: the confusion matrix, Cohen's kappa
    and the precision of `correct` (how often a record the judge calls correct really is: the
    risk of auto-accepting), each with a bootstrap 95% interval, overall and by answer type.
(c) What may be auto-accepted? An answer type's judge-correct records may skip review when the
    upper end of the 95% interval of their error rate (1 - precision of correct) is within the
    target; without enough human decisions the corrupted copies' pass rate stands in, and the
    advice says so.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from curator.agreement import Confusion, human_label
from curator.domain import RecordFilter, WorkItem, answer_from_json, qa_fields
from curator.judges.corruptions import KINDS, Case, all_corruptions, by_context, judge_case
from curator.store.db import Store
from curator.store.verdicts import pending_page
from curator.wording import counted

if TYPE_CHECKING:
    from curator.llm.passes import Judge

#: Resamples for the bootstrap intervals (seeded: the same store gives the same report).
BOOTSTRAP = 1000
#: Fewer human-decided, judge-correct records than this and precision is not trusted for advice.
MIN_DECIDED = 30


@dataclass(frozen=True, slots=True)
class Pair:
    """One record a person decided, with the judge's verdict on that same version."""

    uid: str
    answer_type: str
    human: str  # correct | incorrect
    verdict: str  # correct | incorrect | uncertain | unparsed | error


def human_pairs(store: Store, judge: str) -> list[Pair]:
    """(human decision, judge verdict) for every decided record the judge saw in the decided
    version. A record edited by a person counts as incorrect in the version they edited only
    when the edit changed its answer, scale or derivation value (`agreement.human_label`)."""
    sql = """
        WITH live AS (
            SELECT e.* FROM review_events e
            WHERE e.action NOT IN ('undo', 'note') AND NOT EXISTS (
                SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id)
        ),
        last AS (
            SELECT record_uid, arg_max(action, event_id) AS action,
                   arg_max(record_hash, event_id) AS record_hash,
                   CAST(arg_max(edited, event_id) AS VARCHAR) AS edited
            FROM live GROUP BY record_uid
            HAVING arg_max(action, event_id) <> 'flag'  -- flagged: not decided yet
        ),
        judged AS (
            SELECT record_uid, record_hash, arg_max(verdict, verdict_id) AS verdict
            FROM verdicts WHERE judge = ? GROUP BY record_uid, record_hash
        )
        SELECT l.record_uid, r.answer_type, l.action, j.verdict, l.edited,
               CAST(r.answer AS VARCHAR), r.scale, r.derivation
        FROM last l JOIN records r ON r.uid = l.record_uid
        JOIN judged j ON j.record_uid = l.record_uid AND j.record_hash = l.record_hash
        ORDER BY r.seq
    """
    with store.connection() as con:
        rows = con.execute(sql, [judge]).fetchall()
    pairs = []
    for uid, answer_type, action, verdict, edited, answer, scale, derivation in rows:
        before = {"answer": answer_from_json(answer), "scale": scale, "derivation": derivation}
        human = human_label(action, before, json.loads(edited) if edited else None)
        pairs.append(Pair(uid, answer_type, human, verdict))
    return pairs


def _confusion(pairs: Sequence[Pair]) -> Confusion:
    counts: Counter[tuple[str, str]] = Counter(
        (p.human, p.verdict) for p in pairs if p.verdict in ("correct", "incorrect")
    )
    return Confusion(dict(counts))


def _precision(pairs: Sequence[Pair]) -> float | None:
    said = [p for p in pairs if p.verdict == "correct"]
    return sum(p.human == "correct" for p in said) / len(said) if said else None


def _interval(
    pairs: Sequence[Pair], stat: Callable[[Sequence[Pair]], float | None], rng: random.Random
) -> list[float] | None:
    """Percentile bootstrap 95% interval of `stat` over records resampled with replacement."""
    if not pairs:
        return None
    values = []
    for _ in range(BOOTSTRAP):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        value = stat(sample)
        if value is not None:
            values.append(value)
    if len(values) < BOOTSTRAP // 2:
        return None
    values.sort()
    return [
        round(values[int(0.025 * len(values))], 4),
        round(values[int(0.975 * len(values)) - 1], 4),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def agreement(pairs: Sequence[Pair], seed: int = 0) -> dict[str, Any]:
    """Confusion matrix, kappa and precision of correct, each with a 95% interval."""
    rng = random.Random(seed)
    conf = _confusion(pairs)
    return {
        "n": len(pairs),
        "abstained": sum(p.verdict not in ("correct", "incorrect") for p in pairs),
        "confusion": {
            f"human_{h}": {f"judge_{j}": conf.cell(h, j) for j in ("correct", "incorrect")}
            for h in ("correct", "incorrect")
        },
        "kappa": {
            "value": _round(conf.kappa),
            "ci": _interval(pairs, lambda s: _confusion(s).kappa, rng),
        },
        "precision_correct": {
            "value": _round(_precision(pairs)),
            "ci": _interval(pairs, _precision, rng),
            "n": sum(p.verdict == "correct" for p in pairs),
        },
    }


# -- corruptions ------------------------------------------------------------------------------


def gold_cases(store: Store, assume_gold: str | None) -> list[Case]:
    """Records taken as right: a split as a whole, or what people accepted or edited (their
    curated values)."""
    filt = (
        RecordFilter(splits=(assume_gold,))
        if assume_gold
        else RecordFilter(statuses=("accepted", "edited"))
    )
    out: list[Case] = []
    after = 0
    while page := pending_page(store, filt, "TRUE", [], after_seq=after, limit=1000):
        out += [Case(**qa_fields(item)) for item in page]
        after = page[-1].seq
    return out


Verdicter = Callable[[Sequence[Case]], list[str]]


def rules_verdicts(cases: Sequence[Case]) -> list[str]:
    return [judge_case(c).verdict for c in cases]


def judge_verdicts(judge: Judge, concurrency: int = 8) -> Verdicter:
    """Run any `Judge` (llm/passes.py) on cases, a few at a time."""

    def run(cases: Sequence[Case]) -> list[str]:
        async def all_of() -> list[str]:
            gate = asyncio.Semaphore(concurrency)

            async def one(i: int, case: Case) -> str:
                record = replace(case, seq=i, uid=f"{case.uid}#{case.corruption}")
                item = WorkItem(**qa_fields(record), record_hash="")
                async with gate:
                    result = await judge.run(item)
                return str(result.verdict)

            try:
                return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(cases))))
            finally:
                await judge.aclose()

        return asyncio.run(all_of())

    return run


def corruption_detection(
    cases: Sequence[Case], verdicts: Verdicter, *, seed: int = 7, limit: int | None = None
) -> dict[str, dict[str, int]]:
    """{kind: {n, caught, passed, uncertain}} over one corrupted copy per kind and record."""
    rng = random.Random(seed)
    groups = by_context(cases)
    corrupted = [
        bad for case in cases for bad in all_corruptions(case, rng, groups[case.context.table])
    ]
    if limit is not None and len(corrupted) > limit:
        corrupted = random.Random(seed).sample(corrupted, limit)
    out: dict[str, dict[str, int]] = {
        k: {"n": 0, "caught": 0, "passed": 0, "uncertain": 0} for k in KINDS
    }
    for bad, verdict in zip(corrupted, verdicts(corrupted), strict=True):
        row = out[bad.corruption]
        row["n"] += 1
        key = {"incorrect": "caught", "correct": "passed"}.get(verdict, "uncertain")
        row[key] += 1
    return {k: v for k, v in out.items() if v["n"]}


# -- advice -----------------------------------------------------------------------------------


def recommend(
    human: dict[str, Any],
    by_type: dict[str, dict[str, Any]],
    corruptions: dict[str, dict[str, int]],
    target: float,
) -> dict[str, Any]:
    """Which verdicts may be auto-accepted for the target error rate, and why."""
    auto: list[str] = []
    review: list[str] = []
    reasons: dict[str, str] = {}
    for answer_type, stats in sorted(by_type.items()):
        prec = stats["precision_correct"]
        ci = prec["ci"]
        if prec["n"] < MIN_DECIDED or ci is None:
            review.append(answer_type)
            reasons[answer_type] = (
                f"only {prec['n']} judge-correct records decided by a person; "
                f"need {MIN_DECIDED} to estimate the risk"
            )
        elif 1 - ci[0] <= target:
            auto.append(answer_type)
            reasons[answer_type] = (
                f"error among judge-correct records at most {1 - ci[0]:.1%} (95% upper bound)"
            )
        else:
            review.append(answer_type)
            reasons[answer_type] = (
                f"error among judge-correct records could be {1 - ci[0]:.1%} (95% upper bound), "
                f"above the target {target:.1%}"
            )
    n_bad = sum(v["n"] for v in corruptions.values())
    passed = sum(v["passed"] for v in corruptions.values())
    leaky = sorted(k for k, v in corruptions.items() if v["n"] and v["passed"] / v["n"] > target)
    if auto:
        text = (
            f"Auto-accept records this judge calls correct for: {', '.join(auto)}; review the "
            "rest and everything it calls incorrect or uncertain."
        )
    elif human["n"] == 0:
        text = (
            "No human decisions to compare with yet: review a random sample (e.g. "
            "`curator export out/ --include-judged-correct JUDGE --audit 100`, then the audit "
            "filter in `curator review`) before auto-accepting anything."
        )
    else:
        text = "Do not auto-accept yet: review every record."
    if leaky:
        text += f" Corrupted copies pass as correct above the target for: {', '.join(leaky)}."
    return {
        "target_error": target,
        "auto_accept_correct": auto,
        "review": review,
        "reasons": reasons,
        "corrupted_passed_rate": round(passed / n_bad, 4) if n_bad else None,
        "text": text,
    }


def calibrate(
    store: Store,
    judge_name: str,
    verdicts: Verdicter,
    *,
    assume_gold: str | None = None,
    target: float = 0.02,
    seed: int = 7,
    limit: int | None = None,
) -> dict[str, Any]:
    """The whole report (the JSON `curator calibrate --json` prints)."""
    cases = gold_cases(store, assume_gold)
    corruptions = corruption_detection(cases, verdicts, seed=seed, limit=limit)
    pairs = human_pairs(store, judge_name)
    overall = agreement(pairs, seed)
    grouped: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        grouped[p.answer_type].append(p)
    by_type = {t: agreement(ps, seed) for t, ps in sorted(grouped.items())}
    return {
        "judge": judge_name,
        "gold": {
            "source": f"split {assume_gold}"
            if assume_gold
            else "records people accepted or edited",
            "records": len(cases),
        },
        "corruptions": corruptions,
        "human": {**overall, "by_answer_type": by_type},
        "precision_correct": {
            "value": overall["precision_correct"]["value"],
            "ci": overall["precision_correct"]["ci"],
        },
        "recommendation": recommend(overall, by_type, corruptions, target),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as plain text lines (the CLI prints them)."""

    def ci(block: dict[str, Any]) -> str:
        value, interval = block.get("value"), block.get("ci")
        if value is None:
            return "n/a"
        return f"{value:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")

    lines = [
        f"judge {report['judge']} · gold: {report['gold']['source']} "
        f"({counted(report['gold']['records'], 'record')})",
        "",
        "corruption detection (one corrupted copy per kind and record)",
    ]
    if not report["corruptions"]:
        lines.append("  no records to corrupt (accept some records, or use --assume-gold SPLIT)")
    for kind, row in report["corruptions"].items():
        n = row["n"]
        lines.append(
            f"  {kind:<26} n={n:<6} caught {row['caught'] / n:6.1%}  "
            f"passed {row['passed'] / n:6.1%}  uncertain {row['uncertain'] / n:6.1%}"
        )
    human = report["human"]
    lines += [
        "",
        f"against human decisions: {counted(human['n'], 'record')} "
        f"({human['abstained']:,} abstained)",
    ]
    if human["n"]:
        conf = human["confusion"]
        lines += [
            "                    judge correct  judge incorrect",
            f"  human correct     {conf['human_correct']['judge_correct']:>13,}  "
            f"{conf['human_correct']['judge_incorrect']:>15,}",
            f"  human incorrect   {conf['human_incorrect']['judge_correct']:>13,}  "
            f"{conf['human_incorrect']['judge_incorrect']:>15,}",
            f"  kappa {ci(human['kappa'])} · precision of correct {ci(human['precision_correct'])}",
        ]
        for answer_type, stats in human["by_answer_type"].items():
            lines.append(
                f"    {answer_type:<12} n={stats['n']:<5} kappa {ci(stats['kappa'])}  "
                f"precision of correct {ci(stats['precision_correct'])}"
            )
    rec = report["recommendation"]
    lines += ["", f"recommendation (target error {rec['target_error']:.1%}): {rec['text']}"]
    for answer_type, why in rec["reasons"].items():
        lines.append(f"  {answer_type}: {why}")
    return lines
