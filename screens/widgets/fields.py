"""Text fields that apply keys in the order they were typed.

Textual's `Input` and `TextArea` insert a printable key the moment it reaches them, but run
their own bound keys (backspace, delete, arrows, home and end, ctrl+u, ctrl+w, …) only once the
key has bubbled up to the app and come back as an action. When one read from the terminal holds
several keys (a fast typist, or keystrokes batched by a slow SSH link) the characters typed
after a backspace are inserted before the backspace runs: `abc⌫def` became `abcde`, a silent
wrong edit of an answer (Textual issue 6605, open in the version curator uses). These fields
run their own bindings where the key arrives, so it is applied in its place. Keys bound by a
screen or the app (escape, ctrl+s) still bubble as before.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input, TextArea


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run the action `widget` itself binds to this key (never a priority binding: those ran
    before the key reached it); True when one ran, and the key is then spent."""
    for binding in widget._bindings.key_to_bindings.get(event.key, ()):
        if binding.priority:
            continue
        if await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return True
    return False


class OrderedInput(Input):
    """An `Input` whose bound keys take effect in typing order (see the module docstring), and
    which keeps all of a pasted text."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_binding(self, event):
            self._restart_blink()
            return
        await super()._on_key(event)

    def _on_paste(self, event: events.Paste) -> None:
        """A pasted text is one line, its line breaks spaces: Textual's `Input` keeps only the
        first line and drops the rest without a word (a question copied from a report over two
        lines lost its second half)."""
        lines = event.text.splitlines()
        text = lines[0] if len(lines) == 1 else " ".join(p.strip() for p in lines if p.strip())
        if text:
            if self.selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *self.selection)
        event.stop()
        event.prevent_default()


class OrderedTextArea(TextArea):
    """A `TextArea` whose bound keys take effect in typing order (see the module docstring)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_binding(self, event):
            self._restart_blink()
            return
        await super()._on_key(event)
