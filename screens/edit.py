"""The edit modal: question, answer, derivation and scale, validated, with a diff before saving.

The original stays in the store; saving appends an edit event with the new values only.
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

from curator.domain import SCALES
from curator.editing import EditError, answer_to_form, validate_edit
from curator.screens.text import literal


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
            yield Input(d.question, id="edit-question")
            yield Label(f"Answer ({hint})")
            yield TextArea(answer_to_form(d.answer), id="edit-answer", soft_wrap=True)
            yield Label("Derivation")
            yield Input(d.derivation, id="edit-derivation")
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

    def on_mount(self) -> None:
        self.query_one("#edit-answer", TextArea).focus()
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
                question=self.query_one("#edit-question", Input).value,
                answer=self.query_one("#edit-answer", TextArea).text,
                derivation=self.query_one("#edit-derivation", Input).value,
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
