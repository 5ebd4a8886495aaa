"""`curator leaks`: near-duplicate contexts and repeated questions."""

from __future__ import annotations

import click

from curator import safe_text
from curator.cli.options import db_option, open_existing, settings_of
from curator.cli.output import reader_may_leave


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per pair.")
@click.option("--split", "splits", multiple=True, help="Only pairs within these splits (repeat).")
@click.option("--across", is_flag=True, help="Only pairs whose two sides are in different splits.")
@click.option(
    "--threshold", type=float, default=None, help="Lowest score to list (default 0.8; 0-1]."
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Context pairs drawn side by side (--json lists all).",
)
@db_option
@click.pass_context
def leaks(
    ctx: click.Context,
    as_json: bool,
    splits: tuple[str, ...],
    across: bool,
    threshold: float | None,
    top: int,
) -> None:
    """Near-duplicate contexts (same figures under another uid) and repeated questions.

    Tables are compared by their distinctive figures and labels, not their text, so another
    header layout or an extra column still matches. Pairs within a split and across splits.

    \b
    Example:
      curator leaks --split dev --split test --across
      curator leaks --json | jq 'select(.kind == "question")'
    """
    from curator.leaks import DEFAULT_THRESHOLD, find_leaks, listing

    settings = settings_of(ctx)
    store = open_existing(settings)
    report = find_leaks(
        store,
        splits=splits,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        across_only=across,
    )
    with reader_may_leave():  # `curator leaks --json | head`
        if as_json:
            for obj in report.json_lines():
                click.echo(safe_text.dumps(obj))
            return
        import shutil

        width = max(80, shutil.get_terminal_size((160, 24)).columns)
        for text in listing(store, report, top=top, width=width):
            click.echo(text)
