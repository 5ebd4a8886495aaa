"""The queue screen: the records of the current view, their status and verdicts, one per line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static

from curator.screens.messages import CountsLoaded
from curator.screens.queue_model import filter_chips
from curator.screens.widgets.key_bar import KeyBar
from curator.screens.widgets.queue_view import QueueView

if TYPE_CHECKING:
    from curator.screens.app import CuratorApp


class ReviewActions(Protocol):
    """What the queue asks of the record screen under it (no import of screens/record.py)."""

    def action_search(self) -> None: ...
    def opened_from(self, where: str) -> None: ...
    def action_filters(self) -> None: ...
    def action_toggle_sort(self) -> None: ...


class QueueScreen(Screen[None]):
    #: The ids are the record screen's actions (`[keys]`): `l` opens and closes the queue.
    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "back", "Back"),
        Binding("l", "back", "Back", show=False, id="queue"),
        Binding("slash", "search", "Search", id="search"),
        Binding("f", "filters", "Filters", id="filters"),
        Binding("t", "toggle_sort", "Sort", id="toggle_sort"),
        Binding("s", "stats", "Stats", id="stats"),
    ]
    PALETTE: ClassVar[list[tuple[str, str, str]]] = [
        ("Back to the record", "escape", "back"),
        ("Search", "/", "search"),
        ("Filters", "f", "filters"),
        ("Toggle sort", "t", "toggle_sort"),
        ("Statistics and agreement", "s", "stats"),
    ]

    def __init__(self, review: ReviewActions) -> None:
        super().__init__()
        self.review = review
        #: The view (generation) the cursor was placed in: within it, the cursor stays on its
        #: record when rows load or statuses change; a new view starts at the current record.
        self.generation = -1

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="queue-summary")
        yield Static(id="queue-header")
        yield QueueView(id="queue-view")
        yield KeyBar()

    @property
    def curator(self) -> CuratorApp:
        return cast("CuratorApp", self.app)

    def on_mount(self) -> None:
        view = self.query_one(QueueView)
        view.blind = self.curator.blind
        self.queue_changed()
        view.focus()
        self.curator.load_counts()

    def queue_changed(self) -> None:
        q = self.curator.queue
        view = self.query_one(QueueView)
        keep = view.cursor_uid
        view.rows = q.rows
        view.exhausted = q.exhausted_after
        view.loading = False
        view.columns()
        view._resize()
        if q.generation != self.generation:
            self.generation = q.generation
            if q.index >= 0:
                view.cursor = q.index
        elif keep is not None:
            # Same view, rows added or statuses changed: the cursor stays on its record.
            place = next((i for i, r in enumerate(q.rows) if r.uid == keep), None)
            if place is not None and place != view.cursor:
                view.cursor = place
        view.refresh()
        self.query_one("#queue-header", Static).update(Text(view.header(), style="bold dim"))
        self._summary()

    def show_counts(self, message: CountsLoaded) -> None:
        self._summary(message)

    def _summary(self, counts: CountsLoaded | None = None) -> None:
        q = self.curator.queue
        line = Text(" view: ", style="bold")
        for chip in filter_chips(q.filt):
            line.append(f" {chip} ", style="bold black on cyan")
            line.append(" ")
        if not filter_chips(q.filt):
            line.append("all records ", style="bold")
        line.append(f"· sort {q.sort}", style="bold")
        if counts is not None:
            p = counts.progress
            line.append(
                f"   {counts.total_in_view:,} in view · reviewed {p.reviewed:,}/{p.total:,}"
                f" · by you {p.by_reviewer:,}",
                style="dim",
            )
        self.query_one("#queue-summary", Static).update(line)

    def on_queue_view_more_wanted(self, message: QueueView.MoreWanted) -> None:
        self.curator.request_more()

    def on_queue_view_opened(self, message: QueueView.Opened) -> None:
        self.curator.open_uid(message.row.uid)
        self.review.opened_from("queue")
        self.app.pop_screen()

    def action_back(self) -> None:
        view = self.query_one(QueueView)
        if view.current is not None and view.cursor != self.curator.queue.index:
            self.curator.open_uid(view.current.uid)
        self.app.pop_screen()

    def action_search(self) -> None:
        self.review.action_search()

    def action_filters(self) -> None:
        self.review.action_filters()

    def action_toggle_sort(self) -> None:
        self.review.action_toggle_sort()

    def action_stats(self) -> None:
        from curator.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen())
