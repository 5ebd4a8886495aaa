"""`curator review`: the Textual TUI (imported only when it opens)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from curator.cli.options import db_option, judge_option, open_existing, settings_of
from curator.domain import CuratorError, RecordFilter

if TYPE_CHECKING:
    from curator.settings import Settings
    from curator.store.db import Store


@click.command()
@click.option("--reviewer", default=None, help="Name stored on every decision (default: login).")
@click.option("--blind", is_flag=True, help="Hide verdicts until you have decided a record.")
@click.option(
    "--shard",
    default=None,
    metavar="K/N",
    help="Review only the K-th of N shares of the records (stable for each record).",
)
@click.option(
    "--overlap",
    type=click.FloatRange(0, 0.99),
    default=0.0,
    help="With --shard: also route this fraction of the previous shard here, for agreement.",
)
@judge_option(help="Judge for J (judge this record now); default as for `curator judge`.")
@db_option
@click.pass_context
def review(
    ctx: click.Context,
    reviewer: str | None,
    blind: bool,
    shard: str | None,
    overlap: float,
    judge_name: str | None,
) -> None:
    """Review records in the terminal: a accept, r reject, e edit, u undo, n/p move, ? help.

    Every decision is saved before the next record shows; reopening resumes at the first
    pending record of the last filter.

    \b
    Example:
      curator review --reviewer ana
      curator review --blind --db team.duckdb
    """
    settings = settings_of(ctx)
    store = open_existing(settings)
    shard_pair = None
    if shard is not None:
        match = re.fullmatch(r"(\d+)/(\d+)", shard.strip())
        if not match:
            raise CuratorError(f"--shard {shard!r}: expected K/N, for example 2/3")
        shard_pair = (int(match.group(1)), int(match.group(2)))
        RecordFilter(shard=shard_pair, overlap=overlap).validate()
    run_tui(store, settings, reviewer or settings.reviewer, blind, judge_name, shard_pair, overlap)


def run_tui(
    store: Store,
    settings: Settings,
    reviewer: str,
    blind: bool,
    judge_name: str | None,
    shard: tuple[int, int] | None = None,
    overlap: float = 0.0,
) -> None:
    from curator.judges.factory import JudgeChoice
    from curator.screens.app import CuratorApp

    choice = JudgeChoice(judge_name) if judge_name else None
    app = CuratorApp(
        store,
        reviewer=reviewer,
        blind=blind,
        judge_choice=choice,
        config=settings.config,
        shard=shard,
        overlap=overlap,
    )
    app.run()
