"""`curator review`: the Textual TUI (imported only when it opens); `curator serve`: the same
app in web browsers (curator.serve, imported only when it runs)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from curator import safe_text
from curator.cli.options import db_option, judge_option, open_existing, settings_of
from curator.domain import BadOption, RecordFilter

if TYPE_CHECKING:
    from curator.settings import Settings
    from curator.store.db import Store

# Shared by `review` and `serve` (which passes them on to each browser's app).
blind_option = click.option(
    "--blind", is_flag=True, help="Hide verdicts until you have decided a record."
)


@click.command()
@click.option("--reviewer", default=None, help="Name stored on every decision (default: login).")
@blind_option
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
    from curator.reviewers import reviewer_of

    settings = settings_of(ctx)
    name = reviewer_of(reviewer, settings.reviewer)
    store = open_existing(settings)
    shard_pair = None
    if shard is not None:
        match = re.fullmatch(r"(\d+)/(\d+)", shard.strip())
        if not match:
            raise BadOption(f"--shard {shard!r}: expected K/N, for example 2/3")
        shard_pair = (int(match.group(1)), int(match.group(2)))
        RecordFilter(shard=shard_pair, overlap=overlap).validate()
    run_tui(store, settings, name, blind, judge_name, shard_pair, overlap)


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
        config=settings.config,
        shard=shard,
        overlap=overlap,
        keys=settings.config.keys,
        guidelines=guidelines_path(settings),
    )
    app.run()


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="TCP port (0: any free port, printed at start).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but the loopback lets other machines connect.",
)
@click.option(
    "--password",
    "ask_password",
    is_flag=True,
    help="Ask for a password on this terminal (hidden); browsers must give it to log in.",
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the password from the first line of FILE (else $CURATOR_SERVE_PASSWORD).",
)
@blind_option
@judge_option(help="Judge for J in each browser session; default as for `curator judge`.")
@click.option(
    "--max-sessions",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="At most this many browser sessions (app processes) at once.",
)
@db_option
@click.pass_context
def serve(
    ctx: click.Context,
    port: int,
    host: str,
    ask_password: bool,
    password_file: Path | None,
    blind: bool,
    judge_name: str | None,
    max_sessions: int,
) -> None:
    """Serve the review app to web browsers: one app process per browser tab.

    Each reviewer opens the address, gives their name (or puts it in the address,
    ?reviewer=NAME) and, if the server has one, the password; every decision is stored
    with that name, as in `curator review`. Listens on 127.0.0.1 only unless --host says
    otherwise. Ctrl+C stops it (open sessions store their decisions first).

    \b
    Example:
      curator serve --db team.duckdb                 # then open http://127.0.0.1:8000/?reviewer=ana
      curator serve --host 0.0.0.0 --password-file ~/.config/curator/serve-password
    """
    from curator.serve import Access, ServeOptions, run
    from curator.serve.server import is_loopback, read_password

    if ask_password and password_file is not None:
        raise click.UsageError("give --password or --password-file, not both")
    settings = settings_of(ctx)
    if ask_password:
        password: str | None = click.prompt(
            "Password for the browsers", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        password = read_password(password_file)
    store = open_existing(settings)  # refuse a missing or foreign store now, not per browser
    store.close()
    options = ServeOptions(
        db=settings.db,
        config=settings.config_path,
        host=host,
        port=port,
        blind=blind,
        judge_name=judge_name,
        max_sessions=max_sessions,
        title=f"curator review · {safe_text.one_line(settings.db.name)}",
    )

    def ready(addresses: list[tuple[str, int]]) -> None:
        for address, bound in addresses:
            shown = f"[{address}]" if ":" in address else address
            click.echo(f"serving http://{shown}:{bound}/ (store {settings.db})")
        lock = "a password" if password is not None else "no password"
        click.echo(f"reviewers log in with their name and {lock}; Ctrl+C stops", err=True)
        sys.stdout.flush()
        # Warned once the address is bound, so a failed start is one line.
        if not is_loopback(host) and password is None:
            click.secho(
                f"WARNING: serving on {host} with NO PASSWORD: anyone who can reach this port can "
                "review and decide records under any name. Give --password-file or "
                "CURATOR_SERVE_PASSWORD.",
                err=True,
                fg="red",
                bold=True,
            )
        elif not is_loopback(host):
            click.echo(
                "note: plain http: the password and the records cross the network unencrypted; "
                "prefer an SSH tunnel or a TLS proxy in front.",
                err=True,
            )

    def say(line: str) -> None:
        click.echo(f"curator serve: {line}", err=True)

    run(options, Access(password), say=say, ready=ready)


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
    from curator.reviewers import reviewer_of
    from curator.store.reviews import add_note

    settings = settings_of(ctx)
    name = reviewer_of(reviewer, settings.reviewer)
    store = open_existing(settings)
    event = add_note(store, uid, name, text)
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
