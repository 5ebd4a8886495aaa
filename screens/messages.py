"""Past-tense messages that thread workers post when store work is done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from curator.domain import ReviewEvent


@dataclass
class QueuePageLoaded(Message):
    rows: list[Any]
    after: tuple[int, int] | None
    generation: int


@dataclass
class RecordLoaded(Message):
    detail: Any
    generation: int


@dataclass
class DecisionSaved(Message):
    event: ReviewEvent
    advance: bool = True


@dataclass
class VerdictArrived(Message):
    uid: str
    verdict: str


@dataclass
class CountsLoaded(Message):
    progress: Any
    total_in_view: int


@dataclass
class StatsLoaded(Message):
    stats: Any
    agreement: Any
    activity: Any


@dataclass
class TwinsLoaded(Message):
    """The near-duplicates of a record's context (`curator.store.leaks.Twin`s), best first."""

    record_uid: str
    twins: list[Any]


@dataclass
class StoreFailed(Message):
    """A store call failed; the message says what the user was doing."""

    doing: str
    error: str


@dataclass
class ChangesNoticed(Message):
    """Another process wrote events or verdicts since the last look."""

    changes: Any


@dataclass
class RecordPrefetched(Message):
    """A record ahead of the reviewer was read, so showing it needs no store call."""

    detail: Any
    generation: int


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
