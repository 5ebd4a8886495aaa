"""The export's background writer: the bytes and their hash, and a failed write reported."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from curator.export import sink as sink_module
from curator.export.sink import HashingSink


def test_writes_every_page_in_order_and_hashes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sink_module, "SYNC_BYTES", 10)  # flush to disk along the way too
    pages = [f"line {i}\n".encode() * (i + 1) for i in range(50)]
    out = HashingSink(tmp_path / "f.jsonl")
    for page in pages:
        out.write(page)
    digest = out.close()
    data = (tmp_path / "f.jsonl").read_bytes()
    assert data == b"".join(pages)
    assert digest == hashlib.sha256(data).hexdigest()


def test_a_failed_write_is_raised_on_the_callers_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = HashingSink(tmp_path / "f.jsonl")

    def full(data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(out._fh, "write", full)
    out.write(b"x\n")
    with pytest.raises(OSError, match="No space left"):
        for _ in range(100):  # raised by a later write, or at the latest by close()
            out.write(b"y\n")
        out.close()
    out.abort()  # the export's cleanup after the error: no second error, thread stopped
    assert not out._thread.is_alive()
