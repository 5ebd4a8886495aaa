"""THE escaping rule for everything curator prints: data never reaches a terminal raw.

Record text, uids, split names, reviewer names, run names and model replies come from files and
services anyone can write. Printed raw, an OSC 52 sequence in a uid writes the user's clipboard,
OSC 0 sets the window title, CSI 2J clears the screen, a C1 control (U+0080-U+009F) does the same
on terminals that honour 8-bit controls, and a bidi override (U+202E) makes `evil.json` read as
`nosj.live`. Markup in data (`[@click=app.quit]`) becomes live when printed through rich or
Textual. So every output goes through this module:

- `visible(text)`: unsafe characters become readable escapes (`\\x1b`, `\\u202e`): for plain
  output and the TUI. `one_line(text)` also collapses whitespace (one record = one line).
- `dumps(value)`: JSON with the same characters as `\\uXXXX` escapes (`json.dumps` with
  `ensure_ascii=False` escapes C0 but passes DEL, C1, bidi and line separators through raw).
- `markup(text)`: visible text with rich markup escaped, for anything printed through rich.
- `clip(text)`: long values cut to a readable length, for error messages.
- `guarded_streams()`: a backstop around the CLI: whatever still writes raw data to stdout or
  stderr has the unsafe characters escaped on the way out.

Unsafe: C0 controls (except newline and tab where asked), DEL, C1 controls, every Unicode format
character (bidi embeddings, overrides and isolates, zero-width space, BOM, tag characters,
invisible operators, soft hyphen) except the zero-width (non-)joiners that emoji and several
scripts need, lone surrogates (they cannot even be encoded) and the line and paragraph separators
U+2028/U+2029. This module imports nothing heavy: `curator --help` stays cheap.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TextIO

#: Errors show at most this many characters of a value (a 10 MB field is not an error message).
ERROR_VALUE_CHARS: Final = 80

#: Format characters that are kept: zero-width non-joiner and joiner (emoji, Persian, Indic).
_KEPT_FORMAT: Final = frozenset("\u200c\u200d")


def is_unsafe(ch: str) -> bool:
    """Whether one character must never be written to a terminal as it is."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return True
    if code < 0xA0:
        return False
    category = unicodedata.category(ch)
    if category == "Cf":
        return ch not in _KEPT_FORMAT
    return category in ("Cs", "Zl", "Zp")


def _unsafe_ranges(lo: int, hi: int, keep: str) -> str:
    """Regex class items for the unsafe code points in [lo, hi), except those in `keep`."""
    ranges: list[tuple[int, int]] = []
    for code in range(lo, hi):
        if is_unsafe(chr(code)) and chr(code) not in keep:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


@functools.cache
def _pattern(keep_newlines: bool = False, keep_tabs: bool = False) -> re.Pattern[str]:
    """The compiled rule, built on first use (about 50 ms) so `curator --help` never pays it.

    A class of BMP characters compiles to a bitmap (one lookup a character); a class holding
    astral ranges is a list of ranges tried in turn, ten times slower on a 10 MB field. So the
    BMP's unsafe characters are one class and every astral character a second, cheap range; the
    replacement functions give safe astral characters (emoji) back unchanged.
    """
    keep = ("\n" if keep_newlines else "") + ("\t" if keep_tabs else "")
    return re.compile(f"[{_unsafe_ranges(0, 0x10000, keep)}]|[\U00010000-\U0010ffff]")


def _text_escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    if code >= 0x10000 and not is_unsafe(ch):
        return ch
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    if code >= 0x10000 and not is_unsafe(ch):
        return ch
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def visible(text: str, *, keep_newlines: bool = False, keep_tabs: bool = False) -> str:
    """`text` with every unsafe character as a readable escape: ESC -> `\\x1b`, RLO -> `\\u202e`."""
    return _pattern(keep_newlines, keep_tabs).sub(_text_escape, text)


def one_line(text: str) -> str:
    """Visible text on one line: other controls escaped, newlines, tabs and spaces collapsed."""
    return " ".join(visible(text, keep_newlines=True, keep_tabs=True).split())


def json_safe(text: str) -> str:
    """Serialized JSON with any unsafe character still in it as a `\\uXXXX` escape.

    Only valid on JSON text: the characters can only occur inside string literals there, where
    `\\uXXXX` (with surrogate pairs above U+FFFF) is the standard escape.
    """
    return _pattern().sub(_json_escape, text)


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` (non-ASCII kept readable) with no unsafe character left raw."""
    return json_safe(json.dumps(value, ensure_ascii=False, **kwargs))


def markup(text: str) -> str:
    """Data made literal for rich markup: visible controls, `[` escaped so no tag can open."""
    from rich.markup import escape

    return escape(one_line(text))


def clip(text: str, limit: int = ERROR_VALUE_CHARS) -> str:
    """At most `limit` characters of `text`, then `…(N chars)` naming the full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} chars)"


def shown(value: object, limit: int = ERROR_VALUE_CHARS) -> str:
    """A value quoted for a message, like `repr`: cut at `limit`, on one line, controls visible.

    `repr` alone escapes controls but not length: a 10 MB bad value must not become a 10 MB
    error message.
    """
    if isinstance(value, str):
        return one_line(
            repr(value[:limit]) + (f"…({len(value):,} chars)" if len(value) > limit else "")
        )
    return clip(one_line(repr(value)), limit)


def error_line(message: str, limit: int = 600) -> str:
    """A message as one safe line. The backstop for messages that quote a huge value whole:
    beyond `limit` the middle is cut, keeping the start (what and where) and the end (often
    what was expected)."""
    line = one_line(message)
    if len(line) <= limit:
        return line
    head, tail = line[: limit * 2 // 3], line[-(limit // 3) :]
    return f"{head}…({len(line) - len(head) - len(tail):,} chars cut)…{tail}"


# -- the stream backstop ------------------------------------------------------------------------


class GuardedStream:
    """A text stream that escapes unsafe characters (except newline and tab) on every write.

    Escapes use the JSON `\\uXXXX` form, so a JSON line that slipped past `dumps` stays valid
    JSON. The binary `buffer` is deliberately hidden: writers that would otherwise reach past
    this wrapper to the bytes underneath (click does when it distrusts a stream's encoding)
    then write through it instead.
    """

    def __init__(self, stream: TextIO) -> None:
        self.raw = stream

    def write(self, text: str) -> int:
        self.raw.write(_pattern(True, True).sub(_json_escape, text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self.raw, name)


def raw_stream(stream: TextIO) -> TextIO:
    """The terminal stream under a guard (for rich, whose own styling escapes must pass)."""
    return stream.raw if isinstance(stream, GuardedStream) else stream


@contextmanager
def guarded_streams() -> Iterator[None]:
    """Guard `sys.stdout` and `sys.stderr` for the duration of a command."""
    import sys

    saved = sys.stdout, sys.stderr
    if sys.stdout is not None and not isinstance(sys.stdout, GuardedStream):
        sys.stdout = GuardedStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, GuardedStream):
        sys.stderr = GuardedStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
