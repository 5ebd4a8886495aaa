"""Counts in messages: "1 record", "2 records", never "1 records" (or a hedged "record(s)")."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with thousands separators and `noun` in the number it takes; `plural` for nouns
    that do not just add an s ("1 batch", "2 batches")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
