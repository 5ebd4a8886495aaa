"""The bulk-decision dialogs: choose an action and a judge panel for the current view, see the
exact count, then confirm it. Nothing is written until the confirmation says yes.

The count comes from `StoreReads.bulk_preview` in a thread worker; the preview's record list is
what the app then decides (records decided or re-judged meanwhile are skipped by the store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import Worker

from curator.domain import RecordFilter
from curator.screens.text import label
from curator.screens.workers import forward_worker_state
from curator.wording import counted

if TYPE_CHECKING:
    from curator.screens.store_reads import StoreReads
    from curator.store.bulk import BulkPreview


class BulkScreen(ModalScreen["BulkPreview | None"]):
    """Accept what the chosen judges all call correct, or reject what they call incorrect,
    among the pending records of the current view. Returns the counted preview to confirm."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("a", "choose('accept')", "Accept correct"),
        Binding("r", "choose('reject')", "Reject incorrect"),
        Binding("c", "go", "Continue"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_state(self, event)

    def __init__(self, reads: StoreReads, filt: RecordFilter) -> None:
        super().__init__()
        self.reads = reads
        self.filt = filt
        self.preview: BulkPreview | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="bulk-dialog", classes="dialog"):
            yield Label("Bulk decision on the records of this view", classes="title")
            with RadioSet(id="bulk-action"):
                yield RadioButton("accept what the judges call correct", value=True, id="accept")
                yield RadioButton("reject what the judges call incorrect", id="reject")
            yield SelectionList[str](id="bulk-judges")
            yield Static("counting…", id="bulk-count")
            yield Static(
                Text("a / r choose · space toggles a judge · c continues · Escape cancels", "dim")
            )
            with Horizontal(classes="buttons"):
                yield Button("Continue…", variant="primary", id="bulk-go", disabled=True)
                yield Button("Cancel", id="bulk-cancel")

    def on_mount(self) -> None:
        judges = self.query_one("#bulk-judges", SelectionList)
        judges.border_title = "judges (all selected must agree; space toggles)"
        judges.focus()
        self.load_judges()

    @work(thread=True, exit_on_error=False, description="listing the judges")
    def load_judges(self) -> None:
        names = self.reads.judges()
        self.app.call_from_thread(self._show_judges, names)

    def _show_judges(self, names: list[str]) -> None:
        judges = self.query_one("#bulk-judges", SelectionList)
        for name in names:
            # A judge's name is data: a Text label, never markup.
            judges.add_option(Selection(label(name), name, True))
        if not names:
            self.query_one("#bulk-count", Static).update(
                Text("No verdicts in this store yet: run `curator judge` first.", "bold")
            )
            return
        self._recount()

    def _action(self) -> str:
        pressed = self.query_one("#bulk-action", RadioSet).pressed_button
        return "reject" if pressed is not None and pressed.id == "reject" else "accept"

    def _judges(self) -> tuple[str, ...]:
        return tuple(self.query_one("#bulk-judges", SelectionList).selected)

    @on(RadioSet.Changed)
    @on(SelectionList.SelectedChanged)
    def _choice_changed(self) -> None:
        self._recount()

    def _recount(self) -> None:
        self.preview = None
        self.query_one("#bulk-go", Button).disabled = True
        judges = self._judges()
        if not judges:
            self.query_one("#bulk-count", Static).update(Text("Choose at least one judge."))
            return
        self.query_one("#bulk-count", Static).update(Text("counting…", "dim"))
        self.count(self._action(), judges)

    @work(
        thread=True, exclusive=True, group="bulk-count", exit_on_error=False, description="counting"
    )
    def count(self, action: str, judges: tuple[str, ...]) -> None:
        found = self.reads.bulk_preview(action, judges, self.filt)
        self.app.call_from_thread(self._show_count, found)

    def _show_count(self, found: BulkPreview) -> None:
        s = found.selection
        if s.action != self._action() or s.judges != self._judges():
            return  # the choice changed while counting: a newer count is on its way
        self.preview = found
        self.query_one("#bulk-count", Static).update(describe(found))
        go = self.query_one("#bulk-go", Button)
        go.disabled = found.count == 0
        go.label = f"{s.action.capitalize()} {found.count:,}…"

    def action_choose(self, action: str) -> None:
        self.query_one(f"#{action}", RadioButton).value = True

    @on(Button.Pressed, "#bulk-go")
    def action_go(self) -> None:
        if self.preview is not None and self.preview.count:
            self.dismiss(self.preview)

    @on(Button.Pressed, "#bulk-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def describe(found: BulkPreview) -> Text:
    """`1,357 pending records of this view: rules says correct` and what is left alone."""
    s = found.selection
    line = Text()
    line.append(f"{found.count:,}", style="bold")
    line.append(f" pending {'record' if found.count == 1 else 'records'} of this view where ")
    line.append_text(label(s.describe()))
    if found.already_decided:
        line.append(
            f"\n{found.already_decided:,} more "
            + (
                "is already decided and is left as it is."
                if found.already_decided == 1
                else "are already decided and are left as they are."
            )
        )
    return line


class ConfirmBulkScreen(ModalScreen[bool]):
    """The last word before a bulk decision is written: the exact count, y or n."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("y", "yes", "Yes"),
        Binding("n,escape", "no", "No"),
    ]

    def __init__(self, found: BulkPreview) -> None:
        super().__init__()
        self.found = found

    def compose(self) -> ComposeResult:
        s = self.found.selection
        question = Text(f"{s.action.capitalize()} {counted(self.found.count, 'record')}?", "bold")
        with Vertical(id="bulk-confirm", classes="dialog"):
            yield Label(question, classes="title", id="bulk-question")
            yield Static(describe(self.found))
            yield Static(
                Text(
                    f"{'It is' if self.found.count == 1 else 'They are'} written as one batch: "
                    "u right after undoes the whole batch (or `curator decide undo --batch ID`).",
                    "dim",
                ),
                id="bulk-batch",
            )
            with Horizontal(classes="buttons"):
                yield Button(
                    f"Yes, {s.action} {self.found.count:,} (y)", variant="warning", id="yes"
                )
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
