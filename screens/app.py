"""The review TUI: `CuratorApp`, its queue model, and every store call as a thread worker.

Screens never touch the store. They call the app's request methods; each runs the store call in
a thread worker, which posts a past-tense message (QueuePageLoaded, RecordLoaded, DecisionSaved,
...); the app's handlers update the model and the screens. The main thread never waits on SQL,
and a decision is on disk before the handler moves to the next record.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import replace
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from curator import safe_text
from curator.domain import RecordFilter
from curator.screens.messages import (
    BulkDecided,
    BulkUndone,
    ChangesNoticed,
    CountsLoaded,
    DecisionSaved,
    PanesLoaded,
    QueuePageLoaded,
    RecordLoaded,
    RecordPrefetched,
    SavingChanged,
    StatsLoaded,
    StoreFailed,
    VerdictArrived,
    WriteFailed,
    WriterReachedUndo,
)
from curator.screens.queue_model import PAGE_SIZE, QueueModel, Step
from curator.screens.store_reads import StoreReads
from curator.settings import Config
from curator.store import Store
from curator.store.bulk import BulkResult
from curator.wording import counted

if TYPE_CHECKING:
    from curator.domain import NewVerdict, ReviewEvent, WorkItem
    from curator.judges.factory import JudgeChoice
    from curator.llm.passes import Judge
    from curator.store.reviews import RecordDetail

REFRESH_SECONDS = 3.0
#: Records read ahead of the reviewer at least, so that the next one shows without a store
#: call...
PREFETCH = 20
#: ...and at most: the depth follows how long a turn on the store has lately taken (waiting for
#: other processes' turns included), so that the records in hand last a fast reviewer until the
#: next turn. A turn reads them all (~1 ms each); a turn per keypress would wait every time.
MAX_AHEAD = 200
#: A fast reviewer's seconds per record, for sizing the read ahead to the wait for a turn.
FAST_KEY_S = 0.15
#: After a decision the counts on the status line are read again at most this often: two
#: counts over the whole store per keypress competed with drawing the next record.
COUNTS_EVERY_S = 1.0


class CuratorApp(App[None]):
    """Review records: accept, reject, edit, undo; see verdicts; measure agreement."""

    # Package data read by name, not CSS_PATH (a path next to this file): works from any install.
    CSS = resources.files("curator.screens").joinpath("curator.tcss").read_text(encoding="utf-8")
    TITLE = "curator"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("q", "quit_app", "Quit", id="quit"),
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
        keys: dict[str, str] | None = None,
        guidelines: Path | None = None,
    ) -> None:
        super().__init__()
        # `[keys]` of the config (checked by curator.keymap): binding id -> key(s).
        self.keys = dict(keys or {})
        self.set_keymap(self.keys)
        #: Where each list screen was (the evaluation's run and row), so reopening keeps it.
        self.places: dict[str | tuple[str, str], Any] = {}
        #: The configured guidelines file (`[review] guidelines`), shown by `g`.
        self.guidelines = guidelines
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
        self.seen_import = 0
        # Records read ahead (uid -> RecordDetail) and the record the screen should show next.
        self.details: dict[str, RecordDetail] = {}
        # Records read ahead that another process changed since: shown from memory with the
        # status it gave them (verdicts and history read again when shown) until read again.
        self.stale: set[str] = set()
        # Records being read whose read must be dropped: changed (decided here or elsewhere)
        # after the read began, so it may hold the version from before the change.
        self.outdated_reads: set[str] = set()
        # Seconds a read of the store has lately taken, waiting for its turn included (decays).
        self.turn_s = 0.0
        # Near-duplicates of each context seen (context uid -> Twins), read with its record.
        self.twins: dict[str, list[Any]] = {}
        self._counts_timer: Any = None
        # What the one reader ahead reads next: (uid, seq, view generation).
        self.ahead_wanted: deque[tuple[str, int, int]] = deque()
        self.ahead_lock = threading.Lock()
        self.ahead_running = False
        self.ahead_reading: set[str] = set()  # being read, until its message is handled
        self.wanted_uid: str | None = None
        # The one writer: decisions and undos in the order the keys were pressed.
        self.writes: deque[tuple[str, dict[str, Any]]] = deque()
        self.write_lock = threading.Lock()
        self.writer_running = False
        # Undos of stored decisions take turns: two read at once found the same latest decision.
        self.undo_lock = threading.Lock()
        self.undone_here: set[str] = set()  # event uids this session has undone (or is undoing)
        self.in_writer = 0  # handed to the writer, not yet durable
        self.unstored = 0  # durable in the journal, not yet in the store
        self.session_events: list[
            ReviewEvent | BulkResult
        ] = []  # this session's live decisions, newest last
        self.quitting = False
        #: A view is opening: its first record is read and drawn before anything else.
        self.opening = False
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

    def get_driver_class(self) -> type[Driver]:
        """Textual's choice, except under `curator serve`: see `curator.screens.served`."""
        from curator.screens.served import served

        return served(super().get_driver_class())

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

    def on_key(self, event: events.Key) -> None:
        """A key that bubbled up here after a dialog opened: keys typed in one burst with the key
        that opens a text dialog (a fast typist, keystrokes batched over SSH) all went to the
        screen below, before the dialog was there, and were lost. The dialog takes them."""
        take = getattr(self.screen, "take_typed", None)
        if take is not None:
            take(event)

    def on_unmount(self) -> None:
        from curator.store.journal import journal_for

        # The writer finishes what was typed (durable in the journal), then the folder gets a
        # little time to store it; whatever is left is stored by the next process to open.
        deadline = time.monotonic() + 10
        while self.writer_running and time.monotonic() < deadline:
            time.sleep(0.01)
        journal = journal_for(self.store)
        journal.wait_stored(timeout=10)
        # All stored: no empty journal file left behind (one with a decision not stored stays).
        journal.remove_if_stored()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.store.close()

    def resume(self) -> None:
        """Reopen at the first pending record of the reviewer's last view."""
        self.load_view(None, "triage", "opening the queue")

    def load_view(self, filt: RecordFilter | None, sort: str, doing: str) -> None:
        """The one worker that opens a view: its first page, from the start, or (`filt` None)
        the reviewer's saved view at its first pending record."""
        self.run_worker(
            partial(self._read_view, filt, sort),
            thread=True,
            exclusive=True,
            group="queue",
            exit_on_error=False,
            description=doing,
        )

    def _read_view(self, filt: RecordFilter | None, sort: str) -> None:
        from curator.store.reviews import load_session, queue_page, resume_page

        if filt is None:
            state = load_session(self.store, self.reviewer)
            filt = self.scoped(filter_from_state(state.get("filter", {})))
            saved = state.get("sort")
            sort = saved if saved in ("store", "triage") else "triage"
            # The first pending record and the page from it, in one scan of the view.
            found = resume_page(self.store, filt, sort=sort, limit=PAGE_SIZE)
            rows, before = found.rows, found.before
        else:
            rows, before = queue_page(self.store, filt, sort=sort, limit=PAGE_SIZE), 0
        self.call_from_thread(self._set_view, filt, sort, rows, before)

    def _set_view(self, filt: RecordFilter, sort: str, rows: list[Any], before: int) -> None:
        self.queue = self.queue.new_view(filt, sort, rows, at_start=before == 0)
        self.queue.before = before
        self.twins.clear()  # looked up again as records show (a `leaks` run may have changed them)
        self.refresh_queue_views()
        # The view's first record alone: reading ahead and counting wait until it is drawn.
        self.opening = True
        self.load_current()

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
            f"Saving {counted(self.saving, 'decision')} before quitting… "
            f"(q again quits now; {'it is' if self.saving == 1 else 'they are'} safe in the "
            "journal)",
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
        self.load_view(filt, sort, "filtering the queue")

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
            self.load_page(self.queue.rows[-1].key, before=False)

    def load_page(self, key: tuple[int, int], *, before: bool) -> None:
        """The one worker that pages the view: the rows after `key`, or before it."""
        q = self.queue
        self.run_worker(
            partial(self._read_page, q.filt, q.sort, key, before, q.generation),
            thread=True,
            exclusive=True,
            group="page",
            exit_on_error=False,
            description="loading earlier records" if before else "loading more records",
        )

    def _read_page(
        self, filt: RecordFilter, sort: str, key: tuple[int, int], before: bool, generation: int
    ) -> None:
        from curator.store.reviews import queue_page

        rows = queue_page(
            self.store,
            filt,
            sort=sort,
            after=None if before else key,
            before=key if before else None,
            limit=PAGE_SIZE,
        )
        self.post_message(QueuePageLoaded(rows, None if before else key, generation))

    @on(QueuePageLoaded)
    def _page_loaded(self, message: QueuePageLoaded) -> None:
        if message.generation != self.queue.generation:
            return  # a page for a view that has since changed
        if message.after is None:  # a page before the first loaded row
            if self.queue.add_page_before(message.rows):
                self.move(-1)
        elif self.queue.add_page_after(message.rows):
            self.move(1)
        else:
            self.read_ahead()  # the read ahead may reach into the new page
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
            self.load_page(q.rows[0].key, before=True)
            return
        if q.wants_next_page(self.ahead_depth):
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
        self.load_record(uid, None, self.queue.generation)

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
        if not self.opening:
            self.read_ahead()

    @property
    def ahead_depth(self) -> int:
        """How many records to hold ahead: enough for two of the latest turns' time."""
        return max(PREFETCH, min(MAX_AHEAD, math.ceil(2 * self.turn_s / FAST_KEY_S)))

    def turn_took(self, seconds: float) -> None:
        """A read of the store waited `seconds` for its turn on the file (not the read itself:
        a deeper read would then deepen the next one): a longer wait counts at once, a
        shorter one slowly (turns come in bursts while other processes write)."""
        self.turn_s = max(seconds, self.turn_s * 0.9)

    def read_ahead(self) -> None:
        """Have the records ahead of the view read (those not read yet, or changed by another
        process since), and forget those read for records well behind.

        Lazily: a turn on the store only when the records in hand ahead fall below half the
        depth (or the one on screen changed elsewhere); it then reads the whole depth at once."""
        q = self.queue
        depth = self.ahead_depth
        near = {r.uid for r in q.rows[max(0, q.index - PREFETCH) : q.index + 1 + depth]}
        near.add(self.wanted_uid or "")  # a record opened outside the view (a twin)
        for uid in [uid for uid in self.details if uid not in near]:
            del self.details[uid]
        self.stale &= set(self.details)
        ahead = q.rows[q.index + 1 : q.index + 1 + depth]
        in_hand = next((i for i, r in enumerate(ahead) if r.uid not in self.details), len(ahead))
        current = q.current
        shown_stale = current is not None and current.uid in self.stale
        if in_hand >= min(len(ahead), max(PREFETCH, depth // 2)) and not shown_stale:
            return
        rows = ([current] if shown_stale and current is not None else []) + ahead
        with self.ahead_lock:
            wanted = [
                (r.uid, r.seq, q.generation)
                for r in rows
                if (r.uid not in self.details or r.uid in self.stale)
                and r.uid not in self.ahead_reading
            ]
            self.ahead_wanted = deque(wanted)
            start = bool(wanted) and not self.ahead_running
            self.ahead_running = self.ahead_running or start
        if start:
            self.prefetch()

    def awaiting_record(self) -> None:
        """The record on screen is about to change: keys wait for the next one to show."""
        for screen in self.screen_stack:
            wait = getattr(screen, "await_record", None)
            if wait is not None:
                wait()

    @work(thread=True, group="prefetch")
    def prefetch(self) -> None:
        """The one reader ahead: the records `read_ahead` last asked for, read together in one
        turn on the store (a worker per keypress re-read the same records side by side, a
        turn per record, and fell behind while other processes wrote)."""
        from curator.store.reviews import record_details

        while True:
            with self.ahead_lock:
                if not self.ahead_wanted:
                    self.ahead_running = False
                    return
                wanted = list(self.ahead_wanted)
                self.ahead_wanted.clear()
                self.ahead_reading.update(uid for uid, _, _ in wanted)
            try:
                details = record_details(self.store, [(uid, seq) for uid, seq, _ in wanted])
                self.turn_took(self.store.last_wait())
                twins = {
                    d.record.context_uid: self.reads.twins(d.record.context_uid)
                    for d in details
                    if d is not None and d.record.context_uid not in self.twins
                }
            except Exception:
                with self.ahead_lock:
                    self.ahead_reading.difference_update(uid for uid, _, _ in wanted)
                continue  # read ahead is a nicety: the records load when shown
            for detail, (uid, _, generation) in zip(details, wanted, strict=True):
                context = detail.record.context_uid if detail is not None else ""
                self.post_message(RecordPrefetched(uid, detail, generation, twins.get(context)))

    @on(RecordPrefetched)
    def _prefetched(self, message: RecordPrefetched) -> None:
        with self.ahead_lock:
            self.ahead_reading.discard(message.uid)
        if message.uid in self.outdated_reads:
            # Decided here, or changed elsewhere, while it was being read: this read may hold
            # the version from before (a pending status); it stays as the change left it.
            self.outdated_reads.discard(message.uid)
            return
        detail = message.detail
        if detail is None or message.generation != self.queue.generation:
            return
        uid = detail.record.uid
        was_stale = uid in self.stale
        self.details[uid] = detail
        self.stale.discard(uid)
        if message.twins is not None:
            self.twins[detail.record.context_uid] = message.twins
        current = self.queue.current
        if not was_stale or current is None or current.uid != uid or uid != self.wanted_uid:
            return
        # The record on screen, read again after another process changed it: shown as it now
        # is (keys act on what is on screen: until now, on the version shown before).
        shown = next(
            (d for s in self.screen_stack if (d := getattr(s, "detail", None)) is not None), None
        )
        if shown is not None and (shown.record_hash, shown.status) == (
            detail.record_hash,
            detail.status,
        ):
            for screen in self.screen_stack:
                show = getattr(screen, "show_panes", None)
                if show is not None:
                    show(detail)  # same version: only its verdicts and history are new
            return
        self.post_message(RecordLoaded(detail, self.queue.generation))

    @work(
        thread=True,
        exclusive=True,
        group="record",
        exit_on_error=False,
        description="loading the record",
    )
    def load_record(self, uid: str, seq: int | None, generation: int) -> None:
        """The one worker that reads a record to show (by its place in the view, `seq`, or by
        uid alone): the record without its panes, which `load_panes` reads once it is shown."""
        from curator.store.reviews import record_detail

        detail = record_detail(self.store, uid, seq=seq, panes=False)
        self.turn_took(self.store.last_wait())
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
        if self.opening:
            # After the view's first record is drawn (see below for why twice).
            self.call_after_refresh(self.call_after_refresh, self._opened)
        if detail is not None and not detail.panes:
            # Verdicts, history and near-duplicates after the record is on screen. Twice: the
            # first idle pass can come before the updated widgets have marked the screen dirty,
            # and then Textual runs after-refresh callbacks before anything is drawn.
            self.call_after_refresh(
                self.call_after_refresh, self.load_panes, detail, message.generation
            )

    def _opened(self) -> None:
        """The view's first record is on screen: now read ahead and count."""
        if self.opening:
            self.opening = False
            self.read_ahead()
            self.load_counts()

    @work(
        thread=True,
        exclusive=True,
        group="panes",
        exit_on_error=False,
        description="reading the verdicts and history",
    )
    def load_panes(self, detail: Any, generation: int) -> None:
        from curator.store.reviews import record_panes

        record = detail.record
        panes = record_panes(self.store, record.uid, detail.record_hash)
        self.turn_took(self.store.last_wait())
        twins = self.twins.get(record.context_uid)
        if twins is None:
            twins = self.reads.twins(record.context_uid)
        self.post_message(PanesLoaded(record.uid, panes, twins, generation))

    @on(PanesLoaded)
    def _panes_loaded(self, message: PanesLoaded) -> None:
        if message.generation != self.queue.generation:
            return
        detail = self.details.get(message.uid)
        if detail is None or detail.panes:
            return  # read again meanwhile (decided, or changed by another process)
        detail = self.details[message.uid] = detail.with_panes(message.panes)
        record = detail.record
        self.twins[record.context_uid] = message.twins
        for screen in self.screen_stack:
            show = getattr(screen, "show_panes", None)
            if show is not None:
                show(detail)

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
        status = {
            "accept": "accepted",
            "reject": "rejected",
            "edit": "edited",
            "flag": "flagged",
        }[action]
        self.queue.set_statuses({uid: status})
        self.details.pop(uid, None)  # its status and history changed: read it again if shown
        self._outdate_reads([uid])
        self.refresh_queue_views()
        if advance:
            self.move(1)
        else:
            self.load_current()

    def note(self, uid: str, text: str, *, record_hash: str | None = None) -> None:
        """A note on a record, through the same writer and journal as decisions; the record
        stays on screen and shows the note in its history once it is durable."""
        self._enqueue("note", {"uid": uid, "text": text, "record_hash": record_hash})

    def undo(self, event_id: int | None = None, *, in_turn: bool = False) -> None:
        """Undo a decision: the given one, else this reviewer's latest live one (a bulk
        decision's whole batch when that was the latest)."""
        if event_id is None and not in_turn and self.in_writer:
            # Decisions typed before this `u` are still in the writer, so the latest is not in
            # the session's list yet: the undo waits its turn behind them (WriterReachedUndo).
            self._enqueue("undo_latest", {})
            return
        while event_id is None and self.session_events:
            target = self.session_events.pop()
            if isinstance(target, BulkResult):
                self.undo_batch(target.batch_id)
                return
            if not self._claim_undo(target.event_uid):
                continue  # an undo read from the store took it meanwhile
            self._enqueue("undo", {"uid": target.record_uid, "event_uid": target.event_uid})
            return
        self.undo_stored(event_id)

    def _claim_undo(self, event_uid: str) -> bool:
        """Whether this session may undo `event_uid`, taking it: no other undo of this session
        (one through the writer, one read from the store, whatever their order) reverts it."""
        with self.write_lock:
            if event_uid in self.undone_here:
                return False
            self.undone_here.add(event_uid)
            return True

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
        from curator.store.reviews import add_note, decide, undo

        while True:
            with self.write_lock:
                if not self.writes:
                    self.writer_running = False
                    return
                kind, job = self.writes.popleft()
            if kind == "undo_latest":  # after the saved messages of the decisions before it
                self.post_message(WriterReachedUndo())
                continue
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
                elif kind == "note":
                    event = add_note(
                        self.store,
                        job["uid"],
                        self.reviewer,
                        job["text"],
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
        # One at a time, each reading the store after the one before stored its undo: `u u`
        # typed in one burst (a session just started) undoes the latest two decisions, and
        # never the same one twice.
        with self.undo_lock:
            self._undo_stored(event_id)

    def _undo_stored(self, event_id: int | None) -> None:
        from curator.store.bulk import batch_of, undo_batch
        from curator.store.reviews import recent_decisions, undo

        # This session's own undos go through the writer: the store is read once they are
        # journaled (and so stored first), or their decision would look live and be undone again.
        deadline = time.monotonic() + 10
        while self.writer_running and time.monotonic() < deadline:
            time.sleep(0.01)
        if event_id is None:
            # The latest not undone by this session already (its undo may not be stored yet).
            recent = recent_decisions(self.store, self.reviewer, limit=len(self.undone_here) + 1)
            latest = next((e for e in recent if e.event_uid not in self.undone_here), None)
            if latest is None:
                self.call_from_thread(self.notify, "Nothing of yours to undo.", timeout=3)
                return
            batch = batch_of(latest.event_uid)
            if batch is not None:  # the latest was a bulk decision: undo it as one
                self.post_message(BulkUndone(undo_batch(self.store, batch, self.reviewer)))
                return
            if not self._claim_undo(latest.event_uid):  # the writer took it since: the next
                self._undo_stored(None)
                return
            event_id = latest.event_id
        event = undo(self.store, event_id, self.reviewer)
        self.post_message(DecisionSaved(event, advance=False))
        self.post_message(SavingChanged(self.unstored))

    @on(WriterReachedUndo)
    def _writer_reached_undo(self, _message: WriterReachedUndo) -> None:
        self.in_writer = max(0, self.in_writer - 1)
        self.refresh_saving()
        self.undo(in_turn=True)

    @on(DecisionSaved)
    def _decision_saved(self, message: DecisionSaved) -> None:
        event = message.event
        if event.event_id == 0:  # from the writer: one fewer waiting to become durable
            self.in_writer = max(0, self.in_writer - 1)
            self.refresh_saving()
        if event.action == "note":  # history only: shown again, never undone by `u`
            self.details.pop(event.record_uid, None)
            self.notify("Note saved.", timeout=2)
            row = self.queue.current
            if row is not None and row.uid == event.record_uid:
                self.load_current()
            return
        self.counts_soon()
        if event.action != "undo":
            self.session_events.append(event)
            return
        self.session_events = [
            e for e in self.session_events if getattr(e, "event_uid", None) != event.undoes_uid
        ]
        self.queue.set_statuses({event.record_uid: "pending"})
        self.queue.select(event.record_uid)  # show the record whose decision was undone
        self.details.pop(event.record_uid, None)
        self.notify("Undone: the record is back to its previous state.", timeout=3)
        self.refresh_queue_views()
        self.load_current()

    # -- bulk decisions ---------------------------------------------------------------------

    @work(thread=True, group="write", exit_on_error=False, description="writing the bulk decision")
    def decide_bulk(self, found: Any) -> None:
        """Write a confirmed bulk decision as one batch, after this session's own decisions
        (the store's transaction stores every journaled one first)."""
        from curator.store.bulk import decide_bulk

        while self.writer_running:  # keys pressed before the dialog opened are written first
            time.sleep(0.01)
        result = decide_bulk(self.store, found, self.reviewer)
        self.post_message(BulkDecided(result, found.selection.action))

    @on(BulkDecided)
    def _bulk_decided(self, message: BulkDecided) -> None:
        result = message.result
        done = {"accept": "Accepted", "reject": "Rejected"}.get(message.action, message.action)
        text = f"{done} {counted(result.decided, 'record')} as one batch; u undoes the whole batch."
        if result.skipped:
            text += f" {result.skipped:,} skipped: decided or re-judged by someone else meanwhile."
        self.notify(text, timeout=8)
        if result.decided:
            self.session_events.append(result)
        self._statuses_changed(result.statuses)

    @work(thread=True, group="write", exit_on_error=False, description="undoing the batch")
    def undo_batch(self, batch_id: str) -> None:
        from curator.store.bulk import undo_batch

        self.post_message(BulkUndone(undo_batch(self.store, batch_id, self.reviewer)))

    @on(BulkUndone)
    def _bulk_undone(self, message: BulkUndone) -> None:
        result = message.result
        self.session_events = [
            e
            for e in self.session_events
            if not (isinstance(e, BulkResult) and e.batch_id == result.batch_id)
        ]
        text = f"Undone: the batch of {counted(result.undone, 'decision')}."
        if result.decided_later:
            later = result.decided_later
            keeps = "keeps" if later == 1 else "keep"
            text += f" {counted(later, 'record')} {keeps} a decision made after it."
        self.notify(text, timeout=6)
        self._statuses_changed(result.statuses)

    def _statuses_changed(self, statuses: dict[str, str]) -> None:
        """Many records changed status at once: the queue, the counts and the record shown."""
        self.queue.set_statuses(statuses)
        for uid in statuses:
            self.details.pop(uid, None)
        self.refresh_queue_views()
        self.load_counts()
        self.load_current()

    @on(WriteFailed)
    def _write_failed(self, message: WriteFailed) -> None:
        self.in_writer = max(0, self.in_writer - 1)
        self.refresh_saving()
        self.notify(
            f"NOT SAVED: your {message.action} of {safe_text.one_line(message.uid)}: "
            f"{safe_text.error_line(message.error, 500)}",
            severity="error",
            timeout=15,
            markup=False,  # a record's uid and an error naming a path are data, not markup
        )

    @on(SavingChanged)
    def _saving_changed(self, message: SavingChanged) -> None:
        self.unstored = message.unstored
        self.refresh_saving()

    def refresh_saving(self) -> None:
        for screen in self.screen_stack:
            if not screen.is_attached:
                continue  # quitting: its widgets are gone
            show = getattr(screen, "show_saving", None)
            if show is not None:
                show(self.saving)
        if self.quitting and self.saving == 0:
            self.exit()

    # -- judge one record now ---------------------------------------------------------------

    @work(thread=True, group="judge", exit_on_error=False, description="judging this record")
    def judge_now(self, uid: str) -> None:
        from curator.judges.factory import JudgeChoice, default_judge, make_judge
        from curator.store.verdicts import append_verdicts, verdict_on_version, work_item

        choice = self.judge_choice or JudgeChoice(default_judge(self.config))
        judge = make_judge(choice, self.config)
        item = work_item(self.store, uid)
        if item is None:
            asyncio.run(judge.aclose())
            return
        # Same judge, model, prompt and record version: the verdict is already stored (a pass
        # would skip it too); show it instead of storing a second one.
        known = verdict_on_version(self.store, judge.key, uid, item.record_hash)
        if known is not None:
            asyncio.run(judge.aclose())
            self.post_message(VerdictArrived(uid, known, judge=judge.key.judge, unchanged=True))
            return
        verdict = asyncio.run(_judge_one(judge, item))
        append_verdicts(self.store, judge.key, "tui", [verdict])
        self.post_message(VerdictArrived(uid, verdict.verdict, judge=judge.key.judge))

    @on(VerdictArrived)
    def _verdict_arrived(self, message: VerdictArrived) -> None:
        if message.unchanged:
            self.notify(
                f"{safe_text.one_line(message.judge)} already judged this version of the record: "
                f"{safe_text.one_line(message.verdict)} (unchanged; nothing new stored).",
                timeout=5,
                markup=False,
            )
            return
        self.notify(f"Judge says: {safe_text.one_line(message.verdict)}", timeout=4, markup=False)
        self.details.pop(message.uid, None)
        row = self.queue.current
        if row is not None and row.uid == message.uid:
            self.load_current()

    # -- counts and stats -------------------------------------------------------------------

    def counts_soon(self) -> None:
        """Read the counts again within COUNTS_EVERY_S: once for a burst of decisions."""
        if self._counts_timer is None:
            # Less often while turns on the store are slow (others writing): each read of the
            # counts is a turn the others wait for.
            every = max(COUNTS_EVERY_S, 4 * self.turn_s)
            self._counts_timer = self.set_timer(every, self._counts_due)

    def _counts_due(self) -> None:
        self._counts_timer = None
        self.load_counts()

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False, description="counting")
    def load_counts(self) -> None:
        from curator.store.records import count
        from curator.store.reviews import progress, queue_position

        q = self.queue
        mine = progress(self.store, self.reviewer)
        in_view = count(self.store, q.filt)
        self.turn_took(self.store.last_wait())
        before = None
        if q.before is None and q.rows:
            before = queue_position(self.store, q.filt, sort=q.sort, key=q.rows[0].key)
        self.post_message(CountsLoaded(mine, in_view, before, q.generation))

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        if message.before is not None and message.generation == self.queue.generation:
            self.queue.before = message.before
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
            self._opened()  # the first record did not come: read ahead and count anyway
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

    def _outdate_reads(self, uids: Collection[str]) -> None:
        """Reads in flight of these records began before they changed: drop them on arrival."""
        with self.ahead_lock:
            self.outdated_reads.update(u for u in uids if u in self.ahead_reading)

    @work(thread=True, exclusive=True, group="poll")
    def poll_changes(self) -> None:
        from curator.store.reviews import changes_since

        try:
            changes = changes_since(self.store, max(self.seen_event, 0), max(self.seen_verdict, 0))
            self.turn_took(self.store.last_wait())
        except Exception:
            return
        self.post_message(ChangesNoticed(changes))

    @on(ChangesNoticed)
    def _changes(self, message: ChangesNoticed) -> None:
        changes = message.changes
        first_look = self.seen_event < 0
        self.seen_event, self.seen_verdict = changes.last_event, changes.last_verdict
        imported = changes.last_import > self.seen_import and not first_look
        self.seen_import = changes.last_import
        if first_look:
            return
        if imported:
            # Records another process imported: the counts (and the pages not read yet) have
            # them; the pages already read are read again as the view refreshes.
            self.notify(
                "New records were imported into this store meanwhile: the counts include them.",
                timeout=6,
                markup=False,
            )
        others = [e for e in changes.events if e[2] != self.reviewer]
        self.queue.set_statuses(changes.statuses)
        current = self.queue.current
        touched = {e[1] for e in changes.events} | set(changes.verdict_uids)
        shown = self.details.get(current.uid) if current is not None else None
        self._outdate_reads(touched)
        for uid in touched:
            detail = self.details.get(uid)
            if detail is None:
                continue
            # Known at once, without a turn on the store: the status the change gave it; its
            # verdicts and history are read again when it is shown ("loading…" until then),
            # the record itself with the next records read ahead (or now, if on screen). A
            # key never waits for the store for it: it acts on the version shown.
            status = changes.statuses.get(uid, detail.status)
            self.details[uid] = replace(detail, status=status, judges=(), events=(), panes=False)
            self.stale.add(uid)
        if touched:
            self.read_ahead()
        if current is not None and current.uid in touched:
            mine = [e for e in others if e[1] == current.uid]
            if mine:
                _, _, who, action = mine[-1]
                # "Both kept" only when this reviewer has a decision of their own on it too.
                decided = any(
                    e[1] == current.uid and e[2] == self.reviewer and e[3] in _DECISIONS
                    for e in changes.events
                ) or (
                    shown is not None
                    and any(
                        e.reviewer == self.reviewer and e.action in _DECISIONS and not e.undone
                        for e in shown.events
                    )
                )
                self.notify(
                    f"{safe_text.clip(safe_text.one_line(who), 60)} "
                    f"{_PAST.get(action, action)} this record meanwhile"
                    + ("; both decisions are kept." if decided and action != "note" else "."),
                    timeout=6,
                    markup=False,
                )
            self.load_current()
        if others or changes.verdict_uids or imported:
            self.refresh_queue_views()
            self.load_counts()

    # -- command palette --------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        yield from super().get_system_commands(screen)
        actions = getattr(screen, "PALETTE", [])
        for title, help_text, action in actions:
            yield SystemCommand(title, help_text, _runner(screen, action))


#: The actions that decide a record (a note does not; an undo takes one back).
_DECISIONS = frozenset({"accept", "reject", "edit", "flag"})

_PAST = {
    "accept": "accepted",
    "reject": "rejected",
    "edit": "edited",
    "undo": "undid a decision on",
    "flag": "flagged",
    "note": "added a note to",
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
