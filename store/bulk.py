"""Bulk decisions: accept (or reject) every pending record of a view that a judge, or a panel
of judges, calls correct (or incorrect), as one batch of events; and undoing a batch as one.

A batch is an ordinary run of review events, one per record, each with the version hash of the
record it decided, written in ONE store transaction. Its events share a batch id: each event's
uid is `<batch id>.<n>` (the batch id is itself a fresh, time-ordered event uid), so no schema
change was needed and `event_uid`'s uniqueness still guards every event. Undoing a batch writes
one undo per event of the batch that is still live, again as one batch in one transaction.

Rules (README, "Bulk decisions"):
- Only records nobody has decided (status pending) are decided: a bulk decision never overrides
  a person's decision. Records of the view already decided are counted and left as they are.
- The panel must hold on the record's CURRENT version: every judge named has, as its latest
  verdict, `correct` (or `incorrect`) on exactly the version that would be decided.
- What was confirmed is an upper bound: the write decides only the records counted in the
  preview (`uids`), and re-checks each inside the transaction, so a record decided or re-judged
  by someone else since the count is skipped, never clobbered.
- The transaction first stores every journaled decision (of any process, see journal.py), so
  a decision a reviewer was already told is saved is seen before the batch is chosen.
- Undo reverts exactly the batch's events still live. Decisions made on those records after the
  batch (by anyone) are untouched and stay the records' status; an event already undone on its
  own is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from curator.domain import CuratorError, RecordFilter
from curator.store.db import Store
from curator.store.ids import new_event_uid
from curator.store.journal import transaction_with_journals
from curator.store.records import _where
from curator.store.verdicts import RECORD_HASH_SQL

#: The verdict each bulk action rests on: accept what the panel calls correct, reject what it
#: calls incorrect. Any other pairing is refused (it is almost certainly a slip).
ACTION_VERDICT = {"accept": "correct", "reject": "incorrect"}
_STATUS = {"accept": "accepted", "reject": "rejected", "edit": "edited"}


class BulkRefused(CuratorError):
    """A bulk decision asked for something it cannot do (bad judge, action, batch)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class BulkSelection:
    """Which records a bulk decision is about: a view (filter) and a panel's verdict."""

    action: str  # accept | reject
    judges: tuple[str, ...]
    verdict: str = ""  # defaults to the action's verdict (ACTION_VERDICT)
    filt: RecordFilter = RecordFilter()

    def checked(self) -> BulkSelection:
        """Itself with the verdict filled in; raises BulkRefused on a bad combination."""
        if self.action not in ACTION_VERDICT:
            raise BulkRefused(f"a bulk decision is accept or reject, not {self.action!r}")
        verdict = self.verdict or ACTION_VERDICT[self.action]
        if verdict != ACTION_VERDICT[self.action]:
            raise BulkRefused(
                f"{self.action} goes with --verdict {ACTION_VERDICT[self.action]}, not {verdict!r}"
            )
        judges = tuple(dict.fromkeys(j.strip() for j in self.judges if j.strip()))
        if not judges:
            raise BulkRefused("name at least one judge (--judge NAME; repeat it for a panel)")
        self.filt.validate()
        return BulkSelection(self.action, judges, verdict, self.filt)

    def describe(self) -> str:
        """`rules says correct`, `rules and anthropic all say incorrect`."""
        if len(self.judges) == 1:
            return f"{self.judges[0]} says {self.verdict}"
        return f"{', '.join(self.judges[:-1])} and {self.judges[-1]} all say {self.verdict}"


@dataclass(frozen=True, slots=True)
class BulkPreview:
    """What a bulk decision would do now; `uids` (store order) is exactly what it may decide."""

    selection: BulkSelection
    uids: tuple[str, ...]
    already_decided: int  # records of the view the panel agrees on that someone decided

    @property
    def count(self) -> int:
        return len(self.uids)


@dataclass(frozen=True, slots=True)
class BulkResult:
    batch_id: str
    decided: int
    skipped: int  # confirmed, but decided or re-judged by someone else before the write
    statuses: dict[str, str] = field(default_factory=dict)  # uid -> status now


@dataclass(frozen=True, slots=True)
class BatchUndone:
    batch_id: str  # the batch undone
    undo_batch_id: str  # the batch of undo events
    undone: int
    already_undone: int
    #: records of the batch that someone decided after it: they keep that later decision
    decided_later: int
    statuses: dict[str, str] = field(default_factory=dict)  # uid -> status after the undo


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def judges_with_verdicts(store: Store) -> list[str]:
    """Every judge that has a verdict in the store (what a panel can be made of)."""
    with store.connection() as con:
        rows = con.execute("SELECT DISTINCT judge FROM verdicts ORDER BY judge").fetchall()
    return [str(r[0]) for r in rows]


def _panel_joins(selection: BulkSelection) -> tuple[str, list[Any]]:
    """Joins keeping the records whose every named judge's latest verdict is the selection's
    verdict, on the record's current version. One aggregate per judge over its own verdicts
    (not the all-judges view, not a correlated EXISTS): the cost of a bulk count at 1M."""
    joins, params = [], []
    for i, judge in enumerate(selection.judges):
        joins.append(
            "JOIN (SELECT record_uid, arg_max(verdict, verdict_id) AS verdict, "
            "arg_max(record_hash, verdict_id) AS record_hash FROM verdicts WHERE judge = ? "
            f"GROUP BY record_uid) p{i} ON p{i}.record_uid = r.uid AND p{i}.verdict = ? "
            f"AND p{i}.record_hash = {RECORD_HASH_SQL}"
        )
        params += [judge, selection.verdict]
    return " ".join(joins), params


def _check_judges(con: duckdb.DuckDBPyConnection, judges: tuple[str, ...]) -> None:
    for judge in judges:
        if not con.execute("SELECT 1 FROM verdicts WHERE judge = ? LIMIT 1", [judge]).fetchall():
            raise BulkRefused(
                f"judge {judge!r} has no verdicts in this store "
                f"(run `curator judge --judge {judge}` first)"
            )


_FROM = (
    "FROM records r JOIN contexts c ON c.uid = r.context_uid "
    "LEFT JOIN record_state s ON s.record_uid = r.uid"
)


def preview(store: Store, selection: BulkSelection) -> BulkPreview:
    """Count (and list) the records a bulk decision would decide; writes nothing."""
    selection = selection.checked()
    clauses, params = _where(selection.filt)
    panel, panel_params = _panel_joins(selection)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with store.connection() as con:
        _check_judges(con, selection.judges)
        rows = con.execute(
            f"SELECT r.uid, s.status IS NULL {_FROM} {panel}{where} ORDER BY r.seq",
            [*panel_params, *params],
        ).fetchall()
    pending = tuple(str(uid) for uid, is_pending in rows if is_pending)
    return BulkPreview(selection, pending, len(rows) - len(pending))


def _statuses(con: duckdb.DuckDBPyConnection, uids: list[str]) -> dict[str, str]:
    if not uids:
        return {}
    found = dict(
        con.execute(
            "SELECT record_uid, status FROM record_state "
            "WHERE record_uid IN (SELECT unnest(?::VARCHAR[]))",
            [uids],
        ).fetchall()
    )
    return {u: str(found.get(u) or "pending") for u in uids}


def decide_bulk(
    store: Store, confirmed: BulkPreview, reviewer: str, *, reason: str = ""
) -> BulkResult:
    """Decide the confirmed records as one batch in one transaction (see the module's rules)."""
    selection = confirmed.selection.checked()
    batch_id = new_event_uid()
    if not confirmed.uids:
        return BulkResult(batch_id, 0, 0)
    clauses, params = _where(selection.filt)
    panel, panel_params = _panel_joins(selection)
    where = " AND ".join(["r.uid IN (SELECT unnest(?::VARCHAR[]))", "s.status IS NULL", *clauses])
    with transaction_with_journals(store) as con:
        decided = _insert_batch(
            con,
            (batch_id, selection.action, reviewer, reason or f"bulk: {selection.describe()}"),
            f"{panel} WHERE {where}",
            [*panel_params, list(confirmed.uids), *params],
        )
    status = _STATUS[selection.action]
    statuses = {uid: status for uid in confirmed.uids}
    if decided != len(confirmed.uids):
        with store.connection() as con:
            statuses = _statuses(con, list(confirmed.uids))
    return BulkResult(batch_id, decided, len(confirmed.uids) - decided, statuses)


def decide_uids(
    store: Store, uids: list[str], action: str, reviewer: str, *, reason: str = ""
) -> int:
    """The same accept or reject for the given records as one batch, whatever their status
    (tests, benchmarks and `reviews.decide_many`); each gets its own event and version hash."""
    if action not in ACTION_VERDICT:
        raise BulkRefused("bulk decisions are accept or reject")
    if not uids:
        return 0
    with transaction_with_journals(store) as con:
        return _insert_batch(
            con,
            (new_event_uid(), action, reviewer, reason),
            "WHERE r.uid IN (SELECT unnest(?::VARCHAR[]))",
            [uids],
        )


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    event: tuple[str, str, str, str],
    selection_sql: str,
    params: list[Any],
) -> int:
    """One event per selected record (joins and WHERE after the records/contexts/state FROM),
    in store order, uids `<batch id>.<n>`, ids after the newest; how many were written.
    `event` is (batch id, action, reviewer, reason)."""
    batch_id, action, reviewer, reason = event
    first = _next_event_id(con)
    con.execute(
        "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
        "created_at, reason, record_hash) "
        "SELECT ? + row_number() OVER (ORDER BY r.seq) - 1, "
        "? || '.' || lpad(CAST(row_number() OVER (ORDER BY r.seq) AS VARCHAR), 9, '0'), "
        f"r.uid, ?, ?, ?, ?, {RECORD_HASH_SQL} {_FROM} {selection_sql}",
        [first, batch_id, action, reviewer, _now(), reason, *params],
    )
    return _next_event_id(con) - first


def batch_of(event_uid: str) -> str | None:
    """The batch an event belongs to (None for a single decision)."""
    head, dot, tail = event_uid.rpartition(".")
    return head if dot and tail.isdigit() else None


def _in_batch(alias: str) -> str:
    # A range on the unique uid: `<batch>.` up to `<batch>/` ('/' sorts right after '.').
    return f"{alias}.event_uid > ? || '.' AND {alias}.event_uid < ? || '/'"


def undo_batch(store: Store, batch_id: str, reviewer: str) -> BatchUndone:
    """Undo every still-live event of a batch, as one batch of undo events in one transaction."""
    batch_id = batch_id.strip()
    undo_id = new_event_uid()
    with transaction_with_journals(store) as con:
        events = con.execute(
            "SELECT e.event_id, e.event_uid, e.record_uid, e.action, "
            "EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo' "
            "AND u.undoes = e.event_id) AS undone "
            f"FROM review_events e WHERE {_in_batch('e')} ORDER BY e.event_id",
            [batch_id, batch_id],
        ).fetchall()
        if not events:
            raise BulkRefused(f"no batch {batch_id!r} in this store")
        if any(e[3] == "undo" for e in events):
            raise BulkRefused(f"batch {batch_id!r} is itself an undo; decide the records again")
        live = [e for e in events if not e[4]]
        if not live:
            raise BulkRefused(f"batch {batch_id!r} is already undone ({len(events):,} events)")
        first = _next_event_id(con)
        # One statement (a row-by-row insert of 10k undos took seconds).
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at, undoes, undoes_uid) "
            "SELECT ? + row_number() OVER (ORDER BY e.event_id) - 1, "
            "? || '.' || lpad(CAST(row_number() OVER (ORDER BY e.event_id) AS VARCHAR), 9, '0'), "
            "e.record_uid, 'undo', ?, ?, e.event_id, e.event_uid FROM review_events e "
            "WHERE e.event_id IN (SELECT unnest(?::BIGINT[]))",
            [first, undo_id, reviewer, _now(), [int(e[0]) for e in live]],
        )
        uids = [str(e[2]) for e in live]
        later = con.execute(
            "SELECT count(DISTINCT e.record_uid) FROM review_events e "
            "WHERE e.record_uid IN (SELECT unnest(?::VARCHAR[])) AND e.action <> 'undo' "
            "AND e.event_id > ? AND NOT (" + _in_batch("e") + ") AND NOT EXISTS (SELECT 1 "
            "FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id)",
            [uids, min(int(e[0]) for e in live), batch_id, batch_id],
        ).fetchone()
        statuses = _statuses(con, uids)
    return BatchUndone(
        batch_id=batch_id,
        undo_batch_id=undo_id,
        undone=len(live),
        already_undone=len(events) - len(live),
        decided_later=int(later[0]) if later else 0,
        statuses=statuses,
    )


def _next_event_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(
        con.execute("SELECT coalesce(max(event_id), 0) + 1 FROM review_events").fetchall()[0][0]
    )
