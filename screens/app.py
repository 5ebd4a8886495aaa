"""The review TUI: `CuratorApp`, its queue model, and every store call as a thread worker.

Screens never touch the store. They call the app's request methods; each runs the store call in
a thread worker, which posts a past-tense message (QueuePageLoaded, RecordLoaded, DecisionSaved,
...); the app's handlers update the model and the screens. The main thread never waits on SQL,
and a decision is on disk before the handler moves to the next record.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from curator import safe_text
from curator.domain import RecordFilter
from curator.screens.messages import (
    ChangesNoticed,
    CountsLoaded,
    DecisionSaved,
    QueuePageLoaded,
    RecordLoaded,
    StatsLoaded,
    StoreFailed,
    VerdictArrived,
)
from curator.screens.store_reads import StoreReads
from curator.store import Store

PAGE_SIZE = 100
REFRESH_SECONDS = 3.0


@dataclass
class QueueModel:
    """The rows of the current view loaded so far, and where the reviewer is in them."""

    filt: RecordFilter = field(default_factory=RecordFilter)
    sort: str = "triage"
    rows: list[Any] = field(default_factory=list)
    index: int = -1
    exhausted_after: bool = False
    exhausted_before: bool = True
    generation: int = 0

    @property
    def current(self) -> Any | None:
        return self.rows[self.index] if 0 <= self.index < len(self.rows) else None


class CuratorApp(App[None]):
    """Review records: accept, reject, edit, undo; see verdicts; measure agreement."""

    # Package data read by name, not CSS_PATH (a path next to this file): works from any install.
    CSS = resources.files("curator.screens").joinpath("curator.tcss").read_text(encoding="utf-8")
    TITLE = "curator"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("f1,question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
    ]

    def __init__(
        self,
        store: Store,
        *,
        reviewer: str,
        blind: bool = False,
        judge_choice: Any = None,
        sections: dict[str, Any] | None = None,
        shard: tuple[int, int] | None = None,
        overlap: float = 0.0,
    ) -> None:
        super().__init__()
        self.shard = shard
        self.overlap = overlap
        self.store = store
        self.reads = StoreReads(store)
        self.reviewer = reviewer
        self.blind = blind
        self.judge_choice = judge_choice
        self.sections = sections or {}
        self.queue = QueueModel()
        self.advance_when_loaded = False
        # Ids of the newest event and verdict seen, for noticing other processes' writes.
        self.seen_event = -1
        self.seen_verdict = -1
        self.sub_title = (
            f"{safe_text.one_line(Path(store.path).name)} · reviewer {safe_text.one_line(reviewer)}"
            + (" · blind" if blind else "")
            + (f" · shard {shard[0]}/{shard[1]}" if shard else "")
        )

    def scoped(self, filt: RecordFilter) -> RecordFilter:
        """The reviewer's filter within their shard (the shard is not part of the saved view)."""
        return replace(filt, shard=self.shard, overlap=self.overlap if self.shard else 0.0)

    # -- start and stop ---------------------------------------------------------------------

    def on_mount(self) -> None:
        from curator.screens.record import ReviewScreen

        # One open database for the session: a keypress must not pay for opening the file.
        self.store.open_session()
        self.push_screen(ReviewScreen())
        self.resume()
        # Other reviewers and judge passes write to the same store: look every few seconds.
        self.set_interval(REFRESH_SECONDS, self.poll_changes)

    def on_unmount(self) -> None:
        self.store.close()

    @work(thread=True, exclusive=True, group="queue")
    def resume(self) -> None:
        """Reopen at the first pending record of the reviewer's last view."""
        from curator.store.reviews import first_pending, load_session, queue_page

        try:
            state = load_session(self.store, self.reviewer)
            filt = self.scoped(filter_from_state(state.get("filter", {})))
            sort = (
                state.get("sort", "triage")
                if state.get("sort") in ("store", "triage")
                else ("triage")
            )
            start = first_pending(self.store, filt, sort=sort)
            after = (start.rank, start.seq - 1) if start else None
            rows = queue_page(self.store, filt, sort=sort, after=after, limit=PAGE_SIZE)
            if not rows and after is not None:
                rows = queue_page(self.store, filt, sort=sort, limit=PAGE_SIZE)
        except Exception as exc:
            self.post_message(StoreFailed("opening the queue", str(exc)))
            return
        self.call_from_thread(self._set_view, filt, sort, rows, after is None)

    def _set_view(self, filt: RecordFilter, sort: str, rows: list[Any], at_start: bool) -> None:
        self.queue = QueueModel(
            filt=filt,
            sort=sort,
            rows=rows,
            index=0 if rows else -1,
            exhausted_after=len(rows) < PAGE_SIZE,
            exhausted_before=at_start,
            generation=self.queue.generation + 1,
        )
        self.refresh_queue_views()
        self.load_current()
        self.load_counts()

    def action_quit_app(self) -> None:
        self.exit()

    def action_help(self) -> None:
        from curator.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    # -- the queue --------------------------------------------------------------------------

    def change_view(self, filt: RecordFilter, sort: str) -> None:
        """New filter or sort: remember it for the next session and reload from the start."""
        filt = self.scoped(filt)
        self.save_view(filt, sort)
        self.queue.generation += 1
        self.load_first_page(filt, sort)

    @work(thread=True, exclusive=True, group="queue")
    def load_first_page(self, filt: RecordFilter, sort: str) -> None:
        from curator.store.reviews import queue_page

        try:
            rows = queue_page(self.store, filt, sort=sort, limit=PAGE_SIZE)
        except Exception as exc:
            self.post_message(StoreFailed("filtering the queue", str(exc)))
            return
        self.call_from_thread(self._set_view, filt, sort, rows, True)

    @work(thread=True, group="session")
    def save_view(self, filt: RecordFilter, sort: str) -> None:
        from curator.store.reviews import save_session

        state = {
            "filter": {
                "statuses": list(filt.statuses),
                "verdicts": list(filt.verdicts),
                "answer_types": list(filt.answer_types),
                "answer_sources": list(filt.answer_sources),
                "splits": list(filt.splits),
                "disagree": filt.disagree,
                "conflicts": filt.conflicts,
                "audit": filt.audit,
                "near_duplicates": filt.near_duplicates,
                "search": filt.search,
            },
            "sort": sort,
        }
        try:
            save_session(self.store, self.reviewer, state)
        except Exception as exc:
            self.post_message(StoreFailed("saving where you are", str(exc)))

    def request_more(self) -> None:
        if not self.queue.exhausted_after and self.queue.rows:
            self.load_page_after(self.queue.rows[-1].key, self.queue.generation)

    @work(thread=True, exclusive=True, group="page")
    def load_page_after(self, key: tuple[int, int], generation: int) -> None:
        from curator.store.reviews import queue_page

        try:
            rows = queue_page(
                self.store, self.queue.filt, sort=self.queue.sort, after=key, limit=PAGE_SIZE
            )
        except Exception as exc:
            self.post_message(StoreFailed("loading more records", str(exc)))
            return
        self.post_message(QueuePageLoaded(rows, key, generation))

    @work(thread=True, exclusive=True, group="page")
    def load_page_before(self, key: tuple[int, int], generation: int) -> None:
        from curator.store.reviews import queue_page

        try:
            rows = queue_page(
                self.store, self.queue.filt, sort=self.queue.sort, before=key, limit=PAGE_SIZE
            )
        except Exception as exc:
            self.post_message(StoreFailed("loading earlier records", str(exc)))
            return
        self.post_message(QueuePageLoaded(rows, None, generation))

    @on(QueuePageLoaded)
    def _page_loaded(self, message: QueuePageLoaded) -> None:
        if message.generation != self.queue.generation:
            return  # a page for a view that has since changed
        q = self.queue
        if message.after is None:  # a page before the first loaded row
            q.rows[:0] = message.rows
            q.index += len(message.rows)
            q.exhausted_before = len(message.rows) < PAGE_SIZE
            if message.rows:
                self.move(-1)
        else:
            known = {r.uid for r in q.rows}
            q.rows.extend(r for r in message.rows if r.uid not in known)
            q.exhausted_after = len(message.rows) < PAGE_SIZE
            if self.advance_when_loaded:
                self.advance_when_loaded = False
                self.move(1)
        self.refresh_queue_views()

    def refresh_queue_views(self) -> None:
        for screen in self.screen_stack:
            refresh = getattr(screen, "queue_changed", None)
            if refresh is not None:
                refresh()

    def move(self, delta: int) -> None:
        """Next (1) or previous (-1) record in the view, loading pages as needed."""
        q = self.queue
        target = q.index + delta
        if target >= len(q.rows):
            if q.exhausted_after:
                self.notify("End of the queue for this filter.", timeout=3)
                return
            self.advance_when_loaded = True
            self.request_more()
            return
        if target < 0:
            if q.exhausted_before or not q.rows:
                self.notify("Start of the queue.", timeout=3)
                return
            self.load_page_before(q.rows[0].key, q.generation)
            return
        q.index = target
        if not q.exhausted_after and len(q.rows) - q.index < 10:
            self.request_more()
        self.load_current()

    def open_uid(self, uid: str) -> None:
        """Show a record: at its place in the view when loaded there, else on its own."""
        for i, row in enumerate(self.queue.rows):
            if row.uid == uid:
                self.queue.index = i
                self.load_current()
                return
        self.load_record_by_uid(uid, self.queue.generation)

    @work(thread=True, exclusive=True, group="record")
    def load_record_by_uid(self, uid: str, generation: int) -> None:
        from curator.store.reviews import record_detail

        try:
            detail = record_detail(self.store, uid)
        except Exception as exc:
            self.post_message(StoreFailed("loading the record", str(exc)))
            return
        self.post_message(RecordLoaded(detail, generation))

    # -- one record -------------------------------------------------------------------------

    def load_current(self) -> None:
        row = self.queue.current
        if row is None:
            self.post_message(RecordLoaded(None, self.queue.generation))
            return
        self.load_record(row.uid, row.seq, self.queue.generation)

    @work(thread=True, exclusive=True, group="record")
    def load_record(self, uid: str, seq: int, generation: int) -> None:
        from curator.store.reviews import record_detail

        try:
            detail = record_detail(self.store, uid, seq=seq)
        except Exception as exc:
            self.post_message(StoreFailed("loading the record", str(exc)))
            return
        self.post_message(RecordLoaded(detail, generation))

    @on(RecordLoaded)
    def _record_loaded(self, message: RecordLoaded) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_record", None)
            if show is not None:
                show(message.detail)

    # -- decisions --------------------------------------------------------------------------

    @work(thread=True, group="write")
    def decide(
        self,
        uid: str,
        action: str,
        *,
        reason: str = "",
        edited: dict[str, Any] | None = None,
        advance: bool = True,
    ) -> None:
        from curator.store.reviews import decide

        try:
            event = decide(
                self.store,
                uid,
                action,
                self.reviewer,
                reason=reason,
                edited=edited,
                blind=self.blind,
            )
        except Exception as exc:
            self.post_message(StoreFailed(f"saving your {action}", str(exc)))
            return
        self.post_message(DecisionSaved(event, advance))

    @work(thread=True, group="write")
    def undo(self, event_id: int | None = None) -> None:
        """Undo a decision: the given one, else this reviewer's latest live one."""
        from curator.store.reviews import recent_decisions, undo

        try:
            if event_id is None:
                recent = recent_decisions(self.store, self.reviewer, limit=1)
                if not recent:
                    self.call_from_thread(self.notify, "Nothing of yours to undo.", timeout=3)
                    return
                event_id = recent[0].event_id
            event = undo(self.store, event_id, self.reviewer)
        except Exception as exc:
            self.post_message(StoreFailed("undoing", str(exc)))
            return
        self.post_message(DecisionSaved(event, advance=False))

    @on(DecisionSaved)
    def _decision_saved(self, message: DecisionSaved) -> None:
        event = message.event
        status = {"accept": "accepted", "reject": "rejected", "edit": "edited"}.get(event.action)
        for i, row in enumerate(self.queue.rows):
            if row.uid == event.record_uid:
                new_status = status or "pending"
                self.queue.rows[i] = replace(row, status=new_status)
                if event.action == "undo":
                    self.queue.index = i  # show the record whose decision was undone
        self.load_counts()
        if event.action == "undo":
            self.notify("Undone: the record is back to its previous state.", timeout=3)
            self.refresh_queue_views()
            self.load_current()
            return
        self.refresh_queue_views()
        if message.advance:
            self.move(1)
        else:
            self.load_current()

    # -- judge one record now ---------------------------------------------------------------

    @work(thread=True, group="judge")
    def judge_now(self, uid: str) -> None:
        from curator.judges.factory import JudgeChoice, default_judge, make_judge
        from curator.store.verdicts import append_verdicts, work_item

        try:
            choice = self.judge_choice or JudgeChoice(default_judge(self.sections))
            judge = make_judge(choice, self.sections)
            item = work_item(self.store, uid)
            if item is None:
                return
            verdict = asyncio.run(_judge_one(judge, item))
            append_verdicts(self.store, judge.key, "tui", [verdict])
        except Exception as exc:
            self.post_message(StoreFailed("judging this record", str(exc)))
            return
        self.post_message(VerdictArrived(uid, verdict.verdict))

    @on(VerdictArrived)
    def _verdict_arrived(self, message: VerdictArrived) -> None:
        self.notify(f"Judge says: {safe_text.one_line(message.verdict)}", timeout=4, markup=False)
        row = self.queue.current
        if row is not None and row.uid == message.uid:
            self.load_current()

    # -- counts and stats -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="counts")
    def load_counts(self) -> None:
        from curator.store.records import count
        from curator.store.reviews import progress

        try:
            mine = progress(self.store, self.reviewer)
            in_view = count(self.store, self.queue.filt)
        except Exception as exc:
            self.post_message(StoreFailed("counting", str(exc)))
            return
        self.post_message(CountsLoaded(mine, in_view))

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_counts", None)
            if show is not None:
                show(message)

    @work(thread=True, exclusive=True, group="stats")
    def load_stats(self) -> None:
        from curator.agreement import by_judge
        from curator.store.records import stats
        from curator.store.reviews import (
            agreement_counts,
            reviewer_activity,
            reviewer_pair_counts,
        )

        try:
            result = stats(self.store)
            counts = agreement_counts(self.store)
            activity = reviewer_activity(self.store)
            pairs = reviewer_pair_counts(self.store)
        except Exception as exc:
            self.post_message(StoreFailed("computing statistics", str(exc)))
            return
        self.post_message(
            StatsLoaded(result, (by_judge(counts.cells), counts.abstained, pairs), activity)
        )

    @on(StatsLoaded)
    def _stats_loaded(self, message: StatsLoaded) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_stats", None)
            if show is not None:
                show(message)

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        # The error text may quote data (a uid, a file name): shown literally and cut short.
        self.notify(
            f"Error {message.doing}: {safe_text.error_line(message.error, 500)}",
            severity="error",
            timeout=8,
            markup=False,
        )

    # -- other writers ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="poll")
    def poll_changes(self) -> None:
        from curator.store.reviews import changes_since

        try:
            changes = changes_since(self.store, max(self.seen_event, 0), max(self.seen_verdict, 0))
        except Exception:
            return
        self.post_message(ChangesNoticed(changes))

    @on(ChangesNoticed)
    def _changes(self, message: ChangesNoticed) -> None:
        changes = message.changes
        first_look = self.seen_event < 0
        self.seen_event, self.seen_verdict = changes.last_event, changes.last_verdict
        if first_look:
            return
        others = [e for e in changes.events if e[2] != self.reviewer]
        for i, row in enumerate(self.queue.rows):
            if row.uid in changes.statuses:
                self.queue.rows[i] = replace(row, status=changes.statuses[row.uid])
        current = self.queue.current
        touched = {e[1] for e in changes.events} | set(changes.verdict_uids)
        if current is not None and current.uid in touched:
            mine = [e for e in others if e[1] == current.uid]
            if mine:
                _, _, who, action = mine[-1]
                self.notify(
                    f"{safe_text.clip(safe_text.one_line(who), 60)} "
                    f"{_PAST.get(action, action)} this record meanwhile; "
                    "both decisions are kept.",
                    timeout=6,
                    markup=False,
                )
            self.load_current()
        if others or changes.verdict_uids:
            self.refresh_queue_views()
            self.load_counts()

    # -- command palette --------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        yield from super().get_system_commands(screen)
        actions = getattr(screen, "PALETTE", [])
        for title, help_text, action in actions:
            yield SystemCommand(title, help_text, _runner(screen, action))


_PAST = {
    "accept": "accepted",
    "reject": "rejected",
    "edit": "edited",
    "undo": "undid a decision on",
}


def filter_from_state(data: dict[str, Any]) -> RecordFilter:
    """A saved view back into a filter; unknown or malformed keys are ignored."""
    kwargs: dict[str, Any] = {}
    for key in ("statuses", "verdicts", "answer_types", "answer_sources", "splits"):
        value = data.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            kwargs[key] = tuple(value)
    kwargs["disagree"] = bool(data.get("disagree", False))
    kwargs["conflicts"] = bool(data.get("conflicts", False))
    kwargs["audit"] = bool(data.get("audit", False))
    kwargs["near_duplicates"] = bool(data.get("near_duplicates", False))
    kwargs["search"] = str(data.get("search", ""))
    filt = RecordFilter(**kwargs)
    try:
        filt.validate()
    except Exception:
        return RecordFilter()
    return filt


def _runner(screen: Screen[Any], action: str) -> Any:
    async def run() -> None:
        await screen.run_action(action)

    return run


async def _judge_one(judge: Any, item: Any) -> Any:
    try:
        return await judge.judge(item)
    finally:
        await judge.aclose()
