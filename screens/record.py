"""The record screen, where a reviewer spends the session: one record and single-key decisions."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker

from curator import safe_text
from curator.prompts import render_answer
from curator.screens.messages import CountsLoaded
from curator.screens.text import flatten, label, literal, preview
from curator.screens.widgets.table_grid import table_grid
from curator.screens.workers import forward_worker_state

if TYPE_CHECKING:
    from curator.screens.app import CuratorApp

VERDICT_STYLE = {
    "correct": "bold green",
    "incorrect": "bold red",
    "uncertain": "bold yellow",
    "unparsed": "magenta",
    "error": "red",
}
ACTION_WORD = {"accept": "accepted", "reject": "rejected", "edit": "edited", "undo": "undid"}


class ReviewScreen(Screen[None]):
    """Table, text, question, answer, derivation, verdicts and history of the current record."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("e", "edit", "Edit"),
        Binding("u", "undo", "Undo"),
        Binding("U", "undo_history", "Undo…", show=False),
        Binding("n,j", "next", "Next"),
        Binding("p,k", "previous", "Prev"),
        Binding("space", "skip", "Skip"),
        Binding("J", "judge", "Judge now"),
        Binding("slash", "search", "Search"),
        Binding("f", "filters", "Filters"),
        Binding("l,escape", "queue", "Queue"),
        Binding("t", "toggle_sort", "Sort", show=False),
        Binding("s", "stats", "Stats"),
        Binding("v", "evaluation", "Eval", show=False),
        Binding("w", "whole_text", "Whole text", show=False),
        Binding("d", "open_twin", "Twin", show=False),
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
        ("Search", "Free text over question and answer (/)", "search"),
        ("Filters", "Status, verdict, disagreement, type, source, split (f)", "filters"),
        ("Toggle sort", "Store order or triage order (t)", "toggle_sort"),
        ("Show queue", "The list of records in this view (l)", "queue"),
        ("Statistics and agreement", "Counts, throughput, judge-vs-human kappa (s)", "stats"),
        ("Evaluation", "Prediction runs scored, and what each got wrong (v)", "evaluation"),
        ("Whole text", "Every field of the record at full length (w)", "whole_text"),
        (
            "Open near-duplicate",
            "The record of a table that near-duplicates this one (d)",
            "open_twin",
        ),
    ]

    #: Actions that act on the record on screen (or move off it): typed while the next record
    #: is not shown yet, they wait and are applied, in order, to the records as they show.
    QUEUED: ClassVar[frozenset[str]] = frozenset(
        {"accept", "reject", "edit", "undo", "next", "previous", "skip", "judge"}
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
        self._progress_line = Text()

    def on_mount(self) -> None:
        self.query_one("#record-twins", Static).display = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="record-title")
        with Horizontal(id="record-body"):
            with VerticalScroll(id="record-left"):
                yield Static(id="record-table")
                yield Static(id="record-paragraphs")
            with VerticalScroll(id="record-right"):
                yield Static(id="record-qa")
                # Shown only when the table has a near-duplicate (see _twins_loaded).
                yield Static(id="record-twins")
                yield Static(id="record-verdicts")
                yield Static(id="record-history")
        yield Static(id="record-progress")
        yield Footer()

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
            self.notify(f"{len(self.typed_ahead)} typed-ahead key(s) not applied.", timeout=4)
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
        self.query_one("#record-progress", Static).update(line, layout=False)

    # -- drawing ----------------------------------------------------------------------------

    def show_record(self, detail: Any) -> None:
        self.detail = detail
        self.awaiting = False
        # Keys typed ahead apply once this record is on screen, never before.
        self.call_after_refresh(self._apply_typed_ahead)
        title = self.query_one("#record-title", Static)
        if detail is None:
            title.update(Text("No records in this view. Press f to change the filter.", "bold"))
            for name in ("table", "paragraphs", "qa", "twins", "verdicts", "history"):
                self.query_one(f"#record-{name}", Static).update("")
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
        title.update(head)
        self._draw_table(detail)
        self.query_one("#record-paragraphs", Static).update(self._paragraphs(detail))
        self._draw_panes(detail)
        self.query_one("#record-left", VerticalScroll).scroll_home(animate=False)
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

    def _draw_table(self, detail: Any) -> None:
        answer_cells = detail.answer if isinstance(detail.answer, list) else []
        left = self.query_one("#record-left", VerticalScroll)
        width = (left.scrollable_content_region.width or left.size.width or 80) - 1
        self.query_one("#record-table", Static).update(
            flatten(
                table_grid(
                    detail.context.table,
                    detail.derivation,
                    answer_cells,
                    self._cited_cells(detail),
                ),
                width,
            )
        )

    def _draw_panes(self, detail: Any) -> None:
        """What depends on the record's verdicts and history (placeholders until read)."""
        self.query_one("#record-qa", Static).update(self._qa(detail))
        self.query_one("#record-verdicts", Static).update(self._verdicts(detail))
        self.query_one("#record-history", Static).update(self._history(detail))

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

    def _verdicts_hidden(self, detail: Any) -> bool:
        mine = [
            e for e in detail.events if e.reviewer == self.curator.reviewer and e.action != "undo"
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
        edited = any(e.action == "edit" and not e.undone for e in detail.events)
        rows = [
            Text("Question", style="bold underline"),
            preview(detail.question),
            Text(""),
            Text("Answer" + ("  (edited)" if edited else ""), style="bold underline"),
            preview(render_answer(detail.answer, detail.scale), "bold"),
            Text("scale: ", style="dim") + label(detail.scale or "(none)", "dim"),
        ]
        if detail.derivation:
            rows += [Text(""), Text("Derivation", style="bold underline")]
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
        line = Text(
            f" {message.total_in_view:,} in view · sort {q.sort} · "
            f"reviewed {p.reviewed:,}/{p.total:,} · by you {p.by_reviewer:,}"
            + (f" · search {label(q.filt.search).plain!r}" if q.filt.search else ""),
            style="dim",
        )
        if self.saving:
            line.append(f" · saving {self.saving}…", style="bold yellow")
        self._show_progress(line)

    def queue_changed(self) -> None:
        return None

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
                    detail.record.uid, "edit", edited=edited, record_hash=detail.record_hash
                )

        self.app.push_screen(EditScreen(detail), done)

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

        self.app.push_screen(QueueScreen(self))

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
        self.notify(f"Near-duplicate: {safe_text.one_line(twin.context_uid)}", timeout=2)
        self.curator.open_uid(twin.record_uid)

    def action_evaluation(self) -> None:
        from curator.screens.eval import EvalScreen

        self.app.push_screen(EvalScreen())


def _status_style(status: str) -> str:
    return {
        "accepted": "bold white on green",
        "rejected": "bold white on red",
        "edited": "bold black on yellow",
    }.get(status, "bold white on blue")
