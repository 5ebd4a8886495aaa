"""Work pages: keyset iteration, trimmed to a limit, and the prefetching variant a batch pass
uses yields exactly the same items and leaves no read running when stopped early."""

from __future__ import annotations

import threading
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


def store_of(n: int) -> tuple[list[WorkItem], list[tuple[int, str]]]:
    return [work_item(s) for s in range(1, n + 1)], []


def fetcher(
    items: list[WorkItem], calls: list[tuple[int, str]]
) -> Callable[[int, int], list[WorkItem]]:
    def fetch(after: int, size: int) -> list[WorkItem]:
        calls.append((after, threading.current_thread().name))
        return [i for i in items if i.seq > after][:size]

    return fetch


@pytest.mark.parametrize(("n", "limit"), [(0, None), (7, None), (25, None), (25, 11), (25, 30)])
def test_prefetched_yields_what_iterating_yields(n: int, limit: int | None) -> None:
    items, calls = store_of(n)
    plain = list(WorkCursor(fetcher(items, []), page_size=4, limit=limit))
    ahead = list(WorkCursor(fetcher(items, calls), page_size=4, limit=limit).prefetched())
    assert [i.uid for i in ahead] == [i.uid for i in plain]
    assert [i.uid for i in plain] == [i.uid for i in items[:limit]]
    # Pages are read off the consumer's thread, and never past the end asked again.
    assert all(name.startswith("work-page") for _, name in calls)
    assert [a for a, _ in calls] == sorted({a for a, _ in calls})


def test_stopping_early_leaves_no_read_running() -> None:
    items, calls = store_of(100)
    work = WorkCursor(fetcher(items, calls), page_size=10).prefetched()
    assert [next(work).seq for _ in range(3)] == [1, 2, 3]
    work.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("work-page")]
    assert len(calls) <= 2  # the page in use and at most one ahead


def test_a_failed_read_is_raised_to_the_consumer() -> None:
    def fetch(after: int, size: int) -> list[WorkItem]:
        raise RuntimeError("store unreadable")

    with pytest.raises(RuntimeError, match="store unreadable"):
        list(WorkCursor(fetch, page_size=10).prefetched())
