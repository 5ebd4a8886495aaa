"""Templates cut at stand-ins: one serialisation shared by many records, with their own values
spliced in.

The export's JSONL lines (`curator.export.lines`) and a batch body's request lines
(`curator.judges.batch`) are the same text for many records but for a few short values. Both
serialise once with unique stand-ins (random marks no record can carry) where those values go,
cut the text at the stand-ins, and then join each record's encoded values between the pieces.
That is only right when the cut is clean: every stand-in occurs exactly once in the text, in the
order given, none overlapping the next. A serialiser that escaped a stand-in (so it is not found
as given), a value that carried it too, or an order the format does not keep all make the cut
unusable, and `cut_at` says so (None) instead of giving pieces that would splice wrongly: the
caller then takes its plain path (serialising each record whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload


@overload
def cut_at(text: str, marks: tuple[str, str]) -> tuple[str, str, str] | None: ...
@overload
def cut_at(text: str, marks: tuple[str, str, str]) -> tuple[str, str, str, str] | None: ...
@overload
def cut_at(text: str, marks: Sequence[str]) -> tuple[str, ...] | None: ...
def cut_at(text: str, marks: Sequence[str]) -> tuple[str, ...] | None:
    """`text` split at `marks`: the text before the first mark, between each mark and the next,
    and after the last (one piece more than marks), so that joining the pieces with the marks
    between them gives `text` back.

    None when the cut is not clean: a mark absent or found more than once (counted as
    `str.count` does), or the marks not in the given order without overlapping. Marks must be
    given as they appear in `text` (already escaped the way the serialiser escapes them).
    """
    pieces: list[str] = []
    start = 0
    for mark in marks:
        if not mark:
            raise ValueError("a stand-in must not be empty")
        if text.count(mark) != 1:
            return None
        at = text.index(mark)
        if at < start:
            return None  # before (or inside) the previous mark
        pieces.append(text[start:at])
        start = at + len(mark)
    pieces.append(text[start:])
    return tuple(pieces)
