"""The import's fast paths store exactly what its general paths store.

A first import appends records and contexts without joining against the (empty) tables and
without sorting, and fingerprints each distinct context content once, copying the rows to
contexts with the same content. The references are the general paths, forced: the join and
sort used whenever a table already has rows, and every context fingerprinted on its own.
Every stored row (records with their shard keys and seq, contexts, revisions, the import log,
fingerprints, the near-duplicate cache), the physical order of the records, the summaries and
the errors must be the same.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest

from curator.domain import BadInput, ImportSummary
from curator.store import Store, importer, leaks
from curator.store.importer import import_file, import_files
from tests.conftest import SAMPLE_DATA, tiny_context, write_json

#: Every table an import writes, each read in an order that does not depend on physical layout
#: (fingerprint ids are replaced by their context's uid, the import time is left out).
_TABLES = {
    "records": "SELECT * FROM records ORDER BY seq",
    "record_order": "SELECT seq FROM records ORDER BY rowid",
    "contexts": "SELECT * FROM contexts ORDER BY uid",
    "record_revisions": "SELECT * FROM record_revisions ORDER BY ALL",
    "context_revisions": "SELECT * FROM context_revisions ORDER BY ALL",
    "imports": "SELECT * EXCLUDE (imported_at) FROM imports ORDER BY import_id",
    "fingerprints": "SELECT uid, revision FROM context_fingerprints ORDER BY ALL",
    "figures": "SELECT f.uid, x.part, x.token FROM context_figures x "
    "JOIN context_fingerprints f USING (id) ORDER BY ALL",
    "labels": "SELECT f.uid, x.label FROM context_labels x "
    "JOIN context_fingerprints f USING (id) ORDER BY ALL",
    "near_duplicates": "SELECT * FROM near_duplicates ORDER BY ALL",
}


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in _TABLES.items()}
    finally:
        con.close()


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the general paths: tables treated as holding rows, copies fingerprinted alone."""
    monkeypatch.setattr(importer, "_empty", lambda _con, _table: False)
    monkeypatch.setattr(leaks, "SHARE_COPIES", False)


def _import_both(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batches: list[list[tuple[Path, str]]],
) -> tuple[Path, Path, list[list[ImportSummary]], list[list[ImportSummary]]]:
    """Run the same imports (one call per batch) into a store by the fast paths and into
    another by the general ones; return both stores and their summaries."""
    fast, general = tmp_path / "fast.duckdb", tmp_path / "general.duckdb"
    fast_summaries = [import_files(Store.open(fast, create=True), b) for b in batches]
    with monkeypatch.context() as patch:
        _general(patch)
        general_summaries = [import_files(Store.open(general, create=True), b) for b in batches]
    return fast, general, fast_summaries, general_summaries


def _assert_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batches: Any, *, ordered: bool = True
) -> None:
    fast, general, got, expected = _import_both(tmp_path, monkeypatch, batches)
    assert got == expected
    fast_rows, general_rows = _rows(fast), _rows(general)
    assert fast_rows["records"], "nothing was imported"
    for name in _TABLES:
        assert fast_rows[name] == general_rows[name], name
    # Records are stored in seq (file) order by either path (an update of a record may move
    # it: DuckDB rewrites a row whose list column changes).
    if ordered:
        assert fast_rows["record_order"] == sorted(fast_rows["record_order"])


def _copied(contexts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contexts again under fresh uids (tables, paragraphs and questions unchanged)."""
    out = copy.deepcopy(contexts)
    for ctx in out:
        ctx["table"]["uid"] = str(uuid.uuid4())
        for q in ctx["questions"]:
            q["uid"] = str(uuid.uuid4())
    return out


def test_sample_data_fast_and_general_paths_store_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample files, one import each, then again (a re-import: nothing new)."""
    dev, train = SAMPLE_DATA / "sample_dev.json", SAMPLE_DATA / "sample_train.json"
    batches = [[(dev, "dev")], [(train, "train")], [(dev, "dev"), (train, "train")]]
    _assert_same(tmp_path, monkeypatch, batches)


def test_copied_contexts_and_repeated_uids_store_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contexts copied under other uids (fingerprinted once, rows copied), a repeated
    identical question and a repeated identical context (skipped), two files in one import."""
    contexts = json.loads((SAMPLE_DATA / "sample_train.json").read_text("utf-8"))
    copies = _copied(contexts[:3]) + _copied(contexts[:1])
    repeated = [*contexts, *copies, copy.deepcopy(contexts[0])]
    repeated[-1]["questions"] = repeated[-1]["questions"][:1]
    first = write_json(tmp_path / "first.json", repeated)
    second = write_json(tmp_path / "second.json", _copied(contexts[2:4]))
    _assert_same(tmp_path, monkeypatch, [[(first, "train"), (second, "dev")]])
    # The copies got fingerprint rows equal to their originals'.
    rows = _rows(tmp_path / "fast.duckdb")
    figures: dict[str, set[tuple[Any, ...]]] = {}
    for uid, part, token in rows["figures"]:
        figures.setdefault(uid, set()).add((part, token))
    original = figures[contexts[0]["table"]["uid"]]
    assert original and figures[copies[0]["table"]["uid"]] == original
    assert figures[copies[3]["table"]["uid"]] == original


def test_changed_reimport_stores_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second import that changes a record and a context takes the general path in both
    stores; what the first import left must not make it differ."""
    contexts = json.loads((SAMPLE_DATA / "sample_train.json").read_text("utf-8"))
    before = write_json(tmp_path / "before.json", contexts)
    changed = copy.deepcopy(contexts)
    changed[0]["questions"][0]["question"] += " (restated)"
    changed[1]["paragraphs"][0]["text"] += " Restated."
    after = write_json(tmp_path / "after.json", changed)
    _assert_same(tmp_path, monkeypatch, [[(before, "train")], [(after, "train")]], ordered=False)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "split"), [("tatqa_dataset_dev.json", "dev"), ("tatqa_dataset_test_gold.json", "test")]
)
def test_real_files_fast_and_general_paths_store_the_same(
    tatqa_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, split: str
) -> None:
    path = tatqa_dir / name
    _assert_same(tmp_path, monkeypatch, [[(path, split)], [(path, split)]])


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    good = tiny_context()
    wrong_type = copy.deepcopy(good)
    wrong_type["questions"][0]["order"] = "first"
    missing = copy.deepcopy(good)
    del missing["questions"][0]["scale"]
    twice = copy.deepcopy(good)
    other = copy.deepcopy(good["questions"][0])
    other["question"] = "Something else?"
    twice["questions"].append(other)
    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps([good])[:-5] + "\n", "utf-8")
    return {
        "wrong type": write_json(tmp_path / "type.json", [wrong_type]),
        "missing field": write_json(tmp_path / "missing.json", [missing]),
        "duplicate uid": write_json(tmp_path / "twice.json", [twice]),
        "malformed JSON": malformed,
    }


def test_bad_input_gives_the_same_error_and_leaves_the_store_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into an empty store (fast paths) and into one with rows, by either path: the same
    one-line error, and the store exactly as it was."""
    bad = _bad_inputs(tmp_path)
    seed = write_json(tmp_path / "seed.json", [tiny_context("seed-t", ("seed-q",))])
    for kind, path in bad.items():
        messages = set()
        for general in (False, True):
            for seeded in (False, True):
                db = tmp_path / f"{kind}-{general}-{seeded}.duckdb".replace(" ", "_")
                store = Store.open(db, create=True)
                if seeded:
                    import_file(store, seed, "train")
                before = _rows(db)
                with monkeypatch.context() as patch:
                    if general:
                        _general(patch)
                    with pytest.raises(BadInput) as caught:
                        import_file(store, path, "train")
                assert _rows(db) == before, (kind, general, seeded)
                assert caught.value.exit_code == 2
                messages.add(str(caught.value))
        assert len(messages) == 1, (kind, messages)
        message = messages.pop()
        assert "\n" not in message and path.name in message, message
