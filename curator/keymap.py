"""The review TUI's remappable keys: the `[keys]` section of the config file, checked.

`[keys]` maps an action to the key (or comma-separated keys) that runs it, for example
`accept = "y"` or `next = "n,down"`. The names are the actions of the record screen (and the
queue's, which share them), known here without importing Textual so that a misspelt action is
refused when the config is read, by every command, naming the file and `[keys] name` (exit 2).
The screens give each binding the action's name as its id; the app hands the checked table to
Textual's keymap, so the footer, the help screen and the keys themselves all follow it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from curator.domain import BadInput

#: Remappable action -> its default keys, as the screens bind them. They all share the record
#: screen (help and quit work everywhere), so no two may have the same key.
ACTIONS: Final[dict[str, str]] = {
    "accept": "a",
    "reject": "r",
    "edit": "e",
    "undo": "u",
    "undo_history": "U",
    "next": "n,j",
    "previous": "p,k",
    "skip": "space",
    "judge": "J",
    "bulk": "B",
    "search": "slash",
    "filters": "f",
    "queue": "l",
    "toggle_sort": "t",
    "stats": "s",
    "evaluation": "v",
    "whole_text": "w",
    "open_twin": "d",
    "flag": "exclamation_mark",
    "note": "c",
    "guidelines": "g",
    "help": "f1,question_mark",
    "quit": "q",
}

#: Keys a reviewer may not take: Escape always goes back, ctrl+p opens the command palette,
#: ctrl+c / ctrl+q are the terminal's and Textual's own ways out.
RESERVED: Final = frozenset({"escape", "ctrl+p", "ctrl+c", "ctrl+q", "tab", "shift+tab"})

_KEY = re.compile(r"^[A-Za-z0-9_+\-]+$|^[^\s,]$")
#: Single printable characters written as Textual names them.
_NAMES: Final = {
    "/": "slash",
    "?": "question_mark",
    " ": "space",
    ".": "full_stop",
    "!": "exclamation_mark",
}


def _keys_of(path: Path, action: str, value: Any) -> tuple[str, ...]:
    where = f"[keys] {action}"
    if not isinstance(value, str) or not value.strip():
        raise BadInput(str(path), where, f'is {value!r}; expected keys such as "y" or "n,down"')
    keys = []
    for part in value.split(","):
        key = part.strip() if part.strip() else part
        key = _NAMES.get(key, key)
        if not key or not _KEY.match(key):
            raise BadInput(str(path), where, f"{part!r} is not a key name (ctrl+s, f2, y, …)")
        if key.lower() in RESERVED:
            raise BadInput(str(path), where, f"{key!r} is reserved (escape goes back, ctrl+p …)")
        keys.append(key)
    return tuple(keys)


def check_keys(path: Path, table: Any) -> dict[str, str]:
    """The `[keys]` table as action -> "key,key", refusing an unknown action, a bad key name
    and two actions on one screen given the same key (which would silently shadow one)."""
    if not isinstance(table, dict):
        raise BadInput(str(path), "[keys]", 'must be a table of action = "key" entries')
    chosen: dict[str, tuple[str, ...]] = {}
    for action, value in table.items():
        if action not in ACTIONS:
            raise BadInput(
                str(path), f"[keys] {action}", f"unknown action; known: {', '.join(ACTIONS)}"
            )
        chosen[action] = _keys_of(path, action, value)
    effective = {
        action: chosen.get(action, tuple(default.split(","))) for action, default in ACTIONS.items()
    }
    used: dict[str, str] = {}
    # The reviewer's own choices first: a clash is reported on the entry they wrote.
    for action in [*chosen, *(a for a in ACTIONS if a not in chosen)]:
        for key in effective[action]:
            holder = used.setdefault(key, action)
            if holder != action:
                mine, other = (holder, action) if action not in chosen else (action, holder)
                raise BadInput(
                    str(path), f"[keys] {mine}", f"{key!r} is already the key of {other}"
                )
    return {action: ",".join(keys) for action, keys in chosen.items()}
