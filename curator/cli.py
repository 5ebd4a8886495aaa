"""The `curator` command line: parse arguments, call the core, print.

Start-up is kept cheap: only click and the standard library load at import time. The store
(DuckDB), rich, and later the TUI and the model SDKs are imported inside the commands that use
them, so `curator --help` costs little more than starting Python.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from curator import __version__, safe_text
from curator.domain import (
    ANSWER_SOURCES,
    ANSWER_TYPES,
    REVIEW_STATUSES,
    VERDICTS,
    CuratorError,
    ImportSummary,
    RecordFilter,
    answer_to_text,
)

if TYPE_CHECKING:
    from curator.settings import Settings
    from curator.store.db import Store

F = TypeVar("F", bound=Callable[..., Any])

# ctx.meta key (meta is one dict shared by the group's and the command's contexts).
_DB_KEY = "curator.db"


def _remember_db(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[_DB_KEY] = value


def _db_option(func: F) -> F:
    """The one declaration of `--db`: on the group and on every command that opens the store.

    Both write to the same place, so `curator --db X cmd` and `curator cmd --db X` mean the same
    (given twice, the later one wins); commands never take it as a parameter: `_settings`
    applies it.
    """
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        expose_value=False,
        callback=_remember_db,
        help="Store file (default: $CURATOR_DB, else ./curator.duckdb).",
    )(func)


def _given_db(ctx: click.Context) -> Path | None:
    """The --db given on the command line (before or after the command name), if any."""
    value: Path | None = ctx.meta.get(_DB_KEY)
    return value


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj
    return settings.with_db(_given_db(ctx))


def _echo_json(value: Any) -> None:
    click.echo(safe_text.dumps(value))


def _console(stderr: bool = False) -> Any:
    """A rich Console on the real terminal stream (its own styling must pass the stream guard);
    data printed through it goes through `safe_text.markup` first."""
    from rich.console import Console

    stream = safe_text.raw_stream(sys.stderr if stderr else sys.stdout)
    return Console(file=stream, highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="curator")
@_db_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Curate TAT-QA-style financial QA data for fine-tuning Claude on Amazon Bedrock.

    \b
    Typical session:
      curator import data/train.json --split train
      curator stats
      curator list --status pending --limit 20
    """
    from curator import settings as settings_module

    ctx.obj = settings_module.load()


# -- import ---------------------------------------------------------------------------------


@contextmanager
def _import_progress(files: list[Path]) -> Iterator[Callable[[Path, str, float], None] | None]:
    """A rich progress bar on stderr, one task per file; nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
    ) as bar:
        names = {path: safe_text.markup(path.name) for path in files}
        tasks = {path: bar.add_task(f"{names[path]}: waiting", total=1.0) for path in files}

        def update(path: Path, stage: str, fraction: float) -> None:
            bar.update(tasks[path], completed=fraction, description=f"{names[path]}: {stage}")

        yield update


def _print_import(summary: ImportSummary) -> None:
    name = safe_text.one_line(summary.source)
    click.echo(
        f"{name} (split {safe_text.shown(summary.split)}): {summary.contexts:,} contexts, "
        f"{summary.questions:,} questions"
    )
    click.echo(
        f"  new {summary.new_records:,} · changed {summary.changed_records:,} · "
        f"unchanged {summary.unchanged_records:,} · duplicates skipped "
        f"{summary.duplicates_skipped:,} · new contexts {summary.new_contexts:,} · "
        f"changed contexts {summary.changed_contexts:,}"
    )
    click.echo(
        "  "
        + safe_text.one_line(" · ".join(f"{t} {n:,}" for t, n in summary.by_answer_type.items()))
    )
    if summary.near_duplicate_contexts:
        click.echo(
            f"  near-duplicates of stored contexts: {summary.near_duplicate_contexts:,} "
            "(same figures under another uid; `curator leaks` lists them)"
        )
    if summary.changed_records:
        click.echo(
            f"  {summary.changed_records:,} records changed since the last import; their "
            f"review history is kept ({summary.reviewed_changed:,} had been reviewed). "
            "The previous versions are kept in the store."
        )
        for change in summary.changes:
            click.echo(
                f"    {safe_text.one_line(change.uid)}: {safe_text.one_line(change.field)}: "
                f"{safe_text.shown(change.old)} -> {safe_text.shown(change.new)}"
            )
        if summary.changed_records and len({c.uid for c in summary.changes}) < (
            summary.changed_records
        ):
            click.echo("    …")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "--split",
    default=None,
    help="Split name for these records (default: from the file name, e.g. dev, test; else train).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_db_option
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
    from curator.store.db import Store, remove_store_files
    from curator.store.importer import import_files
    from curator.tatqa import default_split

    settings = _settings(ctx)
    existed = settings.db.exists()
    pairs = [(path, split or default_split(path)) for path in files]
    store = Store.open(settings.db, create=True)
    try:
        with _import_progress(list(files)) as progress:
            summaries = import_files(store, pairs, progress=progress)
    except BaseException:
        if not existed:
            remove_store_files(settings.db)
        raise
    if as_json:
        _echo_json({"db": str(settings.db), "files": [s.to_json() for s in summaries]})
        return
    for summary in summaries:
        _print_import(summary)
    click.echo(f"store: {safe_text.one_line(str(settings.db))}")


# -- stats ----------------------------------------------------------------------------------


def _open_existing(settings: Settings, *, read_only: bool = False) -> Store:
    """The store of `settings`; reading commands open it read-only (works on read-only media)."""
    from curator.store.db import Store

    return Store.open(settings.db, read_only=read_only)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@_db_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts by split, answer type, answer source, review status and verdict.

    \b
    Example:
      curator stats --json
    """
    from curator.store.records import stats as store_stats

    settings = _settings(ctx)
    result = store_stats(_open_existing(settings, read_only=True))
    if as_json:
        _echo_json({"db": str(settings.db), **result.to_json()})
        return
    _print_stats(str(settings.db), result)


def _print_stats(db: str, result: Any) -> None:
    from rich.table import Table

    console = _console()
    console.print(
        f"[b]{safe_text.markup(db)}[/b]: {result.records:,} records in "
        f"{result.contexts:,} contexts from {result.imports:,} imports"
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("group", "value", "records"):
        table.add_column(column, justify="right" if column == "records" else "left")
    for group, counts in (
        ("split", result.splits),
        ("answer type", result.answer_types),
        ("answer source", result.answer_sources),
        ("review status", result.statuses),
    ):
        for value, n in counts.items():
            table.add_row(group, safe_text.markup(value), f"{n:,}")
            group = ""
    if not result.verdicts:
        table.add_row("verdicts", "(no judge has run)", "")
    for judge, counts in result.verdicts.items():
        group = f"judge {safe_text.markup(judge)}"
        for verdict, n in counts.items():
            table.add_row(group, safe_text.markup(verdict), f"{n:,}")
            group = ""
    console.print(table)


# -- leaks ----------------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per pair.")
@click.option("--split", "splits", multiple=True, help="Only pairs within these splits (repeat).")
@click.option("--across", is_flag=True, help="Only pairs whose two sides are in different splits.")
@click.option(
    "--threshold", type=float, default=None, help="Lowest score to list (default 0.8; 0-1]."
)
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True)
@_db_option
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

    settings = _settings(ctx)
    store = _open_existing(settings)
    report = find_leaks(
        store,
        splits=splits,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        across_only=across,
    )
    if as_json:
        for obj in report.json_lines():
            click.echo(safe_text.dumps(obj))
        return
    import shutil

    width = max(80, shutil.get_terminal_size((160, 24)).columns)
    for text in listing(store, report, top=top, width=width):
        click.echo(text)


# -- list -----------------------------------------------------------------------------------


def _filter_options(func: F) -> F:
    """--status/--verdict/--answer-type/--answer-from/--split, shared by list, judge and export."""
    options = [
        click.option(
            "--status",
            "statuses",
            multiple=True,
            type=click.Choice(REVIEW_STATUSES),
            help="Review status. Repeatable.",
        ),
        click.option(
            "--verdict",
            "verdicts",
            multiple=True,
            type=click.Choice((*VERDICTS, "none")),
            help="Any judge's latest verdict; 'none' = not judged yet. Repeatable.",
        ),
        click.option(
            "--answer-type",
            "answer_types",
            multiple=True,
            type=click.Choice(ANSWER_TYPES),
            help="Repeatable.",
        ),
        click.option(
            "--answer-from",
            "answer_sources",
            multiple=True,
            type=click.Choice(ANSWER_SOURCES),
            help="Repeatable.",
        ),
        click.option("--split", "splits", multiple=True, help="Repeatable."),
        click.option(
            "--conflicts", is_flag=True, help="Only records whose reviewers' decisions differ."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _record_filter(
    statuses: tuple[str, ...],
    verdicts: tuple[str, ...],
    answer_types: tuple[str, ...],
    answer_sources: tuple[str, ...],
    splits: tuple[str, ...],
    conflicts: bool = False,
) -> RecordFilter:
    return RecordFilter(
        statuses=statuses,
        verdicts=verdicts,
        answer_types=answer_types,
        answer_sources=answer_sources,
        splits=splits,
        conflicts=conflicts,
    )


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per record.")
@_filter_options
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most N records.")
@_db_option
@click.pass_context
def list_cmd(
    ctx: click.Context,
    as_json: bool,
    statuses: tuple[str, ...],
    verdicts: tuple[str, ...],
    answer_types: tuple[str, ...],
    answer_sources: tuple[str, ...],
    splits: tuple[str, ...],
    conflicts: bool,
    limit: int | None,
) -> None:
    """One record per line, in store order, with review status and latest verdict per judge.

    With --json the keys are stable for scripts: uid, split, context_uid, question, answer,
    answer_type, answer_from, scale, status, verdicts ({judge: verdict}).

    \b
    Example:
      curator list --verdict incorrect --answer-type arithmetic --limit 10
      curator list --json | jq -r 'select(.status == "pending") | .uid'
    """
    from curator.store.records import iter_all

    settings = _settings(ctx)
    filt = _record_filter(statuses, verdicts, answer_types, answer_sources, splits, conflicts)
    store = _open_existing(settings, read_only=True)
    out = sys.stdout
    try:
        for row in iter_all(store, filt, limit=limit):
            if as_json:
                out.write(safe_text.dumps(row.to_json()) + "\n")
            else:
                verdict_text = ",".join(f"{j}:{v}" for j, v in row.verdicts.items()) or "-"
                out.write(
                    f"{_one_line(row.uid)}  {_one_line(row.split):<5} {row.status:<8} "
                    f"{row.answer_type:<10} "
                    f"{_one_line(verdict_text):<18} {_one_line(_cut(row.question))}  => "
                    f"{_one_line(_cut(answer_to_text(row.answer)))}\n"
                )
    except BrokenPipeError:
        # `curator list | head` closes the pipe early: not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _cut(text: str) -> str:
    """A long field cut for a one-line listing (`--json` has it whole)."""
    return safe_text.clip(text, 300)


def _one_line(text: str) -> str:
    """Collapse whitespace and make control characters visible, so one record is one line."""
    return safe_text.one_line(text)


# -- judge ----------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--judge",
    "judge_name",
    type=click.Choice(("rules", "anthropic", "bedrock")),
    default=None,
    help="Default: [judge] backend from the config, else anthropic when ANTHROPIC_API_KEY is set, "
    "else the offline rules judge.",
)
@click.option("--model", default=None, help="Model id (default from config; a current Sonnet).")
@click.option("--region", default=None, help="AWS region for --judge bedrock.")
@click.option("--base-url", default=None, help="Anthropic API base URL (default: the SDK's).")
@click.option("--endpoint-url", default=None, help="Bedrock runtime endpoint URL.")
@_filter_options
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N records.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Calls at once.")
@click.option("--rejudge", is_flag=True, help="Judge again records that already have a verdict.")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be sent and its cost; call nothing."
)
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, help="Stop at USD.")
@click.option(
    "--batch", is_flag=True, help="Use the Message Batches API / Bedrock batch inference."
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=None,
    help="With --batch: wait up to SECONDS for submitted batches and collect them.",
)
@click.option(
    "--prompt",
    "prompt_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Judge prompt file: system text, a line ---, then a user turn with "
    "{context} {question} {answer}.",
)
@click.option(
    "--table-format", type=click.Choice(("markdown", "html", "json", "latex")), default=None
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_db_option
@click.pass_context
def judge(
    ctx: click.Context,
    judge_name: str | None,
    model: str | None,
    region: str | None,
    base_url: str | None,
    endpoint_url: str | None,
    statuses: tuple[str, ...],
    verdicts: tuple[str, ...],
    answer_types: tuple[str, ...],
    answer_sources: tuple[str, ...],
    splits: tuple[str, ...],
    conflicts: bool,
    limit: int | None,
    concurrency: int | None,
    rejudge: bool,
    dry_run: bool,
    max_cost: float | None,
    batch: bool,
    wait: float | None,
    prompt_file: Path | None,
    table_format: str | None,
    as_json: bool,
) -> None:
    """Give records a verdict (correct / incorrect / uncertain) with a short reason.

    Resumable: records that already have a verdict from the same judge, model, prompt and
    record version are skipped, so a pass stopped at any moment continues where it was.

    \b
    Examples:
      curator judge                                   # offline rules judge, no key needed
      curator judge --judge anthropic --dry-run       # records, tokens and cost; no calls
      curator judge --judge anthropic --max-cost 5 --concurrency 16
      curator judge --judge bedrock --region us-east-1 --verdict uncertain
      curator judge --judge anthropic --batch         # submit; run again to collect
    """
    from curator.judges.factory import (
        JudgeChoice,
        default_judge,
        make_judge,
        price_warning,
        require_price_for_cap,
    )
    from curator.models import judge_setting

    settings = _settings(ctx)
    store = _open_existing(settings)
    name = judge_name or default_judge(settings.sections)
    conc = concurrency or int(judge_setting(settings.sections, "concurrency", 8))
    choice = JudgeChoice(
        name=name,
        model=model,
        region=region,
        base_url=base_url,
        endpoint_url=endpoint_url,
        prompt_file=prompt_file,
        table_format=table_format,
        concurrency=conc,
    )
    filt = _record_filter(statuses, verdicts, answer_types, answer_sources, splits, conflicts)
    judge_obj = make_judge(choice, settings.sections)
    if not dry_run:
        require_price_for_cap(judge_obj, max_cost)
    warning = price_warning(judge_obj)
    if warning:
        click.echo(_one_line(warning), err=True)
    from curator.judges.runner import PassOptions

    options = PassOptions(
        filt=filt, limit=limit, concurrency=conc, max_cost=max_cost, rejudge=rejudge
    )
    if dry_run:
        _judge_dry_run(store, judge_obj, options, as_json)
        return
    if batch:
        from curator.judges.batch import run_batch

        if name == "rules":
            raise CuratorError("--batch needs --judge anthropic or --judge bedrock")
        summary = run_batch(
            store,
            judge_obj,
            options,
            sections=settings.sections,
            echo=(lambda _m: None) if as_json else (lambda m: click.echo(_one_line(m))),
            wait=wait,
        )
        if as_json:
            _echo_json(summary)
        else:
            click.echo(
                f"batch: submitted {summary['submitted']:,} records; collected "
                + (", ".join(f"{k} {v:,}" for k, v in summary["collected"].items()) or "nothing")
            )
        return
    _judge_live(store, judge_obj, options, as_json)


def _judge_dry_run(store: Store, judge_obj: Any, options: Any, as_json: bool) -> None:
    from curator.judges.runner import estimate_pass

    estimate = estimate_pass(store, judge_obj, options)
    key = judge_obj.key
    # An LLM judge without a price estimates "unknown", never a misleading $0.
    priced = getattr(judge_obj, "backend", None) is None or judge_obj.price is not None
    if as_json:
        _echo_json(
            {
                "judge": key.judge,
                "model": key.model,
                "prompt_hash": key.prompt_hash,
                "records": estimate.records,
                "input_tokens": estimate.input_tokens,
                "output_tokens": estimate.output_tokens,
                "cost_usd": round(estimate.cost_usd, 6) if priced else None,
                "uids": [item.uid for item in estimate.sample],
            }
        )
        return
    click.echo(
        _one_line(f"dry run: judge {key.judge}, model {key.model}, prompt {key.prompt_hash}")
    )
    for item in estimate.sample:
        click.echo(f"  {_one_line(item.uid)}  {_one_line(item.question[:200])[:90]}")
    if estimate.records > len(estimate.sample):
        click.echo(f"  … and {estimate.records - len(estimate.sample):,} more")
    click.echo(
        f"{estimate.records:,} records · ~{estimate.input_tokens:,} input tokens · "
        f"~{estimate.output_tokens:,} output tokens · "
        + (
            f"estimated ${estimate.cost_usd:,.4f} (before prompt caching)"
            if priced
            else "cost unknown (no price for this model)"
        )
    )


def _judge_live(store: Store, judge_obj: Any, options: Any, as_json: bool) -> None:
    import asyncio

    from curator.judges.runner import run_pass
    from curator.store.verdicts import run_summary

    with _judge_progress(judge_obj.key) as on_progress:
        result = asyncio.run(run_pass(store, judge_obj, options, on_progress=on_progress))
    summary = run_summary(store, result.run_id)
    payload = {
        "run_id": result.run_id,
        "judge": result.key.judge,
        "model": result.key.model,
        "prompt_hash": result.key.prompt_hash,
        "judged": result.progress.done,
        "stopped_for_cost": result.stopped_for_cost,
        **summary,
    }
    if as_json:
        _echo_json(payload)
        _fail_if_every_call_failed(store, result.run_id, summary["verdicts"])
        return
    counts = " · ".join(f"{v} {n:,}" for v, n in sorted(summary["verdicts"].items())) or "nothing"
    click.echo(
        _one_line(f"judge {result.key.judge} ({result.key.model}): ")
        + f"{result.progress.done:,} records judged — {_one_line(counts)}"
    )
    if summary["input_tokens"] or summary["cost_usd"]:
        click.echo(
            f"  tokens in {summary['input_tokens']:,} (cache reads "
            f"{summary['cache_read_tokens']:,}) · out {summary['output_tokens']:,} · "
            f"cost ${summary['cost_usd']:,.4f}"
        )
    if result.stopped_for_cost:
        click.echo("  stopped: --max-cost reached; run again with a higher cap to continue")
    if result.progress.total == 0:
        click.echo("  nothing to do: every selected record already has a verdict from this judge")
    _fail_if_every_call_failed(store, result.run_id, summary["verdicts"])


def _fail_if_every_call_failed(store: Store, run_id: str, verdicts: dict[str, int]) -> None:
    """A pass in which no call succeeded is a failure (exit 3), not a success with errors."""
    from curator.domain import EnvironmentFailure
    from curator.store.verdicts import first_error

    failed = verdicts.get("error", 0)
    if failed and failed == sum(verdicts.values()):
        raise EnvironmentFailure(
            f"every call failed ({failed:,} records; their verdicts are 'error' and the next "
            f"pass retries them); first error: {first_error(store, run_id)}"
        )


@contextmanager
def _judge_progress(key: Any) -> Iterator[Callable[[Any], None] | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(f"judge {safe_text.markup(key.judge)}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.1f}/s"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[tokens]} tok · ${task.fields[cost]:.4f} · {task.fields[counts]}"),
        console=_console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("judge", total=None, rate=0.0, tokens=0, cost=0.0, counts="")

        def update(p: Any) -> None:
            counts = safe_text.markup(" ".join(f"{v}:{n}" for v, n in sorted(p.verdicts.items())))
            bar.update(
                task,
                total=p.total,
                completed=p.done,
                rate=p.rate,
                tokens=p.input_tokens + p.output_tokens,
                cost=p.cost_usd,
                counts=counts,
            )

        yield update


# -- review ---------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--judge",
    "judge_name",
    type=click.Choice(("rules", "anthropic", "bedrock")),
    required=True,
    help="The judge to calibrate.",
)
@click.option(
    "--assume-gold",
    "assume_gold",
    default=None,
    metavar="SPLIT",
    help="Corrupt this whole split, taken as right (default: records people accepted or edited).",
)
@click.option("--target", type=click.FloatRange(0, 1), default=0.02, help="Acceptable error rate.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Judge at most N corrupted copies (a random sample; bounds an LLM judge's cost).",
)
@click.option("--seed", type=int, default=7, help="Seed for corruptions and the bootstrap.")
@click.option("--model", default=None, help="Model id for an LLM judge (default from config).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_db_option
@click.pass_context
def calibrate(
    ctx: click.Context,
    judge_name: str,
    assume_gold: str | None,
    target: float,
    limit: int | None,
    seed: int,
    model: str | None,
    as_json: bool,
) -> None:
    """How far a judge can be trusted: corruptions caught, agreement with people, a policy.

    \b
    Examples:
      curator calibrate --judge rules --assume-gold dev
      curator calibrate --judge anthropic --limit 200 --json
    """
    from curator.judges import calibrate as cal
    from curator.judges.factory import JudgeChoice, make_judge

    settings = _settings(ctx)
    store = _open_existing(settings)
    if judge_name == "rules":
        verdicts: Any = cal.rules_verdicts
    else:
        judge_obj = make_judge(JudgeChoice(name=judge_name, model=model), settings.sections)
        verdicts = cal.judge_verdicts(judge_obj)
    report = cal.calibrate(
        store, judge_name, verdicts, assume_gold=assume_gold, target=target, seed=seed, limit=limit
    )
    if as_json:
        _echo_json(report)
        return
    for line in cal.report_lines(report):
        click.echo(line)


@cli.command()
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
    type=click.Choice(("rules", "anthropic", "bedrock")),
    default=None,
    help="Judge for J (judge this record now); default as for `curator judge`.",
)
@_db_option
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
    settings = _settings(ctx)
    store = _open_existing(settings)
    shard_pair = None
    if shard is not None:
        match = re.fullmatch(r"(\d+)/(\d+)", shard.strip())
        if not match:
            raise CuratorError(f"--shard {shard!r}: expected K/N, for example 2/3")
        shard_pair = (int(match.group(1)), int(match.group(2)))
        RecordFilter(shard=shard_pair, overlap=overlap).validate()
    _run_tui(store, settings, reviewer or settings.reviewer, blind, judge_name, shard_pair, overlap)


def _run_tui(
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
        sections=settings.sections,
        shard=shard,
        overlap=overlap,
    )
    app.run()


# -- export, validate, finetune ---------------------------------------------------------------


@cli.command("export")
@click.argument("destination")
@click.option(
    "--target",
    type=click.Choice(("bedrock-claude", "bedrock-nova", "openai-chat")),
    default="bedrock-claude",
    show_default=True,
)
@click.option(
    "--table-format",
    type=click.Choice(("markdown", "html", "json", "latex")),
    default="markdown",
    show_default=True,
)
@click.option(
    "--system-prompt",
    "system_prompt_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the system prompt (default: a financial-analyst prompt).",
)
@click.option("--rationale", is_flag=True, help="Assistant gives <rationale> then <answer>.")
@click.option(
    "--validation-fraction", type=click.FloatRange(0, 0.9), default=0.1, show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-train", type=click.IntRange(min=1), default=None)
@click.option("--max-validation", type=click.IntRange(min=0), default=None)
@click.option(
    "--include-judged-correct",
    "judged",
    default=None,
    metavar="JUDGE[+JUDGE...]",
    help="Also export unreviewed records that JUDGE calls correct; with a panel such as "
    "rules+anthropic, only those every listed judge calls correct.",
)
@click.option(
    "--audit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Queue a stratified random sample of N exported records no person reviewed (the TUI's "
    "audit filter); re-export once they are reviewed for the manifest's error estimate.",
)
@click.option("--split", "splits", multiple=True, help="Only these splits. Repeatable.")
@click.option("--answer-type", "answer_types", multiple=True, type=click.Choice(ANSWER_TYPES))
@click.option(
    "--exclude-overlap-with",
    "exclude_overlap",
    default=None,
    metavar="SPLIT",
    help="Drop records whose table or question reappears in SPLIT (e.g. keep test clean).",
)
@click.option("--region", default=None, help="AWS region for an s3:// destination.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@_db_option
@click.pass_context
def export_cmd(
    ctx: click.Context,
    destination: str,
    target: str,
    table_format: str,
    system_prompt_file: Path | None,
    rationale: bool,
    validation_fraction: float,
    seed: int,
    max_train: int | None,
    max_validation: int | None,
    judged: str | None,
    audit: int | None,
    splits: tuple[str, ...],
    answer_types: tuple[str, ...],
    exclude_overlap: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Write accepted and edited records as train/validation JSONL plus manifest.json.

    Split by context (no table in both), stratified by answer type, byte-identical for the same
    store, options and --seed. Every line is checked against the target before the files are
    kept. DESTINATION is a folder or s3://bucket/prefix.

    \b
    Examples:
      curator export out/
      curator export out/ --target bedrock-nova --table-format html --rationale
      curator export s3://my-bucket/tatqa/v3 --include-judged-correct anthropic
    """
    from curator.export.run import ExportOptions, export
    from curator.prompts import DEFAULT_SYSTEM_PROMPT

    settings = _settings(ctx)
    # Only --audit writes (its sample); the near-duplicate search works on a read-only store.
    store = _open_existing(settings, read_only=not audit)
    system = DEFAULT_SYSTEM_PROMPT
    if system_prompt_file is not None:
        try:
            system = system_prompt_file.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CuratorError(f"{system_prompt_file}: cannot read: {exc}") from exc
        if not system:
            raise CuratorError(f"{system_prompt_file}: the system prompt is empty")
    options = ExportOptions(
        target=target,
        table_format=table_format,
        system_prompt=system,
        system_prompt_file=str(system_prompt_file) if system_prompt_file else None,
        rationale=rationale,
        validation_fraction=validation_fraction,
        seed=seed,
        max_train=max_train,
        max_validation=max_validation,
        include_judged_correct=judged,
        filt=RecordFilter(splits=splits, answer_types=answer_types),
        audit=audit,
        exclude_overlap_with=exclude_overlap,
    )
    if destination.startswith("s3://"):
        from curator.export.atomic import local_scratch
        from curator.export.finetune import upload_export

        with local_scratch() as tmp:
            manifest = export(store, tmp / "export", options)
            uploaded = upload_export(tmp / "export", destination, region=region)
        manifest["uploaded"] = uploaded
    else:
        manifest = export(store, Path(destination), options)
    if as_json:
        _echo_json(manifest)
        return
    train = manifest["splits"]["train"]
    validation = manifest["splits"]["validation"]
    click.echo(
        f"{target}: train {train['records']:,} records ({train['contexts']:,} contexts), "
        f"validation {validation['records']:,} ({validation['contexts']:,} contexts) -> "
        f"{_one_line(destination)}"
    )
    for name, info in manifest["files"].items():
        click.echo(f"  {_one_line(name)}: {info['bytes']:,} bytes, sha256 {info['sha256'][:16]}…")
    _print_export_leaks(manifest.get("leaks", {}))
    hp = manifest["hyperparameters"]
    click.echo(
        "  recommended: "
        + ", ".join(f"{k}={v['value']}" for k, v in hp.items())
        + " (reasons in manifest.json)"
    )
    from curator.export.audit import audit_line

    click.echo("  " + audit_line(manifest["audit"]))


def _print_export_leaks(leaks: dict[str, Any]) -> None:
    click.echo(
        f"  near-duplicate tables kept on one side: {leaks.get('near_duplicate_clusters', 0):,} "
        f"clusters; pairs across train/validation: {leaks.get('cross_split_pairs', 0):,}"
    )
    dropped = leaks.get("dropped")
    if dropped is not None:
        click.echo(
            f"  dropped {dropped['records']:,} records overlapping split "
            f"{leaks['exclude_overlap_with']!r}: {dropped['in_split']:,} in it, "
            f"{dropped['near_duplicate_table']:,} with a near-duplicate table, "
            f"{dropped['repeated_question']:,} with a repeated question"
        )


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--target",
    type=click.Choice(("bedrock-claude", "bedrock-nova", "openai-chat")),
    default="bedrock-claude",
    show_default=True,
)
@click.option(
    "--kind",
    type=click.Choice(("train", "validation")),
    default=None,
    help="Which limits apply (default: validation when the file name says so).",
)
def validate(files: tuple[Path, ...], target: str, kind: str | None) -> None:
    """Check JSONL files (or export folders) against a target; print every problem with its line.

    Record counts follow AWS's validators (for bedrock-claude, Claude 3 Haiku: 32-10,000
    training and 32-1,000 validation records; bedrock-nova: 8-20,000 each); files given together
    are also checked against the target's total. When a manifest.json sits beside the files,
    their sizes, sha256 and line counts must match it. Exit code 1 when any problem is found.

    \b
    Example:
      curator validate out/train.jsonl out/validation.jsonl --target bedrock-claude
    """
    from curator.export.run import export_files, manifest_problems, validate_files

    paths = export_files(files)
    problems = validate_files(paths, target, kind)
    problems += manifest_problems(paths)
    for problem in problems:
        click.echo(safe_text.error_line(problem))
    if problems:
        click.echo(f"{len(problems):,} problems", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(paths)} file(s) valid for {target}")


@cli.group()
def finetune() -> None:
    """Start and follow a Bedrock fine-tuning job from an export."""


@finetune.command("start")
@click.option("--export-dir", type=click.Path(file_okay=False, path_type=Path), default="out")
@click.option("--s3", "s3_uri", required=True, help="s3://bucket/prefix for data and output.")
@click.option("--role-arn", required=True, help="IAM role Bedrock assumes to read the data.")
@click.option(
    "--base-model",
    default=None,
    help="Default: the export target's (Claude 3 Haiku, or Nova Lite for bedrock-nova).",
)
@click.option("--name", default=None, help="Job name (default: curator-<date>-<time>).")
@click.option("--region", default=None)
@click.pass_context
def finetune_start(
    ctx: click.Context,
    export_dir: Path,
    s3_uri: str,
    role_arn: str,
    base_model: str | None,
    name: str | None,
    region: str | None,
) -> None:
    """Upload an export and start a model customization job with its hyperparameters.

    \b
    Example:
      curator finetune start --export-dir out --s3 s3://bucket/tatqa \\
          --role-arn arn:aws:iam::123456789012:role/BedrockFineTune
    """
    import datetime

    from curator.export.finetune import configured_base_model, start_job

    settings: Settings = ctx.find_root().obj
    model = base_model or configured_base_model(export_dir, settings.sections)
    job_name = name or datetime.datetime.now().strftime("curator-%Y%m%d-%H%M%S")
    result = start_job(
        export_dir, s3_uri, role_arn=role_arn, name=job_name, base_model=model, region=region
    )
    click.echo(_one_line(f"started {job_name}: {result['jobArn']}"))
    click.echo(_one_line(f"base model: {result['request']['baseModelIdentifier']}"))
    click.echo("hyperparameters: " + safe_text.dumps(result["request"]["hyperParameters"]))
    click.echo(_one_line(f"follow it with: curator finetune status {job_name}"))


@finetune.command("status")
@click.argument("name")
@click.option("--region", default=None)
@click.option("--json", "as_json", is_flag=True)
def finetune_status(name: str, region: str | None, as_json: bool) -> None:
    """Status and losses of a fine-tuning job."""
    from curator.export.finetune import job_status

    status = job_status(name, region=region)
    if as_json:
        _echo_json(status)
        return
    for key, value in status.items():
        if value not in (None, [], {}):
            click.echo(_one_line(f"{key}: {value}"))


# -- predict, eval ----------------------------------------------------------------------------


@cli.command()
@click.option("--backend", type=click.Choice(("anthropic", "bedrock")), default=None)
@click.option("--model", default=None, help="Model id, or a Bedrock custom model / ARN.")
@click.option("--split", "splits", multiple=True, help="Splits to answer (default: all).")
@click.option("--name", "run", default=None, help="Run name (default: the model id).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option(
    "--from-manifest",
    "manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Export manifest: use its system prompt and table format.",
)
@click.option("--region", default=None)
@click.option("--base-url", default=None)
@click.option("--endpoint-url", default=None)
@click.option(
    "--import",
    "import_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Load answers made elsewhere: the official TAT-QA {uid: [answer, scale]}, "
    '{uid: "text"}, or JSON Lines {"uid", "answer", "scale"}.',
)
@click.option("--json", "as_json", is_flag=True)
@_db_option
@click.pass_context
def predict(
    ctx: click.Context,
    backend: str | None,
    model: str | None,
    splits: tuple[str, ...],
    run: str | None,
    concurrency: int,
    limit: int | None,
    manifest: Path | None,
    region: str | None,
    base_url: str | None,
    endpoint_url: str | None,
    import_file: Path | None,
    as_json: bool,
) -> None:
    """Answer records with a model (same prompt as the export) or import answers, as a run.

    Resumable: running it again answers only what the run is missing.

    \b
    Examples:
      curator predict --backend anthropic --model claude-haiku-4-5 --split validation --name base
      curator predict --backend bedrock --model arn:aws:bedrock:...:provisioned-model/abc \\
          --from-manifest out/manifest.json --split validation --name ft
      curator predict --import answers.jsonl --name vendor
    """
    import asyncio

    from curator.predict import check_run_name

    settings = _settings(ctx)
    store = _open_existing(settings)
    if import_file is not None:
        from curator.predict import import_predictions

        if not run:
            raise CuratorError("--import needs --name RUN")
        n = import_predictions(store, import_file, check_run_name(run))
        if as_json:
            _echo_json({"run": run, "imported": n})
        else:
            click.echo(_one_line(f"run {run!r}: imported {n:,} answers from {import_file}"))
        return
    if backend is None:
        raise CuratorError("choose --backend anthropic|bedrock (or --import FILE)")
    from curator.judges.factory import JudgeChoice, resolved_model
    from curator.judges.runner import PassOptions, run_pass
    from curator.models import price_for
    from curator.predict import PredictionSource, Predictor, prompt_settings
    from curator.store.predictions import ensure_run

    choice = JudgeChoice(
        backend,
        model=model,
        region=region,
        base_url=base_url,
        endpoint_url=endpoint_url,
        concurrency=concurrency,
    )
    model_id = resolved_model(choice, settings.sections)
    system, table_format = prompt_settings(manifest)
    name = check_run_name(run or re.sub(r"[^\w.-]+", "-", model_id)[-60:].strip("-") or "run")
    backend_obj = _make_backend(choice, model_id, settings.sections)
    predictor = Predictor(
        backend_obj,
        price=price_for(model_id, settings.sections),
        system=system,
        table_format=table_format,
    )
    ensure_run(
        store,
        name,
        source="model",
        backend=backend,
        model=model_id,
        prompt_hash=predictor.key.prompt_hash,
        options={"table_format": table_format, "manifest": str(manifest) if manifest else None},
    )
    filt = RecordFilter(splits=splits)
    with _judge_progress(predictor.key) as on_progress:
        result = asyncio.run(
            run_pass(
                store,
                predictor,
                PassOptions(filt=filt, limit=limit, concurrency=concurrency),
                on_progress=on_progress,
                source=PredictionSource(store, name, filt),
            )
        )
    p = result.progress
    payload = {
        "run": name,
        "model": model_id,
        "answered": p.verdicts.get("answered", 0),
        "errors": p.verdicts.get("error", 0),
        "cost_usd": round(p.cost_usd, 6),
        "output_tokens": p.output_tokens,
    }
    if as_json:
        _echo_json(payload)
    else:
        click.echo(
            f"run {name!r} ({_one_line(model_id)}): {payload['answered']:,} answered, "
            f"{payload['errors']:,} errors, {p.output_tokens:,} output tokens, "
            f"${p.cost_usd:,.4f}"
        )
    if payload["errors"] and not payload["answered"]:
        from curator.domain import EnvironmentFailure

        raise EnvironmentFailure(
            f"every call failed ({payload['errors']:,} records; the next run retries them)"
        )


def _make_backend(choice: Any, model_id: str, sections: dict[str, Any]) -> Any:
    from curator.models import price_for

    price = price_for(model_id, sections)
    cache_min = price.cache_min_tokens if price else 1024
    if choice.name == "anthropic":
        from curator.judges.llm import AnthropicBackend

        return AnthropicBackend(
            model_id,
            base_url=choice.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
            cache_min_tokens=cache_min,
        )
    from curator.judges.factory import resolved_region
    from curator.judges.llm import BedrockBackend

    return BedrockBackend(
        model_id,
        region=resolved_region(choice, sections),
        endpoint_url=choice.endpoint_url,
        concurrency=choice.concurrency,
        cache_min_tokens=cache_min,
    )


@cli.command("eval")
@click.argument("runs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a PNG histogram of output tokens per run.",
)
@click.option(
    "--per-question",
    "per_question",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one JSON line per question and run: uid, type, gold, prediction, em, f1, scale.",
)
@click.option(
    "--split",
    "splits",
    multiple=True,
    help="Score the questions of these splits (default: the splits the run answered in).",
)
@_db_option
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    runs: tuple[str, ...],
    as_json: bool,
    plot: Path | None,
    per_question: Path | None,
    splits: tuple[str, ...],
) -> None:
    """Score runs against the curated answers: token F1, TAT-QA EM/F1/scale, output tokens.

    TAT-QA scores are the official script's, question by question; a question of the scored
    splits without an answer scores 0. The first run is the baseline of the "vs base" columns.
    Gold is the curated answer (the edit when edited); rejected records are left out and counted.

    \b
    Example:
      curator eval base ft --plot tokens.png --per-question questions.jsonl
    """
    from curator.evaluate import histogram, reduction, report, write_per_question
    from curator.store.predictions import scored_rows

    settings = _settings(ctx)
    store = _open_existing(settings, read_only=True)
    reports = []
    for run in runs:
        rows, rejected = scored_rows(store, run, splits)
        reports.append(report(run, rows, rejected))
    if plot is not None:
        _plot(reports, plot)
    if per_question is not None:
        write_per_question(reports, per_question)
    if as_json:
        base = reports[0]
        _echo_json(
            {
                "runs": [r.to_json() for r in reports],
                "vs_base": {
                    r.run: {
                        "token_f1": round(r.token_f1 - base.token_f1, 2),
                        "tatqa_f1": round((r.f1 - base.f1) * 100, 2),
                        "output_tokens_reduction_pct": round(
                            reduction(base.tokens.mean, r.tokens.mean), 2
                        ),
                    }
                    for r in reports[1:]
                },
            }
        )
        return
    from rich.table import Table

    console = _console()
    table = Table(title="Evaluation (gold = curated answers)", title_justify="left")
    for col in ("metric", *runs):
        table.add_column(safe_text.markup(col), justify="left" if col == "metric" else "right")
    base = reports[0]

    def row(name: str, values: list[str]) -> None:
        table.add_row(name, *values)

    row("records scored", [f"{r.records:,}" for r in reports])
    row("answered", [f"{r.answered:,}" for r in reports])
    row("rejected, left out", [f"{r.rejected_left_out:,}" for r in reports])
    row("token F1 (post)", [f"{r.token_f1:.2f}" for r in reports])
    row("  vs base", ["—"] + [f"{r.token_f1 - base.token_f1:+.2f}" for r in reports[1:]])
    row("TAT-QA EM", [f"{r.em * 100:.2f}" for r in reports])
    row("TAT-QA F1", [f"{r.f1 * 100:.2f}" for r in reports])
    row("  vs base", ["—"] + [f"{(r.f1 - base.f1) * 100:+.2f}" for r in reports[1:]])
    row("TAT-QA scale score", [f"{r.scale_accuracy * 100:.2f}" for r in reports])
    row("output tokens: mean", [f"{r.tokens.mean:.1f}" for r in reports])
    row(
        "  vs base",
        ["—"] + [f"{-reduction(base.tokens.mean, r.tokens.mean):+.1f}%" for r in reports[1:]],
    )
    row("  median", [f"{r.tokens.median:.1f}" for r in reports])
    row("  std dev", [f"{r.tokens.stdev:.1f}" for r in reports])
    row("  min / max", [f"{r.tokens.minimum} / {r.tokens.maximum}" for r in reports])
    console.print(table)
    kinds = sorted({k for r in reports for k in r.by_answer_type})
    by_type = Table(title="TAT-QA F1 by answer type", title_justify="left")
    by_type.add_column("answer type")
    for r in reports:
        by_type.add_column(safe_text.markup(r.run), justify="right")
    for kind in kinds:
        by_type.add_row(
            safe_text.markup(kind),
            *[f"{r.by_answer_type.get(kind, {}).get('f1', 0):.2f}" for r in reports],
        )
    console.print(by_type)
    for r in reports:
        pivot = Table(
            title=f"{safe_text.markup(r.run)}: TAT-QA EM / F1 by answer type and source",
            title_justify="left",
        )
        sources = sorted({f for inner in r.by_type_and_from.values() for f in inner})
        pivot.add_column("answer type")
        for source in sources:
            pivot.add_column(safe_text.markup(source), justify="right")
        for kind, inner in r.by_type_and_from.items():
            cells = [inner.get(f) for f in sources]
            pivot.add_row(
                safe_text.markup(kind),
                *[f"{c['em']:.2f} / {c['f1']:.2f}" if c else "-" for c in cells],
            )
        console.print(pivot)
    for r in reports:
        console.print(f"output tokens, {safe_text.markup(r.run)}:")
        for line in histogram(r.output_tokens):
            console.print("  " + safe_text.markup(line))
    if plot is not None:
        console.print(f"histogram written to {safe_text.markup(str(plot))}")
    if per_question is not None:
        console.print(f"per-question scores written to {safe_text.markup(str(per_question))}")


def _plot(reports: list[Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    values = [r.output_tokens for r in reports if r.output_tokens]
    if values:
        top = max(max(v) for v in values)
        bins = list(range(0, top + 5, max(1, (top + 5) // 30)))
        for r in reports:
            if r.output_tokens:
                ax.hist(
                    r.output_tokens,
                    bins=bins,
                    alpha=0.55,
                    label=f"{r.run} (mean {r.tokens.mean:.1f})",
                )
    ax.set_xlabel("output tokens per answer")
    ax.set_ylabel("answers")
    ax.set_title("Output-token distribution")
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise CuratorError(f"{path}: cannot write the plot: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)


# -- check ----------------------------------------------------------------------------------


@cli.command("check")
@click.option("--json", "as_json", is_flag=True)
@_db_option
@click.pass_context
def check_cmd(ctx: click.Context, as_json: bool) -> None:
    """Verify the store: schema version, orphan rows, events naming unknown records.

    Opening the store also recovers a write-ahead log left by a killed process. Exit code 1
    when a problem is found.

    \b
    Example:
      curator check --db team.duckdb
    """
    from curator.store.check import check

    settings = _settings(ctx)
    store = _open_existing(settings, read_only=True)
    version, findings, counts = check(store)
    problems = sum(f.problems for f in findings)
    if as_json:
        _echo_json(
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
            f"{_one_line(str(settings.db))}: schema version {version} "
            f"(current {store.latest_version})"
        )
        for f in findings:
            mark = "ok " if f.problems == 0 else "BAD"
            click.echo(f"  {mark} {f.check}" + (f": {f.problems:,}" if f.problems else ""))
            if f.problems and f.detail:
                click.echo(f"      what to do: {f.detail}")
        click.echo("  rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        click.echo("store is whole" if problems == 0 else f"{problems:,} problems found")
    if problems:
        sys.exit(1)


# -- demo -----------------------------------------------------------------------------------


@cli.command()
@click.option("--no-tui", is_flag=True, help="Print the summary instead of opening the TUI.")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of TAT-QA JSON files (default: the bundled sample_data/).",
)
@_db_option
@click.pass_context
def demo(ctx: click.Context, no_tui: bool, data: Path | None) -> None:
    """Build a store from the sample data, judge it offline and show it: the command to run first.

    Uses ./curator-demo.duckdb unless --db is given. Running it again keeps what you did.

    \b
    Example:
      curator demo --no-tui
    """
    from curator.bundled import json_files
    from curator.settings import DEMO_DB
    from curator.store.db import Store, remove_store_files
    from curator.store.importer import import_files
    from curator.store.records import stats as store_stats
    from curator.tatqa import default_split

    db_path = _given_db(ctx) or Path(DEMO_DB)
    with json_files(data) as files:
        if not files:
            raise CuratorError(f"{data or 'the bundled sample data'}: no *.json files to import")
        existed = db_path.exists()
        store = Store.open(db_path, create=True)
        try:
            summaries = import_files(store, [(f, default_split(f)) for f in files])
        except BaseException:
            if not existed:
                remove_store_files(db_path)
            raise
    for summary in summaries:
        _print_import(summary)
    click.echo()
    import asyncio

    from curator.judges.runner import PassOptions, RulesJudge, run_pass
    from curator.store.records import iter_all

    result = asyncio.run(run_pass(store, RulesJudge(), PassOptions(concurrency=1)))
    click.echo(f"offline rules judge: {result.progress.done:,} records judged")
    flagged = list(iter_all(store, RecordFilter(verdicts=("incorrect",))))
    if flagged:
        click.echo(f"  {len(flagged)} records the rules judge calls incorrect:")
        for row in flagged:
            click.echo(f"    {_one_line(row.uid)}  {_one_line(row.question[:200])[:70]}")
    if not no_tui:
        settings = _settings(ctx).with_db(db_path)
        _run_tui(store, settings, settings.reviewer, False, "rules")
        return
    click.echo()
    _print_stats(str(db_path), store_stats(store))
    click.echo()
    click.echo("Next: curator --db " + _one_line(str(db_path)) + " review")


# -- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit code.

    Whatever a command prints passes a stream guard (`safe_text.guarded_streams`), so data that
    reached an output without its escaping still cannot drive the terminal.
    """
    with safe_text.guarded_streams():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        code = cli.main(args=argv, prog_name="curator", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CuratorError as exc:
        click.echo(f"curator: error: {safe_text.error_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:
        # The environment, not curator: a full disk, a read-only folder, a vanished file.
        if os.environ.get("CURATOR_DEBUG"):
            raise
        from curator.environment import describe_os_error

        click.echo(f"curator: error: {describe_os_error(exc)}", err=True)
        sys.exit(3)
    except Exception as exc:
        if os.environ.get("CURATOR_DEBUG"):
            raise
        from curator.environment import describe_store_failure

        store_failure = describe_store_failure(exc)
        if store_failure is not None:
            click.echo(f"curator: error: {store_failure}", err=True)
            sys.exit(3)
        click.echo(
            f"curator: internal error: {type(exc).__name__}: {safe_text.error_line(str(exc))} "
            "(set CURATOR_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
