"""`curator review`: the Textual TUI (imported only when it opens)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from curator.cli.options import db_option, open_existing, settings_of
from curator.domain import CuratorError, RecordFilter
from curator.judges.factory import JUDGES

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
@click.option(
    "--judge",
    "judge_name",
    type=click.Choice(JUDGES),
    default=None,
    help="Judge for J (judge this record now); default as for `curator judge`.",
)
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
    from curator.guidelines import guidelines_path
    from curator.judges.factory import JudgeChoice
    from curator.screens.app import CuratorApp

    choice = JudgeChoice(judge_name) if judge_name else None
    app = CuratorApp(
        store,
        reviewer=reviewer,
        blind=blind,
        judge_choice=choice,
        sections=settings.sections,
        shard=shard,
        overlap=overlap,
        guidelines=guidelines_path(settings),
    )
    app.run()


@click.command()
@click.argument("uid")
@click.argument("text")
@click.option("--reviewer", default=None, help="Name stored on the note (default: as for review).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored note as JSON.")
@db_option
@click.pass_context
def note(ctx: click.Context, uid: str, text: str, reviewer: str | None, as_json: bool) -> None:
    """Add a note (a comment) to a record's history; it changes no decision.

    Stored through the same journal as review decisions, so it is safe while others review.

    \b
    Example:
      curator note 3f2a… "the 2019 column is restated; check with the team"
    """
    from curator.cli.output import echo_json, one_line
    from curator.store.reviews import add_note

    settings = settings_of(ctx)
    store = open_existing(settings)
    event = add_note(store, uid, reviewer or settings.reviewer, text)
    if as_json:
        echo_json(
            {
                "uid": event.record_uid,
                "event_id": event.event_id,
                "event_uid": event.event_uid,
                "reviewer": event.reviewer,
                "note": event.note,
            }
        )
    else:
        click.echo(f"noted on {one_line(event.record_uid)} (event #{event.event_id})")
