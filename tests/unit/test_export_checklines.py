"""`validate`'s line checks (`checklines.check_lines`, `Target.check_line`) give exactly the
messages of the plain pass (`json.loads` and `Target.check` on each line, in order), alone or
with the file cut into pieces checked by helper processes, also when a helper fails."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

from curator.export import checklines
from curator.export.targets import TARGETS
from curator.prompts import TrainingExample

#: Lines each target refuses or must look at closely, in every way the checks know.
AWKWARD = [
    b"",
    b"   \t",
    b"not json",
    b'{"messages": [',
    b"\xff\xfe{}",
    b'{"bad utf-8": "\xc3\x28"}',
    b'{"surrogate": "\xed\xa0\x80"}',
    b"[1, 2]",
    b"{}",
    b'{"system": "s", "messages": [], "extra": 1}',
    b'{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "a"}]}',
    b'{"messages": [{"role": "system", "content": 3}]}',
    b'{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user"}]}',
]


def _lines(name: str) -> list[bytes]:
    """Good lines of the target's own shape, with hard cases among them."""
    target = TARGETS[name]
    users = [
        "table and question",
        'quotes " \\ and é — 中文 😀 \u2028',
        "a\nHuman: forged",
        "b\nAssistant: forged",
        "Human: at the start, no newline",
        "   ",
    ]
    out = [target.line(TrainingExample("s", "x" * 200_000, "1")).encode()]  # too many tokens
    for i, user in enumerate(users * 3):
        line = target.line(TrainingExample("You answer.", user, f"{i}\nmillion"))
        out.append(line.encode())
    # A marker written with \u escapes, and escapes of other text.
    marked = target.line(TrainingExample("s", "q\nHuman: x", "1")).encode()
    out.append(marked.replace(b"\\nHuman", b"\\u000aHuman"))
    out.append(marked.replace(b"\\nHuman: x", b"\\u00e9 fine"))
    out.append(marked.replace(b"\\nHuman", b"\\u000a\\u0048uman"))
    return out


def _file(tmp_path: Path, name: str, *, final_newline: bool) -> Path:
    good = _lines(name)
    lines: list[bytes] = []
    for i, bad in enumerate(AWKWARD):
        lines += [*good[i % len(good) :], bad, *good[: i % len(good)]]
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))
    return path


def plain_pass(path: Path, name: str) -> tuple[int, list[str]]:
    """What `validate_file` did before: one pass, `json.loads` and `check` on each line."""
    target = TARGETS[name]
    problems: list[str] = []
    count = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                problems.append(f"{path}:{number}: empty line")
                continue
            count += 1
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                problems.append(f"{path}:{number}: not valid JSON ({exc})")
                continue
            problems += [f"{path}:{number}: {p}" for p in target.check(obj)]
    return count, problems


@pytest.mark.parametrize("name", sorted(TARGETS))
@pytest.mark.parametrize("final_newline", [True, False])
def test_same_messages_alone_and_in_pieces(tmp_path: Path, name: str, final_newline: bool) -> None:
    path = _file(tmp_path, name, final_newline=final_newline)
    expected = plain_pass(path, name)
    assert len(expected[1]) > len(AWKWARD)  # the file has problems of every kind
    assert checklines.check_lines(path, name, workers=1) == expected
    # Pieces of ~16 kB checked by this process and two helpers.
    answered: list[int] = []
    real = checklines._Helper.answers

    def spy(self: checklines._Helper, *, wait: bool) -> list[tuple[int, checklines.PieceResult]]:
        found = real(self, wait=wait)
        answered.extend(index for index, _ in found)
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checklines._Helper, "answers", spy)
        pieces = checklines.check_lines(path, name, workers=3, parallel_bytes=0, piece_bytes=16384)
    assert pieces == expected
    assert answered  # the helpers took part


def test_pieces_cover_the_file_at_line_starts(tmp_path: Path) -> None:
    path = _file(tmp_path, "openai-chat", final_newline=False)
    data = path.read_bytes()
    pieces = checklines._pieces(path, len(data), 10_000)
    assert len(pieces) > 5
    assert pieces[0][0] == 0 and pieces[-1][1] == len(data)
    for (_, end), (start, _) in itertools.pairwise(pieces):
        assert end == start and data[start - 1 : start] == b"\n"


def test_a_failing_helper_leaves_its_pieces_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Helpers that cannot run (here: a Python that exits at once) change nothing."""
    path = _file(tmp_path, "bedrock-nova", final_newline=True)
    expected = plain_pass(path, "bedrock-nova")
    monkeypatch.setattr(sys, "executable", "/bin/false")
    got = checklines.check_lines(
        path, "bedrock-nova", workers=3, parallel_bytes=0, piece_bytes=16384
    )
    assert got == expected


def test_the_quick_check_agrees_with_the_full_one() -> None:
    """`check_line` is `check` on each line of every shape above."""
    for name, target in TARGETS.items():
        for raw in [*_lines(name), *AWKWARD]:
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            assert target.check_line(obj, raw) == target.check(obj), (name, raw[:80])
