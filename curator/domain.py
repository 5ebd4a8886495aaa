"""Domain types shared by every layer: plain frozen dataclasses and the vocabularies of TAT-QA.

This module is a leaf: it imports nothing from the project, so the store, the core and the
screens can all depend on it without cycles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Final

#: The four TAT-QA answer types.
ANSWER_TYPES: Final = ("span", "multi-span", "arithmetic", "count")
#: Where the evidence for the answer comes from.
ANSWER_SOURCES: Final = ("table", "text", "table-text")
#: Scales as written in TAT-QA; "" means a plain number or a non-numeric answer.
SCALES: Final = ("", "thousand", "million", "billion", "percent")
#: Review status of a record: its latest live decision, or pending when there is none.
#: "flagged": flagged for discussion (not a decision: never exported, never counted as agreement).
REVIEW_STATUSES: Final = ("pending", "accepted", "edited", "rejected", "flagged")
#: Verdicts a judge may store. "none" is a filter value meaning "no verdict yet".
VERDICTS: Final = ("correct", "incorrect", "uncertain", "unparsed", "error")

#: JSON value of an answer exactly as the source had it: list of spans, number, or count string.
AnswerValue = list[str] | int | float | str


class CuratorError(Exception):
    """An error the user can act on; the CLI prints it on one line, without a traceback."""

    exit_code: int = 1


class BadInput(CuratorError):
    """Input that cannot be accepted. Always names the file and where in it the problem is."""

    exit_code = 2

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        location = f"{source}: {where}" if where else source
        super().__init__(f"{location}: {problem}")


class BadOption(CuratorError):
    """An option value the command itself refuses (click refuses the others): bad input, exit 2,
    as the README's table says, not the exit 1 of an internal error."""

    exit_code = 2


class StoreError(CuratorError):
    """The store cannot be used as asked (missing, newer schema, locked for too long)."""

    exit_code = 3


class EnvironmentFailure(CuratorError):
    """The environment cannot do what was asked: a destination, the disk, the network,
    credentials or a service. Named with what and where; exit 3 like an unusable store."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Paragraph:
    uid: str
    order: int
    text: str


@dataclass(frozen=True, slots=True)
class Context:
    """A table with its paragraphs; questions refer to it by uid."""

    uid: str
    split: str
    table: tuple[tuple[str, ...], ...]
    paragraphs: tuple[Paragraph, ...]
    source_file: str = ""


@dataclass(frozen=True, slots=True)
class QuestionAnswer:
    """A question and its answer: the fields every record shape has (the stored `Record`, and
    `QARecord` with its context)."""

    uid: str
    question: str
    answer: AnswerValue
    answer_type: str
    answer_from: str
    derivation: str
    scale: str


@dataclass(frozen=True, slots=True)
class QARecord(QuestionAnswer):
    """One question with its answer and its context: what the judges, the prompt builder, the
    export and the corruptions read. From the store the values are the curated ones (a
    reviewer's edit wins). The types that add something to it (a version hash, a review status,
    a corruption) extend it with keyword-only fields instead of repeating its fields."""

    context: Context
    #: Store order (0 for a record that is not in a store, such as a TAT-QA file's question).
    seq: int = 0

    @property
    def context_uid(self) -> str:
        return self.context.uid

    @property
    def split(self) -> str:
        return self.context.split


def qa_fields(record: QARecord) -> dict[str, Any]:
    """A record's `QARecord` fields by name: to make another kind of record of the same one
    (`WorkItem(**qa_fields(case), record_hash=...)`) without naming every field again."""
    return {f.name: getattr(record, f.name) for f in fields(QARecord)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Record(QuestionAnswer):
    """One question with its gold answer as imported and stored (its context by uid; edits live
    in review events). `QARecord` is the same question with its context and curated values."""

    seq: int
    context_uid: str
    split: str
    order: int
    rel_paragraphs: tuple[str, ...]
    req_comparison: bool
    content_hash: str = ""

    @property
    def answer_text(self) -> str:
        return answer_to_text(self.answer)


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One line of a record listing: the record plus its review status and latest verdicts."""

    seq: int
    uid: str
    split: str
    context_uid: str
    question: str
    answer: AnswerValue
    answer_type: str
    answer_from: str
    scale: str
    status: str
    verdicts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape printed by `curator list --json`; scripts depend on these keys."""
        return {
            "uid": self.uid,
            "split": self.split,
            "context_uid": self.context_uid,
            "question": self.question,
            "answer": self.answer,
            "answer_type": self.answer_type,
            "answer_from": self.answer_from,
            "scale": self.scale,
            "status": self.status,
            "verdicts": dict(self.verdicts),
        }


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records a listing shows. Empty tuples mean "any"."""

    statuses: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    answer_types: tuple[str, ...] = ()
    answer_sources: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    #: Records chosen by uid besides `splits` (an export file's records, `--from-manifest`):
    #: a record of `splits` or of `uids` matches.
    uids: tuple[str, ...] = ()
    #: Only records whose judges' latest verdicts disagree (correct, incorrect, uncertain differ).
    disagree: bool = False
    #: Case-insensitive text that must occur in the question or the answer.
    search: str = ""
    #: Only records whose reviewers' latest decisions differ.
    conflicts: bool = False
    #: Only records drawn into an export audit sample (`curator export --audit N`).
    audit: bool = False
    #: Only records whose context has a near-duplicate (`curator leaks`; the store's cache).
    near_duplicates: bool = False
    #: Work assignment: (k, n) keeps the k-th of n shards (1-based), by a stable hash of the uid.
    shard: tuple[int, int] | None = None
    #: With a shard: this fraction of the previous shard's records is also routed here, so two
    #: reviewers decide them (reviewer-versus-reviewer agreement).
    overlap: float = 0.0

    def validate(self) -> None:
        """Reject unknown filter values up front so a typo never silently matches nothing."""
        checks = (
            ("status", self.statuses, REVIEW_STATUSES),
            ("verdict", self.verdicts, (*VERDICTS, "none")),
            ("answer type", self.answer_types, ANSWER_TYPES),
            ("answer source", self.answer_sources, ANSWER_SOURCES),
        )
        if self.shard is not None:
            k, n = self.shard
            if not (n >= 1 and 1 <= k <= n):
                raise BadOption(f"shard {k}/{n}: expected K/N with 1 <= K <= N")
        if not 0 <= self.overlap < 1:
            raise BadOption(f"overlap {self.overlap}: expected a fraction from 0 to below 1")
        for name, values, allowed in checks:
            for value in values:
                if value not in allowed:
                    raise BadOption(
                        f"unknown {name} {value!r}; expected one of: {', '.join(allowed)}"
                    )

    def describe(self) -> str:
        """The selection as the options that make it (`--verdict uncertain --split test`), so a
        message about what matched names what the user asked for; "" when nothing narrows it."""
        parts = [
            f"{option} {value}"
            for option, values in (
                ("--status", self.statuses),
                ("--verdict", self.verdicts),
                ("--answer-type", self.answer_types),
                ("--answer-from", self.answer_sources),
                ("--split", self.splits),
            )
            for value in values
        ]
        flags = (
            ("--disagree", self.disagree),
            ("--conflicts", self.conflicts),
            ("--audit", self.audit),
            ("--near-duplicates", self.near_duplicates),
        )
        parts += [flag for flag, on in flags if on]
        if self.search:
            parts.append(f"--search {self.search!r}")
        if self.shard is not None:
            parts.append(f"--shard {self.shard[0]}/{self.shard[1]}")
        return " ".join(parts)


#: Queue orders: store order, or triage (incorrect first, then disagreements, then uncertain).
SORT_ORDERS: Final = ("store", "triage")


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """One reviewer action on a record, as stored (append-only)."""

    event_id: int
    record_uid: str
    action: str  # accept | reject | edit | flag | note | undo
    reviewer: str
    created_at: Any
    reason: str = ""
    note: str = ""
    edited: dict[str, Any] | None = None
    undoes: int | None = None
    blind: bool = False
    undone: bool = False
    #: Made by the writer before the store (time-ordered, unique); the event's lasting name.
    event_uid: str = ""
    #: For an undo: the uid of exactly the event it reverts.
    undoes_uid: str | None = None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a record that a re-import changed."""

    uid: str
    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did. Counts are of distinct uids in the file."""

    source: str
    split: str
    contexts: int
    questions: int
    new_contexts: int
    changed_contexts: int
    new_records: int
    changed_records: int
    unchanged_records: int
    duplicates_skipped: int
    by_answer_type: dict[str, int]
    changes: tuple[FieldChange, ...] = ()
    reviewed_changed: int = 0
    #: Contexts of the file that near-duplicate a context stored before (`curator leaks`).
    near_duplicate_contexts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "split": self.split,
            "contexts": self.contexts,
            "questions": self.questions,
            "new_contexts": self.new_contexts,
            "changed_contexts": self.changed_contexts,
            "new_records": self.new_records,
            "changed_records": self.changed_records,
            "unchanged_records": self.unchanged_records,
            "duplicates_skipped": self.duplicates_skipped,
            "reviewed_changed": self.reviewed_changed,
            "near_duplicate_contexts": self.near_duplicate_contexts,
            "by_answer_type": dict(self.by_answer_type),
            "changes": [
                {"uid": c.uid, "field": c.field, "old": c.old, "new": c.new} for c in self.changes
            ],
        }


def answer_to_text(answer: AnswerValue) -> str:
    """Render an answer on one line, keeping the data's own spelling of numbers and spans."""
    if isinstance(answer, list):
        return " | ".join(answer)
    if isinstance(answer, float) and answer.is_integer() and abs(answer) < 1e15:
        # JSON 12.0 stays 12.0: keep the source's spelling, do not normalise.
        return repr(answer)
    return str(answer)


def answer_from_json(text: str) -> AnswerValue:
    """Decode an answer stored as JSON text back to its original Python type."""
    value = json.loads(text)
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a TAT-QA answer: {text!r}")
    return value


# -- judging and predicting: the work a model pass does and what it returns -----------------


@dataclass(frozen=True, slots=True)
class JudgeKey:
    """What makes two verdicts comparable: same judge, model and prompt."""

    judge: str
    model: str
    prompt_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkItem(QARecord):
    """One record to judge or answer, with everything the prompt needs (curated values), and
    which version of it that is (a verdict or prediction is stored against the hash)."""

    record_hash: str


@dataclass(frozen=True, slots=True)
class NewVerdict:
    record_uid: str
    record_hash: str
    verdict: str
    reason: str = ""
    raw_output: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    attempts: int = 1
    error: str = ""
    #: JSON list of what the verdict rests on ({kind, text, row?, col?}); "" when none
    evidence: str = ""

    @property
    def outcome(self) -> str:
        """What a pass counts this result as: the verdict."""
        return self.verdict
