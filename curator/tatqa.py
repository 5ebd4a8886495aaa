"""The TAT-QA raw format: what a valid file looks like, and clear words for what is wrong with one.

The fast import path lives in the store (DuckDB parses and checks the file in bulk); it builds its
checks from the field specification here, so the rules exist once. When DuckDB cannot even parse a
file, `diagnose` reads it in Python to say exactly where it breaks (encoding, JSON syntax, shape),
because a user fixing a file needs a line and column, not a parser's internal offset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from curator import safe_text
from curator.domain import ANSWER_SOURCES, ANSWER_TYPES, SCALES, BadInput
from curator.safe_text import shown

Kind = Literal["string", "integer", "boolean", "string_list", "answer"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One required field of a TAT-QA object and the JSON type it must have."""

    name: str
    kind: Kind
    allowed: tuple[str, ...] = ()
    #: A string that must hold more than whitespace (uids: an empty key identifies nothing).
    nonblank: bool = False

    def describe(self) -> str:
        if self.allowed:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        return {
            "string": "a string",
            "integer": "an integer",
            "boolean": "true or false",
            "string_list": "a list of strings",
            "answer": "a list of strings, a number or a string",
        }[self.kind]


QUESTION_FIELDS: Final = (
    FieldSpec("uid", "string", nonblank=True),
    FieldSpec("order", "integer"),
    FieldSpec("question", "string"),
    FieldSpec("answer", "answer"),
    FieldSpec("derivation", "string"),
    FieldSpec("answer_type", "string", ANSWER_TYPES),
    FieldSpec("answer_from", "string", ANSWER_SOURCES),
    FieldSpec("rel_paragraphs", "string_list"),
    FieldSpec("req_comparison", "boolean"),
    FieldSpec("scale", "string", SCALES),
)

PARAGRAPH_FIELDS: Final = (
    FieldSpec("uid", "string"),
    FieldSpec("order", "integer"),
    FieldSpec("text", "string"),
)

#: What each answer type's `answer` must be. Spans are lists; arithmetic a number; count a whole
#: number (TAT-QA writes counts as strings such as "3", so both spellings are accepted).
ANSWER_RULES: Final = {
    "span": "a list of one or more strings",
    "multi-span": "a list of one or more strings",
    "arithmetic": "a number (or a string holding one)",
    "count": "a whole number (or a string holding one)",
}

_SPLIT_WORDS: Final = ("train", "dev", "validation", "test")


def default_split(path: Path) -> str:
    """Guess a split from a file name (tatqa_dataset_dev.json -> dev); "train" otherwise."""
    words = re.split(r"[^a-z]+", path.stem.lower())
    for word in _SPLIT_WORDS:
        if word in words:
            return word
    return "train"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


#: Longest value an error message quotes; a 10 MB field must not become a 10 MB message.
MAX_QUOTED = 120


def clip(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` cut to `limit` characters, saying how long it was (safe_text's one rule)."""
    return safe_text.clip(text, limit)


def context_where(index: int, table_uid: str | None) -> str:
    """How errors name a context: its 1-based position, and its uid when it has one."""
    return f"context #{index}" + (f" (table uid {shown(table_uid)})" if table_uid else "")


def question_where(ci: int, table_uid: str | None, qi: int, uid: str | None) -> str:
    return (
        context_where(ci, table_uid) + f", question #{qi}" + (f" (uid {shown(uid)})" if uid else "")
    )


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _duplicate_where(text: str) -> str:
    """The context/question/paragraph holding the first duplicated key, found by parsing the
    file again and recording positions (the error path only)."""
    # Parse the contexts one by one to learn which one holds the duplicate.
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates)
    start = text.index("[") + 1
    index = 0
    while True:
        while start < len(text) and text[start] in " \t\r\n,":
            start += 1
        if start >= len(text) or text[start] == "]":
            return ""
        index += 1
        try:
            start = decoder.raw_decode(text, start)[1]
        except _DuplicateKey:
            return _inner_where(text, start, index)


class _Marked(dict[str, Any]):
    """A parsed object that remembers whether its text repeated a key."""

    repeated = False


def _marking(pairs: list[tuple[str, Any]]) -> _Marked:
    obj = _Marked(pairs)
    obj.repeated = len(obj) < len(pairs)
    return obj


def _inner_where(text: str, start: int, index: int) -> str:
    """Within context `index` (starting at `start`): which question or paragraph, if any."""
    ctx = json.JSONDecoder(object_pairs_hook=_marking).raw_decode(text, start)[0]
    table = ctx.get("table") if isinstance(ctx, dict) else None
    table_uid = table.get("uid") if isinstance(table, dict) else None
    where = context_where(index, table_uid if isinstance(table_uid, str) else None)
    for key in ("paragraphs", "questions"):
        items = ctx.get(key) if isinstance(ctx, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else [], start=1):
            if isinstance(item, _Marked) and item.repeated:
                return f"{where}, {key[:-1]} #{i}"
    return where


def diagnose(path: Path, source: str | None = None) -> BadInput | None:
    """Find the first parse- or shape-level problem in a file, or None when there is none.

    This is the slow, careful reader used only after the bulk reader has refused a file, so it
    may load the whole file into memory. `source` is the name errors use (default: the path).
    """
    source = source or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return BadInput(source, "", f"cannot read file: {exc.strerror or exc}")
    if not data.strip():
        return BadInput(source, "", "file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        return BadInput(
            source, f"line {line}, column {column}", f"not UTF-8 text (byte 0x{byte:02x})"
        )
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        return BadInput(
            source, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        )
    except RecursionError:
        return BadInput(source, "top level", "JSON nested too deeply to be TAT-QA data")
    except _DuplicateKey as exc:
        try:
            where = _duplicate_where(text)
        except (ValueError, RecursionError):
            where = ""
        return BadInput(source, where, f"an object has the key {clip(exc.key)!r} twice")
    return check_shape(source, value)


def check_shape(source: str, value: Any) -> BadInput | None:
    """Check the containers of a parsed file: a list of contexts with the right nesting."""
    if not isinstance(value, list):
        hint = " (a single context? wrap it in [ ])" if isinstance(value, dict) else ""
        return BadInput(
            source,
            "top level",
            f"expected a JSON list of contexts, found {_json_kind(value)}{hint}",
        )
    if not value:
        return BadInput(source, "top level", "the list of contexts is empty")
    for ci, ctx in enumerate(value, start=1):
        if not isinstance(ctx, dict):
            return BadInput(
                source, context_where(ci, None), f"expected an object, found {_json_kind(ctx)}"
            )
        table = ctx.get("table")
        table_uid = table.get("uid") if isinstance(table, dict) else None
        where = context_where(ci, table_uid if isinstance(table_uid, str) else None)
        for key, container in (("table", dict), ("paragraphs", list), ("questions", list)):
            if key not in ctx:
                return BadInput(source, where, f"missing field {key!r}")
            if not isinstance(ctx[key], container):
                expected = "an object" if container is dict else "a list"
                return BadInput(
                    source, where, f"field {key!r} must be {expected}, found {_json_kind(ctx[key])}"
                )
        for key in ("paragraphs", "questions"):
            for i, item in enumerate(ctx[key], start=1):
                if not isinstance(item, dict):
                    return BadInput(
                        source,
                        f"{where}, {key[:-1]} #{i}",
                        f"expected an object, found {_json_kind(item)}",
                    )
    return None
