"""Commands on the store itself: import, stats, list, check, demo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator import safe_text
from curator.cli import review_cmds
from curator.cli.options import (
    db_option,
    demo_db_option,
    filter_options,
    given_db,
    open_existing,
    settings_of,
)
from curator.cli.output import (
    cut,
    echo_json,
    import_progress,
    note_unsaved_answers,
    one_line,
    print_import,
    print_stats,
    reader_may_leave,
)
from curator.domain import BadInput, RecordFilter, answer_to_text
from curator.wording import counted


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "--split",
    default=None,
    help="Split name for these records (default: from the file name, e.g. dev, test; else train).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@db_option
@click.pass_context
def import_cmd(
    ctx: click.Context, files: tuple[Path, ...], split: str | None, as_json: bool
) -> None:
    """Import TAT-QA JSON files into the store (all files, or none on any error).

    Importing the same file again changes nothing; a record whose content changed is updated,
    its previous version kept, and its review history left in place.

    \b
    Example:
      curator import ../shared/data/tatqa/tatqa_dataset_dev.json --split dev
    """
    from curator.importing import import_into

    settings = settings_of(ctx)
    with import_progress(list(files)) as progress:
        _store, summaries = import_into(settings.db, files, split=split, progress=progress)
    if as_json:
        echo_json({"db": str(settings.db), "files": [s.to_json() for s in summaries]})
        return
    for summary in summaries:
        print_import(summary)
    click.echo(f"store: {safe_text.one_line(str(settings.db))}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@db_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts by split, answer type, answer source, review status and verdict.

    \b
    Example:
      curator stats --json
    """
    from curator.store.records import stats as store_stats

    settings = settings_of(ctx)
    store = open_existing(settings, read_only=True)
    result = store_stats(store)
    if as_json:
        echo_json({"db": str(settings.db), **result.to_json()})
    else:
        print_stats(str(settings.db), result)
    note_unsaved_answers(store)


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per record.")
@filter_options
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most N records.")
@db_option
@click.pass_context
def list_cmd(
    ctx: click.Context,
    as_json: bool,
    filt: RecordFilter,
    limit: int | None,
) -> None:
    """One record per line, in store order, with review status and latest verdict per judge.

    With --json the keys are stable for scripts: uid, split, context_uid, question, answer,
    answer_type, answer_from, scale, status, verdicts ({judge: verdict}). When no record
    matches, one line on stderr says so (stdout stays empty) and the exit code is 0.

    \b
    Example:
      curator list --verdict incorrect --answer-type arithmetic --limit 10
      curator list --json | jq -r 'select(.status == "pending") | .uid'
    """
    from curator.split_choice import check_splits
    from curator.store.records import iter_all

    settings = settings_of(ctx)
    store = open_existing(settings, read_only=True)
    check_splits(store, filt.splits)
    out = sys.stdout
    listed = 0
    with reader_may_leave():
        for row in iter_all(store, filt, limit=limit):
            listed += 1
            if as_json:
                out.write(safe_text.dumps(row.to_json()) + "\n")
            else:
                verdict_text = ",".join(f"{j}:{v}" for j, v in row.verdicts.items()) or "-"
                out.write(
                    f"{one_line(row.uid)}  {one_line(row.split):<5} {row.status:<8} "
                    f"{row.answer_type:<10} "
                    f"{one_line(verdict_text):<18} {one_line(cut(row.question))}  => "
                    f"{one_line(cut(answer_to_text(row.answer)))}\n"
                )
    if listed == 0 and limit != 0:
        # On stderr, so that stdout (a pipe, JSON Lines) stays empty: zero lines, zero records.
        from curator.selection import nothing_matched

        click.echo(one_line(f"nothing to list: {nothing_matched(filt)}"), err=True)


@click.command("check")
@click.option("--json", "as_json", is_flag=True)
@db_option
@click.pass_context
def check_cmd(ctx: click.Context, as_json: bool) -> None:
    """Verify the store: schema version, orphan rows, events naming unknown records.

    Opening the store also recovers a write-ahead log left by a killed process. Every value is
    read, so DuckDB verifies every block's checksum. Exit code 1 when a problem is found, 3 when
    the store is corrupt.

    \b
    Example:
      curator check --db team.duckdb
    """
    from curator.store.check import check

    settings = settings_of(ctx)
    store = open_existing(settings, read_only=True)
    version, findings, counts = check(store)
    problems = sum(f.problems for f in findings)
    if as_json:
        echo_json(
            {
                "db": str(settings.db),
                "schema_version": version,
                "ok": problems == 0,
                "checks": {f.check: f.problems for f in findings},
                "advice": {f.check: f.detail for f in findings if f.problems and f.detail},
                "rows": counts,
            }
        )
    else:
        click.echo(
            f"{one_line(str(settings.db))}: schema version {version} "
            f"(current {store.latest_version})"
        )
        for f in findings:
            mark = "ok " if f.problems == 0 else "BAD"
            click.echo(f"  {mark} {f.check}" + (f": {f.problems:,}" if f.problems else ""))
            if f.problems and f.detail:
                click.echo(f"      what to do: {f.detail}")
        click.echo("  rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        click.echo("store is whole" if problems == 0 else f"{counted(problems, 'problem')} found")
    note_unsaved_answers(store)
    if problems:
        sys.exit(1)


@click.command()
@click.option("--no-tui", is_flag=True, help="Print the summary instead of opening the TUI.")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of TAT-QA JSON files (default: the bundled sample_data/).",
)
@demo_db_option
@click.pass_context
def demo(ctx: click.Context, no_tui: bool, data: Path | None) -> None:
    """Build a store from the sample data, judge it offline and show it: the command to run first.

    Uses ./curator-demo.duckdb unless --db is given. Running it again keeps what you did.

    \b
    Example:
      curator demo --no-tui
    """
    from curator.bundled import json_files
    from curator.importing import import_into
    from curator.settings import DEMO_DB
    from curator.store.records import stats as store_stats

    db_path = given_db(ctx) or Path(DEMO_DB)
    with json_files(data) as files:
        if not files:
            raise BadInput(str(data or "the bundled sample data"), "", "no *.json files to import")
        store, summaries = import_into(db_path, files)
    for summary in summaries:
        print_import(summary)
    click.echo()
    import asyncio

    from curator.llm.passes import PassOptions, RulesJudge, run_pass
    from curator.store.records import iter_all

    result = asyncio.run(run_pass(store, RulesJudge(), PassOptions(concurrency=1)))
    click.echo(f"offline rules judge: {counted(result.progress.done, 'record')} judged")
    flagged = list(iter_all(store, RecordFilter(verdicts=("incorrect",))))
    if flagged:
        click.echo(f"  {counted(len(flagged), 'record')} the rules judge calls incorrect:")
        for row in flagged:
            click.echo(f"    {one_line(row.uid)}  {one_line(row.question[:200])[:70]}")
    if not no_tui:
        from curator.reviewers import reviewer_of

        settings = settings_of(ctx).with_db(db_path)
        review_cmds.run_tui(store, settings, reviewer_of(None, settings.reviewer), False, "rules")
        return
    click.echo()
    print_stats(str(db_path), store_stats(store))
    click.echo()
    click.echo("Next: curator --db " + one_line(str(db_path)) + " review")
