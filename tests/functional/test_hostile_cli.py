"""No data reaches the terminal raw: every CLI output over the hostile corpus, as raw bytes.

Each command runs as its own process (`python -m curator`), so what is checked is exactly what a
terminal would receive on stdout and stderr: no ESC, no C1 control, no bidi control, no invisible
format character, in plain output, in `--json` (where they must be \\uXXXX escapes, and the JSON
must still give back the exact data), and in error messages (cut to a readable length). A run
under a pseudo-terminal checks the same when rich styles its output: only SGR styling remains.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from curator.store import Store
from curator.store.reviews import decide_many
from tests.hostile import RECORDS, names, payloads, raw_controls, records, uids

SPLIT = names()["splits"][0]  # "[@click=app.quit]CLICKME[/]"
OTHER_SPLIT = names()["splits"][1]  # with OSC 0


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CURATOR_"))}
    out["CURATOR_CONFIG"] = os.devnull
    out["COLUMNS"] = "200"
    return out


def curator(*args: str | Path, tty: bool = False) -> tuple[int, bytes, bytes]:
    """Run `curator ARGS`; (exit code, stdout bytes, stderr bytes). With `tty`, both streams are
    one pseudo-terminal (returned as stdout), so rich writes its terminal styling."""
    cmd = [sys.executable, "-m", "curator", *map(str, args)]
    if not tty:
        done = subprocess.run(cmd, env=env(), capture_output=True, timeout=120, check=False)
        return done.returncode, done.stdout, done.stderr
    master, slave = os.openpty()
    proc = subprocess.Popen(
        cmd, env={**env(), "TERM": "xterm-256color"}, stdin=subprocess.DEVNULL, stdout=slave,
        stderr=slave,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=120)
    # The terminal turns \n into \r\n (onlcr): that \r is the line discipline's, not ours.
    return code, b"".join(chunks).replace(b"\r\n", b"\n"), b""


def clean(code: int, out: bytes, err: bytes) -> str:
    assert raw_controls(out) == [], out[:2000]
    assert raw_controls(err) == [], err[:2000]
    return out.decode("utf-8")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus imported twice (two hostile split names), reviewed, judged, with a run."""
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "hostile.duckdb"
    other = copy.deepcopy(records())
    for ctx in other:
        ctx["table"]["uid"] += "-other"
        for q in ctx["questions"]:
            q["uid"] += "-other"
    other_file = folder / "other.json"
    other_file.write_text(json.dumps(other), "utf-8")
    assert curator("--db", db, "import", RECORDS, "--split", SPLIT)[0] == 0
    assert curator("--db", db, "import", other_file, "--split", OTHER_SPLIT)[0] == 0
    decide_many(Store(db), uids(), "accept", names()["reviewers"][1])
    assert curator("--db", db, "judge")[0] == 0
    answers = folder / "answers.jsonl"
    answer = f"1,200 {payloads()['osc52']}"
    answers.write_text("".join(json.dumps({"uid": u, "answer": answer}) + "\n" for u in uids()))
    assert curator("--db", db, "predict", "--import", answers, "--name", "base")[0] == 0
    return db


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("list", "--split", SPLIT),
        ("stats",),
        ("judge", "--dry-run", "--rejudge"),
        ("check",),
        ("eval", "base"),
    ],
    ids=lambda a: " ".join(a)[:20],
)
def test_plain_outputs_carry_no_raw_control(store: Path, args: tuple[str, ...]) -> None:
    code, out, err = curator("--db", store, *args)
    assert code == 0, err
    clean(code, out, err)


def test_list_shows_each_record_on_one_line_with_visible_escapes(store: Path) -> None:
    text = clean(*curator("--db", store, "list", "--split", SPLIT))
    lines = text.splitlines()
    assert len(lines) == len(uids())
    assert "\\x1b]52;c;cHduZWQ=\\x07" in text and "\\x9b2J" in text and "\\u202e" in text
    assert "[@click=app.quit]CLICKME[/]" in text  # markup shown as typed


def test_json_outputs_escape_and_give_back_the_exact_data(store: Path) -> None:
    out = clean(*curator("--db", store, "list", "--json", "--split", SPLIT))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["uid"] for r in rows] == uids()
    assert {r["split"] for r in rows} == {SPLIT}
    assert "\\u009b" in out and "\\u202e" in out and "\\udb40\\udc41" in out
    stats = json.loads(clean(*curator("--db", store, "stats", "--json")))
    assert set(stats["splits"]) == {SPLIT, OTHER_SPLIT}
    dry = json.loads(clean(*curator("--db", store, "judge", "--dry-run", "--rejudge", "--json")))
    assert set(dry["uids"]) <= {*uids(), *(u + "-other" for u in uids())}
    for args in (("check", "--json"), ("eval", "base", "--json"), ("judge", "--json")):
        code, out_b, err = curator("--db", store, *args)
        json.loads(clean(code, out_b, err))


def test_stats_prints_split_names_literally(store: Path) -> None:
    text = clean(*curator("--db", store, "stats"))
    assert "[@click=app.quit]CLICKME[/]" in text
    assert "dev\\x1b]0;split-title\\x07" in text


def test_under_a_terminal_only_styling_escapes_are_written(store: Path) -> None:
    for args in (("stats",), ("list",), ("eval", "base"), ("judge", "--dry-run", "--rejudge")):
        code, out, _ = curator("--db", store, *args, tty=True)
        assert code == 0, out[-2000:]
        assert raw_controls(out, allow_sgr=True) == [], out[:2000]
    # rich did style (the pty test would prove nothing otherwise)
    assert b"\x1b[1m" in curator("--db", store, "stats", tty=True)[1]


def test_import_summaries_and_changes(tmp_path: Path) -> None:
    db = tmp_path / "import.duckdb"
    text = clean(*curator("--db", db, "import", RECORDS, "--split", OTHER_SPLIT))
    assert "split 'dev\\x1b]0;split-title\\x07'" in text
    json.loads(clean(*curator("--db", tmp_path / "j.duckdb", "import", RECORDS, "--json")))
    changed = records()
    q = changed[0]["questions"][0]
    q["question"] = "changed " + payloads()["osc52"] + "x" * 5000
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed), "utf-8")
    code, out, err = curator("--db", db, "import", path, "--split", OTHER_SPLIT)
    text = clean(code, out, err)
    change = next(line for line in text.splitlines() if "question:" in line)
    assert "\\x1b]52" in change and "…(5," in change and len(change) < 600


def test_demo_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hostile_dev.json").write_text(RECORDS.read_text("utf-8"), "utf-8")
    code, out, err = curator("--db", tmp_path / "demo.duckdb", "demo", "--no-tui", "--data", data)
    assert code == 0, err
    clean(code, out, err)


def test_export_summary(store: Path, tmp_path: Path) -> None:
    args = ("export", tmp_path / "out", "--target", "openai-chat", "--validation-fraction", "0")
    code, out, err = curator("--db", store, *args, "--split", SPLIT)
    assert code == 0, err
    clean(code, out, err)
    code, out, err = curator("--db", store, *args, "--split", SPLIT, "--json")
    manifest: dict[str, Any] = json.loads(clean(code, out, err))
    assert manifest["splits"]["train"]["records"] == len(uids())


def test_an_error_quoting_a_huge_hostile_value_is_one_short_safe_line(tmp_path: Path) -> None:
    bad = records()
    bad[0]["questions"][0]["scale"] = payloads()["osc52"] * 20_000
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), "utf-8")
    code, out, err = curator("--db", tmp_path / "bad.duckdb", "import", path)
    assert code == 2
    clean(code, out, err)
    message = err.decode("utf-8")
    assert message.count("\n") == 1 and len(message) < 1000
    assert "scale" in message and "chars" in message
