"""`nothing_to_do` and `RecordFilter.describe`: a command with nothing to do says whether the
selection matched nothing (naming its options) or everything it matched was done already."""

from __future__ import annotations

from curator.domain import RecordFilter
from curator.selection import nothing_to_do

DONE = "already has a verdict from this judge"


def test_describe_names_the_options_as_typed() -> None:
    assert RecordFilter().describe() == ""
    filt = RecordFilter(
        statuses=("pending",), verdicts=("uncertain", "none"), splits=("test",), conflicts=True
    )
    assert filt.describe() == (
        "--status pending --verdict uncertain --verdict none --split test --conflicts"
    )
    assert RecordFilter(shard=(2, 3), search="net").describe() == "--search 'net' --shard 2/3"


def test_nothing_matched_is_not_everything_done() -> None:
    filt = RecordFilter(verdicts=("uncertain",))
    assert nothing_to_do(0, filt, DONE) == (
        "nothing to do: no record matches the selection (--verdict uncertain)"
    )
    assert nothing_to_do(0, RecordFilter(), DONE) == "nothing to do: the store has no records"
    assert nothing_to_do(1, filt, DONE) == f"nothing to do: the one selected record {DONE}"
    assert nothing_to_do(1200, filt, DONE) == (
        f"nothing to do: every selected record (1,200) {DONE}"
    )
