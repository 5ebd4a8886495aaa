"""What an export reads: curated records (edited values win) with their contexts, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from curator.domain import (
    Context,
    CuratorError,
    Paragraph,
    QARecord,
    RecordFilter,
    answer_from_json,
)
from curator.store.db import Store
from curator.store.records import _CURATED, _where
from curator.store.verdicts import RECORD_HASH_SQL


@dataclass(frozen=True, slots=True, kw_only=True)
class CuratedRecord(QARecord):
    """A record an export writes (curated values), and why it is in the export."""

    status: str  # accepted | edited | unreviewed (only when included as judged correct)
    source: str  # "reviewed" or "judged:<judge>"


def panel_judges(spec: str) -> tuple[str, ...]:
    """ "rules+anthropic" -> ("rules", "anthropic"): the judges that must all agree."""
    names = tuple(dict.fromkeys(part.strip() for part in spec.split("+")))
    if not names or any(not n for n in names):
        raise CuratorError(f"--include-judged-correct {spec!r}: expected JUDGE or JUDGE+JUDGE...")
    return names


def curated_records(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    include_judged_correct: str | None = None,
    page_size: int = 5000,
) -> Iterator[CuratedRecord]:
    """Accepted and edited records (never rejected), plus, when asked, unreviewed records whose
    latest verdict from `include_judged_correct` is correct. In store order."""
    filt.validate()
    clauses, params = _where(filt)
    chosen = "s.status IN ('accepted', 'edited')"
    extra: list[Any] = []
    if include_judged_correct:
        # A panel: every judge named must call the current version of the record correct.
        agree = " AND ".join(
            "EXISTS (SELECT 1 FROM latest_verdicts v WHERE v.record_uid = r.uid AND v.judge = ? "
            f"AND v.verdict = 'correct' AND v.record_hash = {RECORD_HASH_SQL})"
            for _ in panel_judges(include_judged_correct)
        )
        chosen = f"({chosen} OR (s.status IS NULL AND {agree}))"
        extra = list(panel_judges(include_judged_correct))
    where = " AND ".join([chosen, *clauses])
    sql = (
        f"SELECT r.seq, r.uid, r.context_uid, r.split, {_CURATED['question']}, "
        f"CAST({_CURATED['answer']} AS VARCHAR), r.answer_type, r.answer_from, "
        f"{_CURATED['derivation']}, {_CURATED['scale']}, coalesce(s.status, 'unreviewed') "
        "FROM records r JOIN contexts c ON c.uid = r.context_uid "
        "LEFT JOIN record_state s ON s.record_uid = r.uid "
        f"WHERE {where} ORDER BY r.seq"
    )
    with store.connection() as con:
        for judge in panel_judges(include_judged_correct) if include_judged_correct else ():
            if not con.execute(
                "SELECT 1 FROM verdicts WHERE judge = ? LIMIT 1", [judge]
            ).fetchall():
                raise CuratorError(
                    f"--include-judged-correct: judge {judge!r} has no verdicts in this store "
                    "(run `curator judge --judge " + judge + "` first)"
                )
    # One pass: the review-state view is computed once, not once per page. Exports are bounded
    # by the targets' limits (10k-20k records for Bedrock), so the rows fit in memory.
    with store.connection() as con:
        cursor = con.execute(sql, [*extra, *params])
        rows = cursor.fetchall()
        needed = sorted({row[2] for row in rows})
        found: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[Paragraph, ...]]] = {}
        for start in range(0, len(needed), page_size):
            for uid, table, paragraphs in con.execute(
                "SELECT uid, table_rows, paragraphs FROM contexts "
                "WHERE uid IN (SELECT unnest(?::VARCHAR[]))",
                [needed[start : start + page_size]],
            ).fetchall():
                found[uid] = (
                    tuple(tuple(r) for r in table),
                    tuple(Paragraph(p["uid"], p["order"], p["text"]) for p in paragraphs),
                )
    # One Context value per context (and split: the record's), shared by its questions.
    contexts = {
        (uid, split): Context(uid, split, *found[uid])
        for uid, split in {(r[2], r[3]) for r in rows}
    }
    for row in rows:
        yield CuratedRecord(
            seq=row[0],
            uid=row[1],
            context=contexts[row[2], row[3]],
            question=row[4],
            answer=answer_from_json(row[5]),
            answer_type=row[6],
            answer_from=row[7],
            derivation=row[8],
            scale=row[9],
            status=row[10],
            source="reviewed" if row[10] != "unreviewed" else f"judged:{include_judged_correct}",
        )


def judge_versions(store: Store) -> list[dict[str, Any]]:
    """Which judges (model, prompt) have verdicts in the store: recorded in export manifests."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT judge, model, prompt_hash, count(*) FROM verdicts GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    return [{"judge": j, "model": m, "prompt_hash": p, "verdicts": int(n)} for j, m, p, n in rows]
