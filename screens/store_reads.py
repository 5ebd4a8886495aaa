"""The reads a screen needs from the store, behind one object the app owns.

Screens never import the store: a screen's thread worker calls these methods (through
`CuratorApp.reads`), so every DuckDB call of the UI is in one place the app controls, and a
screen can be driven in tests by any object with the same methods. Call them only from thread
workers: each one is a query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curator.domain import RecordFilter, ReviewEvent
    from curator.evaluate import RunReport
    from curator.store.bulk import BulkPreview
    from curator.store.db import Store
    from curator.store.leaks import Twin
    from curator.store.records import StoreStats


class StoreReads:
    def __init__(self, store: Store) -> None:
        self.store = store

    def recent_decisions(self, reviewer: str, limit: int = 100) -> list[ReviewEvent]:
        """A reviewer's live decisions, newest first (what undo offers)."""
        from curator.store.reviews import recent_decisions

        return recent_decisions(self.store, reviewer, limit=limit)

    def questions(self, uids: list[str]) -> dict[str, str]:
        """Each record's curated question (what the undo picker shows beside a decision)."""
        from curator.store.reviews import curated_questions

        return curated_questions(self.store, uids)

    def stats(self) -> StoreStats:
        """Counts by split, type, source, status and verdict (the filter dialog's numbers)."""
        from curator.store.records import stats

        return stats(self.store)

    def eval_reports(self) -> list[RunReport]:
        """Every prediction run scored against the curated answers, oldest run first."""
        from curator.evaluate import report
        from curator.store.predictions import run_names, scored_rows

        reports = []
        for run in run_names(self.store):
            scored, rejected = scored_rows(self.store, run)
            reports.append(report(run, scored, rejected))
        return reports

    def twins(self, context_uid: str) -> list[Twin]:
        """The near-duplicates of a context, best first."""
        from curator.store.leaks import DEFAULT_THRESHOLD, twins_of

        return twins_of(self.store, context_uid, DEFAULT_THRESHOLD)

    def judges(self) -> list[str]:
        """Every judge with a verdict in the store (what a bulk decision's panel is made of)."""
        from curator.store.bulk import judges_with_verdicts

        return judges_with_verdicts(self.store)

    def bulk_preview(self, action: str, judges: tuple[str, ...], filt: RecordFilter) -> BulkPreview:
        """The records of a view a bulk decision would decide (pending, the panel agreeing)."""
        from curator.store.bulk import BulkSelection, preview

        return preview(self.store, BulkSelection(action, judges, filt=filt))
