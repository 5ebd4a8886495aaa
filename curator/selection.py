"""What to say when a command found nothing to do: that nothing matched the selection (naming
the options that made it), or that everything it matched was already done. The two call for
different next steps, so a command never reports one when the other is true."""

from __future__ import annotations

from curator.domain import RecordFilter


def nothing_to_do(matched: int, filt: RecordFilter, done: str) -> str:
    """`matched`: records the selection holds regardless of work done; `done`: what is already
    true of each of them (`already has a verdict from this judge`)."""
    if matched == 0:
        return f"nothing to do: {nothing_matched(filt)}"
    every = "the one selected record" if matched == 1 else f"every selected record ({matched:,})"
    return f"nothing to do: {every} {done}"


def nothing_matched(filt: RecordFilter) -> str:
    """Why a selection holds no record: nothing matched the options that made it (named), or,
    with no option narrowing it, the store has no records at all."""
    chosen = filt.describe()
    if not chosen:
        return "the store has no records"
    return f"no record matches the selection ({chosen})"
