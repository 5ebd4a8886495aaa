"""A footer that wraps: every key the screen offers, on as many lines as the width needs.

Textual's Footer is one line that scrolls sideways, so at 100 columns half the record screen's
keys were off screen. This bar lays the same bindings (the screen's active bindings, after the
`[keys]` keymap) out in lines and grows a line rather than hiding a key. Clicking a key runs
its action, as in Textual's footer (useful in a browser).
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget


class KeyBar(Widget):
    """Every shown binding of the screen as `key description`, wrapped to the width."""

    DEFAULT_CSS = """
    KeyBar {
        height: auto;
        dock: bottom;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: (line, first column, last column, item index) of each key drawn, for clicks.
        self.spots: list[tuple[int, int, int, int]] = []
        #: (keys, description, action, the node whose action it is) in binding order.
        self.items: list[tuple[str, str, str, object]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._collect()

    def _bindings_changed(self, _screen: object) -> None:
        if self.is_attached:
            self._collect()

    def _collect(self) -> None:
        """The screen's shown bindings, one entry per action, by its first key.

        Two lines at 100 columns hold every action only when each shows one key: the others
        (`j`/`k` beside `n`/`p`, `?` beside F1) and ctrl+p's palette are listed by F1's help.
        """
        by_action: dict[str, tuple[list[str], str, object]] = {}
        for node, binding, _enabled, _tip in self.screen.active_bindings.values():
            if not isinstance(binding, Binding) or not binding.show:
                continue
            keys, _, _ = by_action.setdefault(binding.action, ([], binding.description, node))
            shown = self.app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
        items = [(keys[0], what, action, node) for action, (keys, what, node) in by_action.items()]
        if [i[:3] for i in items] != [i[:3] for i in self.items]:
            self.items = items
            self.refresh(layout=True)

    def _lines(self, width: int) -> list[list[int]]:
        """The items' indexes, line by line, each line at most `width` columns."""
        lines: list[list[int]] = [[]]
        used = 1
        for index, (keys, what, _action, _node) in enumerate(self.items):
            size = len(keys) + len(what) + 2
            if lines[-1] and used + size > width:
                lines.append([])
                used = 1
            lines[-1].append(index)
            used += size
        return lines

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self._lines(width)))

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        self.spots = []
        for y, line in enumerate(self._lines(self.size.width or 80)):
            if y:
                out.append("\n")
            out.append(" ")
            x = 1
            for index in line:
                keys, what, _action, _node = self.items[index]
                # The key in reverse video, its action after it: "a Accept r Reject …".
                out.append(keys, style="bold reverse")
                out.append(f" {what} ")
                size = len(keys) + len(what) + 2
                self.spots.append((y, x, x + size, index))
                x += size
        return out

    async def on_click(self, event: events.Click) -> None:
        for y, start, end, index in self.spots:
            if event.y == y and start <= event.x < end:
                _keys, _what, action, node = self.items[index]
                await self.app.run_action(action, node)  # type: ignore[arg-type]
                return

    @property
    def plain(self) -> str:
        """What the bar shows at its width, as text (for tests and screen readers)."""
        return self.render().plain
