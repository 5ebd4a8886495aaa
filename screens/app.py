"""The review TUI: `CuratorApp`, its queue model, and every store call as a thread worker.

Screens never touch the store. They call the app's request methods; each runs the store call in
a thread worker, which posts a past-tense message (QueuePageLoaded, RecordLoaded, DecisionSaved,
...); the app's handlers update the model and the screens. The main thread never waits on SQL,
and a decision is on disk before the handler moves to the next record.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from curator import safe_text
from curator.domain import RecordFilter
from curator.screens.messages import (
    ChangesNoticed,
    CountsLoaded,
    DecisionSaved,
    QueuePageLoaded,
    RecordLoaded,
    RecordPrefetched,
    SavingChanged,
    StatsLoaded,
    StoreFailed,
    VerdictArrived,
    WriteFailed,
)
from curator.screens.queue_model import PAGE_SIZE, QueueModel, Step
from curator.screens.store_reads import StoreReads
from curator.settings import Config
from curator.store import Store

if TYPE_CHECKING:
    from curator.domain import NewVerdict, ReviewEvent, WorkItem
    from curator.judges.factory import JudgeChoice
    from curator.llm.passes import Judge
    from curator.store.reviews import RecordDetail

REFRESH_SECONDS = 3.0
#: Records read ahead of the reviewer, so that the next one shows without a store call.
PREFETCH = 3


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
        judge_choice: JudgeChoice | None = None,
        config: Config | None = None,
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
        self.config = config or Config()
        self.queue = QueueModel()
        # Ids of the newest event and verdict seen, for noticing other processes' writes.
        self.seen_event = -1
        self.seen_verdict = -1
        # Records read ahead (uid -> RecordDetail) and the record the screen should show next.
        self.details: dict[str, RecordDetail] = {}
        self.wanted_uid: str | None = None
        # The one writer: decisions and undos in the order the keys were pressed.
        self.writes: deque[tuple[str, dict[str, Any]]] = deque()
        self.write_lock = threading.Lock()
        self.writer_running = False
        self.in_writer = 0  # handed to the writer, not yet durable
        self.unstored = 0  # durable in the journal, not yet in the store
        self.session_events: list[ReviewEvent] = []  # this session's live decisions, newest last
        self.quitting = False
        self._unsubscribe: Callable[[], None] | None = None
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
        from curator.store.journal import journal_for

        # One open database for the session: a keypress must not pay for opening the file.
        self.store.open_session()
        self._unsubscribe = journal_for(self.store).on_change(self._journal_changed)
        self.push_screen(ReviewScreen())
        self.resume()
        # Other reviewers and judge passes write to the same store: look every few seconds.
        self.set_interval(REFRESH_SECONDS, self.poll_changes)

    def _journal_changed(self, unstored: int) -> None:
        """From any thread: the journal's count of decisions not yet in the store changed."""
        self.post_message(SavingChanged(unstored))

    def on_unmount(self) -> None:
        from curator.store.journal import journal_for

        # The writer finishes what was typed (durable in the journal), then the folder gets a
        # little time to store it; whatever is left is stored by the next process to open.
        deadline = time.monotonic() + 10
        while self.writer_running and time.monotonic() < deadline:
            time.sleep(0.01)
        journal_for(self.store).wait_stored(timeout=10)
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.store.close()

    @work(
        thread=True,
        exclusive=True,
        group="queue",
        exit_on_error=False,
        description="opening the queue",
    )
    def resume(self) -> None:
        """Reopen at the first pending record of the reviewer's last view."""
        from curator.store.reviews import first_pending, load_session, queue_page

        state = load_session(self.store, self.reviewer)
        filt = self.scoped(filter_from_state(state.get("filter", {})))
        sort = (
            state.get("sort", "triage") if state.get("sort") in ("store", "triage") else ("triage")
        )
        start = first_pending(self.store, filt, sort=sort)
        after = (start.rank, start.seq - 1) if start else None
        rows = queue_page(self.store, filt, sort=sort, after=after, limit=PAGE_SIZE)
        if not rows and after is not None:
            rows = queue_page(self.store, filt, sort=sort, limit=PAGE_SIZE)
        self.call_from_thread(self._set_view, filt, sort, rows, after is None)

    def _set_view(self, filt: RecordFilter, sort: str, rows: list[Any], at_start: bool) -> None:
        self.queue = self.queue.new_view(filt, sort, rows, at_start=at_start)
        self.refresh_queue_views()
        self.load_current()
        self.load_counts()

    @property
    def saving(self) -> int:
        """Decisions of this session not yet committed to the store."""
        return self.in_writer + self.unstored

    def action_quit_app(self) -> None:
        """Quit once every decision is in the store; a second `q` quits at once (they are
        durable in the journal and stored by the next curator process that opens the store)."""
        if self.saving == 0 or self.quitting:
            self.exit()
            return
        self.quitting = True
        self.notify(
            f"Saving {self.saving} decision(s) before quitting… (q again quits now; they are "
            "safe in the journal)",
            timeout=10,
        )
        self.refresh_saving()

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

    @work(
        thread=True,
        exclusive=True,
        group="queue",
        exit_on_error=False,
        description="filtering the queue",
    )
    def load_first_page(self, filt: RecordFilter, sort: str) -> None:
        from curator.store.reviews import queue_page

        rows = queue_page(self.store, filt, sort=sort, limit=PAGE_SIZE)
        self.call_from_thread(self._set_view, filt, sort, rows, True)

    @work(thread=True, group="session", exit_on_error=False, description="saving where you are")
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
        save_session(self.store, self.reviewer, state)

    def request_more(self) -> None:
        if not self.queue.exhausted_after and self.queue.rows:
            self.load_page_after(self.queue.rows[-1].key, self.queue.generation)

    @work(
        thread=True,
        exclusive=True,
        group="page",
        exit_on_error=False,
        description="loading more records",
    )
    def load_page_after(self, key: tuple[int, int], generation: int) -> None:
        from curator.store.reviews import queue_page

        rows = queue_page(
            self.store, self.queue.filt, sort=self.queue.sort, after=key, limit=PAGE_SIZE
        )
        self.post_message(QueuePageLoaded(rows, key, generation))

    @work(
        thread=True,
        exclusive=True,
        group="page",
        exit_on_error=False,
        description="loading earlier records",
    )
    def load_page_before(self, key: tuple[int, int], generation: int) -> None:
        from curator.store.reviews import queue_page

        rows = queue_page(
            self.store, self.queue.filt, sort=self.queue.sort, before=key, limit=PAGE_SIZE
        )
        self.post_message(QueuePageLoaded(rows, None, generation))

    @on(QueuePageLoaded)
    def _page_loaded(self, message: QueuePageLoaded) -> None:
        if message.generation != self.queue.generation:
            return  # a page for a view that has since changed
        if message.after is None:  # a page before the first loaded row
            if self.queue.add_page_before(message.rows):
                self.move(-1)
        elif self.queue.add_page_after(message.rows):
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
        step = q.step(delta)
        if step in (Step.AT_END, Step.AT_START):
            at_end = step is Step.AT_END
            self.notify(
                "End of the queue for this filter." if at_end else "Start of the queue.", timeout=3
            )
            self._stay()
            return
        if step is Step.LOAD_AFTER:
            self.awaiting_record()
            self.request_more()
            return
        if step is Step.LOAD_BEFORE:
            self.awaiting_record()
            self.load_page_before(q.rows[0].key, q.generation)
            return
        if q.wants_next_page():
            self.request_more()
        self.load_current()

    def _stay(self) -> None:
        """No record to move to: keys typed ahead for one are dropped, not applied here."""
        for screen in self.screen_stack:
            drop = getattr(screen, "record_unavailable", None)
            if drop is not None:
                drop()
        row = self.queue.current
        if row is not None and row.uid not in self.details:
            self.load_current()  # show its new status (it was probably just decided)

    def open_uid(self, uid: str) -> None:
        """Show a record: at its place in the view when loaded there, else on its own."""
        if self.queue.select(uid):
            self.load_current()
            return
        self.awaiting_record()
        self.wanted_uid = uid
        self.load_record_by_uid(uid, self.queue.generation)

    @work(
        thread=True,
        exclusive=True,
        group="record",
        exit_on_error=False,
        description="loading the record",
    )
    def load_record_by_uid(self, uid: str, generation: int) -> None:
        from curator.store.reviews import record_detail

        self.wanted_uid = uid
        detail = record_detail(self.store, uid)
        self.post_message(RecordLoaded(detail, generation))

    # -- one record -------------------------------------------------------------------------

    def load_current(self) -> None:
        """Show the current row: from the records read ahead when there, else from the store."""
        row = self.queue.current
        self.awaiting_record()
        if row is None:
            self.wanted_uid = None
            self.post_message(RecordLoaded(None, self.queue.generation))
            return
        self.wanted_uid = row.uid
        cached = self.details.get(row.uid)
        if cached is not None:
            self.post_message(RecordLoaded(cached, self.queue.generation))
        else:
            self.load_record(row.uid, row.seq, self.queue.generation)
        ahead = self.queue.rows[self.queue.index + 1 : self.queue.index + 1 + PREFETCH]
        wanted = [(r.uid, r.seq) for r in ahead if r.uid not in self.details]
        if wanted:
            self.prefetch(wanted, self.queue.generation)

    def awaiting_record(self) -> None:
        """The record on screen is about to change: keys wait for the next one to show."""
        for screen in self.screen_stack:
            wait = getattr(screen, "await_record", None)
            if wait is not None:
                wait()

    @work(thread=True, exclusive=True, group="prefetch")
    def prefetch(self, wanted: list[tuple[str, int]], generation: int) -> None:
        from curator.store.reviews import record_detail

        for uid, seq in wanted:
            try:
                detail = record_detail(self.store, uid, seq=seq)
            except Exception:
                return  # read ahead is a nicety: the record loads when shown
            self.post_message(RecordPrefetched(detail, generation))

    @on(RecordPrefetched)
    def _prefetched(self, message: RecordPrefetched) -> None:
        if message.detail is not None and message.generation == self.queue.generation:
            self.details[message.detail.record.uid] = message.detail

    @work(
        thread=True,
        exclusive=True,
        group="record",
        exit_on_error=False,
        description="loading the record",
    )
    def load_record(self, uid: str, seq: int, generation: int) -> None:
        from curator.store.reviews import record_detail

        detail = record_detail(self.store, uid, seq=seq)
        self.post_message(RecordLoaded(detail, generation))

    @on(RecordLoaded)
    def _record_loaded(self, message: RecordLoaded) -> None:
        detail = message.detail
        if detail is not None and detail.record.uid != self.wanted_uid:
            return  # a record the reviewer has already moved past: never show it
        if detail is not None:
            self.details[detail.record.uid] = detail
        for screen in self.screen_stack:
            show = getattr(screen, "show_record", None)
            if show is not None:
                show(message.detail)

    # -- decisions --------------------------------------------------------------------------

    def decide(
        self,
        uid: str,
        action: str,
        *,
        reason: str = "",
        edited: dict[str, Any] | None = None,
        advance: bool = True,
        record_hash: str | None = None,
    ) -> None:
        """Decide a record the reviewer saw: queued to the one writer, and the screen moves on
        at once (the decision is durable within milliseconds, in the store soon after)."""
        if record_hash is None and uid in self.details:
            record_hash = self.details[uid].record_hash
        self._enqueue(
            "decide",
            {
                "uid": uid,
                "action": action,
                "reason": reason,
                "edited": edited,
                "record_hash": record_hash,
            },
        )
        status = {"accept": "accepted", "reject": "rejected", "edit": "edited"}[action]
        self.queue.set_statuses({uid: status})
        self.details.pop(uid, None)  # its status and history changed: read it again if shown
        self.refresh_queue_views()
        if advance:
            self.move(1)
        else:
            self.load_current()

    def undo(self, event_id: int | None = None) -> None:
        """Undo a decision: the given one, else this reviewer's latest live one."""
        if event_id is None and self.session_events:
            target = self.session_events.pop()
            self._enqueue("undo", {"uid": target.record_uid, "event_uid": target.event_uid})
            return
        self.undo_stored(event_id)

    def _enqueue(self, kind: str, job: dict[str, Any]) -> None:
        with self.write_lock:
            self.writes.append((kind, job))
            start = not self.writer_running
            self.writer_running = True
        self.in_writer += 1
        self.refresh_saving()
        if start:
            self.write_queued()

    @work(thread=True, group="write")
    def write_queued(self) -> None:
        """The one writer: each queued decision, in order, into this process's journal."""
        from curator.store.reviews import decide, undo

        while True:
            with self.write_lock:
                if not self.writes:
                    self.writer_running = False
                    return
                kind, job = self.writes.popleft()
            try:
                if kind == "decide":
                    event = decide(
                        self.store,
                        job["uid"],
                        job["action"],
                        self.reviewer,
                        reason=job["reason"],
                        edited=job["edited"],
                        blind=self.blind,
                        record_hash=job["record_hash"],
                        wait=False,
                    )
                else:
                    event = undo(
                        self.store,
                        None,
                        self.reviewer,
                        event_uid=job["event_uid"],
                        record_uid=job["uid"],
                        wait=False,
                    )
            except Exception as exc:
                self.post_message(WriteFailed(job["uid"], kind, str(exc)))
                continue
            self.post_message(DecisionSaved(event, advance=False))

    @work(thread=True, group="write", exit_on_error=False, description="undoing")
    def undo_stored(self, event_id: int | None = None) -> None:
        """Undo a decision found in the store (from an earlier session, or picked by id)."""
        from curator.store.reviews import recent_decisions, undo

        if event_id is None:
            recent = recent_decisions(self.store, self.reviewer, limit=1)
            if not recent:
                self.call_from_thread(self.notify, "Nothing of yours to undo.", timeout=3)
                return
            event_id = recent[0].event_id
        event = undo(self.store, event_id, self.reviewer)
        self.post_message(DecisionSaved(event, advance=False))
        self.post_message(SavingChanged(self.unstored))

    @on(DecisionSaved)
    def _decision_saved(self, message: DecisionSaved) -> None:
        event = message.event
        if event.event_id == 0:  # from the writer: one fewer waiting to become durable
            self.in_writer = max(0, self.in_writer - 1)
            self.refresh_saving()
        self.load_counts()
        if event.action != "undo":
            self.session_events.append(event)
            return
        self.session_events = [e for e in self.session_events if e.event_uid != event.undoes_uid]
        self.queue.set_statuses({event.record_uid: "pending"})
        self.queue.select(event.record_uid)  # show the record whose decision was undone
        self.details.pop(event.record_uid, None)
        self.notify("Undone: the record is back to its previous state.", timeout=3)
        self.refresh_queue_views()
        self.load_current()

    @on(WriteFailed)
    def _write_failed(self, message: WriteFailed) -> None:
        self.in_writer = max(0, self.in_writer - 1)
        self.refresh_saving()
        self.notify(
            f"NOT SAVED: your {message.action} of {message.uid}: {message.error}",
            severity="error",
            timeout=15,
        )

    @on(SavingChanged)
    def _saving_changed(self, message: SavingChanged) -> None:
        self.unstored = message.unstored
        self.refresh_saving()

    def refresh_saving(self) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_saving", None)
            if show is not None:
                show(self.saving)
        if self.quitting and self.saving == 0:
            self.exit()

    # -- judge one record now ---------------------------------------------------------------

    @work(thread=True, group="judge", exit_on_error=False, description="judging this record")
    def judge_now(self, uid: str) -> None:
        from curator.judges.factory import JudgeChoice, default_judge, make_judge
        from curator.store.verdicts import append_verdicts, work_item

        choice = self.judge_choice or JudgeChoice(default_judge(self.config))
        judge = make_judge(choice, self.config)
        item = work_item(self.store, uid)
        if item is None:
            return
        verdict = asyncio.run(_judge_one(judge, item))
        append_verdicts(self.store, judge.key, "tui", [verdict])
        self.post_message(VerdictArrived(uid, verdict.verdict))

    @on(VerdictArrived)
    def _verdict_arrived(self, message: VerdictArrived) -> None:
        self.notify(f"Judge says: {safe_text.one_line(message.verdict)}", timeout=4, markup=False)
        self.details.pop(message.uid, None)
        row = self.queue.current
        if row is not None and row.uid == message.uid:
            self.load_current()

    # -- counts and stats -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False, description="counting")
    def load_counts(self) -> None:
        from curator.store.records import count
        from curator.store.reviews import progress

        mine = progress(self.store, self.reviewer)
        in_view = count(self.store, self.queue.filt)
        self.post_message(CountsLoaded(mine, in_view))

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_counts", None)
            if show is not None:
                show(message)

    @work(
        thread=True,
        exclusive=True,
        group="stats",
        exit_on_error=False,
        description="computing statistics",
    )
    def load_stats(self) -> None:
        from curator.agreement import by_judge
        from curator.store.records import stats
        from curator.store.reviews import (
            agreement_counts,
            reviewer_activity,
            reviewer_pair_counts,
        )

        result = stats(self.store)
        counts = agreement_counts(self.store)
        activity = reviewer_activity(self.store)
        pairs = reviewer_pair_counts(self.store)
        self.post_message(
            StatsLoaded(result, (by_judge(counts.cells), counts.abstained, pairs), activity)
        )

    @on(StatsLoaded)
    def _stats_loaded(self, message: StatsLoaded) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_stats", None)
            if show is not None:
                show(message)

    # -- the one error path of every worker -------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.worker_changed(event)

    def worker_changed(self, event: Worker.StateChanged) -> None:
        """Every worker runs with exit_on_error=False, so a failure ends here instead of
        closing the app: it becomes one StoreFailed naming what was being done (the worker's
        description). Screens forward their own workers' state changes here."""
        if event.state is WorkerState.ERROR:
            worker: Worker[object] = event.worker
            doing = worker.description or worker.name or "working"
            self.post_message(StoreFailed(doing, str(worker.error)))

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        # The error text may quote data (a uid, a file name): shown literally and cut short.
        self.notify(
            f"Error {message.doing}: {safe_text.error_line(message.error, 500)}",
            severity="error",
            timeout=8,
            markup=False,
        )
        if message.doing.startswith("loading"):
            # The next record could not be shown: keys typed for it must not fall on the one
            # still on screen. Go back to that record and drop them.
            for screen in self.screen_stack:
                shown = getattr(screen, "detail", None)
                drop = getattr(screen, "record_unavailable", None)
                if drop is not None:
                    drop()
                if shown is not None:
                    self.queue.select(shown.record.uid)
                    self.wanted_uid = shown.record.uid

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
        self.queue.set_statuses(changes.statuses)
        current = self.queue.current
        touched = {e[1] for e in changes.events} | set(changes.verdict_uids)
        for uid in touched:
            self.details.pop(uid, None)
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


async def _judge_one(judge: Judge, item: WorkItem) -> NewVerdict:
    try:
        return await judge.run(item)
    finally:
        await judge.aclose()
