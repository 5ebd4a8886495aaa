"""A rules pass hands its workers plain rows and contexts as JSON text: the work items a worker
builds from them must be exactly those `work_page` builds (values, curated edits, one shared
context per context and split), whatever the data holds."""

from __future__ import annotations

from pathlib import Path

from curator.domain import Context, JudgeKey, NewVerdict, RecordFilter
from curator.store import Store
from curator.store.importer import import_file
from curator.store.verdicts import append_verdicts, work_page
from curator.store.work_rows import work_rows
from curator.work_rows import work_items
from tests.conftest import SAMPLE_DATA
from tests.hostile import RECORDS, edit_hostile

KEY = JudgeKey("rules", "v", "v")


def _both(store: Store, **kwargs: object) -> None:
    expected = work_page(store, KEY, **kwargs)  # type: ignore[arg-type]
    rows, contexts = work_rows(store, KEY, **kwargs)  # type: ignore[arg-type]
    items = work_items(rows, contexts)
    assert items == expected
    assert len(items) > 0
    # A context's records share one Context object, as work_page's do.
    by_uid: dict[tuple[str, str], Context] = {}
    for item in items:
        assert by_uid.setdefault((item.context.uid, item.split), item.context) is item.context


def test_rows_make_the_same_items_on_hostile_and_edited_records(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, RECORDS, "train")
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    first = edit_hostile(store, KEY)
    _both(store, limit=100_000)
    _both(store, after_seq=first[0].seq, limit=5)
    _both(store, limit=100_000, filt=RecordFilter(splits=("dev",)))


def test_rows_keep_the_pass_scope_and_skip_judged_records(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    every = work_page(store, KEY, limit=100_000)
    append_verdicts(store, KEY, "r", [NewVerdict(every[2].uid, every[2].record_hash, "correct")])
    upto = every[10].seq
    rows, _ = work_rows(store, KEY, limit=100_000, upto_seq=upto)
    assert [r[1] for r in rows] == [i.uid for i in every[:11] if i is not every[2]]
    _both(store, limit=100_000, upto_seq=upto)
