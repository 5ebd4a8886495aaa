"""The stats screen: counts, reviewer throughput, and judge-versus-human agreement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from curator.agreement import Confusion
from curator.screens.messages import StatsLoaded
from curator.screens.text import label

if TYPE_CHECKING:
    from curator.screens.app import CuratorApp


def _kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


class StatsScreen(Screen[None]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape,s,q", "back", "Back"),
        Binding("r", "reload", "Reload"),
    ]
    PALETTE: ClassVar[list[tuple[str, str, str]]] = [
        ("Back", "escape", "back"),
        ("Reload statistics", "r", "reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-body"):
            yield Static("computing…", id="stats-counts")
            yield Static(id="stats-activity")
            yield Static(id="stats-agreement")
        yield Footer()

    @property
    def curator(self) -> CuratorApp:
        return cast("CuratorApp", self.app)

    def on_mount(self) -> None:
        self.curator.load_stats()

    def action_reload(self) -> None:
        self.curator.load_stats()

    def action_back(self) -> None:
        self.app.pop_screen()

    def show_stats(self, message: StatsLoaded) -> None:
        s = message.stats
        counts = Table(title="Records", box=box.SIMPLE, title_justify="left", expand=False)
        counts.add_column("group")
        counts.add_column("value")
        counts.add_column("records", justify="right")
        for group, values in (
            ("split", s.splits),
            ("answer type", s.answer_types),
            ("answer source", s.answer_sources),
            ("review status", s.statuses),
        ):
            for i, (k, n) in enumerate(values.items()):
                counts.add_row(group if i == 0 else "", label(k), f"{n:,}")
        for judge, values in s.verdicts.items():
            for i, (k, n) in enumerate(values.items()):
                counts.add_row(Text("judge ") + label(judge) if i == 0 else "", label(k), f"{n:,}")
        self.query_one("#stats-counts", Static).update(counts)

        activity = Table(title="Reviewers", box=box.SIMPLE, title_justify="left")
        for col in ("reviewer", "decisions", "accepted", "rejected", "edited", "undos", "per hour"):
            activity.add_column(col, justify="left" if col == "reviewer" else "right")
        for a in message.activity:
            hours = (a.last - a.first).total_seconds() / 3600 if a.first and a.last else 0
            rate = f"{a.decisions / hours:,.0f}" if hours > 1 / 60 else "-"
            activity.add_row(
                label(a.reviewer),
                str(a.decisions),
                str(a.accepted),
                str(a.rejected),
                str(a.edited),
                str(a.undos),
                rate,
            )
        if not message.activity:
            activity.add_row("(no decisions yet)", "", "", "", "", "", "")
        self.query_one("#stats-activity", Static).update(activity)

        per_judge, abstained, pairs = message.agreement
        blocks: list[Any] = [Text("Judge vs human", style="bold underline")]
        blocks.append(
            Text(
                "human label: accepted = correct; rejected or edited = incorrect. "
                "Only judge verdicts correct/incorrect are compared.",
                style="dim",
            )
        )
        if not per_judge:
            blocks.append(Text("no record has both a verdict and a decision yet", style="dim"))
        for judge, (overall, by_type) in per_judge.items():
            matrix = Table(
                title=label(judge)
                + Text(
                    f": κ = {_kappa(overall.kappa)}, agreement "
                    f"{(overall.observed or 0):.0%} over {overall.total:,}"
                    + (f" ({abstained.get(judge, 0):,} abstained)" if abstained.get(judge) else "")
                ),
                box=box.SIMPLE,
                title_justify="left",
            )
            matrix.add_column("human \\ judge")
            matrix.add_column("correct", justify="right")
            matrix.add_column("incorrect", justify="right")
            for human in ("correct", "incorrect"):
                matrix.add_row(
                    human,
                    str(overall.cell(human, "correct")),
                    str(overall.cell(human, "incorrect")),
                )
            blocks.append(matrix)
            types = Table(box=box.SIMPLE, show_header=True)
            types.add_column("answer type")
            types.add_column("n", justify="right")
            types.add_column("agreement", justify="right")
            types.add_column("κ", justify="right")
            for answer_type, confusion in by_type.items():
                types.add_row(
                    label(answer_type),
                    str(confusion.total),
                    f"{(confusion.observed or 0):.0%}",
                    _kappa(confusion.kappa),
                )
            blocks.append(types)
        blocks.append(Text(""))
        blocks.append(Text("Reviewer vs reviewer", style="bold underline"))
        if not pairs:
            blocks.append(
                Text("no record decided by two reviewers yet (see review --overlap)", style="dim")
            )
        for (first, second), cells in pairs.items():
            confusion = Confusion(cells)
            blocks.append(
                Text.assemble(
                    label(first),
                    " vs ",
                    label(second),
                    f": κ = {_kappa(confusion.kappa)}, agreement "
                    f"{(confusion.observed or 0):.0%} over {confusion.total:,} shared records",
                )
            )
        self.query_one("#stats-agreement", Static).update(Group(*blocks))
