"""The `curator` command line: parse arguments, call the core, print.

The group, its `--db` option and the entry point live here; the commands live in one module per
command group (store_cmds, judge_cmds, review_cmds, export_cmds, eval_cmds, leaks_cmds), with
shared options in `options` and printing helpers in `output`.

Start-up is kept cheap: only click and the standard library load at import time. The store
(DuckDB), rich, and later the TUI and the model SDKs are imported inside the commands that use
them, so `curator --help` costs little more than starting Python.
"""

from __future__ import annotations

import os
import sys

import click

from curator import __version__, safe_text
from curator.cli import (
    decide_cmds,
    eval_cmds,
    export_cmds,
    judge_cmds,
    leaks_cmds,
    review_cmds,
    store_cmds,
)
from curator.cli.options import db_option
from curator.cli.output import readers_may_leave
from curator.domain import CuratorError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="curator")
@db_option
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


for _command in (
    store_cmds.import_cmd,
    store_cmds.stats,
    leaks_cmds.leaks,
    store_cmds.list_cmd,
    judge_cmds.judge,
    judge_cmds.calibrate,
    review_cmds.review,
    review_cmds.serve,
    review_cmds.note,
    decide_cmds.decide,
    export_cmds.export_cmd,
    export_cmds.validate,
    export_cmds.finetune,
    eval_cmds.predict,
    eval_cmds.eval_cmd,
    store_cmds.check_cmd,
    store_cmds.demo,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit code.

    Whatever a command prints passes a stream guard (`safe_text.guarded_streams`), so data that
    reached an output without its escaping still cannot drive the terminal; a reader closing
    stdout or stderr early (`curator stats | head -1`) is not an error (`output.ReaderMayLeave`).
    """
    with readers_may_leave(), safe_text.guarded_streams():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        code = cli.main(args=argv, prog_name="curator", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a group given no command: its help, as click shows it
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # A bad option is bad input like any other: one line naming the command and option
        # (click's own form is a usage block, a blank line and then the error), exit 2.
        click.echo(f"curator: error: {_usage_line(exc, argv)}", err=True)
        sys.exit(exc.exit_code)
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


def _usage_line(exc: click.UsageError, argv: list[str] | None) -> str:
    """`judge: Invalid value for '--backend': … (curator judge --help)`: the command the option
    belongs to, click's message, and where the options are listed. Click gives some errors
    (an option missing its value) no context: the command is then the first argument that
    names one."""
    message = safe_text.error_line(exc.format_message())
    ctx = exc.ctx
    if ctx is not None and ctx.parent is not None:
        path = ctx.command_path  # "curator judge", "curator decide accept"
    else:
        args = sys.argv[1:] if argv is None else argv
        named = next((a for a in args if a in cli.commands), None) if ctx is None else None
        path = f"curator {named}" if named else "curator"
    where = path.removeprefix("curator").strip()
    return f"{where + ': ' if where else ''}{message} ({path} --help)"
