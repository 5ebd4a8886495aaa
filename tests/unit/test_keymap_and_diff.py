"""`[keys]` in the config (remapping the review TUI's keys) and the edit diff in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from curator.domain import BadInput
from curator.editing import validate_edit
from curator.keymap import ACTIONS
from curator.settings import Settings, load
from tests.conftest import CliResult


def _load(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "curator.toml"
    config.write_text(text, "utf-8")
    return load({"CURATOR_CONFIG": str(config), "HOME": str(tmp_path)})


def test_keys_section_is_read_and_typed(tmp_path: Path) -> None:
    settings = _load(tmp_path, '[keys]\naccept = "y"\nnext = "n, down"\nsearch = "/"\n')
    assert settings.config.keys == {"accept": "y", "next": "n,down", "search": "slash"}
    # Taking a key from an action the reviewer also moves is no clash.
    swapped = _load(tmp_path, '[keys]\naccept = "r"\nreject = "a"\n')
    assert swapped.config.keys == {"accept": "r", "reject": "a"}


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('[keys]\nacept = "y"\n', "[keys] acept", "unknown action; known: accept"),
        ('[keys]\naccept = "r"\n', "[keys] accept", "'r' is already the key of reject"),
        ('[keys]\naccept = "y"\nreject = "y"\n', "[keys] reject", "already the key of accept"),
        ('[keys]\naccept = "escape"\n', "[keys] accept", "reserved"),
        ('[keys]\naccept = ""\n', "[keys] accept", "expected keys"),
        ("[keys]\naccept = 3\n", "[keys] accept", "expected keys"),
        ('[keys]\naccept = "ctrl s"\n', "[keys] accept", "not a key name"),
        ('keys = "a"\n', "[keys]", "must be a table"),
    ],
)
def test_a_bad_keys_entry_names_the_file_and_key(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    with pytest.raises(BadInput) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert str(tmp_path / "curator.toml") in message and where in message and what in message
    assert caught.value.exit_code == 2


def test_any_command_refuses_an_unknown_action(
    tmp_path: Path, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[keys]\naccpet = "y"\n', "utf-8")
    monkeypatch.setenv("CURATOR_CONFIG", str(config))
    result = run_cli("--db", tmp_path / "s.duckdb", "stats")
    assert result.code == 2
    assert "[keys] accpet" in result.err and "unknown action" in result.err


def test_every_remappable_action_is_bound_with_its_name_and_default() -> None:
    """The names `[keys]` accepts are exactly the ids the screens bind, with the same keys;
    a new binding without an id (not remappable) or a drifted default fails here."""
    from textual.binding import Binding

    from curator.screens.app import CuratorApp
    from curator.screens.queue import QueueScreen
    from curator.screens.record import ReviewScreen

    bound: dict[str, str] = {}
    for cls in (ReviewScreen, CuratorApp):
        for b in cls.BINDINGS:
            assert isinstance(b, Binding)
            if b.key == "escape":
                continue  # Escape goes back everywhere; not remappable
            assert b.id is not None, f"{cls.__name__} binding {b.key!r} has no id"
            bound[b.id] = b.key
    assert bound == ACTIONS
    for b in QueueScreen.BINDINGS:
        assert b.key == "escape" or (b.id in ACTIONS and b.key == ACTIONS[b.id]), b


def test_edit_diff_reads_as_words() -> None:
    original = {
        "question": "Q?",
        "answer": ["Copper", "Zinc"],
        "derivation": "",
        "scale": "percent",
    }
    _, diffs = validate_edit(
        answer_type="multi-span",
        original=original,
        question="Q?",
        answer="Copper\nLead",
        derivation="",
        scale="",
    )
    shown = {d.field: (d.old, d.new) for d in diffs}
    assert shown["scale"] == ("percent", "(none)")  # not `percent → ` with nothing after it
    assert shown["answer"] == ('"Copper", "Zinc"', '"Copper", "Lead"')
    assert "[" not in shown["answer"][0]
    _, diffs = validate_edit(
        answer_type="arithmetic",
        original={"question": "Q?", "answer": 1.5, "derivation": "", "scale": ""},
        question="Q?",
        answer="2.5",
        derivation="3 - 0.5",
        scale="",
    )
    assert [(d.field, d.old, d.new) for d in diffs] == [
        ("answer", "1.5", "2.5"),
        ("derivation", "(none)", "3 - 0.5"),
    ]
