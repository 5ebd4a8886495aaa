"""The record screen, where a reviewer spends the session: one record and single-key decisions."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker

from curator import safe_text
from curator.editing import whole_edit
from curator.prompts import render_answer
from curator.screens.messages import CountsLoaded
from curator.screens.queue_model import filter_chips
from curator.screens.text import label, literal, preview
from curator.screens.widgets.key_bar import KeyBar
from curator.screens.widgets.record_table import RecordTable
from curator.screens.workers import forward_worker_state
from curator.wording import counted

if TYPE_CHECKING:
    from curator.screens.app import CuratorApp

VERDICT_STYLE = {
    "correct": "bold green",
    "incorrect": "bold red",
    "uncertain": "bold yellow",
    "unparsed": "magenta",
    "error": "red",
}
ACTION_WORD = {
    "accept": "accepted",
    "reject": "rejected",
    "edit": "edited",
    "undo": "undid",
    "flag": "flagged for discussion",
    "note": "noted",
}


class ReviewScreen(Screen[None]):
    """Table, text, question, answer, derivation, verdicts and history of the current record."""

    #: Each binding's id is its action's name in `[keys]` (curator.keymap): remappable.
    BINDINGS: ClassVar[list[Any]] = [
        Binding("a", "accept", "Accept", id="accept"),
        Binding("r", "reject", "Reject", id="reject"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("u", "undo", "Undo", id="undo"),
        Binding("U", "undo_history", "Undo…", id="undo_history"),
        Binding("n,j", "next", "Next", id="next"),
        Binding("p,k", "previous", "Prev", id="previous"),
        Binding("space", "skip", "Skip", id="skip"),
        Binding("J", "judge", "Judge", id="judge"),
        Binding("B", "bulk", "Bulk", id="bulk"),
        Binding("slash", "search", "Search", id="search"),
        Binding("f", "filters", "Filters", id="filters"),
        Binding("l", "queue", "Queue", id="queue"),
        Binding("t", "toggle_sort", "Sort", id="toggle_sort"),
        Binding("s", "stats", "Stats", id="stats"),
        Binding("v", "evaluation", "Eval", id="evaluation"),
        Binding("w", "whole_text", "Whole", id="whole_text"),
        Binding("d", "open_twin", "Twin", id="open_twin"),
        Binding("exclamation_mark", "flag", "Flag", id="flag"),
        Binding("c", "note", "Note", id="note"),
        Binding("g", "guidelines", "Guide", id="guidelines"),
        # Escape goes back to the list a record was opened from; never anywhere else.
        Binding("escape", "back", "Back"),
    ]
    #: (title, help, action) offered in the command palette.
    PALETTE: ClassVar[list[tuple[str, str, str]]] = [
        ("Accept record", "Mark the current record correct and move on (a)", "accept"),
        ("Reject record", "Reject with a reason and move on (r)", "reject"),
        ("Edit record", "Correct question, answer, derivation or scale (e)", "edit"),
        ("Undo last decision", "Revert your latest decision (u)", "undo"),
        ("Undo an earlier decision", "Pick one of your decisions to revert (U)", "undo_history"),
        ("Next record", "n / j", "next"),
        ("Previous record", "p / k", "previous"),
        ("Skip record", "Move on without deciding (space)", "skip"),
        ("Judge this record now", "Run the configured judge on it (J)", "judge"),
        (
            "Bulk decision on this view",
            "Accept what judges call correct, or reject what they call incorrect (B)",
            "bulk",
        ),
        ("Search", "Free text over question and answer (/)", "search"),
        ("Filters", "Status, verdict, disagreement, type, source, split (f)", "filters"),
        ("Toggle sort", "Store order or triage order (t)", "toggle_sort"),
        ("Show queue", "The list of records in this view (l)", "queue"),
        ("Statistics and agreement", "Counts, throughput, judge-vs-human kappa (s)", "stats"),
        ("Evaluation", "Prediction runs scored, and what each got wrong (v)", "evaluation"),
        ("Flag for discussion", "Mark the record for the team to discuss (!)", "flag"),
        ("Add a note", "A comment in the record's history (c)", "note"),
        ("Guidelines", "The team's review guidelines (g)", "guidelines"),
        ("Whole text", "Every field of the record at full length (w)", "whole_text"),
        ("Back", "To the list this record was opened from (escape)", "back"),
        (
            "Open near-duplicate",
            "The record of a table that near-duplicates this one (d)",
            "open_twin",
        ),
    ]

    #: Actions that act on the record on screen (or move off it): typed while the next record
    #: is not shown yet, they wait and are applied, in order, to the records as they show.
    QUEUED: ClassVar[frozenset[str]] = frozenset(
        {"accept", "reject", "edit", "undo", "next", "previous", "skip", "judge", "flag"}
    )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_state(self, event)

    def __init__(self) -> None:
        super().__init__()
        self.detail: Any = None
        self.twins: list[Any] = []
        self.twin_cursor = 0
        self.twin_owner: str | None = None
        self.awaiting = True  # the record the keys would act on is not on screen yet
        self.typed_ahead: deque[str] = deque()
        self.saving = 0
        self.counts: CountsLoaded | None = None
        #: The list the reviewer opened this record from ("queue", "evaluation"): Escape
        #: goes back there, and nowhere when there is none.
        self.came_from: str | None = None
        self._progress_line = Text()
        self._paragraphs_shown: tuple[Any, ...] | None = None

    def on_mount(self) -> None:
        self.query_one("#record-twins", Static).display = False
        self.query_one(RecordTable).focus()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="record-title")
        with Horizontal(id="record-body"):
            with Vertical(id="record-left"):
                yield RecordTable(id="record-table")
                yield Static(id="record-cell")
                with VerticalScroll(id="record-paragraphs-box"):
                    yield Static(id="record-paragraphs")
            with VerticalScroll(id="record-right"):
                yield Static(id="record-qa")
                # Shown only when the table has a near-duplicate (see _twins_loaded).
                yield Static(id="record-twins")
                yield Static(id="record-verdicts")
                yield Static(id="record-history")
        yield Static(id="record-progress")
        yield KeyBar()

    @property
    def curator(self) -> CuratorApp:
        return cast("CuratorApp", self.app)

    # -- drawing ----------------------------------------------------------------------------

    # -- keys and the record they act on -------------------------------------------------------

    def await_record(self) -> None:
        self.awaiting = True

    def record_unavailable(self) -> None:
        """The awaited record will not come (end of queue, load failed): drop the typed keys."""
        self.awaiting = False
        if self.typed_ahead:
            self.notify(
                f"{counted(len(self.typed_ahead), 'typed-ahead key')} not applied.", timeout=4
            )
            self.typed_ahead.clear()

    def _key(self, name: str) -> None:
        if self.awaiting or self.typed_ahead:
            self.typed_ahead.append(name)
            return
        getattr(self, f"do_{name}")()

    def _apply_typed_ahead(self) -> None:
        while self.typed_ahead and not self.awaiting and self.app.screen is self:
            getattr(self, f"do_{self.typed_ahead.popleft()}")()

    def show_saving(self, n: int) -> None:
        self.saving = n
        if self.counts is not None:
            self.show_counts(self.counts)
        elif n:
            self._show_progress(Text(f" saving {n}…", "bold"))

    def _show_progress(self, line: Text) -> None:
        """The status line, redrawn only when it changed and without a new layout (it is one
        line high): it changes several times per keypress (saving N…, counts)."""
        if line == self._progress_line:
            return
        self._progress_line = line
        for widget in self.query("#record-progress").results(Static):  # none while quitting
            widget.update(line, layout=False)

    # -- drawing ----------------------------------------------------------------------------

    def show_record(self, detail: Any) -> None:
        self.detail = detail
        self.awaiting = False
        # Keys typed ahead apply once this record is on screen, never before.
        self.call_after_refresh(self._apply_typed_ahead)
        if self.counts is not None:
            self.show_counts(self.counts)  # the position moved with the record
        title = self.query_one("#record-title", Static)
        if detail is None:
            title.update(Text("No records in this view. Press f to change the filter.", "bold"))
            for name in ("cell", "paragraphs", "qa", "twins", "verdicts", "history"):
                self.query_one(f"#record-{name}", Static).update("")
            self._paragraphs_shown = None
            self.query_one(RecordTable).clear(columns=True)
            self.query_one("#record-twins", Static).display = False
            return
        record = detail.record
        if self.twin_owner != record.uid:
            self.twins, self.twin_cursor = [], 0
            self.query_one("#record-twins", Static).display = False
            self.twin_owner = record.uid
        twins = self.curator.twins.get(record.context_uid)
        if twins is not None:  # else they come with the record's panes (show_panes)
            self._show_twins(twins)
        head = Text()
        head.append(f" {detail.status.upper()} ", style=_status_style(detail.status))
        if detail.conflict:
            head.append(" CONFLICT ", style="bold white on magenta")
        head.append("  ")
        head.append_text(label(record.uid, "dim"))
        head.append("  · ")
        head.append_text(label(record.split))
        head.append(f" · {record.answer_type} · from {record.answer_from}")
        if record.req_comparison:
            head.append(" · comparison")
        title.update(head, layout=False)  # one line high
        self._draw_table(detail)
        # The next record often asks about the same table and paragraphs: not drawn again.
        shown = (record.context_uid, record.rel_paragraphs, detail.context.paragraphs)
        if shown != self._paragraphs_shown:
            self._paragraphs_shown = shown
            self.query_one("#record-paragraphs", Static).update(self._paragraphs(detail))
        self._draw_panes(detail)
        self.query_one("#record-paragraphs-box", VerticalScroll).scroll_home(animate=False)
        self.query_one("#record-right", VerticalScroll).scroll_home(animate=False)

    def show_panes(self, detail: Any) -> None:
        """The shown record's verdicts and history arrived (read after it was drawn)."""
        if self.detail is None or self.detail.record.uid != detail.record.uid:
            return  # the reviewer has moved on
        self.detail = detail
        if self._cited_cells(detail):
            self._draw_table(detail)
        self._draw_panes(detail)
        twins = self.curator.twins.get(detail.record.context_uid)
        if twins is not None:
            self._show_twins(twins)

    def _draw_panes(self, detail: Any) -> None:
        """What depends on the record's verdicts and history (placeholders until read)."""
        self.query_one("#record-qa", Static).update(self._qa(detail))
        self.query_one("#record-verdicts", Static).update(self._verdicts(detail))
        self.query_one("#record-history", Static).update(self._history(detail))

    def _draw_table(self, detail: Any) -> None:
        answer_cells = detail.answer if isinstance(detail.answer, list) else []
        left = self.query_one("#record-left", Vertical)
        self.query_one(RecordTable).show_table(
            detail.context.table,
            derivation=detail.derivation,
            answer_cells=answer_cells,
            evidence=self._cited_cells(detail),
            pane_width=max(20, (left.size.width or 80) - 2),
        )

    def on_resize(self) -> None:
        """Column widths follow the pane: a wider terminal shows more of each label."""
        if self.detail is not None:
            self.call_after_refresh(self._draw_table, self.detail)

    def _cited_cells(self, detail: Any) -> dict[tuple[int, int], str]:
        """Cells the current judges' verdicts cite (row, col -> verdict); an incorrect verdict's
        cells win over a correct one's. Hidden in blind review until the reviewer decides."""
        if self._verdicts_hidden(detail):
            return {}
        cited: dict[tuple[int, int], str] = {}
        for j in sorted(detail.judges, key=lambda j: j.verdict == "incorrect"):
            if not j.current:
                continue
            for e in j.evidence:
                if e.get("kind") == "cell" and isinstance(e.get("row"), int):
                    cited[(e["row"], int(e.get("col", 0)))] = j.verdict
        return cited

    @on(RecordTable.CellShown)
    def _cell_shown(self, message: RecordTable.CellShown) -> None:
        """The cell under the table's cursor, whole, with where it sits (row · headers)."""
        line = Text("▸ ", style="bold")
        if message.path:
            line.append_text(literal(message.path, "dim", one_line=True))
            line.append(": ", style="dim")
        line.append_text(literal(message.text or "(empty)", "bold", one_line=True))
        self.query_one("#record-cell", Static).update(line, layout=False)  # one line high

    def _verdicts_hidden(self, detail: Any) -> bool:
        mine = [
            e
            for e in detail.events
            if e.reviewer == self.curator.reviewer and e.action not in ("undo", "note")
        ]
        return bool(self.curator.blind and not mine)

    def _show_twins(self, twins: list[Any]) -> None:
        if [t.context_uid for t in twins] != [t.context_uid for t in self.twins]:
            self.twin_cursor = 0
        self.twins = twins
        box = self.query_one("#record-twins", Static)
        box.update(self._twins_text())
        box.display = bool(self.twins)

    def _twins_text(self) -> Text:
        if not self.twins:
            return Text("")
        rows = [Text(""), Text("Near-duplicate table", style="bold underline")]
        for twin in self.twins[:5]:
            line = Text("  ")
            line.append_text(literal(twin.context_uid, "bold", one_line=True))
            line.append(" · ")
            line.append_text(literal(twin.split, one_line=True))
            line.append(f" · score {twin.score:.2f}", style="dim")
            rows.append(line)
        if len(self.twins) > 5:
            rows.append(Text(f"  … {len(self.twins) - 5} more", style="dim"))
        rows.append(Text("  press d to open it (again for the next)", style="dim italic"))
        return Text("\n").join(rows)

    def _paragraphs(self, detail: Any) -> Text:
        rel = set(detail.record.rel_paragraphs)
        parts = []
        for p in sorted(detail.context.paragraphs, key=lambda p: p.order):
            marked = str(p.order) in rel
            line = Text("▶ " if marked else "  ", style="bold cyan" if marked else "dim")
            line.append(f"[{p.order}] ", style="bold" if marked else "dim")
            line.append_text(preview(p.text, "" if marked else "dim"))
            parts.append(line)
        return Text("\n").join(parts)

    def _qa(self, detail: Any) -> Text:
        edited: set[str] = set()
        for e in detail.events:
            if e.action == "edit" and not e.undone:
                edited |= set(e.edited or ())
        mark = "  (edited)"
        rows = [
            Text("Question" + (mark if "question" in edited else ""), style="bold underline"),
            preview(detail.question),
            Text(""),
            Text(
                "Answer" + (mark if edited & {"answer", "scale"} else ""),
                style="bold underline",
            ),
            preview(render_answer(detail.answer, detail.scale), "bold"),
            Text("scale: ", style="dim") + label(detail.scale or "(none)", "dim"),
        ]
        if detail.derivation:
            title = "Derivation" + (mark if "derivation" in edited else "")
            rows += [Text(""), Text(title, style="bold underline")]
            rows.append(preview(detail.derivation, "yellow"))
        return Text("\n").join(rows)

    def _verdicts(self, detail: Any) -> Text:
        rows = [Text(""), Text("Judges", style="bold underline")]
        if not detail.panes:
            rows.append(Text("loading…", style="dim"))
            return Text("\n").join(rows)
        if self._verdicts_hidden(detail):
            rows.append(Text("hidden until you decide (blind review)", style="dim italic"))
            return Text("\n").join(rows)
        if not detail.judges:
            rows.append(Text("not judged yet — press J to judge it now", style="dim"))
        for j in detail.judges:
            line = Text()
            line.append_text(label(j.judge, "bold"))
            line.append(": ", style="bold")
            line.append_text(label(j.verdict, VERDICT_STYLE.get(j.verdict, "")))
            line.append("  ")
            line.append_text(label(j.model, "dim"))
            if j.cost_usd:
                line.append(f"  ${j.cost_usd:.4f}", style="dim")
            if not j.current:
                line.append("  (older version of the record)", style="italic dim")
            rows.append(line)
            if j.reason:
                rows.append(preview("  " + j.reason, "italic"))
            for e in j.evidence:
                mark = Text("  ▸ ", style=VERDICT_STYLE.get(j.verdict, ""))
                mark.append(f"{e.get('kind', '?')}: ", style="bold")
                mark.append_text(literal(str(e.get("text", "")), one_line=True))
                rows.append(mark)
        return Text("\n").join(rows)

    def _history(self, detail: Any) -> Text:
        rows = [Text(""), Text("History", style="bold underline")]
        if not detail.panes:
            rows.append(Text("loading…", style="dim"))
        elif not detail.events:
            rows.append(Text("no decisions yet", style="dim"))
        for e in reversed(detail.events):
            line = Text(f"#{e.event_id} ", style="dim")
            line.append(f"{e.created_at:%Y-%m-%d %H:%M} ", style="dim")
            line.append_text(literal(e.reviewer, "bold", one_line=True))
            line.append(f" {ACTION_WORD.get(e.action, e.action)}")
            if e.undoes:
                line.append(f" #{e.undoes}")
            if e.reason:
                line.append(": ")
                line.append_text(literal(e.reason, one_line=True))
            if e.note:
                line.append(": ")
                line.append_text(literal(e.note, "italic", one_line=True))
            if e.edited:
                line.append_text(label(" (" + ", ".join(sorted(e.edited)) + ")", "dim"))
            if e.blind:
                line.append(" [blind]", style="dim")
            if e.undone:
                line.stylize("strike")
            rows.append(line)
        return Text("\n").join(rows)

    def show_counts(self, message: CountsLoaded) -> None:
        self.counts = message
        p = message.progress
        q = self.curator.queue
        line = Text(" ")
        where = q.position()
        total = message.total_in_view
        shown = f"{where:,}" if where is not None else "?"
        if total == 0 or (where is not None and where > total):
            # An empty view, or a record decided out of it (its last flagged record accepted):
            # not "? / 0" (? is "not known yet") nor "1 / 0".
            shown = "–"
        line.append(f"{shown} / {total:,}", style="bold")
        line.append("  ")
        for chip in filter_chips(q.filt):
            line.append(f" {chip} ", style="bold black on cyan")
            line.append(" ")
        line.append(
            f" sort {q.sort} · reviewed {p.reviewed:,}/{p.total:,} · by you {p.by_reviewer:,}",
            style="dim",
        )
        if self.saving:
            line.append(f" · saving {self.saving}…", style="bold yellow")
        self._show_progress(line)

    def queue_changed(self) -> None:
        if self.counts is not None:
            self.show_counts(self.counts)

    # -- actions ----------------------------------------------------------------------------

    def _uid(self) -> str | None:
        return self.detail.record.uid if self.detail is not None else None

    def action_accept(self) -> None:
        self._key("accept")

    def action_reject(self) -> None:
        self._key("reject")

    def action_edit(self) -> None:
        self._key("edit")

    def action_undo(self) -> None:
        self._key("undo")

    def action_next(self) -> None:
        self._key("next")

    def action_previous(self) -> None:
        self._key("previous")

    def action_skip(self) -> None:
        self._key("skip")

    def action_judge(self) -> None:
        self._key("judge")

    def action_flag(self) -> None:
        self._key("flag")

    def do_accept(self) -> None:
        if self.detail is not None:
            self.curator.decide(
                self.detail.record.uid, "accept", record_hash=self.detail.record_hash
            )

    def do_reject(self) -> None:
        from curator.screens.modals import RejectScreen

        detail = self.detail
        if detail is None:
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self.curator.decide(
                    detail.record.uid, "reject", reason=reason, record_hash=detail.record_hash
                )

        self.app.push_screen(RejectScreen(), done)

    def do_edit(self) -> None:
        from curator.screens.edit import EditScreen

        detail = self.detail
        if detail is None:
            return

        def done(edited: dict[str, Any] | None) -> None:
            if edited:
                self.curator.decide(
                    detail.record.uid,
                    "edit",
                    edited=whole_edit(detail, detail.record, edited),
                    record_hash=detail.record_hash,
                )

        self.app.push_screen(EditScreen(detail), done)

    def do_flag(self) -> None:
        """Flag for discussion (a status until someone decides; u undoes it), with a topic."""
        from curator.screens.modals import TextPromptScreen

        detail = self.detail
        if detail is None:
            return

        def done(topic: str | None) -> None:
            if topic is not None:
                self.curator.decide(
                    detail.record.uid, "flag", reason=topic, record_hash=detail.record_hash
                )

        self.app.push_screen(
            TextPromptScreen(
                "Flag for discussion: what should the team look at? (Enter flags)",
                "topic (optional)",
                required=False,
            ),
            done,
        )

    def action_note(self) -> None:
        """A note in the record's history; it changes no decision."""
        from curator.screens.modals import TextPromptScreen

        detail = self.detail
        if detail is None:
            return

        def done(text: str | None) -> None:
            if text:
                self.curator.note(detail.record.uid, text, record_hash=detail.record_hash)

        self.app.push_screen(
            TextPromptScreen("Note on this record (Enter saves, Escape cancels)", "your note"),
            done,
        )

    def action_guidelines(self) -> None:
        from curator.guidelines import read_guidelines
        from curator.screens.guidelines import GuidelinesScreen

        self.app.push_screen(GuidelinesScreen(read_guidelines(self.curator.guidelines)))

    def do_undo(self) -> None:
        self.curator.undo()

    def action_undo_history(self) -> None:
        from curator.screens.modals import UndoScreen

        def done(event_id: int | None) -> None:
            if event_id is not None:
                self.curator.undo(event_id)

        self.app.push_screen(UndoScreen(self.curator.reads, self.curator.reviewer), done)

    def do_next(self) -> None:
        self.curator.move(1)

    def do_previous(self) -> None:
        self.curator.move(-1)

    def do_skip(self) -> None:
        self.curator.move(1)

    def do_judge(self) -> None:
        if (uid := self._uid()) is not None:
            self.notify("Judging…", timeout=2)
            self.curator.judge_now(uid)

    def action_bulk(self) -> None:
        """Accept (reject) every pending record of the view that the chosen judges all call
        correct (incorrect): the count first, then a confirmation, then one batch."""
        from curator.screens.bulk import BulkScreen, ConfirmBulkScreen

        if self.curator.blind:
            self.notify(
                "Bulk decisions follow the judges' verdicts, which blind review hides.",
                severity="warning",
                timeout=5,
            )
            return

        def confirmed(found: Any, yes: bool | None) -> None:
            if yes:
                self.curator.decide_bulk(found)
            else:
                self.notify("Bulk decision cancelled: nothing was written.", timeout=3)

        def chosen(found: Any) -> None:
            if found is not None:
                self.app.push_screen(ConfirmBulkScreen(found), lambda yes: confirmed(found, yes))

        self.app.push_screen(BulkScreen(self.curator.reads, self.curator.queue.filt), chosen)

    def action_search(self) -> None:
        from curator.screens.modals import SearchScreen

        def done(text: str | None) -> None:
            if text is not None:
                from dataclasses import replace

                q = self.curator.queue
                self.curator.change_view(replace(q.filt, search=text), q.sort)

        self.app.push_screen(SearchScreen(self.curator.queue.filt.search), done)

    def action_filters(self) -> None:
        from curator.screens.modals import FilterScreen

        def done(filt: Any) -> None:
            if filt is not None:
                self.curator.change_view(filt, self.curator.queue.sort)

        self.app.push_screen(FilterScreen(self.curator.reads, self.curator.queue.filt), done)

    def action_toggle_sort(self) -> None:
        q = self.curator.queue
        new = "store" if q.sort == "triage" else "triage"
        self.notify(f"Sort: {new}", timeout=2)
        self.curator.change_view(q.filt, new)

    def action_queue(self) -> None:
        from curator.screens.queue import QueueScreen

        self.came_from = None
        self.app.push_screen(QueueScreen(self))

    def opened_from(self, where: str) -> None:
        """A list (the queue, the evaluation) opened a record here: Escape goes back to it."""
        self.came_from = where
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.came_from is not None  # hidden, and Escape does nothing, without one
        return True

    def action_back(self) -> None:
        where, self.came_from = self.came_from, None
        self.refresh_bindings()
        if where == "queue":
            self.action_queue()
        elif where == "evaluation":
            self.action_evaluation()

    def action_stats(self) -> None:
        from curator.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen())

    def action_whole_text(self) -> None:
        """Every field of the record at full length, in a view that draws only what is seen."""
        from curator.screens.fulltext import FullTextScreen

        d = self.detail
        if d is None:
            return
        sections = [
            ("uid", d.record.uid),
            ("question", d.question),
            ("answer", render_answer(d.answer, d.scale)),
        ]
        if d.derivation:
            sections.append(("derivation", d.derivation))
        for p in sorted(d.context.paragraphs, key=lambda p: p.order):
            sections.append((f"paragraph {p.order}", p.text))
        table = "\n".join(" | ".join(row) for row in d.context.table)
        sections.append(("table (cells separated by |)", table))
        for j in d.judges:
            if j.reason:
                sections.append((f"reason of judge {label(j.judge).plain}", j.reason))
        self.app.push_screen(FullTextScreen(sections))

    def action_open_twin(self) -> None:
        """Open the first record of a near-duplicate table; pressed again, the next twin."""
        openable = [t for t in self.twins if t.record_uid is not None]
        if not openable:
            self.notify("No near-duplicate of this table is known", timeout=3)
            return
        twin = openable[self.twin_cursor % len(openable)]
        self.twin_cursor += 1
        self.notify(
            f"Near-duplicate: {safe_text.one_line(twin.context_uid)}", timeout=2, markup=False
        )
        self.curator.open_uid(twin.record_uid)

    def action_evaluation(self) -> None:
        from curator.screens.eval import EvalScreen

        self.came_from = None
        self.app.push_screen(EvalScreen())


def _status_style(status: str) -> str:
    return {
        "accepted": "bold white on green",
        "rejected": "bold white on red",
        "edited": "bold black on yellow",
        "flagged": "bold white on dark_orange",
    }.get(status, "bold white on blue")
