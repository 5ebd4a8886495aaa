"""Where a review session opens: the first pending record of the view and its page, read in one
scan (`resume_page`), in exactly the order and from exactly the record the two reads gave."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from curator.domain import JudgeKey, NewVerdict, RecordFilter
from curator.store import Store
from curator.store.importer import import_file
from curator.store.reviews import (
    decide,
    decide_many,
    first_pending,
    queue_page,
    queue_position,
    resume_page,
)
from curator.store.verdicts import append_verdicts, work_item
from tests.conftest import tiny_context, write_json

#: Each record's verdicts, oldest first per judge: (judge, verdict). The latest per judge counts.
PANEL: dict[int, list[tuple[str, str]]] = {
    0: [("rules", "incorrect")],
    1: [("rules", "correct")],
    2: [("rules", "uncertain")],
    3: [("rules", "correct"), ("claude", "incorrect")],  # disagree
    4: [("rules", "incorrect"), ("claude", "uncertain")],  # incorrect, none correct
    5: [("rules", "correct"), ("claude", "uncertain")],  # disagree
    6: [("rules", "incorrect"), ("rules", "correct")],  # superseded: correct
    7: [("rules", "correct"), ("rules", "incorrect")],  # superseded: incorrect
    8: [("rules", "unparsed")],
    9: [("rules", "error"), ("claude", "uncertain")],
    10: [("rules", "incorrect"), ("claude", "correct"), ("third", "uncertain")],  # disagree
    12: [("rules", "uncertain")],
    14: [("rules", "incorrect")],
    17: [("rules", "correct"), ("claude", "incorrect")],
    19: [("rules", "incorrect")],
}


def expected_rank(verdicts: list[tuple[str, str]]) -> int:
    """Triage rank by its definition: judged incorrect with no judge calling it correct, then
    judges disagreeing, then uncertain, then the rest (latest verdict per judge)."""
    latest = set(dict(verdicts).values()) & {"correct", "incorrect", "uncertain"}
    if "incorrect" in latest and "correct" not in latest:
        return 0
    if len(latest) > 1:
        return 1
    return 2 if "uncertain" in latest else 3


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    """24 records over four tables, a panel of judges, and accepted, rejected, edited and
    flagged records among the first ones of the triage order."""
    tmp = tmp_path_factory.mktemp("mixed")
    contexts = [tiny_context(f"ctx-{c}", tuple(f"q-{c}-{i}" for i in range(6))) for c in range(4)]
    for c, context in enumerate(contexts):
        for q in context["questions"][::2]:
            q["answer_type"], q["answer"] = "arithmetic", 1200 + c
            q["derivation"] = "1,200"
    store = Store.open(tmp / "mixed.duckdb", create=True)
    import_file(store, write_json(tmp / "dev.json", contexts), "dev")
    uids = [row.uid for row in queue_page(store, sort="store", limit=100)]
    assert len(uids) == 24
    for i, verdicts in PANEL.items():
        item = work_item(store, uids[i])
        assert item is not None
        for judge, verdict in verdicts:
            key = JudgeKey(judge, "m", "p")
            append_verdicts(store, key, "run", [NewVerdict(uids[i], item.record_hash, verdict)])
    decide_many(store, [uids[0], uids[4], uids[20]], "accept", "ana")
    decide_many(store, [uids[3]], "reject", "ana", reason="wrong")
    decide(store, uids[2], "flag", "bo")
    decide(store, uids[14], "edit", "bo", edited={"question": "Revenue in 2019?"})
    return store, uids


def test_the_triage_rank_follows_its_definition(mixed: tuple[Store, list[str]]) -> None:
    store, uids = mixed
    rows = queue_page(store, sort="triage", limit=100)
    ranks = {row.uid: row.rank for row in rows}
    assert ranks == {uid: expected_rank(PANEL.get(i, [])) for i, uid in enumerate(uids)}
    assert [row.key for row in rows] == sorted(row.key for row in rows)


def _two_reads(store: Store, filt: RecordFilter, sort: str) -> tuple[list[Any], int]:
    """What a session opened with before: the first pending record, then the page from it."""
    start = first_pending(store, filt, sort=sort)
    after = (start.rank, start.seq - 1) if start else None
    rows = queue_page(store, filt, sort=sort, after=after, limit=5)
    if not rows and after is not None:
        rows = queue_page(store, filt, sort=sort, limit=5)
    before = queue_position(store, filt, sort=sort, key=rows[0].key) if rows else 0
    return rows, before


VIEWS = [
    RecordFilter(),
    RecordFilter(statuses=("pending",)),
    RecordFilter(statuses=("accepted",)),
    RecordFilter(statuses=("rejected", "flagged")),
    RecordFilter(statuses=("edited", "pending")),
    RecordFilter(answer_types=("arithmetic",)),
    RecordFilter(verdicts=("incorrect",)),
    RecordFilter(search="revenue in 2019?"),
    RecordFilter(statuses=("rejected",), answer_types=("span",)),  # empty view
    RecordFilter(shard=(2, 3), overlap=0.5),
]


@pytest.mark.parametrize("sort", ["triage", "store"])
@pytest.mark.parametrize("filt", VIEWS, ids=range(len(VIEWS)))
def test_one_scan_opens_where_two_reads_did(
    mixed: tuple[Store, list[str]], filt: RecordFilter, sort: str
) -> None:
    store, _ = mixed
    rows, before = _two_reads(store, filt, sort)
    opened = resume_page(store, filt, sort=sort, limit=5)
    assert opened.rows == rows
    assert opened.before == before


def test_a_session_opens_at_the_first_pending_record(mixed: tuple[Store, list[str]]) -> None:
    store, uids = mixed
    opened = resume_page(store, sort="triage", limit=100)
    # Triage order: rank 0 is records 0, 4, 7, 14, 19; 0 and 4 are accepted, 7 is pending.
    assert opened.resumed and opened.rows[0].uid == uids[7]
    assert opened.before == 2 and [r.uid for r in opened.rows[:3]] == [uids[7], uids[14], uids[19]]
    assert opened.rows[1].status == "edited"
    by_store = resume_page(store, sort="store", limit=100)
    assert by_store.rows[0].uid == uids[1] and by_store.before == 1


def test_a_view_with_nothing_pending_opens_at_its_start(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, write_json(tmp_path / "d.json", [tiny_context(q_uids=("a", "b"))]), "dev")
    decide_many(store, ["a", "b"], "accept", "ana")
    opened = resume_page(store, sort="triage", limit=5)
    assert not opened.resumed and opened.before == 0
    assert [r.uid for r in opened.rows] == ["a", "b"]


class _Counting:
    """A cursor that remembers every statement it ran."""

    def __init__(self, cursor: Any, seen: list[str]) -> None:
        self.cursor, self.seen = cursor, seen

    def execute(self, sql: str, params: Any = None) -> Any:
        self.seen.append(sql)
        return self.cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


@pytest.mark.parametrize("sort", ["triage", "store"])
def test_the_view_is_ranked_once(
    mixed: tuple[Store, list[str]], monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    store, _ = mixed
    seen: list[str] = []
    connection = store.connection

    @contextmanager
    def counting(**kwargs: Any) -> Iterator[Any]:
        with connection(**kwargs) as cursor:
            yield _Counting(cursor, seen)

    monkeypatch.setattr(store, "connection", counting)
    assert resume_page(store, sort=sort, limit=5).rows
    # One statement ranks the view's records (the other reads the page's verdicts).
    assert sum(" AS rank" in sql for sql in seen) == 1
    assert sum("FROM verdicts GROUP BY record_uid, judge" in sql for sql in seen) == (
        1 if sort == "triage" else 0
    )
