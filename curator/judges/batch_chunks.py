"""Cutting a batch pass into provider-sized chunks, each spooled to a file as it is built.

A provider takes a batch of at most so many requests and so many bytes (Anthropic Message
Batches: 100,000 requests or 256 MB; Bedrock batch inference: 50,000 records and 1 GB per input
file, at least 100 records per job). `spool_chunks` walks the work once, writes each request
line straight to the chunk's file and starts a new file before either limit would be passed,
so a million-record pass holds one request at a time in memory, plus the (custom id, uid,
record hash) triples of the chunk being written. The limits are settings (`[judge]`, below)
whose defaults are the documented quotas; a team whose quota differs changes them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from curator.domain import BadOption, CuratorError
from curator.settings import JudgeConfig

# Anthropic Message Batches: "limited to either 100,000 Message requests or 256 MB in size,
# whichever is reached first" (Batch processing guide, batch limitations).
ANTHROPIC_MAX_REQUESTS = 100_000
ANTHROPIC_MAX_BYTES = 256 * 1000 * 1000
# Amazon Bedrock batch inference quotas (Amazon Bedrock endpoints and quotas; per model,
# adjustable): "Records per batch inference job" and "Records per input file per batch inference
# job" 50,000, "Batch inference input file size" 1 GB (curator writes one file per job, so the
# 5 GB "Batch inference job size" never binds), "Minimum number of records per batch inference
# job" 100.
BEDROCK_MAX_RECORDS = 50_000
BEDROCK_MAX_BYTES = 1000 * 1000 * 1000
BEDROCK_MIN_RECORDS = 100
# DuckDB's memory cap while a batch pass runs (`[judge] batch_memory_limit_mb`). DuckDB's own
# default is 80% of the machine's memory, and its cache grows with what the pass reads: 1.1 GB
# at a million records. The pass reads keyset pages, so a small cache costs it nothing.
BATCH_MEMORY_LIMIT_MB = 384


class Versioned(Protocol):
    """What a chunk records of each request: which version of which record it stands for (a
    `WorkItem`, or a batch pass's `BatchRow`)."""

    @property
    def uid(self) -> str: ...

    @property
    def record_hash(self) -> str: ...


Item = TypeVar("Item", bound=Versioned)


@dataclass(frozen=True, slots=True)
class ChunkLimits:
    """How big one submitted batch may be: records, bytes of the request body or input file,
    and the fewest records the provider runs."""

    max_records: int
    max_bytes: int
    min_records: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_records <= self.max_records or self.max_bytes < 1:
            raise CuratorError(
                f"batch limits: need 1 <= min records ({self.min_records}) <= max records "
                f"({self.max_records}) and max bytes ({self.max_bytes}) >= 1"
            )


def _setting(config: JudgeConfig, key: str, default: int) -> int:
    value = getattr(config, key)
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CuratorError(f"config [judge] {key} = {value!r}; expected a whole number >= 1")
    return value


def anthropic_limits(config: JudgeConfig) -> ChunkLimits:
    """`[judge] batch_max_requests` / `batch_max_bytes` (Message Batches)."""
    return ChunkLimits(
        _setting(config, "batch_max_requests", ANTHROPIC_MAX_REQUESTS),
        _setting(config, "batch_max_bytes", ANTHROPIC_MAX_BYTES),
    )


def bedrock_limits(config: JudgeConfig) -> ChunkLimits:
    """`[judge] bedrock_batch_max_records` / `_max_bytes` / `_min_records` (batch inference)."""
    most = _setting(config, "bedrock_batch_max_records", BEDROCK_MAX_RECORDS)
    fewest = _setting(config, "bedrock_batch_min_records", BEDROCK_MIN_RECORDS)
    if fewest > most:
        # (A bad setting, exit 2: ChunkLimits' own check is for curator's bugs.)
        raise BadOption(
            f"config [judge] bedrock_batch_min_records = {fewest:,} is more than "
            f"bedrock_batch_max_records = {most:,} (set or default): no batch job could be "
            "submitted; lower the first or raise the second"
        )
    return ChunkLimits(most, _setting(config, "bedrock_batch_max_bytes", BEDROCK_MAX_BYTES), fewest)


def memory_limit_mb(config: JudgeConfig) -> int:
    """`[judge] batch_memory_limit_mb`: DuckDB's memory cap (MB) for a batch pass."""
    value = _setting(config, "batch_memory_limit_mb", BATCH_MEMORY_LIMIT_MB)
    if value < 64:
        raise CuratorError(f"config [judge] batch_memory_limit_mb = {value}; expected >= 64")
    return value


@dataclass(frozen=True, slots=True)
class Framing:
    """How request lines make one body: Message Batches JSON `{"requests": [a,b]}`, or a
    Bedrock JSONL file (`a\\nb\\n`)."""

    head: bytes
    separator: bytes
    tail: bytes


ANTHROPIC_FRAMING = Framing(b'{"requests":[', b",", b"]}")
JSONL_FRAMING = Framing(b"", b"", b"")


@dataclass
class Chunk:
    """One spooled batch: its key (our id for it, also the custom-id prefix), the file holding
    its body, and which record version each custom id stands for."""

    key: str
    path: Path
    items: list[tuple[str, str, str]] = field(default_factory=list)
    size: int = 0


def new_chunk_key() -> str:
    """12 hex digits: short enough to prefix every custom id, random enough never to repeat."""
    return uuid.uuid4().hex[:12]


def custom_id(key: str, n: int) -> str:
    """The n-th request's id in chunk `key`: letters and digits only, which both services take
    (Anthropic: [a-zA-Z0-9_-]{1,64}; Bedrock: an alphanumeric recordId)."""
    return f"{key}n{n}"


def even_target(total: int, limits: ChunkLimits) -> int:
    """Records per chunk when the count limit is what splits: as many chunks as the limit needs,
    of even size, so the last is never a sliver under the provider's minimum (10,050 records in
    jobs of at most 10,000 are 5,025 + 5,025, never 10,000 + 50)."""
    if total <= 0:
        return limits.max_records
    chunks = -(-total // limits.max_records)
    return -(-total // chunks)


#: Bytes of a chunk written between two nudges of the kernel to write them to disk.
WRITEBACK_BYTES = 16 << 20


def _start_writeback(out: Any, start: int) -> int:
    """Ask the kernel to start writing a chunk's bytes [start, end) to disk now, without
    waiting (Linux: fadvise DONTNEED starts an asynchronous writeback of dirty pages), so the
    fsync that closes a chunk finds little left to write instead of the whole body (~1 s for
    100,000 requests on this machine's disk, which the pass would wait for). Durability is
    still the closing fsync's; where the call is missing this is a no-op. Returns where the
    written bytes end (the next call's `start`)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return int(out.tell())
    out.flush()
    end = int(out.tell())
    with contextlib.suppress(OSError):
        advise(out.fileno(), start, end - start, os.POSIX_FADV_DONTNEED)
    return end


def spool_chunks(
    items: Iterable[Item],
    line: Callable[[str, Item], bytes],
    folder: Path,
    limits: ChunkLimits,
    framing: Framing,
    *,
    target: int | None = None,
) -> Generator[Chunk, None, None]:
    """Write `items` as request lines into chunk files under `folder`, yielding each chunk once
    its file is complete and flushed to disk. A chunk closes at `target` records (default: the
    maximum) or before its body would pass `max_bytes`; a single request larger than the byte
    limit is an error naming the record (no provider would take it)."""
    per_chunk = min(target or limits.max_records, limits.max_records)
    folder.mkdir(parents=True, exist_ok=True)
    frame = len(framing.head) + len(framing.tail)
    chunk: Chunk | None = None
    out: Any = None
    flushed = 0

    def close() -> Chunk:
        assert chunk is not None and out is not None
        out.write(framing.tail)
        out.flush()
        os.fsync(out.fileno())
        out.close()
        return chunk

    try:
        for item in items:
            key = chunk.key if chunk is not None else new_chunk_key()
            cid = custom_id(key, len(chunk.items) if chunk is not None else 0)
            data = line(cid, item)
            if chunk is not None:
                grown = chunk.size + len(framing.separator) + len(data)
                if len(chunk.items) >= per_chunk or grown > limits.max_bytes:
                    done = close()
                    chunk = out = None
                    yield done
                    key = new_chunk_key()
                    cid = custom_id(key, 0)
                    data = line(cid, item)
            if chunk is None:
                if frame + len(data) > limits.max_bytes:
                    raise BadOption(
                        f"record {item.uid}: its batch request is {len(data):,} bytes, more than "
                        f"a whole batch may be ({limits.max_bytes:,}); judge it live"
                    )
                chunk = Chunk(key, folder / f"{key}.body")
                flushed = 0
                out = chunk.path.open("wb", buffering=1 << 20)  # a syscall a MB, not 4 records
                out.write(framing.head)
                chunk.size = frame
            else:
                out.write(framing.separator)
                chunk.size += len(framing.separator)
            out.write(data)
            chunk.size += len(data)
            chunk.items.append((cid, item.uid, item.record_hash))
            if chunk.size - flushed >= WRITEBACK_BYTES:
                flushed = _start_writeback(out, flushed)
        if chunk is not None:
            done = close()
            chunk = out = None
            yield done
    finally:
        if chunk is not None and out is not None:  # stopped early: a half-written chunk
            out.close()
            chunk.path.unlink(missing_ok=True)
