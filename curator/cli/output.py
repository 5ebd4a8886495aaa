"""Printing helpers: every piece of data reaches the terminal through `curator.safe_text`
(JSON, one-line fields, rich markup escaped), progress bars on stderr only when it is a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from curator import safe_text
from curator.domain import ImportSummary
from curator.wording import counted


def echo_json(value: Any) -> None:
    click.echo(safe_text.dumps(value))


def make_console(stderr: bool = False) -> Any:
    """A rich Console on the real terminal stream (its own styling must pass the stream guard);
    data printed through it goes through `safe_text.markup` first."""
    from rich.console import Console

    stream = safe_text.raw_stream(sys.stderr if stderr else sys.stdout)
    return Console(file=stream, highlight=False, soft_wrap=True)


_listings_open = 0  # how many `reader_may_leave` listings are running (they stop early)


class ReaderMayLeave:
    """stdout (or stderr) whose reader may stop reading (`curator stats | head -1`,
    `curator check 2>&1 | head`).

    The reader leaving is not an error: without this click exits 1 on the closed pipe, which
    scripts read as "problems found" (`set -o pipefail`), and an error that could not be
    printed lost its exit code. The rest of the output goes to /dev/null (so exiting flushes
    nothing into the closed pipe) and the command carries on to its own exit code: `check`
    still exits 1 on a problem, a bad option 2, a judge pass still stores its last verdicts.
    Only a listing on stdout (`reader_may_leave`) stops at once, as nobody reads the rest.
    """

    def __init__(self, stream: Any, *, stops_listings: bool) -> None:
        self.raw = stream
        self._stops_listings = stops_listings

    def write(self, text: str) -> int:
        try:
            return int(self.raw.write(text))
        except BrokenPipeError:
            self._reader_left()
            return len(text)

    def flush(self) -> None:
        try:
            self.raw.flush()
        except BrokenPipeError:
            self._reader_left()

    def _reader_left(self) -> None:
        _drop(self.raw)
        if self._stops_listings and _listings_open:
            raise BrokenPipeError  # the listing stops; `reader_may_leave` ends it quietly

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _drop(stream: Any) -> None:
    """Point the stream's file descriptor at /dev/null (the pipe's reader has gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


@contextmanager
def readers_may_leave() -> Iterator[None]:
    """For the whole command line: stdout's or stderr's reader leaving early is not an error
    (see `ReaderMayLeave`); what is still buffered when the command ends is flushed here, where
    a closed pipe is still caught, not at interpreter exit."""
    saved = sys.stdout, sys.stderr
    if saved[0] is not None and not isinstance(saved[0], ReaderMayLeave):
        sys.stdout = ReaderMayLeave(saved[0], stops_listings=True)
    if saved[1] is not None and not isinstance(saved[1], ReaderMayLeave):
        sys.stderr = ReaderMayLeave(saved[1], stops_listings=False)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BrokenPipeError:
                _drop(stream)
        sys.stdout, sys.stderr = saved


@contextmanager
def reader_may_leave() -> Iterator[None]:
    """Print a listing whose reader may stop early (`curator list | head`): the listing stops
    there and the command exits 0 (the rest of the records would go nowhere)."""
    global _listings_open
    _listings_open += 1
    try:
        yield
    except BrokenPipeError:
        _drop(sys.stdout)
    finally:
        _listings_open -= 1


def note_unsaved_answers(store: Any) -> None:
    """One line on stderr per pass whose answers wait beside the store (`<store>.unsaved/`, a
    killed or failed `predict` or live `judge` pass): `stats` and `eval` read the store only,
    so they neither count nor store them, and say which pass stores them."""
    from curator.llm.answer_journal import journal_folder

    folder = journal_folder(store.path)
    if not any(folder.glob("*.jsonl")):  # the usual case, without loading the pass machinery
        return
    from curator.llm.passes import unsaved_answers

    for waiting in unsaved_answers(store):
        run = (
            f"predict run {safe_text.shown(waiting.run)}"
            if waiting.kind == "predictions"
            else f"judge {safe_text.shown(waiting.run)} ({safe_text.shown(waiting.model)})"
        )
        click.echo(
            f"note: {counted(waiting.answers, 'answer')} of {run} wait in "
            f"{safe_text.one_line(str(folder))}/ (its pass ended before storing them) and are "
            "not counted here: the next `curator predict` or `curator judge` on this store "
            "stores them",
            err=True,
        )


def one_line(text: str) -> str:
    """Collapse whitespace and make control characters visible, so one record is one line."""
    return safe_text.one_line(text)


def cut(text: str) -> str:
    """A long field cut for a one-line listing (`--json` has it whole)."""
    return safe_text.clip(text, 300)


@contextmanager
def import_progress(files: list[Path]) -> Iterator[Callable[[Path, str, float], None] | None]:
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
        console=make_console(stderr=True),
        transient=True,
    ) as bar:
        names = {path: safe_text.markup(path.name) for path in files}
        tasks = {path: bar.add_task(f"{names[path]}: waiting", total=1.0) for path in files}

        def update(path: Path, stage: str, fraction: float) -> None:
            bar.update(tasks[path], completed=fraction, description=f"{names[path]}: {stage}")

        yield update


def print_import(summary: ImportSummary) -> None:
    name = safe_text.one_line(summary.source)
    click.echo(
        f"{name} (split {safe_text.shown(summary.split)}): {counted(summary.contexts, 'context')}, "
        f"{counted(summary.questions, 'question')}"
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
            f"  {counted(summary.changed_records, 'record')} changed since the last import; their "
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


def print_stats(db: str, result: Any) -> None:
    from rich.table import Table

    console = make_console()
    console.print(
        f"[b]{safe_text.markup(db)}[/b]: {counted(result.records, 'record')} in "
        f"{counted(result.contexts, 'context')} from {counted(result.imports, 'import')}"
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


@contextmanager
def pass_progress(key: Any) -> Iterator[Callable[[Any], None] | None]:
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
        console=make_console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("judge", total=None, rate=0.0, tokens=0, cost=0.0, counts="")

        def update(p: Any) -> None:
            counts = safe_text.markup(" ".join(f"{v}:{n}" for v, n in sorted(p.outcomes.items())))
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
