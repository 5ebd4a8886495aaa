"""The review queue as plain data: the rows of the current view loaded so far, and where the
reviewer is in them.

No Textual and no store calls here: the app loads pages in workers and hands them to this
model, which says what to do next (move, load a page after or before, or tell the reviewer the
queue ends). Paging, de-duplication and the cursor are therefore unit-tested without a UI.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from curator import safe_text
from curator.domain import RecordFilter

if TYPE_CHECKING:
    from curator.store.reviews import QueueRow

#: Rows asked for per page.
PAGE_SIZE = 100
#: Fewer rows than this left after the cursor: fetch the next page ahead of time.
PREFETCH_MARGIN = 10


class Step(enum.Enum):
    """The outcome of moving the cursor."""

    MOVED = "moved"
    LOAD_AFTER = "load after"  # past the loaded rows: fetch the next page, then move
    LOAD_BEFORE = "load before"  # before the loaded rows: fetch the previous page
    AT_END = "at end"
    AT_START = "at start"


@dataclass
class QueueModel:
    filt: RecordFilter = field(default_factory=RecordFilter)
    sort: str = "triage"
    rows: list[QueueRow] = field(default_factory=list)
    index: int = -1
    exhausted_after: bool = False
    exhausted_before: bool = True
    #: Bumped for every new view, so a page loaded for an older view is dropped.
    generation: int = 0
    #: A move forward is waiting for the next page.
    advance_pending: bool = False
    page_size: int = PAGE_SIZE
    #: Records of the view before the first loaded row: 0 for a view loaded from its start,
    #: None until counted for one opened in the middle (at the first pending record).
    before: int | None = 0

    @property
    def current(self) -> QueueRow | None:
        return self.rows[self.index] if 0 <= self.index < len(self.rows) else None

    def new_view(
        self, filt: RecordFilter, sort: str, rows: list[QueueRow], *, at_start: bool
    ) -> QueueModel:
        """A new view's first page (at its start, or at the first pending record)."""
        return QueueModel(
            filt=filt,
            sort=sort,
            rows=list(rows),
            index=0 if rows else -1,
            exhausted_after=len(rows) < self.page_size,
            exhausted_before=at_start,
            generation=self.generation + 1,
            page_size=self.page_size,
            before=0 if at_start else None,
        )

    def position(self) -> int | None:
        """The current record's place in its view, from 1 ("23 / 710"); None while unknown."""
        if self.index < 0 or self.before is None:
            return None
        return self.before + self.index + 1

    def add_page_after(self, rows: list[QueueRow]) -> bool:
        """Append a page (rows already loaded are skipped); True when a waiting move forward
        should now happen."""
        known = {r.uid for r in self.rows}
        self.rows.extend(r for r in rows if r.uid not in known)
        self.exhausted_after = len(rows) < self.page_size
        advance, self.advance_pending = self.advance_pending, False
        return advance

    def add_page_before(self, rows: list[QueueRow]) -> bool:
        """Prepend a page, keeping the cursor on its row; True when the move back that asked
        for it should now happen."""
        self.rows[:0] = rows
        self.index += len(rows)
        self.exhausted_before = len(rows) < self.page_size
        if self.exhausted_before:
            self.before = 0
        elif self.before is not None:
            self.before = max(0, self.before - len(rows))
        return bool(rows)

    def step(self, delta: int) -> Step:
        """Move the cursor by `delta` (1 or -1) when the target row is loaded."""
        target = self.index + delta
        if target >= len(self.rows):
            if self.exhausted_after:
                return Step.AT_END
            self.advance_pending = True
            return Step.LOAD_AFTER
        if target < 0:
            if self.exhausted_before or not self.rows:
                return Step.AT_START
            return Step.LOAD_BEFORE
        self.index = target
        return Step.MOVED

    def wants_next_page(self, ahead: int = 0) -> bool:
        """Few rows left after the cursor (fewer than the `ahead` records read ahead and a
        margin) and more in the store: prefetch."""
        return not self.exhausted_after and len(self.rows) - self.index < ahead + PREFETCH_MARGIN

    def select(self, uid: str) -> bool:
        """Put the cursor on `uid` if it is loaded."""
        for i, row in enumerate(self.rows):
            if row.uid == uid:
                self.index = i
                return True
        return False

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """New review statuses (decisions here or in another process) for loaded rows."""
        for i, row in enumerate(self.rows):
            if row.uid in statuses:
                self.rows[i] = replace(row, status=statuses[row.uid])


def filter_chips(filt: RecordFilter) -> list[str]:
    """The active filters as short chips for the status line (data escaped and cut short)."""
    chips = []
    for name, values in (
        ("status", filt.statuses),
        ("verdict", filt.verdicts),
        ("type", filt.answer_types),
        ("source", filt.answer_sources),
        ("split", filt.splits),
    ):
        if values:
            chips.append(f"{name}: {safe_text.clip(safe_text.one_line(', '.join(values)), 40)}")
    for flag, words in (
        (filt.disagree, "judges disagree"),
        (filt.conflicts, "conflicting decisions"),
        (filt.audit, "audit sample"),
        (filt.near_duplicates, "has a near-duplicate"),
    ):
        if flag:
            chips.append(words)
    if filt.search:
        chips.append(f"search: {safe_text.one_line(safe_text.clip(filt.search, 30))!r}")
    return chips
