"""Work pages: the one loop that walks a pass's records in store order, page by page.

A live pass, a batch submission and a dry-run estimate all need the same thing: records that
still need a result, in keyset pages (`seq > last seen`), never more than `limit` of them, and
never the whole store in memory. `WorkCursor` is that loop; the callers differ only in where a
page comes from (a thread for the async pass, directly for the others).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from curator.domain import WorkItem

#: Fetches up to `limit` work items with `seq > after_seq`, in seq order.
PageFetch = Callable[[int, int], list[WorkItem]]


class WorkCursor:
    """Keyset pages of work, trimmed to an optional total `limit`.

    `next_page()` returns the next non-empty page, or `[]` once the store has no more work or
    the limit is reached; iterating yields the items one by one.
    """

    def __init__(self, fetch: PageFetch, *, page_size: int, limit: int | None = None) -> None:
        self._fetch = fetch
        self.page_size = max(1, page_size)
        self.limit = limit
        self.after = 0
        self.taken = 0
        self._done = False

    @property
    def exhausted(self) -> bool:
        return self._done or (self.limit is not None and self.taken >= self.limit)

    def next_page(self) -> list[WorkItem]:
        if self.exhausted:
            return []
        page = self._fetch(self.after, self.page_size)
        if not page:
            self._done = True  # nothing more: later calls do not ask the store again
            return []
        self.after = page[-1].seq
        if self.limit is not None:
            page = page[: self.limit - self.taken]
        self.taken += len(page)
        return page

    def __iter__(self) -> Iterator[WorkItem]:
        while page := self.next_page():
            yield from page
