"""The evaluation screen: every prediction run scored, and the records a run got wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from curator import safe_text
from curator.screens.text import flatten, label, literal, preview
from curator.screens.widgets.key_bar import KeyBar
from curator.screens.workers import forward_worker_state
from curator.wording import counted

if TYPE_CHECKING:
    from curator.evaluate import RunReport
    from curator.screens.app import CuratorApp

#: How to see a field this screen cuts: open the record, where `w` shows it whole.
OPEN_HINT = "Enter opens the record, w there shows it whole"


@dataclass
class EvalLoaded(Message):
    reports: list[RunReport]


class EvalScreen(Screen[None]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape,q", "back", "Back"),
        Binding("o", "open", "Open in review"),
        Binding("tab", "next_run", "Next run"),
        Binding("r", "reload", "Reload"),
    ]
    PALETTE: ClassVar[list[tuple[str, str, str]]] = [
        ("Back", "escape", "back"),
        ("Next run", "Show the wrong records of the next run (tab)", "next_run"),
        ("Reload evaluation", "r", "reload"),
        ("Open record", "Review the highlighted record (o or enter)", "open"),
    ]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_state(self, event)

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[Any] = []
        self.rows: dict[str, dict[str, Any]] = {}  # run -> uid -> QuestionResult
        self.run_index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("scoring…", id="eval-table")
        yield Static(id="eval-run")
        with Horizontal(id="eval-body"):
            yield OptionList(id="eval-wrong")
            with VerticalScroll(id="eval-detail-box"):
                yield Static(id="eval-detail")
        yield KeyBar()

    @property
    def curator(self) -> CuratorApp:
        return cast("CuratorApp", self.app)

    def on_mount(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    @work(thread=True, exclusive=True, exit_on_error=False, description="scoring the runs")
    def load(self) -> None:
        self.post_message(EvalLoaded(self.curator.reads.eval_reports()))

    @on(EvalLoaded)
    def _loaded(self, message: EvalLoaded) -> None:
        self.reports = message.reports
        self.rows = {r.run: {q.uid: q for q in r.wrong} for r in self.reports}
        kept_run = self.curator.places.get("eval-run")
        names = [r.run for r in self.reports]
        self.run_index = names.index(kept_run) if kept_run in names else 0
        if not self.reports:
            self.query_one("#eval-table", Static).update(
                Text("No prediction runs yet: see `curator predict`.", style="dim")
            )
            return
        table = Table(title="Evaluation (gold = curated answers)", title_justify="left")
        table.add_column("run")
        for col in ("records", "token F1", "TAT-QA EM", "TAT-QA F1", "mean tokens", "wrong"):
            table.add_column(col, justify="right")
        for r in self.reports:
            table.add_row(
                label(r.run),
                f"{r.records:,}",
                f"{r.token_f1:.2f}",
                f"{r.em * 100:.2f}",
                f"{r.f1 * 100:.2f}",
                # A run without answers has no mean (NaN): shown as a dash, as in `curator eval`.
                f"{r.tokens.mean:.1f}" if math.isfinite(r.tokens.mean) else "—",
                f"{len(r.wrong):,}",
            )
        self.query_one("#eval-table", Static).update(flatten(table, self.size.width or 100))
        self._show_run()

    def action_next_run(self) -> None:
        if self.reports:
            self.run_index = (self.run_index + 1) % len(self.reports)
            self.curator.places["eval-run"] = self.reports[self.run_index].run
            self._show_run()

    def _show_run(self) -> None:
        run = self.reports[self.run_index]
        self.query_one("#eval-run", Static).update(
            Text(
                f" {safe_text.one_line(run.run)}: {counted(len(run.wrong), 'question')} "
                "not exactly right"
                + (
                    f"; {counted(run.outdated, 'answer')} for an earlier version of the record"
                    if run.outdated
                    else ""
                )
                + " (tab: next run)",
                style="bold",
            )
        )
        options = self.query_one("#eval-wrong", OptionList)
        options.clear_options()
        for row in run.wrong:
            options.add_option(Option(literal(row.question, one_line=True), id=row.uid))
        if run.wrong:
            # Back at the row the reviewer was on in this run (the list keeps its place).
            kept = self.curator.places.get(("eval", run.run))
            index = next((i for i, r in enumerate(run.wrong) if r.uid == kept), 0)
            options.highlighted = index
            options.focus()
            self._detail(run.wrong[index].uid)
        else:
            self.query_one("#eval-detail", Static).update("")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._open(event.option.id)

    def action_open(self) -> None:
        options = self.query_one("#eval-wrong", OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if option.id:
                self._open(option.id)

    def _open(self, uid: str) -> None:
        """Back to the record screen, showing this record (accept, reject or edit it there);
        Escape there comes back here, to this row."""
        for screen in self.app.screen_stack:
            opened_from = getattr(screen, "opened_from", None)
            if opened_from is not None:
                opened_from("evaluation")
        self.app.pop_screen()
        self.curator.open_uid(uid)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._detail(event.option.id)

    def _detail(self, uid: str) -> None:
        """The same row `curator eval --per-question` writes, shown for one question."""
        from curator.answer_format import render_target

        run = self.reports[self.run_index].run
        self.curator.places[("eval", run)] = uid
        self.curator.places["eval-run"] = run
        row = self.rows[run][uid]
        gold = render_target(row.gold, row.gold_scale)
        if row.prediction is None:
            predicted = "(no answer)"
        elif row.text is not None:
            predicted = row.text
        else:
            predicted = f"{row.prediction!r} scale {row.pred_scale!r}"
        scale = "scale right" if row.scale_correct else "scale wrong"
        parts = [
            Text("Question", style="bold underline"),
            preview(row.question, hint=OPEN_HINT),
            Text(""),
            Text("Gold (curated)", style="bold underline"),
            preview(gold, "green", hint=OPEN_HINT),
            Text(""),
            Text(f"{safe_text.one_line(run)} answered", style="bold underline"),
            preview(predicted, "red", hint=OPEN_HINT),
            Text(""),
            Text(
                f"TAT-QA EM {row.em:.0f} · F1 {row.f1:.2f} · {scale} · token F1 "
                f"{row.token_f1:.1f} · {row.output_tokens} output tokens "
                f"· {row.answer_type} from {row.answer_from}",
                style="dim",
            ),
            label(uid, "dim"),
        ]
        self.query_one("#eval-detail", Static).update(Text("\n").join(parts))
