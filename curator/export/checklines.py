"""Check every line of a JSONL file against a target, on every core for a big file.

Reading a line's JSON is most of `curator validate`'s time and holds the GIL, so threads cannot
share it: a file of at least `PARALLEL_BYTES` is cut at line boundaries into pieces of about
`PIECE_BYTES`, and helper processes (`python -m curator.export.checklines`, fresh interpreters:
never forked, as the caller may have DuckDB's threads running, and never re-running the
caller's main module) check pieces from the file's end, one at a time as this process hands
them out, while this process checks them from the start. So the work balances itself, a helper
that starts slowly costs nothing, and a piece a helper did not answer for (it failed or died)
is checked here. Each piece's problems come back with their line numbers within the piece and
are numbered and put in file order here: the messages and their order are those of one pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import IO

from curator.export.targets import TARGETS

#: A file this big or bigger is checked on every core.
PARALLEL_BYTES = 32 * 1024 * 1024
#: About how many bytes one piece holds.
PIECE_BYTES = 4 * 1024 * 1024

#: The decoder `json.loads` uses when given no options.
_DECODER = json.JSONDecoder()

#: (lines in the piece, non-blank lines, problems as (line number in the piece, text)).
PieceResult = tuple[int, int, list[tuple[int, str]]]


def check_piece(path: str, target_name: str, start: int, end: int | None) -> PieceResult:
    """Check the lines that start in bytes [start, end) of the file (`start` begins a line;
    `end` None: to the end of the file)."""
    target = TARGETS[target_name]
    problems: list[tuple[int, str]] = []
    lines = count = 0
    position = start
    with open(path, "rb") as fh:
        fh.seek(start)
        for raw in fh:
            if end is not None:
                if position >= end:  # the next piece's first line
                    break
                position += len(raw)
            lines += 1
            if raw.isspace():  # `not raw.strip()` without copying the line
                problems.append((lines, "empty line"))
                continue
            count += 1
            try:
                # What json.loads(raw) does for bytes it reads as UTF-8 (see check_line),
                # without its detection of the encoding.
                obj = (
                    _DECODER.decode(raw.decode("utf-8", "surrogatepass"))
                    if raw[:2] == b'{"'
                    else json.loads(raw)
                )
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                problems.append((lines, f"not valid JSON ({exc})"))
                continue
            except RecursionError:  # deeper than the parser goes: no record of any target
                problems.append((lines, "not valid JSON (nested too deeply)"))
                continue
            found = target.check_line(obj, raw)
            if found:
                problems += [(lines, p) for p in found]
    return lines, count, problems


def _pieces(path: Path, size: int, piece_bytes: int) -> list[tuple[int, int]]:
    """[start, end) byte ranges of about `piece_bytes`, each starting at a line's start."""
    starts = [0]
    with path.open("rb") as fh:
        while starts[-1] + piece_bytes < size:
            fh.seek(starts[-1] + piece_bytes)
            fh.readline()  # to the end of the line the cut fell in
            if fh.tell() >= size:
                break
            starts.append(fh.tell())
    return list(zip(starts, [*starts[1:], size], strict=True))


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _Helper:
    """One helper process and the pieces it was given, answered in the order given."""

    def __init__(self, path: Path, target_name: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "curator.export.checklines", str(path), target_name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.fd = self.proc.stdout.fileno()
        self.received = b""
        self.given: list[int] = []

    def give(self, index: int, piece: tuple[int, int]) -> bool:
        try:
            self.stdin.write(f"{piece[0]} {piece[1]}\n".encode())
            self.stdin.flush()
        except OSError:
            return False  # gone: the piece is checked here
        self.given.append(index)
        return True

    def answers(self, *, wait: bool) -> list[tuple[int, PieceResult]]:
        """The pieces answered so far (all it was given, with `wait`)."""
        out: list[tuple[int, PieceResult]] = []
        while self.given:
            if b"\n" in self.received:
                line, _, self.received = self.received.partition(b"\n")
                lines, count, problems = json.loads(line)
                out.append((self.given.pop(0), (lines, count, [(n, t) for n, t in problems])))
                continue
            if not wait and not select.select([self.fd], [], [], 0)[0]:
                break
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.given.clear()  # it died: its pieces are checked here
                break
            self.received += chunk
        return out

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _helpers(path: Path, target_name: str, count: int) -> list[_Helper]:
    """Up to `count` helpers (none when they cannot be started: this process checks alone)."""
    helpers: list[_Helper] = []
    try:
        for _ in range(count):
            helpers.append(_Helper(path, target_name))
    except OSError:
        pass
    return helpers


def check_lines(
    path: Path,
    target_name: str,
    *,
    workers: int | None = None,
    parallel_bytes: int = PARALLEL_BYTES,
    piece_bytes: int = PIECE_BYTES,
) -> tuple[int, list[str]]:
    """(non-blank lines, every problem as "FILE:LINE: problem" in file order)."""
    size = path.stat().st_size
    workers = cores() if workers is None else workers
    pieces = _pieces(path, size, piece_bytes) if size >= parallel_bytes and workers > 1 else []
    done: dict[int, PieceResult] = {}
    if len(pieces) < 2:
        done[0] = check_piece(str(path), target_name, 0, None)
        pieces = [(0, size)]
    else:
        helpers = _helpers(path, target_name, min(workers, len(pieces)) - 1)
        low, high = 0, len(pieces) - 1  # this process takes from low, the helpers from high
        try:
            for helper in helpers:
                for _ in range(2):  # one to work on and one waiting, so it never idles
                    if low < high and helper.give(high, pieces[high]):
                        high -= 1
            while low <= high:
                done[low] = check_piece(str(path), target_name, *pieces[low])
                low += 1
                for helper in helpers:
                    for index, result in helper.answers(wait=False):
                        done[index] = result
                        if low < high and helper.give(high, pieces[high]):
                            high -= 1
            for helper in helpers:
                done.update(helper.answers(wait=True))
        finally:
            for helper in helpers:
                helper.close()
        for index, piece in enumerate(pieces):  # any a helper failed to answer
            if index not in done:
                done[index] = check_piece(str(path), target_name, *piece)
    problems: list[str] = []
    before = count = 0
    for index in range(len(pieces)):
        lines, non_blank, found = done[index]
        problems += [f"{path}:{before + number}: {text}" for number, text in found]
        before += lines
        count += non_blank
    return count, problems


def _serve(path: str, target_name: str) -> None:
    """A helper: check each piece named on stdin ("START END"), answer each on one line."""
    for request in sys.stdin.buffer:
        start, end = (int(x) for x in request.split())
        sys.stdout.write(json.dumps(check_piece(path, target_name, start, end)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
