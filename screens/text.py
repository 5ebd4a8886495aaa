"""Record text made safe to draw: never markup, never terminal control sequences.

Records come from files anyone can write. Rich markup (`[bold]`) must show as typed, and ANSI
escapes or other control characters must show as visible escapes rather than reach the terminal.
Every widget that draws record text goes through these helpers.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text

from curator import safe_text

#: Characters of one field the record screen draws; longer fields end in a marker, and `w`
#: shows them whole. Wrapping megabytes into a Static froze the screen for seconds.
PREVIEW_CHARS: Final = 3000
#: Characters of a one-line label (queue rows, options, names): a label is never a document.
LABEL_CHARS: Final = 300
#: Shown after a cut field (the record screen binds the key).
WHOLE_TEXT_HINT: Final = "w shows the whole text"


def visible(text: str, *, keep_newlines: bool = True) -> str:
    """Control, format and bidi characters as visible escapes (the rule of `curator.safe_text`);
    tabs become four spaces."""
    return safe_text.visible(text, keep_newlines=keep_newlines, keep_tabs=True).replace(
        "\t", "    "
    )


def literal(
    text: str, style: str = "", *, one_line: bool = False, limit: int | None = None
) -> Text:
    """A rich Text that shows `text` exactly: no markup parsing, no control sequences.

    One-line text (labels) is cut at LABEL_CHARS unless `limit` says otherwise; a cut text ends
    in a dim marker giving the full length (`hint` of the caller, if any, in `preview`).
    """
    if one_line and limit is None:
        limit = LABEL_CHARS
    cut = limit is not None and len(text) > limit
    shown = text[:limit] if cut else text
    cleaned = safe_text.one_line(shown) if one_line else visible(shown)
    out = Text(cleaned, style=style, no_wrap=False)
    if cut:
        out.append(f"…({len(text):,} chars)", style="dim")
    return out


def preview(
    text: str, style: str = "", *, limit: int = PREVIEW_CHARS, hint: str = WHOLE_TEXT_HINT
) -> Text:
    """A field as the record screen shows it: whole when short, else its start, a marker
    naming the full length and how to see it all."""
    out = literal(text, style, limit=limit)
    if len(text) > limit:
        out.append(f" [{hint}]", style="dim italic")
    return out


def label(text: str, style: str = "") -> Text:
    """Data in a one-line label (names, uids, split names): literal, visible, short."""
    return literal(text, style, one_line=True)


def wrap_lines(text: str, width: int) -> list[str]:
    """Visible text cut into lines of at most `width` characters, for the whole-text viewer.

    Plain slicing, not word wrapping: it stays linear on a 10 MB field.
    """
    width = max(10, width)
    # Escaped a slice at a time: one regex call over 10 MB would hold the GIL (and so the UI
    # thread) for most of a second; the rule is per character, so slices escape the same.
    step = 1 << 18
    escaped = "".join(visible(text[i : i + step]) for i in range(0, len(text), step))
    lines: list[str] = []
    for paragraph in escaped.split("\n"):
        if not paragraph:
            lines.append("")
            continue
        lines.extend(paragraph[i : i + width] for i in range(0, len(paragraph), width))
    return lines


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
