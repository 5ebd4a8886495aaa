"""The hostile corpus (tests/data/hostile/) and the check that output bytes carry none of it raw.

`records.json` is a TAT-QA file whose uids, table, paragraphs, questions, answers and derivations
hold terminal control sequences (OSC 52 clipboard write, OSC 0 window title, CSI 2J clear screen,
their 8-bit C1 forms), bidi overrides and isolates, invisible characters, tag characters, rich
markup (a lone `[/]` too) and Textual action markup. `names.json` holds split and reviewer names
of the same kind; `payloads.json` the payloads by name. The 10 MB question is made at test time.

`raw_controls` is written independently of `curator.safe_text` (an explicit list, not the same
rule), so a test using it would notice a character the rule forgot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curator.domain import JudgeKey, WorkItem
    from curator.store import Store

HOSTILE_DIR = Path(__file__).resolve().parent / "data" / "hostile"
RECORDS = HOSTILE_DIR / "records.json"


def payloads() -> dict[str, str]:
    value: dict[str, str] = json.loads((HOSTILE_DIR / "payloads.json").read_text("utf-8"))
    return value


def names() -> dict[str, list[str]]:
    value: dict[str, list[str]] = json.loads((HOSTILE_DIR / "names.json").read_text("utf-8"))
    return value


def records() -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = json.loads(RECORDS.read_text("utf-8"))
    return value


def uids() -> list[str]:
    return [q["uid"] for ctx in records() for q in ctx["questions"]]


def _forbidden(code: int) -> bool:
    return (
        (code < 0x20 and code not in (0x0A, 0x09))
        or 0x7F <= code <= 0x9F
        or 0x202A <= code <= 0x202E
        or 0x2066 <= code <= 0x2069
        or 0x200B <= code <= 0x200F
        or code in (0x061C, 0x2028, 0x2029, 0xFEFF)
        or 0xE0000 <= code <= 0xE007F
        or 0xD800 <= code <= 0xDFFF
    )


def raw_controls(data: bytes | str, *, allow_sgr: bool = False) -> list[str]:
    """Every forbidden character in terminal output, as `U+XXXX at N`, or [] when clean.

    With `allow_sgr`, ESC is allowed only as the start of an SGR styling sequence (`ESC [ … m`,
    what rich writes to a terminal for bold or colour): never OSC, never cursor or erase.
    """
    import re

    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if allow_sgr:
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [f"U+{ord(ch):04X} at {i}" for i, ch in enumerate(text) if _forbidden(ord(ch))][:20]


def big_question_file(folder: Path, chars: int = 10_000_000) -> Path:
    """A valid TAT-QA file whose one question is `chars` characters long (hostile bits inside)."""
    p = payloads()
    unit = f"Revenue {p['textual']} {p['osc0']} grew. "
    text = (unit * (chars // len(unit) + 1))[:chars]
    ctx = {
        "table": {"uid": "big-ctx", "table": [["", "2019"], ["Revenue", "$1,200"]]},
        "paragraphs": [{"uid": "big-p1", "order": 1, "text": "Revenue rose."}],
        "questions": [
            {
                "uid": "big-1",
                "order": 1,
                "question": text,
                "answer": ["$1,200"],
                "derivation": "",
                "answer_type": "span",
                "answer_from": "table",
                "scale": "",
                "rel_paragraphs": ["1"],
                "req_comparison": False,
            }
        ],
    }
    path = folder / "big.json"
    path.write_text(json.dumps([ctx]), "utf-8")
    return path


def edit_hostile(store: Store, key: JudgeKey) -> list[WorkItem]:
    """Edit the second record of `key`'s first work page with text a reader must carry through
    untouched (quotes, an escape sequence, a line separator) and another scale; return that
    page as it was read before the edit (the tests of work rows compare every path on it)."""
    from curator.store.reviews import decide
    from curator.store.verdicts import work_page

    first = work_page(store, key, limit=3)
    decide(
        store,
        first[1].uid,
        "edit",
        "ana",
        edited={"question": 'Edited "q"\n\x1b[31m', "answer": ["a", "b\u2028"], "scale": "million"},
    )
    return first
