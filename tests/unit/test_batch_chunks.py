"""Cutting a batch pass into provider-sized chunks: by count, by bytes, never under the minimum,
each record once and in order, and one request in memory at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.domain import Context, CuratorError, WorkItem
from curator.judges.batch_chunks import (
    ANTHROPIC_FRAMING,
    JSONL_FRAMING,
    ChunkLimits,
    Framing,
    anthropic_limits,
    bedrock_limits,
    even_target,
    spool_chunks,
)
from curator.settings import JudgeConfig


def item(n: int, text: str = "") -> WorkItem:
    return WorkItem(
        seq=n + 1,
        uid=f"u{n}",
        record_hash=f"h{n}",
        question=text or f"q{n}",
        answer=["1"],
        answer_type="span",
        answer_from="table",
        derivation="",
        scale="",
        context=Context(uid="c", split="train", table=(), paragraphs=()),
    )


def line(cid: str, it: WorkItem) -> bytes:
    return json.dumps({"custom_id": cid, "q": it.question}).encode()


@pytest.mark.parametrize(
    ("n", "most", "sizes"),
    [
        (0, 10_000, []),
        (100, 10_000, [100]),
        (10_000, 10_000, [10_000]),
        (10_050, 10_000, [5025, 5025]),
        (10_001, 10_000, [5001, 5000]),
        (20_000, 10_000, [10_000, 10_000]),
        (29_999, 10_000, [10_000, 10_000, 9_999]),
    ],
)
def test_chunks_by_count_are_even_and_never_under_the_minimum(
    tmp_path: Path, n: int, most: int, sizes: list[int]
) -> None:
    limits = ChunkLimits(most, 1 << 40, 100)
    chunks = list(
        spool_chunks(
            (item(i) for i in range(n)),
            line,
            tmp_path,
            limits,
            JSONL_FRAMING,
            target=even_target(n, limits),
        )
    )
    assert [len(c.items) for c in chunks] == sizes
    assert [uid for c in chunks for _, uid, _ in c.items] == [f"u{i}" for i in range(n)]
    assert all(limits.min_records <= len(c.items) <= most for c in chunks)


def test_chunks_by_bytes_never_pass_the_limit_and_stay_valid_json(tmp_path: Path) -> None:
    limits = ChunkLimits(1000, 2_000)
    items = [item(i, "x" * (i % 7 * 40)) for i in range(200)]
    chunks = list(spool_chunks(iter(items), line, tmp_path, limits, ANTHROPIC_FRAMING))
    assert len(chunks) > 5  # the byte limit, not the count, cut them
    seen = []
    for chunk in chunks:
        data = chunk.path.read_bytes()
        assert len(data) == chunk.size <= limits.max_bytes
        body = json.loads(data)  # a whole Message Batches body: {"requests": [...]}
        ids = [r["custom_id"] for r in body["requests"]]
        assert ids == [cid for cid, _, _ in chunk.items]
        assert all(cid.startswith(chunk.key + "n") for cid in ids)  # the chunk's prefix
        seen += [uid for _, uid, _ in chunk.items]
        # one more request would not have fitted
        assert chunk is chunks[-1] or chunk.size + 1 + len(line("x", items[len(seen)])) > 2_000
    assert seen == [it.uid for it in items]


def test_a_request_bigger_than_a_batch_is_refused_by_name(tmp_path: Path) -> None:
    limits = ChunkLimits(10, 100)
    with pytest.raises(CuratorError, match="record u1:"):
        list(
            spool_chunks(iter([item(0), item(1, "y" * 200)]), line, tmp_path, limits, JSONL_FRAMING)
        )


def test_only_one_request_is_held_while_spooling(tmp_path: Path) -> None:
    """A generator of a million items is consumed lazily: the spooler never reads more than
    one item ahead of what it has written (bounded memory, whatever the pass's size)."""
    produced = 0

    def items() -> Iterator[WorkItem]:
        nonlocal produced
        for i in range(1_000_000):
            produced += 1
            yield item(i)

    limits = ChunkLimits(50_000, 1 << 40)
    gen = spool_chunks(items(), line, tmp_path, limits, Framing(b"", b"\n", b"\n"))
    first = next(gen)
    assert len(first.items) == 50_000
    # Only one item past the first chunk was read when it was handed over.
    assert produced == 50_001
    gen.close()
    assert produced == 50_001  # the rest of the million was never produced
    # The half-written second chunk was removed when the pass stopped; the first is kept.
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]


def test_limits_are_settings_with_documented_defaults() -> None:
    assert anthropic_limits(JudgeConfig()) == ChunkLimits(100_000, 256_000_000, 1)
    assert bedrock_limits(JudgeConfig()) == ChunkLimits(50_000, 1_000_000_000, 100)
    custom = JudgeConfig(bedrock_batch_max_records=500, bedrock_batch_min_records=10)
    assert bedrock_limits(custom).max_records == 500 and bedrock_limits(custom).min_records == 10
    with pytest.raises(CuratorError, match="batch_max_bytes"):
        anthropic_limits(JudgeConfig(batch_max_bytes=0))


def test_writeback_is_started_while_a_chunk_is_written_and_changes_no_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from curator.judges import batch_chunks

    items = [item(i, "x" * (i % 5 * 30)) for i in range(300)]
    limits = ChunkLimits(120, 1 << 30)

    def requests(path: Path) -> list[tuple[str, str]]:
        # (custom id without its random chunk key, question): what the body asks, in order.
        body = json.loads(path.read_bytes())
        return [(r["custom_id"].split("n", 1)[1], r["q"]) for r in body["requests"]]

    plain = list(spool_chunks(items, line, tmp_path / "a", limits, ANTHROPIC_FRAMING))
    advised: list[tuple[int, int]] = []
    real = getattr(os, "posix_fadvise", None)

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        assert os.fstat(fd).st_size >= offset + length  # what it covers is written already
        advised.append((offset, length))
        if real is not None:
            real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", advise, raising=False)
    monkeypatch.setattr(batch_chunks, "WRITEBACK_BYTES", 1000)
    chunks = list(spool_chunks(items, line, tmp_path / "b", limits, ANTHROPIC_FRAMING))
    assert [c.size for c in chunks] == [c.size for c in plain]
    assert [c.path.stat().st_size for c in chunks] == [c.size for c in chunks]
    assert [requests(c.path) for c in chunks] == [requests(c.path) for c in plain]
    assert len(advised) >= 3
    # Each chunk's ranges follow one another from its start, each at least the step.
    assert advised[0][0] == 0
    assert all(length >= 1000 for _, length in advised)
