"""Bedrock batch jobs are split so that no job falls under the service's 100-record minimum."""

from __future__ import annotations

from typing import Any

import pytest

from curator.judges.batch import BATCH_SIZE, BEDROCK_MIN_RECORDS, _bedrock_chunks


@pytest.mark.parametrize(
    ("n", "sizes"),
    [
        (0, []),
        (100, [100]),
        (BATCH_SIZE, [BATCH_SIZE]),
        (BATCH_SIZE + 50, [5025, 5025]),
        (BATCH_SIZE + 1, [5001, 5000]),
        (2 * BATCH_SIZE, [BATCH_SIZE, BATCH_SIZE]),
        (3 * BATCH_SIZE - 1, [BATCH_SIZE, BATCH_SIZE, BATCH_SIZE - 1]),
    ],
)
def test_chunks_are_even_and_never_under_the_minimum(n: int, sizes: list[int]) -> None:
    work: list[Any] = list(range(n))
    chunks = _bedrock_chunks(work)
    assert [len(c) for c in chunks] == sizes
    assert [x for c in chunks for x in c] == work  # every record once, in order
    assert all(BEDROCK_MIN_RECORDS <= len(c) <= BATCH_SIZE for c in chunks)
