"""Small modal screens: reject reason, undo history, search, filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Button, Checkbox, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist
from textual.widgets.selection_list import Selection
from textual.worker import Worker

from curator import safe_text
from curator.domain import (
    ANSWER_SOURCES,
    ANSWER_TYPES,
    REVIEW_STATUSES,
    VERDICTS,
    RecordFilter,
)
from curator.screens.text import label
from curator.screens.widgets.fields import OrderedInput
from curator.screens.workers import forward_worker_state

if TYPE_CHECKING:
    from curator.screens.store_reads import StoreReads

REJECT_REASONS = (
    "wrong answer",
    "wrong derivation",
    "wrong scale",
    "answer not supported by the context",
    "ambiguous question",
    "duplicate",
)


def type_into(field: Input, event: events.Key, *, replace: bool = False) -> None:
    """Put a printable key that did not reach `field` into it (see `take_typed`).

    `replace`: the first one replaces the field's value, as typing into it does once it has the
    focus (it selects its value on focus)."""
    if event.character is None or not event.is_printable:
        return
    event.stop()
    event.prevent_default()
    if field.select_on_focus:
        if replace:
            field.value = ""
        field.select_on_focus = False  # what was typed is not selected, to be typed over
    field.insert_text_at_cursor(event.character)


class RejectScreen(ModalScreen[str | None]):
    """Pick a reason for a rejection: its digit, or Enter on it; or just type your own.

    Typing any other character goes straight into the "other reason" field (nothing typed is
    lost); Enter there saves it. Escape cancels.
    """

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="reject-dialog", classes="dialog"):
            yield Label(
                f"Reject: why? 1-{len(REJECT_REASONS)} pick a reason, 0 none, "
                "or type your own (Enter saves)",
                classes="title",
            )
            yield OptionList(
                *[Option(f"{i}. {r}", id=r) for i, r in enumerate(REJECT_REASONS, start=1)],
                Option("0. (no reason)", id=""),
                id="reject-reasons",
            )
            # Not select-on-focus: the first typed character is put in before the focus lands.
            yield OrderedInput(
                placeholder="other reason… (Enter saves)", id="reject-other", select_on_focus=False
            )

    #: Typing has started and the focus is on its way to the "other reason" field: keys that
    #: arrive before it lands (a burst over SSH, a fast typist) are the reason's, digits and
    #: spaces too (they were dropped, and a digit rejected with a listed reason).
    typing = False

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.typing = False

    def on_key(self, event: events.Key) -> None:
        """On the list: a digit picks its reason; any other printable key starts typing."""
        if not self.query_one("#reject-other", Input).has_focus:
            self.take_typed(event)

    def take_typed(self, event: events.Key) -> None:
        """A key for this dialog that did not reach its field: typed with the `r` that opened
        it, in one burst (a fast typist, keystrokes batched over SSH), it went to the record
        screen, and the app hands it here (`CuratorApp.on_key`)."""
        other = self.query_one("#reject-other", Input)
        if event.character is None or not event.is_printable:
            return
        if other.has_focus:
            type_into(other, event)
            return
        if event.character == " " and not self.typing:
            return  # space is no start of a reason
        event.stop()
        event.prevent_default()
        if event.character.isdigit() and not self.typing:
            n = int(event.character)
            if n == 0:
                self.dismiss("")
            elif n <= len(REJECT_REASONS):
                self.dismiss(REJECT_REASONS[n - 1])
            else:
                self.notify(f"No reason {n}: 1-{len(REJECT_REASONS)}, or 0 for none.", timeout=3)
            return
        self.typing = True
        other.focus()
        other.insert_text_at_cursor(event.character)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y (or its button) says yes; n, Escape (or its button) says no."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: Text | str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="warning", id="confirm-yes")
                yield Button(f"{self.no} (n)", variant="primary", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextPromptScreen(ModalScreen[str | None]):
    """One line of text for a record (a note, a flag's topic): Enter saves, Escape cancels."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str, *, required: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-dialog", classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield OrderedInput(placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_key(self, event: events.Key) -> None:
        if not self.query_one(Input).has_focus:
            self.take_typed(event)

    def take_typed(self, event: events.Key) -> None:
        """A key typed for the field before it had the focus, or with the key that opened this
        dialog in one burst (then it went to the record screen, and the app hands it here):
        "cTest note" saved an empty note."""
        type_into(self.query_one(Input), event)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.notify("Type something first (Escape cancels).", timeout=3)
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class UndoScreen(ModalScreen[int | None]):
    """The reviewer's recent live decisions; Enter undoes the one selected."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", "Cancel")]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_state(self, event)

    def __init__(self, reads: StoreReads, reviewer: str) -> None:
        super().__init__()
        self.reads = reads
        self.reviewer = reviewer

    def compose(self) -> ComposeResult:
        with Vertical(id="undo-dialog", classes="dialog"):
            yield Label("Undo which of your decisions?", classes="title")
            yield OptionList(id="undo-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(thread=True, exit_on_error=False, description="loading your decisions")
    def load(self) -> None:
        events = self.reads.recent_decisions(self.reviewer, limit=100)
        questions = self.reads.questions(sorted({e.record_uid for e in events}))
        self.app.call_from_thread(self._show, events, questions)

    def _show(self, events: list[Any], questions: dict[str, str]) -> None:
        options = self.query_one(OptionList)
        if not events:
            options.add_option(Option("nothing to undo", id="none", disabled=True))
        for e in events:
            options.add_option(
                Option(undo_line(e, questions.get(e.record_uid, "")), id=str(e.event_id))
            )
        if events:
            options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and event.option.id.isdigit():
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


#: A decision as the undo picker names it.
DECIDED = {"accept": "accepted", "reject": "rejected", "edit": "edited", "flag": "flagged"}


def undo_line(event: Any, question: str) -> Text:
    """One decision in the undo picker: when, what was decided (the reason, the fields an edit
    changed) and the record's question, so the reviewer knows which one they are undoing."""
    line = Text(f"{event.created_at:%H:%M} ", style="dim")
    line.append(f"{DECIDED.get(event.action, event.action):<9}", style="bold")
    if event.reason:
        line.append_text(label(safe_text.clip(event.reason, 40), "italic"))
        line.append(" ")
    if event.edited:
        line.append_text(label(f"({', '.join(sorted(event.edited))})", "italic"))
        line.append(" ")  # not in the label: a label's edges are trimmed
    line.append("· ", style="dim")
    if question:
        line.append_text(label(safe_text.clip(question, 90)))
        line.append("  ")
    line.append_text(label(safe_text.clip(event.record_uid, 40), "dim"))
    return line


class SearchScreen(ModalScreen[str | None]):
    """Free text over question and answer; empty clears the search."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="search-dialog", classes="dialog"):
            yield Label("Search question and answer (empty clears):", classes="title")
            yield OrderedInput(value=self.current, id="search-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_key(self, event: events.Key) -> None:
        if not self.query_one(Input).has_focus:
            self.take_typed(event)

    def take_typed(self, event: events.Key) -> None:
        """As `TextPromptScreen.take_typed`; the first key replaces the current search."""
        type_into(self.query_one(Input), event, replace=True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class TickList(SelectionList[str]):
    """A SelectionList whose ticked entries show a ✓ and unticked ones a blank: told apart
    without colour (a monochrome terminal, a colour-blind reviewer)."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) > 1 and segments[1].text == Checkbox.BUTTON_INNER:
            mark = "✓" if selection.value in self.selected else " "
            segments[1] = Segment(mark, segments[1].style)
        return Strip(segments)


class TickBox(Checkbox):
    """A Checkbox showing ✓ when on and a blank when off (not only a colour change)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "✓" if self.value else " "
        return super()._button


class FilterScreen(ModalScreen[RecordFilter | None]):
    """Choose the view: status, verdict, disagreement, answer type, source, split, with counts."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply"),
        Binding("x", "clear", "Clear all"),
    ]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_state(self, event)

    def __init__(self, reads: StoreReads, current: RecordFilter) -> None:
        super().__init__()
        self.reads = reads
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        with VerticalScroll(id="filter-dialog", classes="dialog"):
            yield Label(
                "Filters: space ticks (✓) · ctrl+s applies · x clears all · escape cancels",
                classes="title",
            )
            with Grid(id="filter-lists"):
                yield TickList(
                    *[Selection(s, s, s in c.statuses) for s in REVIEW_STATUSES],
                    id="f-status",
                )
                yield TickList(
                    *[Selection(v, v, v in c.verdicts) for v in (*VERDICTS, "none")],
                    id="f-verdict",
                )
                yield TickList(
                    *[Selection(t, t, t in c.answer_types) for t in ANSWER_TYPES], id="f-type"
                )
                yield TickList(
                    *[Selection(s, s, s in c.answer_sources) for s in ANSWER_SOURCES],
                    id="f-source",
                )
                yield TickList(id="f-split")
            with Grid(id="filter-flags"):
                yield TickBox("judges disagree", c.disagree, id="f-disagree")
                yield TickBox("conflicting decisions", c.conflicts, id="f-conflicts")
                yield TickBox("audit sample", c.audit, id="f-audit")
                yield TickBox("has a near-duplicate", c.near_duplicates, id="f-near-dup")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all (x)", id="clear")
                yield Button("Cancel", id="cancel")
            yield Static("counting…", id="filter-counts")

    def on_mount(self) -> None:
        self.query_one("#f-status", SelectionList).border_title = "status"
        self.query_one("#f-verdict", SelectionList).border_title = "verdict"
        self.query_one("#f-type", SelectionList).border_title = "answer type"
        self.query_one("#f-source", SelectionList).border_title = "source"
        self.query_one("#f-split", SelectionList).border_title = "split"
        self.query_one("#f-status", SelectionList).focus()
        self.load_counts()

    @work(thread=True, exit_on_error=False, description="counting")
    def load_counts(self) -> None:
        result = self.reads.stats()
        self.app.call_from_thread(self._show_counts, result)

    def _show_counts(self, result: Any) -> None:
        lines = Text()
        for name, values in (
            ("status", result.statuses),
            ("type", result.answer_types),
            ("source", result.answer_sources),
            ("split", result.splits),
        ):
            lines.append(f"{name}: ", style="bold")
            lines.append_text(Text(" · ").join(label(f"{k} {v:,}") for k, v in values.items()))
            lines.append("\n")
        for judge, counts in result.verdicts.items():
            lines.append_text(label(f"judge {judge}: ", "bold"))
            lines.append_text(Text(" · ").join(label(f"{k} {v:,}") for k, v in counts.items()))
            lines.append("\n")
        self.query_one("#filter-counts", Static).update(lines)
        split_list = self.query_one("#f-split", SelectionList)
        for split in result.splits:
            # A split name is data: a Text label, so `[@click=…]` in it is shown, not run.
            split_list.add_option(Selection(label(split), split, split in self.current.splits))

    def _chosen(self) -> RecordFilter:
        def values(widget_id: str) -> tuple[str, ...]:
            return tuple(self.query_one(widget_id, SelectionList).selected)

        return RecordFilter(
            statuses=values("#f-status"),
            verdicts=values("#f-verdict"),
            answer_types=values("#f-type"),
            answer_sources=values("#f-source"),
            splits=values("#f-split"),
            disagree=self.query_one("#f-disagree", Checkbox).value,
            conflicts=self.query_one("#f-conflicts", Checkbox).value,
            audit=self.query_one("#f-audit", Checkbox).value,
            near_duplicates=self.query_one("#f-near-dup", Checkbox).value,
            search=self.current.search,
        )

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        self.dismiss(self._chosen())

    @on(Button.Pressed, "#clear")
    def action_clear(self) -> None:
        self.dismiss(RecordFilter(search=self.current.search))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
