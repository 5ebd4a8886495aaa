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


def flatten(renderable: object, width: int) -> Text:
    """Render a rich renderable (a Table, a Group) once, at a width, into plain styled Text.

    Textual draws Text natively but re-renders other rich renderables whenever it measures or
    paints them; a record's table would otherwise be laid out several times per keypress.
    """
    from rich.console import Console

    console = Console(width=max(20, width), color_system="truecolor", legacy_windows=False)
    lines = console.render_lines(renderable, console.options, pad=False)  # type: ignore[arg-type]
    out = Text(no_wrap=True, overflow="crop")
    for i, line in enumerate(lines):
        if i:
            out.append("\n")
        for segment in line:
            if not segment.control:
                out.append(segment.text, segment.style)
    out.rstrip()
    return out
