"""Options and context shared by the commands: `--db` (declared once), the record filter, the
settings and the store a command works on."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from curator.domain import ANSWER_SOURCES, ANSWER_TYPES, REVIEW_STATUSES, VERDICTS, RecordFilter
from curator.judges.factory import JUDGES

if TYPE_CHECKING:
    from curator.settings import Settings
    from curator.store.db import Store

F = TypeVar("F", bound=Callable[..., Any])

# ctx.meta key (meta is one dict shared by the group's and the command's contexts).
DB_KEY = "curator.db"


def remember_db(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        # `~` is the home folder, as in CURATOR_DB and `[store] db` (no shell expands it in
        # `--db=~/x` or in quotes).
        ctx.meta[DB_KEY] = value.expanduser()


def db_option(func: F, default: str = "$CURATOR_DB, else [store] db, else ./curator.duckdb") -> F:
    """The one declaration of `--db`: on the group and on every command that opens the store.

    Both write to the same place, so `curator --db X cmd` and `curator cmd --db X` mean the same
    (given twice, the later one wins); commands never take it as a parameter: `_settings`
    applies it. `default` is what the help says the store is without it (the demo's own).
    """
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        expose_value=False,
        callback=remember_db,
        help=f"Store file (default: {default}).",
    )(func)


def demo_db_option(func: F) -> F:
    """`--db` of `curator demo`, whose store without it is its own (never $CURATOR_DB's)."""
    return db_option(func, "./curator-demo.duckdb; $CURATOR_DB is not used")


def given_db(ctx: click.Context) -> Path | None:
    """The --db given on the command line (before or after the command name), if any."""
    value: Path | None = ctx.meta.get(DB_KEY)
    return value


def settings_of(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj
    return settings.with_db(given_db(ctx))


def open_existing(settings: Settings, *, read_only: bool = False) -> Store:
    """The store of `settings`; reading commands open it read-only (works on read-only media)."""
    from curator.store.db import Store

    return Store.open(settings.db, read_only=read_only)


def _repeatable(
    flag: str, dest: str, choices: Sequence[str] | None = None, help: str = ""
) -> Callable[[F], F]:
    """One repeatable filter option (`--status a --status b`), its values checked against
    `choices` when the set is closed."""
    return click.option(
        flag,
        dest,
        multiple=True,
        type=click.Choice(choices) if choices is not None else None,
        help=f"{help} Repeatable.".lstrip(),
    )


def judge_option(*, required: bool = False, help: str) -> Callable[[F], F]:
    """`--judge NAME` (into `judge_name`), one of the judges a user can choose."""
    return click.option(
        "--judge",
        "judge_name",
        type=click.Choice(JUDGES),
        required=required,
        default=None,
        help=help,
    )


def manifest_option(*, help: str) -> Callable[[F], F]:
    """`--from-manifest FILE` (into `manifest`): an export's manifest.json, for predict and eval
    (what it is used for differs, so each command gives its own `help`). The file must exist
    and not be a folder; click refuses anything else (exit 2) before the store is opened."""
    return click.option(
        "--from-manifest",
        "manifest",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


_FILTER_FIELDS = ("statuses", "verdicts", "answer_types", "answer_sources", "splits", "conflicts")


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--status/--verdict/--answer-type/--answer-from/--split/--conflicts, shared by list and
    judge; the command receives them as one `filt: RecordFilter`."""
    return _filter_options(func, verdict=True)


def filter_options_but_verdict(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same without --verdict, for a command whose --verdict means something narrower
    (`curator decide`: the verdict of the judges it names)."""
    return _filter_options(func, verdict=False)


def _filter_options(func: Callable[..., Any], *, verdict: bool) -> Callable[..., Any]:
    fields = [f for f in _FILTER_FIELDS if verdict or f != "verdicts"]

    @functools.wraps(func)
    def with_filter(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in fields}
        return func(*args, filt=RecordFilter(**values), **kwargs)

    options = [
        _repeatable("--status", "statuses", REVIEW_STATUSES, "Review status."),
        _repeatable(
            "--verdict",
            "verdicts",
            (*VERDICTS, "none"),
            "Any judge's latest verdict; 'none' = not judged yet.",
        ),
        _repeatable("--answer-type", "answer_types", ANSWER_TYPES),
        _repeatable("--answer-from", "answer_sources", ANSWER_SOURCES),
        _repeatable("--split", "splits"),
        click.option(
            "--conflicts", is_flag=True, help="Only records whose reviewers' decisions differ."
        ),
    ]
    if not verdict:
        del options[1]
    decorated: Callable[..., Any] = with_filter
    for option in reversed(options):
        decorated = option(decorated)
    return decorated
