"""Record text made safe to draw: never markup, never terminal control sequences.

Records come from files anyone can write. Rich markup (`[bold]`) must show as typed, and ANSI
escapes or other control characters must show as visible escapes rather than reach the terminal.
Every widget that draws record text goes through these helpers.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text


def visible(text: str, *, keep_newlines: bool = True) -> str:
    """Replace control characters (C0, DEL, C1, bidi overrides) by visible \\xNN escapes."""
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append("    ")
        elif unicodedata.category(ch) in ("Cc", "Cf") and ch not in ("\u200d",):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def literal(text: str, style: str = "", *, one_line: bool = False) -> Text:
    """A rich Text that shows `text` exactly: no markup parsing, no control sequences."""
    cleaned = visible(text, keep_newlines=not one_line)
    if one_line:
        cleaned = " ".join(cleaned.split())
    return Text(cleaned, style=style, no_wrap=False)
