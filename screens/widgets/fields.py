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
    """An `Input` whose bound keys take effect in typing order (see the module docstring)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_binding(self, event):
            self._restart_blink()
            return
        await super()._on_key(event)


class OrderedTextArea(TextArea):
    """A `TextArea` whose bound keys take effect in typing order (see the module docstring)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_binding(self, event):
            self._restart_blink()
            return
        await super()._on_key(event)
