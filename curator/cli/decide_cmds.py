"""`curator decide accept|reject|undo`: bulk decisions by a judge panel's verdict, for scripts.

The rules (only pending records, the panel on the current version, one batch undone as one)
live in `curator.store.bulk`; this module parses, asks for confirmation and prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from curator import safe_text
from curator.cli.options import db_option, filter_options_but_verdict, open_existing, settings_of
from curator.cli.output import echo_json
from curator.domain import RecordFilter
from curator.wording import counted

if TYPE_CHECKING:
    from curator.store.bulk import BulkPreview, BulkResult


@click.group()
def decide() -> None:
    """Bulk decisions: accept (reject) every pending record judged correct (incorrect).

    \b
    Example:
      curator decide accept --verdict correct --judge rules --dry-run
      curator decide accept --verdict correct --judge rules --judge anthropic --yes
      curator decide reject --verdict incorrect --judge rules --answer-type count --yes
      curator decide undo --batch 17329118452310000-1a2b3c4d
    """


def _bulk_options(func: Any) -> Any:
    options: list[Callable[[Any], Any]] = [
        click.option(
            "--verdict",
            type=click.Choice(("correct", "incorrect")),
            required=True,
            help="What every judge named must say (accept: correct, reject: incorrect).",
        ),
        click.option(
            "--judge",
            "judges",
            multiple=True,
            required=True,
            help="A judge whose latest verdict counts; repeat for a panel (all must agree).",
        ),
        filter_options_but_verdict,
        click.option("--reviewer", default=None, help="Name stored on every decision."),
        click.option("--reason", default="", help="Reason stored on every decision."),
        click.option("--dry-run", is_flag=True, help="Only count; write nothing."),
        click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts)."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        db_option,
        click.pass_context,
    ]
    for option in reversed(options):
        func = option(func)
    return func


@decide.command("accept")
@_bulk_options
def accept(ctx: click.Context, **kwargs: Any) -> None:
    """Accept every pending record of the selection that the judge(s) call correct."""
    _run(ctx, "accept", **kwargs)


@decide.command("reject")
@_bulk_options
def reject(ctx: click.Context, **kwargs: Any) -> None:
    """Reject every pending record of the selection that the judge(s) call incorrect."""
    _run(ctx, "reject", **kwargs)


def _run(
    ctx: click.Context,
    action: str,
    *,
    verdict: str,
    judges: tuple[str, ...],
    filt: RecordFilter,
    reviewer: str | None,
    reason: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    from curator.reviewers import reviewer_of
    from curator.split_choice import check_splits
    from curator.store.bulk import BulkRefused, BulkSelection, decide_bulk, preview

    settings = settings_of(ctx)
    name = reviewer_of(reviewer, settings.reviewer)
    selection = BulkSelection(action, judges, verdict, filt).checked()
    store = open_existing(settings, read_only=dry_run)
    check_splits(store, filt.splits)
    found = preview(store, selection)
    if dry_run or not found.count:
        _report(found, None, dry_run=dry_run, as_json=as_json)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise BulkRefused(
                f"{action} {counted(found.count, 'record')}: confirm with --yes "
                "(or count with --dry-run)"
            )
        these = "this decision" if found.count == 1 else f"these {found.count:,} decisions"
        click.confirm(f"{_summary(found)}. Write {these}?", abort=True)
    result = decide_bulk(store, found, name, reason=reason)
    _report(found, result, dry_run=False, as_json=as_json)


def _left(n: int) -> str:
    return "left as it is" if n == 1 else "left as they are"


def _summary(found: BulkPreview) -> str:
    s = found.selection
    text = (
        f"{s.action} {counted(found.count, 'pending record')}: {safe_text.one_line(s.describe())}"
    )
    if found.already_decided:
        text += f" ({found.already_decided:,} more already decided, {_left(found.already_decided)})"
    return text


def _report(found: BulkPreview, result: BulkResult | None, *, dry_run: bool, as_json: bool) -> None:
    s = found.selection
    if as_json:
        echo_json(
            {
                "action": s.action,
                "verdict": s.verdict,
                "judges": list(s.judges),
                "count": found.count,
                "already_decided": found.already_decided,
                "dry_run": dry_run,
                "decided": result.decided if result else 0,
                "skipped": result.skipped if result else 0,
                "batch": result.batch_id if result and result.decided else None,
            }
        )
        return
    if result is None and dry_run:
        click.echo("would " + _summary(found))
        return
    if result is None:
        line = f"nothing to {s.action}: no pending record where {s.describe()}"
        if found.already_decided:
            line += f" ({found.already_decided:,} already decided, {_left(found.already_decided)})"
        click.echo(safe_text.one_line(line))
        return
    done = {"accept": "accepted", "reject": "rejected"}[s.action]
    line = f"{done} {counted(result.decided, 'record')} as batch {result.batch_id}"
    if result.skipped:
        line += f"; {result.skipped:,} skipped (decided or re-judged by someone else meanwhile)"
    click.echo(line)
    click.echo(f"undo: curator decide undo --batch {result.batch_id}")


@decide.command("undo")
@click.option("--batch", "batch_id", required=True, help="The batch id a bulk decision printed.")
@click.option("--reviewer", default=None, help="Name stored on the undo events.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@db_option
@click.pass_context
def undo(ctx: click.Context, batch_id: str, reviewer: str | None, as_json: bool) -> None:
    """Undo every decision of a batch, as one. Decisions made later on its records stay."""
    from curator.reviewers import reviewer_of
    from curator.store.bulk import undo_batch

    settings = settings_of(ctx)
    name = reviewer_of(reviewer, settings.reviewer)
    done = undo_batch(open_existing(settings), batch_id, name)
    if as_json:
        echo_json(
            {
                "batch": done.batch_id,
                "undo_batch": done.undo_batch_id,
                "undone": done.undone,
                "already_undone": done.already_undone,
                "decided_later": done.decided_later,
            }
        )
        return
    line = f"undid {counted(done.undone, 'decision')} of batch {safe_text.one_line(done.batch_id)}"
    if done.decided_later:
        keep = "keeps" if done.decided_later == 1 else "keep"
        line += f"; {counted(done.decided_later, 'record')} {keep} a decision made after the batch"
    if done.already_undone:
        were = "was" if done.already_undone == 1 else "were"
        line += f"; {done.already_undone:,} {were} already undone"
    click.echo(line)
