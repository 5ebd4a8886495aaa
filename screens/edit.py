"""The edit panel: question, answer, derivation and scale beside the table and paragraphs.

A reviewer corrects a record while reading its evidence, so the form is a side panel next to the
table (frozen header rows and label column) and the paragraphs, not a dialog over them. The
derivation is recomputed as it is typed with the rules judge's own arithmetic check
(`curator.judges.rules.check_derivation`), so a derivation that does not give the answer at the
answer's rounding shows at once and saving it asks first. `ctrl+t` picks a table cell from the
keyboard (arrows move, Enter inserts it into the answer or the derivation, Escape returns).
Leaving a changed form asks before dropping it.

The original stays in the store; saving appends an edit event with the new values only.

Fields are edited in their visible form (`screens.text.visible`): an input widget would draw a
control character of the data raw. A field left as shown keeps its original value exactly; a
field the reviewer changed is saved as typed, so an edit never brings a control character back.
A field too long to edit in a widget (a 10 MB question) is shown as its length and kept as is.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Footer, Input, Select, Static, TextArea
from textual.widgets._select import SelectCurrent

from curator import safe_text
from curator.domain import SCALES
from curator.editing import EditError, answer_to_form, validate_edit
from curator.judges.rules import DerivationCheck, check_derivation
from curator.screens.text import WHOLE_TEXT_HINT, label, literal, preview, visible
from curator.screens.widgets.fields import OrderedInput, OrderedTextArea
from curator.screens.widgets.table_grid import header_rows

#: Longest field edited in a widget; an input holding megabytes freezes the screen for seconds.
EDIT_CHARS = 20_000
#: Widest a table column is drawn in the panel (the cursor cell is shown whole below the table).
LABEL_WIDTH = 22
CELL_WIDTH = 14
#: What a picked cell loses before it goes into a derivation: currency signs and spaces.
_CURRENCY = re.compile(r"^[\s$€£¥]+|\s+$")


class EditScreen(Screen[dict[str, Any] | None]):
    """Edit a record beside its evidence; dismisses with the changed fields, or None."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+t", "pick_cell", "Pick cell"),
        # Outside a text field (picking a cell), q must not quit and drop the edit.
        Binding("q", "leave_first", "", show=False),
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
        self.kind = detail.record.answer_type
        #: Where a picked cell goes: the answer or the derivation field last focused.
        self.target = "derivation" if self.kind in ("arithmetic", "count") else "answer"
        self.picking = False
        self.check = DerivationCheck("empty")
        self.asking = False  # a confirmation is open: keys go to it

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        d = self.detail
        hint = {
            "span": "one span",
            "multi-span": "one span per line",
            "arithmetic": "a number",
            "count": "a whole number",
        }[self.kind]
        title = Text(" EDIT ", style="bold black on yellow")
        title.append("  ")
        title.append_text(label(d.record.uid, "dim"))
        title.append(f" · {self.kind} · ctrl+s saves, escape leaves, ctrl+t picks a cell")
        yield Static(title, id="edit-title")
        with Horizontal(id="edit-body"):
            with Vertical(id="edit-evidence"):
                yield DataTable(
                    id="edit-table",
                    show_header=False,
                    cursor_type="cell",
                    zebra_stripes=True,
                )
                yield Static(id="edit-cell")
                with VerticalScroll(id="edit-paragraphs"):
                    yield Static(self._paragraphs(), id="edit-paragraphs-text")
            with Vertical(id="edit-form"):
                with VerticalScroll(id="edit-fields"):
                    yield self._field("question", Input, "Question")
                    yield self._field("answer", TextArea, f"Answer ({hint})")
                    yield self._field("derivation", Input, "Derivation")
                    yield Static(id="edit-check")
                    select = Select(
                        [(s or "(none)", s) for s in SCALES],
                        value=d.scale,
                        allow_blank=False,
                        id="edit-scale",
                    )
                    yield select
                    yield Static(id="edit-diff")
                with Horizontal(id="edit-buttons"):
                    yield Button("Save (ctrl+s)", variant="primary", id="save")
                    yield Button("Cancel (esc)", id="cancel")
        yield Footer()

    def _field(
        self, name: str, kind: type[Input] | type[TextArea], title: str
    ) -> Input | TextArea | Static:
        """The widget editing one field, or a note saying it is too long to edit here."""
        widget: Input | TextArea | Static
        if name in self.too_long:
            size = len(self.form_original[name])
            note = (
                f"({size:,} characters: too long to edit here, kept as it is; "
                f"{WHOLE_TEXT_HINT} on the record screen)"
            )
            widget = Static(Text(note, style="dim italic"), id=f"edit-{name}")
        elif kind is TextArea:
            widget = OrderedTextArea(self.shown[name], id=f"edit-{name}", soft_wrap=True)
        else:
            # Not select-on-focus: coming back from picking a cell, typing must add, not replace.
            widget = OrderedInput(self.shown[name], id=f"edit-{name}", select_on_focus=False)
        widget.border_title = title
        return widget

    def _paragraphs(self) -> Text:
        rel = set(self.detail.record.rel_paragraphs)
        parts = [Text("Paragraphs", style="bold underline")]
        for p in sorted(self.detail.context.paragraphs, key=lambda p: p.order):
            marked = str(p.order) in rel
            line = Text("▶ " if marked else "  ", style="bold cyan" if marked else "dim")
            line.append(f"[{p.order}] ", style="bold" if marked else "dim")
            line.append_text(preview(p.text, "" if marked else "dim"))
            parts.append(line)
        if len(parts) == 1:
            parts.append(Text("(no paragraphs)", style="dim"))
        return Text("\n").join(parts)

    def on_mount(self) -> None:
        self._fill_table()
        self.query_one("#edit-scale", Select).query_one(SelectCurrent).border_title = "Scale"
        if "answer" not in self.too_long:
            area = self.query_one("#edit-answer", TextArea)
            area.move_cursor(area.document.end)
        first = self._first_field()
        if first is not None:
            first.focus()
        self._update()

    def _first_field(self) -> Widget | None:
        """The field the screen opens on: the answer, else the question or the derivation (a
        field too long to edit here is shown, not edited)."""
        for name in ("answer", "question", "derivation"):
            if name not in self.too_long:
                return self.query_one(f"#edit-{name}")
        return None

    #: Until a text field has the focus: keys typed in one burst with the `e` that opened
    #: this screen arrive while the focus is on its way (at first on the table).
    opening = True

    def take_typed(self, event: events.Key) -> None:
        """A printable key typed in one burst with the `e` that opened this screen (a fast
        typist, keystrokes batched over SSH) reached no field: the app hands it here
        (`CuratorApp.on_key`), and while the screen opens it goes where typing goes once it is
        open, the first field (the answer, at its end). Later keys (picking a cell) never."""
        if not self.opening or event.character is None or not event.is_printable:
            return
        target = self._first_field()
        if isinstance(target, TextArea):
            target.insert(event.character, target.document.end)
        elif isinstance(target, Input):
            target.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def _fill_table(self) -> None:
        """The record's table with frozen header rows and label column; every cell one line."""
        rows = self.detail.context.table
        table = self.query_one("#edit-table", DataTable)
        width = max((len(r) for r in rows), default=0)
        n_header = header_rows(rows)
        # Columns as wide as their figures (headers are cut; the cursor cell is shown whole).
        body = rows[n_header:] or rows
        for col in range(width):
            longest = max((len(r[col].strip()) for r in body if col < len(r)), default=1)
            cap = LABEL_WIDTH if col == 0 else CELL_WIDTH
            table.add_column("", key=str(col), width=max(4, min(longest, cap)))
        for r, row in enumerate(rows):
            cells = list(row) + [""] * (width - len(row))
            table.add_row(
                *[
                    label(cell, "bold" if r < n_header or c == 0 else "")
                    for c, cell in enumerate(cells)
                ]
            )
        table.fixed_rows = n_header
        table.fixed_columns = 1 if width > 1 else 0
        if not rows:
            self.query_one("#edit-cell", Static).update(Text("(this record has no table)", "dim"))

    # -- picking a cell -----------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, TextArea | Input):
            self.opening = False  # typed keys now reach their field themselves
        widget_id = event.widget.id or ""
        if widget_id in ("edit-answer", "edit-derivation"):
            self.target = widget_id.removeprefix("edit-")
        if widget_id != "edit-table" and self.picking:
            self.picking = False
            self._show_cell()

    def action_pick_cell(self) -> None:
        """Cell-pick mode: arrows move over the table, Enter inserts the cell, Escape returns."""
        if not self.detail.context.table:
            self.notify("This record has no table to pick from.", timeout=3)
            return
        if self.target in self.too_long:
            self.notify(f"The {self.target} is too long to edit here.", timeout=3)
            return
        self.picking = True
        self.query_one("#edit-table", DataTable).focus()
        self._show_cell()

    @on(DataTable.CellHighlighted)
    def _cell_highlighted(self) -> None:
        self._show_cell()

    def _show_cell(self) -> None:
        table = self.query_one("#edit-table", DataTable)
        rows = self.detail.context.table
        if not rows:
            return
        r, c = table.cursor_coordinate.row, table.cursor_coordinate.column
        cell = rows[r][c] if r < len(rows) and c < len(rows[r]) else ""
        line = Text()
        if self.picking:
            line.append(f" PICK → {self.target} ", style="bold black on cyan")
            line.append(" Enter inserts · Escape returns  ", style="dim")
        line.append(f"r{r + 1} c{c + 1}: ", style="bold")
        line.append_text(literal(cell, one_line=True) if cell.strip() else Text("(empty)", "dim"))
        self.query_one("#edit-cell", Static).update(line)

    @on(DataTable.CellSelected)
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        rows = self.detail.context.table
        r, c = event.coordinate.row, event.coordinate.column
        cell = rows[r][c] if r < len(rows) and c < len(rows[r]) else ""
        if not cell.strip():
            self.notify("That cell is empty: pick another, or Escape.", timeout=3)
            return
        self.insert_cell(cell)

    def insert_cell(self, cell: str) -> None:
        """Put a cell's text at the cursor of the target field and go back to that field."""
        text = safe_text.one_line(cell).strip()
        if self.target == "derivation":
            text = _CURRENCY.sub("", text)
        widget = self.query_one(f"#edit-{self.target}")
        if isinstance(widget, TextArea):
            widget.insert(text)
        elif isinstance(widget, Input):
            widget.insert_text_at_cursor(text)
        self.picking = False
        widget.focus()
        self._show_cell()
        self._update()

    # -- validation and the live derivation ---------------------------------------------------

    def _value(self, name: str) -> str:
        """A field's value to validate: the original when the widget still shows it as it was."""
        if name in self.too_long:
            return self.form_original[name]
        widget = self.query_one(f"#edit-{name}")
        value = widget.text if isinstance(widget, TextArea) else str(getattr(widget, "value", ""))
        return self.form_original[name] if value == self.shown[name] else value

    def _scale(self) -> str:
        return str(self.query_one("#edit-scale", Select).value)

    def changed(self) -> bool:
        """Has the reviewer changed anything (valid or not) since the form opened?"""
        return (
            any(self._value(name) != self.form_original[name] for name in self.form_original)
            or self._scale() != self.detail.scale
        )

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._update()

    def _update(self) -> bool:
        self._show_check()
        diff = self.query_one("#edit-diff", Static)
        try:
            self.changes, diffs = validate_edit(
                answer_type=self.kind,
                original=self.original,
                question=self._value("question"),
                answer=self._value("answer"),
                derivation=self._value("derivation"),
                scale=self._scale(),
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

    def _show_check(self) -> None:
        """The derivation recomputed by the rules judge's check, against the answer as typed."""
        out = self.query_one("#edit-check", Static)
        if self.kind != "arithmetic":
            self.check = DerivationCheck("empty")
            out.update(Text(f"(a {self.kind} answer: the derivation is not computed)", "dim"))
            return
        answer, derivation = self._value("answer"), self._value("derivation")
        self.check = check = check_derivation(answer, derivation)
        out.update(describe_check(check, answer))

    # -- leaving ------------------------------------------------------------------------------

    def action_leave_first(self) -> None:
        self.notify("Save (ctrl+s) or leave (escape) the edit first.", timeout=3)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.asking:
            return
        if not self._update():
            self.notify("Nothing valid to save yet.", severity="warning", timeout=3)
            return
        if self.check.state != "mismatch":
            self.dismiss(self.changes)
            return
        from curator.screens.modals import ConfirmScreen

        changes = dict(self.changes)
        question = Text("The derivation does not give the answer:\n", style="bold")
        question.append_text(describe_check(self.check, self._value("answer")))
        question.append("\n\nSave anyway?")

        def done(yes: bool | None) -> None:
            self.asking = False
            if yes:
                self.dismiss(changes)

        self.asking = True
        self.app.push_screen(ConfirmScreen(question, yes="Save anyway", no="Keep editing"), done)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.asking:
            return
        if self.picking:
            self.picking = False
            self.query_one(f"#edit-{self.target}").focus()
            self._show_cell()
            return
        if not self.changed():
            self.dismiss(None)
            return
        from curator.screens.modals import ConfirmScreen

        def done(yes: bool | None) -> None:
            self.asking = False
            if yes:
                self.dismiss(None)

        self.asking = True
        self.app.push_screen(
            ConfirmScreen(
                Text("Discard your changes to this record?", style="bold"),
                yes="Discard",
                no="Keep editing",
            ),
            done,
        )


def describe_check(check: DerivationCheck, answer: str) -> Text:
    """One line on the derivation: its value, and whether it gives the answer at its rounding."""
    if check.state == "empty":
        return Text("no derivation to compute", style="dim")
    if check.state == "unreadable":
        return Text(f"? the derivation cannot be computed ({check.detail})", style="yellow")
    shown = f"{check.value:,.{min(max(check.places, 2), 6)}f}" if check.value is not None else "?"
    line = Text("= ", style="bold")
    line.append(shown, style="bold")
    if check.state == "no-number":
        line.append("  (the answer is not a number yet)", style="yellow")
        return line
    typed = literal(answer.strip(), one_line=True, limit=40)
    at = f"{check.places} decimal{'s' if check.places != 1 else ''}"
    if check.state == "match":
        how = ""
        if check.value is not None and check.as_percent:
            how = f" (×100 = {check.value * 100:,.{check.places}f}%)"
        line.append(f"{how}  ✓ gives the answer ", style="green")
        line.append_text(typed)
        line.append(f" at {at}", style="green")
        return line
    line.append("  ✗ MISMATCH: the answer is ", style="bold red")
    line.append_text(typed)
    line.append(f" (compared at {at})", style="red")
    return line
