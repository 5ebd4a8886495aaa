"""The export streams: its files are byte-identical to the ones the whole-list export wrote.

`tests/fixtures/export_sample_sha256.json` holds the sha256 of every file the export wrote for
the sample store before it streamed (captured from that code with CURATOR_CAPTURE_EXPORT=1), for
each target and a spread of options. The streaming export must write the same bytes, with any
page size (2 makes every page boundary fall inside a context's questions).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from curator.export.run import ExportOptions, export
from curator.store import Store
from curator.store.importer import import_file
from curator.store.journal import journal_for
from curator.store.reviews import decide
from tests.conftest import SAMPLE_DATA

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "export_sample_sha256.json"

CASES: dict[str, dict[str, Any]] = {
    "bedrock-claude": {"target": "bedrock-claude", "validation_fraction": 0.3},
    "bedrock-nova": {"target": "bedrock-nova", "validation_fraction": 0.3, "seed": 7},
    "openai-chat": {"target": "openai-chat", "validation_fraction": 0.1},
    "openai-chat-html-rationale": {
        "target": "openai-chat",
        "validation_fraction": 0.2,
        "table_format": "html",
        "rationale": True,
        "seed": 3,
    },
    "openai-chat-capped": {
        "target": "openai-chat",
        "validation_fraction": 0.2,
        "max_train": 40,
        "max_validation": 12,
        "table_format": "json",
    },
    "openai-chat-no-validation": {"target": "openai-chat", "validation_fraction": 0.0},
}


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample store, most records accepted, some rejected, one edited (as test_export)."""
    os.environ.setdefault("CURATOR_CONFIG", os.devnull)
    db = tmp_path_factory.mktemp("stream") / "export.duckdb"
    store = Store.open(db, create=True)
    for name in ("sample_train.json", "sample_dev.json"):
        import_file(store, SAMPLE_DATA / name, "train")
    with store.connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    store.open_session()  # as the TUI: the file stays open over the 152 decisions
    for i, uid in enumerate(uids):
        if i % 10 == 3:
            decide(store, uid, "reject", "ana", reason="wrong answer")
        elif i == 0:
            decide(store, uid, "edit", "ana", edited={"question": "Edited question?"})
        else:
            decide(store, uid, "accept", "ana")
    assert journal_for(store).wait_stored(timeout=60)  # every decision in the file
    journal_for(store).close()  # and the emptied journal gone: a closed template
    store.close()
    return db


def _digests(out: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """sha256 of every file, the manifest without what depends on the machine (store path)."""
    found = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.iterdir())
        if p.name != "manifest.json"
    }
    portable = {k: v for k, v in manifest.items() if k not in ("store", "curator_version")}
    found["manifest"] = hashlib.sha256(json.dumps(portable, sort_keys=True).encode()).hexdigest()
    return found


def _export(db: Path, out: Path, case: str, **extra: Any) -> dict[str, str]:
    manifest = export(Store(db), out, ExportOptions(**CASES[case]), **extra)
    return _digests(out, manifest)


def test_capture_or_compare(sample_store: Path, tmp_path: Path) -> None:
    """Every case writes the bytes the whole-list export wrote."""
    got = {case: _export(sample_store, tmp_path / case, case) for case in CASES}
    if os.environ.get("CURATOR_CAPTURE_EXPORT") == "1":
        FIXTURE.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n", "utf-8")
    expected = json.loads(FIXTURE.read_text("utf-8"))
    assert got == expected


@pytest.mark.parametrize(
    "case", ["bedrock-claude", "openai-chat-html-rationale", "openai-chat-capped"]
)
def test_small_pages_write_the_same_bytes(sample_store: Path, tmp_path: Path, case: str) -> None:
    """Pages of 2 rows (every context's questions spread over pages) change nothing."""
    expected = json.loads(FIXTURE.read_text("utf-8"))[case]
    assert _export(sample_store, tmp_path / "out", case, page_size=2) == expected


def test_the_writer_reads_pages_not_the_whole_list(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export never holds more than one page of curated rows: it consumes a page iterator
    (curated_pages) and nothing materialises curated_records as a list."""
    from curator.export import run
    from curator.store import exports

    seen: list[int] = []
    real = exports.curated_pages

    def spy(*args: Any, **kwargs: Any) -> Any:
        for page in real(*args, **kwargs):
            seen.append(len(page))
            yield page

    monkeypatch.setattr(run, "curated_pages", spy)
    monkeypatch.delattr(run, "curated_records", raising=False)
    expected = json.loads(FIXTURE.read_text("utf-8"))["openai-chat"]
    assert _export(sample_store, tmp_path / "out", "openai-chat", page_size=3) == expected
    assert seen and max(seen) == 3 and sum(seen) == 137  # 152 records, 15 rejected


def test_pages_are_lazy_and_bounded(sample_store: Path) -> None:
    """The first page arrives before the rest are read, and holds only page_size rows."""
    from curator.store.exports import curated_pages, curated_records

    pages = curated_pages(Store(sample_store), page_size=4)
    first = next(pages)
    assert len(first) == 4
    rest = [r for page in pages for r in page]
    everything = list(curated_records(Store(sample_store)))
    assert [r.uid for r in [*first, *rest]] == [r.uid for r in everything]
    assert [r.seq for r in everything] == sorted(r.seq for r in everything)


def test_a_record_gone_between_the_two_reads_fails_clearly(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record rejected after the keys were read but before its page came is an error that
    leaves no export behind, never a silently shorter file."""
    from curator.domain import CuratorError
    from curator.export import run
    from curator.store import exports

    real = exports.curated_pages

    def losing_one(*args: Any, **kwargs: Any) -> Any:
        for i, page in enumerate(real(*args, **kwargs)):
            yield page[1:] if i == 0 else page

    monkeypatch.setattr(run, "curated_pages", losing_one)
    out = tmp_path / "out"
    with pytest.raises(CuratorError, match="changed while exporting"):
        export(Store(sample_store), out, ExportOptions(**CASES["openai-chat"]))
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".curator-export")]


#: Another reviewer's process: when it can get the store at once it rejects record argv[2]
#: (and says "rejected"), else it says "locked". It never waits, so it tells which it found.
OTHER_REVIEWER = """
import sys
from pathlib import Path
import duckdb
from curator.store import Store
from curator.store.reviews import decide
try:
    duckdb.connect(sys.argv[1]).close()
except duckdb.IOException:
    print("locked")
    raise SystemExit(0)
decide(Store(Path(sys.argv[1])), sys.argv[2], "reject", "bo", reason="wrong figure")
print("rejected")
"""


def test_another_process_cannot_change_the_chosen_records_before_they_are_written(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in a team walk (an export beside reviewers and imports): between choosing the
    records and writing them the export let go of the store, so a decision or an import of
    another process made it fail ("57 chosen records changed while exporting"). The export
    is one turn on the store: the other process finds it held, and the files hold exactly
    the records chosen."""
    import shutil
    import subprocess
    import sys

    from curator.export import run
    from curator.export.splits import split_by_context

    db = tmp_path / "team.duckdb"
    shutil.copy(sample_store, db)
    with Store(db).connection() as con:
        accepted = con.execute(
            "SELECT record_uid FROM record_state WHERE status = 'accepted' ORDER BY record_uid"
        ).fetchone()
    assert accepted is not None
    real_split = split_by_context
    other: list[str] = []

    def split_after_another_reviewer(*args: Any, **kwargs: Any) -> Any:
        # The records are chosen: another process tries to reject one of them now.
        done = subprocess.run(
            [sys.executable, "-c", OTHER_REVIEWER, str(db), accepted[0]],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "CURATOR_CONFIG": os.devnull},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        other.append(done.stdout.strip())
        return real_split(*args, **kwargs)

    monkeypatch.setattr(run, "split_by_context", split_after_another_reviewer)
    out = tmp_path / "out"
    manifest = export(Store(db), out, ExportOptions(**CASES["openai-chat"]))
    assert other == ["locked"]
    uids = (out / "train.uids.txt").read_text().split() + (
        (out / "validation.uids.txt").read_text().split()
        if (out / "validation.uids.txt").exists()
        else []
    )
    assert accepted[0] in uids
    splits = manifest["splits"]
    assert splits["train"]["records"] + splits["validation"]["records"] == len(uids)


def test_a_store_changed_under_the_export_is_exit_3_and_says_what_to_do(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    """ "N chosen records changed while exporting" exited 1 (an internal error, a bug) and
    said only "export again": the export holds the store, so it means the store changed under
    it, exit 3 like any unusable store, with what to do; nothing is exported."""
    from curator.export import run
    from curator.store import exports

    real = exports.curated_pages

    def losing_two(*args: Any, **kwargs: Any) -> Any:
        for i, page in enumerate(real(*args, **kwargs)):
            yield page[2:] if i == 0 else page

    monkeypatch.setattr(run, "curated_pages", losing_two)
    out = tmp_path / "out"
    result = run_cli("--db", sample_store, "export", out, "--target", "openai-chat")
    assert result.code == 3, result.err
    assert result.err.startswith("curator: error: 2 chosen records changed while exporting")
    assert "run `curator check`, then export again" in result.err
    assert len(result.err.splitlines()) == 1
    assert not out.exists()


def test_files_too_big_for_the_target_are_a_refused_request(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    """A train file over the target's size limit ("export does not fit the target") exited 1,
    an internal error, and named the staging file, gone by then: the data cannot meet the
    request (exit 2, as too many records is), named by the export's file, with what to do."""
    import dataclasses

    from curator.export import targets

    chat = targets.TARGETS["openai-chat"]
    monkeypatch.setattr(chat, "limits", dataclasses.replace(chat.limits, max_train_bytes=4096))
    out = tmp_path / "out"
    result = run_cli("--db", sample_store, "export", out, "--target", "openai-chat")
    assert result.code == 2, result.err
    assert result.err.startswith("curator: error: export does not fit the target: train.jsonl: ")
    assert "bytes; at most 4,096 for train; export fewer records (--max-train" in result.err
    assert ".curator-export" not in result.err and len(result.err.splitlines()) == 1
    assert not out.exists()


def test_an_empty_or_undecodable_system_prompt_file_is_bad_input(
    sample_store: Path, tmp_path: Path, run_cli: Any
) -> None:
    """`--system-prompt FILE` with an empty file exited 1 (an internal error) although the
    function's own docstring promised exit 2; so did a file that is not UTF-8."""
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", "utf-8")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"Vous \xeates un analyste.\n")
    for path, problem in ((empty, "the system prompt is empty"), (latin, "not UTF-8 text")):
        out = tmp_path / "out"
        result = run_cli("--db", sample_store, "export", out, "--system-prompt", path)
        assert result.code == 2, result.err
        assert result.err.startswith(f"curator: error: {path}: {problem}"), result.err
        assert len(result.err.splitlines()) == 1 and not out.exists()


def test_a_record_too_long_for_the_target_is_bad_input_naming_it(
    tmp_path: Path, run_cli: Any
) -> None:
    """A curated record over the target's tokens per record stopped the export with exit 1
    (an internal error): the data cannot meet the request, exit 2, naming the record;
    nothing is exported."""
    from tests.conftest import tiny_context, write_json

    contexts = []
    for i in range(12):
        ctx = tiny_context(f"ctx-{i}", (f"q-{i}",))
        if i == 5:  # a table of some 75,000 tokens
            ctx["table"]["table"] += [
                [f"Item {j} of a long table", "1,000", "900"] for j in range(9000)
            ]
        contexts.append(ctx)
    db = tmp_path / "long.duckdb"
    store = Store.open(db, create=True)
    import_file(store, write_json(tmp_path / "long.json", contexts), "train")
    store.open_session()
    for i in range(12):
        decide(store, f"q-{i}", "accept", "ana")
    assert journal_for(store).wait_stored(timeout=60)
    journal_for(store).close()
    store.close()
    out = tmp_path / "out"
    result = run_cli(
        "--db", db, "export", out, "--target", "openai-chat", "--validation-fraction", "0"
    )
    assert result.code == 2, result.err
    assert result.err.startswith("curator: error: record 'q-5' cannot be exported: about ")
    assert len(result.err.splitlines()) == 1 and not out.exists()
