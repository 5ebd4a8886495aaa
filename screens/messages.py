"""Past-tense messages that thread workers post when store work is done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from curator.domain import ReviewEvent

if TYPE_CHECKING:
    from curator.agreement import Confusion
    from curator.store.bulk import BatchUndone, BulkResult
    from curator.store.leaks import Twin
    from curator.store.records import StoreStats
    from curator.store.reviews import (
        Changes,
        Progress,
        QueueRow,
        RecordDetail,
        RecordPanes,
        ReviewerActivity,
    )

    #: Per judge: the human-vs-judge matrix and one per answer type; abstentions per judge;
    #: reviewer-pair decision counts.
    Agreement = tuple[
        dict[str, tuple[Confusion, dict[str, Confusion]]],
        dict[str, int],
        dict[tuple[str, str], dict[tuple[str, str], int]],
    ]


@dataclass
class QueuePageLoaded(Message):
    rows: list[QueueRow]
    after: tuple[int, int] | None
    generation: int


@dataclass
class RecordLoaded(Message):
    detail: RecordDetail | None
    generation: int


@dataclass
class DecisionSaved(Message):
    event: ReviewEvent
    advance: bool = True


class WriterReachedUndo(Message):
    """The writer journaled every decision typed before a `u`: that undo may pick its target."""


@dataclass
class VerdictArrived(Message):
    uid: str
    verdict: str
    judge: str = ""
    #: The judge had already judged this version (same key): no new verdict was stored.
    unchanged: bool = False


@dataclass
class CountsLoaded(Message):
    progress: Progress
    total_in_view: int
    #: Records of the view before the queue's first loaded row, when it had to be counted
    #: (a view opened in the middle), for the view `generation` it was counted in.
    before: int | None = None
    generation: int = -1


@dataclass
class StatsLoaded(Message):
    stats: StoreStats
    agreement: Agreement
    activity: list[ReviewerActivity]


@dataclass
class PanesLoaded(Message):
    """A shown record's verdicts and history (read after it was drawn), and the near-duplicates
    (`curator.store.leaks.Twin`s, best first) of its context."""

    uid: str
    panes: RecordPanes
    twins: list[Twin]
    generation: int


@dataclass
class StoreFailed(Message):
    """A store call failed; the message says what the user was doing."""

    doing: str
    error: str


@dataclass
class ChangesNoticed(Message):
    """Another process wrote events or verdicts since the last look."""

    changes: Changes


@dataclass
class RecordPrefetched(Message):
    """A record ahead of the reviewer was read, so showing it needs no store call (with the
    near-duplicates of its context, unless they were known)."""

    uid: str
    detail: RecordDetail | None
    generation: int
    twins: list[Twin] | None = None


@dataclass
class SavingChanged(Message):
    """How many of this session's decisions are not in the store yet changed."""

    unstored: int


@dataclass
class WriteFailed(Message):
    """The writer could not make a decision durable; it was not saved."""

    uid: str
    action: str
    error: str


@dataclass
class BulkDecided(Message):
    """A bulk decision was written (one batch, one transaction)."""

    result: BulkResult
    action: str


@dataclass
class BulkUndone(Message):
    """A batch of decisions was undone as one."""

    result: BatchUndone
