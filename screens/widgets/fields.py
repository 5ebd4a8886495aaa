"""Text fields that apply keys in the order they were typed.

Textual's `Input` and `TextArea` insert a printable key the moment it reaches them, but a bound
key (backspace, delete, arrows, home and end, ctrl+u, tab to the next field, escape, ctrl+s)
runs only once it has bubbled up to the app and come back as an action. When one read from the
terminal holds several keys (a fast typist, or keystrokes batched by a slow SSH link) the
characters typed after a bound key are inserted before it runs: `abc⌫def` became `abcde`, and
`12⇥34` put 34 in the answer instead of the derivation: silent wrong edits (Textual issue
6605, open in the version curator uses). These fields run the binding where the key arrives,
exactly as the app would (the focused widget's bindings first, then its ancestors' up to the
first modal screen; priority bindings ran before the key got here), so it takes effect in its
place; and a key that reaches a field after a key before it moved the focus away goes on to the
field that has the focus now, as it would have had it been typed slowly.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input, TextArea


def passed_on(widget: Widget, event: events.Key) -> bool:
    """Send on a key that reached `widget` after it lost the focus (the app routed it here
    before an earlier key of the same burst, tab or a picked cell, moved the focus): to the
    widget focused now, or the screen, as the app routes a key. True when it was sent on."""
    if widget.app.focused is widget:  # (`has_focus` follows later, with the Blur message)
        return False
    event.stop()
    event.prevent_default()
    target = widget.app.focused or widget.app.screen
    if target is not widget:
        target._forward_event(events.Key(event.key, event.character))
    return True


async def run_binding_here(widget: Widget, event: events.Key) -> bool:
    """Run the binding the app would run for this key once it bubbled up from `widget` (the
    focused one); True when one ran, and the key is then spent."""
    for namespace, bindings in widget.screen._modal_binding_chain:
        for binding in bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:
                continue  # ran before the key reached the widget
            if await widget.app.run_action(binding.action, namespace):
                event.stop()
                event.prevent_default()
                return True
    return False


class OrderedInput(Input):
    """An `Input` whose bound keys take effect in typing order (see the module docstring), and
    which keeps all of a pasted text."""

    async def _on_key(self, event: events.Key) -> None:
        if passed_on(self, event):
            return
        if not event.is_printable and await run_binding_here(self, event):
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
        # The keys TextArea inserts itself (`TextArea._on_key`): never looked up as bindings.
        typed = {"enter"} | ({"tab", "escape"} if self.tab_behavior == "indent" else set())
        if passed_on(self, event):
            return
        if event.is_printable or event.key in typed:
            await super()._on_key(event)
        elif await run_binding_here(self, event):
            self._restart_blink()
        else:
            await super()._on_key(event)
