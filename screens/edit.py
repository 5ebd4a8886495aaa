"""The edit modal: question, answer, derivation and scale, validated, with a diff before saving.

The original stays in the store; saving appends an edit event with the new values only.

Fields are edited in their visible form (`screens.text.visible`): an input widget would draw a
control character of the data raw. A field left as shown keeps its original value exactly; a
field the reviewer changed is saved as typed, so an edit never brings a control character back.
A field too long to edit in a widget (a 10 MB question) is shown as its length and kept as is.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from curator import safe_text
from curator.domain import SCALES
from curator.editing import EditError, answer_to_form, validate_edit
from curator.screens.text import WHOLE_TEXT_HINT, literal, visible

#: Longest field edited in a widget; an input holding megabytes freezes the screen for seconds.
EDIT_CHARS = 20_000


class EditScreen(ModalScreen[dict[str, Any] | None]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, detail: Any) -> None:
        super().__init__()
        self.detail = detail
        self.original = {
            "question": detail.question,
            "answer": detail.answer,
            "derivation": detail.derivation,
            "scale": detail.scale,
        }
        self.changes: dict[str, Any] = {}
        #: Each editable field's original value (answer: as form text) and what the widget shows.
        originals: dict[str, str] = {
            "question": detail.question,
            "answer": answer_to_form(detail.answer),
            "derivation": detail.derivation,
        }
        self.form_original = originals
        self.too_long = {k for k, v in originals.items() if len(v) > EDIT_CHARS}
        self.shown = {
            name: visible(text) if name == "answer" else safe_text.one_line(text)
            for name, text in originals.items()
            if name not in self.too_long
        }

    def compose(self) -> ComposeResult:
        d = self.detail
        kind = d.record.answer_type
        hint = {
            "span": "one span",
            "multi-span": "one span per line",
            "arithmetic": "a number",
            "count": "a whole number",
        }[kind]
        with VerticalScroll(id="edit-dialog", classes="dialog"):
            yield Label(f"Edit record ({kind}) — ctrl+s saves, escape cancels", classes="title")
            yield Label("Question")
            yield self._field("question", Input)
            yield Label(f"Answer ({hint})")
            yield self._field("answer", TextArea)
            yield Label("Derivation")
            yield self._field("derivation", Input)
            yield Label("Scale")
            yield Select(
                [(s or "(none)", s) for s in SCALES],
                value=d.scale,
                allow_blank=False,
                id="edit-scale",
            )
            yield Static(id="edit-diff")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def _field(self, name: str, kind: type[Input] | type[TextArea]) -> Input | TextArea | Static:
        """The widget editing one field, or a note saying it is too long to edit here."""
        if name in self.too_long:
            size = len(self.form_original[name])
            note = (
                f"({size:,} characters: too long to edit here, kept as it is; "
                f"{WHOLE_TEXT_HINT} on the record screen)"
            )
            return Static(Text(note, style="dim italic"), id=f"edit-{name}")
        if kind is TextArea:
            return TextArea(self.shown[name], id=f"edit-{name}", soft_wrap=True)
        return Input(self.shown[name], id=f"edit-{name}")

    def _value(self, name: str) -> str:
        """A field's value to validate: the original when the widget still shows it as it was."""
        if name in self.too_long:
            return self.form_original[name]
        widget = self.query_one(f"#edit-{name}")
        value = widget.text if isinstance(widget, TextArea) else str(getattr(widget, "value", ""))
        return self.form_original[name] if value == self.shown[name] else value

    def on_mount(self) -> None:
        for name in ("answer", "question", "derivation"):
            if name not in self.too_long:
                self.query_one(f"#edit-{name}").focus()
                break
        self._update()

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._update()

    def _update(self) -> bool:
        diff = self.query_one("#edit-diff", Static)
        try:
            self.changes, diffs = validate_edit(
                answer_type=self.detail.record.answer_type,
                original=self.original,
                question=self._value("question"),
                answer=self._value("answer"),
                derivation=self._value("derivation"),
                scale=str(self.query_one("#edit-scale", Select).value),
            )
        except EditError as exc:
            self.changes = {}
            diff.update(Text(f"✗ {exc}", style="bold red"))
            return False
        if not diffs:
            diff.update(Text("no changes yet", style="dim"))
            return False
        rows: list[Text] = [Text("Changes:", style="bold")]
        for d in diffs:
            line = Text(f"{d.field}: ", style="bold")
            line.append_text(literal(d.old, "red strike", one_line=True))
            line.append(" → ")
            line.append_text(literal(d.new, "green", one_line=True))
            rows.append(line)
        diff.update(Group(*rows))
        return True

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self._update():
            self.dismiss(self.changes)
        else:
            self.notify("Nothing valid to save yet.", severity="warning", timeout=3)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
