"""`counted`: a count and its noun in the number the count takes."""

from __future__ import annotations

from curator.wording import counted


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert counted(1, "record") == "1 record"
    assert counted(0, "record") == "0 records"
    assert counted(2, "problem") == "2 problems"
    assert counted(12_345, "input token") == "12,345 input tokens"
    assert counted(1, "batch", "batches") == "1 batch"
    assert counted(3, "batch", "batches") == "3 batches"
