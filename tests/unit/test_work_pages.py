"""Work pages: keyset iteration in store order, trimmed to a limit, never asking the store again
once it said there is no more (or the limit is reached)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from curator.domain import Context, WorkItem
from curator.llm.work import WorkCursor

CONTEXT = Context(uid="c", split="dev", table=(), paragraphs=())


def work_item(seq: int) -> WorkItem:
    return WorkItem(
        seq=seq,
        uid=f"u{seq}",
        record_hash="h",
        question="q",
        answer="1",
        answer_type="span",
        answer_from="table",
        derivation="",
        scale="",
        context=CONTEXT,
    )


def store_of(n: int) -> list[WorkItem]:
    # Gaps in seq, as a store with deleted or already-judged records has.
    return [work_item(3 * s + 1) for s in range(n)]


def fetcher(
    items: list[WorkItem], calls: list[tuple[int, int]]
) -> Callable[[int, int], list[WorkItem]]:
    def fetch(after: int, size: int) -> list[WorkItem]:
        calls.append((after, size))
        return [i for i in items if i.seq > after][:size]

    return fetch


@pytest.mark.parametrize(("n", "limit"), [(0, None), (7, None), (25, None), (25, 11), (25, 30)])
def test_iterating_yields_the_store_in_order_up_to_the_limit(n: int, limit: int | None) -> None:
    items = store_of(n)
    calls: list[tuple[int, int]] = []
    got = list(WorkCursor(fetcher(items, calls), page_size=4, limit=limit))
    assert [i.uid for i in got] == [i.uid for i in items[:limit]]
    # Keyset pages: each read starts after the last seq of the one before, none read twice.
    afters = [after for after, _ in calls]
    assert afters[0] == 0
    assert afters == sorted(set(afters))
    assert afters[1:] == [items[min(4 * k - 1, n - 1)].seq for k in range(1, len(calls))]
    assert all(size == 4 for _, size in calls)


def test_no_read_after_the_end_or_the_limit() -> None:
    calls: list[tuple[int, int]] = []
    cursor = WorkCursor(fetcher(store_of(5), calls), page_size=4)
    assert [i.seq for i in cursor.next_page()] == [1, 4, 7, 10]
    assert [i.seq for i in cursor.next_page()] == [13]
    assert cursor.next_page() == []
    assert cursor.exhausted
    assert cursor.next_page() == []
    assert len(calls) == 3  # the empty answer was asked for once, then remembered

    calls.clear()
    limited = WorkCursor(fetcher(store_of(20), calls), page_size=4, limit=6)
    assert [len(limited.next_page()) for _ in range(4)] == [4, 2, 0, 0]
    assert limited.exhausted and limited.taken == 6
    assert len(calls) == 2  # the limit reached: the store is not asked again


def test_a_page_size_below_one_reads_one_at_a_time() -> None:
    calls: list[tuple[int, int]] = []
    got = list(WorkCursor(fetcher(store_of(3), calls), page_size=0))
    assert [i.seq for i in got] == [1, 4, 7]
    assert {size for _, size in calls} == {1}


def test_a_failed_read_is_raised_to_the_consumer() -> None:
    def fetch(after: int, size: int) -> list[WorkItem]:
        raise RuntimeError("store unreadable")

    with pytest.raises(RuntimeError, match="store unreadable"):
        list(WorkCursor(fetch, page_size=10))
