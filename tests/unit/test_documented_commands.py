"""Every `curator …` command line the README shows and every example in a command's `--help`
parses: the command exists and takes each option named, with a value of the right kind.

Examples are what a new user copies first; an option renamed or dropped left them refused
(`No such option`) while the text still showed them. Nothing is run here: a line is given to
click's parser exactly as a shell would split it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from curator.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _command_lines(text: str) -> list[str]:
    """The `curator …` lines of shell examples, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        if not line.startswith("curator "):
            continue
        words = shlex.split(line, comments=True)
        words = words[: words.index("|")] if "|" in words else words
        out.append(shlex.join(words[:-1] if words[-1] == "&" else words))
    return out


def _readme_lines() -> list[str]:
    blocks = re.findall(r"```(?:sh|text)\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return [line for block in blocks for line in _command_lines(block)]


def _help_lines() -> list[str]:
    lines = []
    for path in _commands(cli):
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            found = command.get_command(click.Context(command), name)
            assert found is not None
            command = found
        help_text = command.help or ""
        lines += _command_lines(help_text.split("Example", 1)[1] if "Example" in help_text else "")
    assert len(lines) > 20  # every command shows one
    return lines


def parse(line: str) -> click.Context:
    """`line` through click's parser, subcommand by subcommand, as `curator` would parse it."""
    args = shlex.split(line)[1:]
    ctx = cli.make_context("curator", args)
    command: click.Command = cli
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return ctx


#: Files the examples name that click checks exist (an empty one is enough to parse).
EXAMPLE_FILES = ("my_judge.txt", "out/manifest.json")


@pytest.fixture
def examples_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in EXAMPLE_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("line", _readme_lines())
def test_every_readme_command_line_parses(line: str, examples_folder: None) -> None:
    parse(line)


@pytest.mark.parametrize("line", _help_lines())
def test_every_help_example_parses(line: str, examples_folder: None) -> None:
    parse(line)


def test_a_line_with_an_option_that_does_not_exist_is_refused() -> None:
    """The check above can fail: a misspelt option or a bad value is refused by the parser."""
    with pytest.raises(click.UsageError):
        parse("curator judge --judge anthropic --max-costs 5")
    with pytest.raises(click.UsageError):
        parse("curator list --status done")
