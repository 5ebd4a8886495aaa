"""A rules pass's worker judges plain rows straight through `rules.judge` (no `WorkItem`, no
`NewVerdict` per record), the pass hands out chunks of shrinking size, and the judge searches a
context's cells for a scale in one pass: each must change no verdict. Checked against the
single-process path (`rules.verdict_for` on the items `work_page` reads) on hostile, edited and
sample records, and on the real TAT-QA dev and test files, cut into chunks at odd places."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.domain import JudgeKey, Paragraph, RecordFilter
from curator.judges import rules
from curator.judges.rules_pass import MAX_CHUNK_SIZE, chunk_for
from curator.judges.rules_worker import judge_rows
from curator.store import Store
from curator.store.importer import import_file
from curator.store.verdicts import work_page
from curator.store.work_rows import work_rows
from curator.work_rows import CONTEXT_UID
from tests.conftest import SAMPLE_DATA
from tests.hostile import RECORDS, edit_hostile

KEY = JudgeKey("rules", "v", "v")


def _same_verdicts(store: Store, chunk: int) -> int:
    """The worker's verdicts on the store's records, handed over `chunk` rows at a time, are
    those of `verdict_for` (verdict, reason, evidence); how many were compared."""
    items = work_page(store, KEY, RecordFilter(), limit=1_000_000)
    expected = [(v.verdict, v.reason, v.evidence) for v in map(rules.verdict_for, items)]
    rows, contexts = work_rows(store, KEY, RecordFilter(), limit=1_000_000)
    got = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        needed = {row[CONTEXT_UID]: contexts[row[CONTEXT_UID]] for row in part}
        got += [(v, reason, evidence) for v, reason, _, evidence in judge_rows(part, needed)]
    assert got == expected
    return len(got)


def test_rows_get_the_verdicts_of_work_items_on_hostile_and_edited_records(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, RECORDS, "train")
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    import_file(store, SAMPLE_DATA / "sample_train.json", "train")
    edit_hostile(store, KEY)
    for chunk in (1, 7, 1000):
        assert _same_verdicts(store, chunk) > 100


@pytest.mark.shared
def test_rows_get_the_verdicts_of_work_items_on_the_real_files(
    tmp_path: Path, tatqa_dir: Path
) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, tatqa_dir / "tatqa_dataset_dev.json", "dev")
    import_file(store, tatqa_dir / "tatqa_dataset_test_gold.json", "test")
    assert _same_verdicts(store, 97) > 3000


def _scale_per_cell(ctx: rules._Context, scale: str) -> bool:
    """What `mentions_scale` said before it searched the cells joined: one search per cell."""
    pattern = rules._SCALE_MENTIONS[scale]
    return bool(pattern.search(ctx.text)) or any(
        pattern.search(cell) for row in ctx.grid.rows for cell in row
    )


Table = tuple[list[list[str]], list[Paragraph]]


def _tables(files: list[Path]) -> list[Table]:
    out = []
    for file in files:
        for ctx in json.loads(file.read_text("utf-8")):
            paragraphs = [Paragraph(p["uid"], p["order"], p["text"]) for p in ctx["paragraphs"]]
            out.append((ctx["table"]["table"], paragraphs))
    return out


def _check_scales(tables: list[Table]) -> set[bool]:
    seen = set()
    for table, paragraphs in tables:
        for scale in rules._SCALE_MENTIONS:
            ctx = rules._Context.build(table, paragraphs)
            said = ctx.mentions_scale(scale)
            assert said == _scale_per_cell(ctx, scale), (scale, table)
            seen.add(said)
    return seen


def test_the_cells_searched_at_once_mention_a_scale_exactly_when_one_cell_does() -> None:
    # Cells that would make a mention if joined by a space or nothing ("$ k", "in 000", "mn"),
    # and cells holding the joining character itself.
    tricky: list[Table] = [
        ([["", "$"], ["k", "1"]], []),
        ([["in", "000"], ["a", "1"]], []),
        ([["m", "n"], ["a", "\0"]], []),
        ([["x\0", "\0m\0"], ["a", "1"]], []),
        ([["usd", "m"], ["thousand", "1"]], []),
    ]
    files = [RECORDS, SAMPLE_DATA / "sample_dev.json", SAMPLE_DATA / "sample_train.json"]
    assert _check_scales(tricky + _tables(files)) == {True, False}


@pytest.mark.shared
def test_the_cells_searched_at_once_mention_a_scale_as_before_on_the_real_files(
    tatqa_dir: Path,
) -> None:
    files = [tatqa_dir / "tatqa_dataset_dev.json", tatqa_dir / "tatqa_dataset_test_gold.json"]
    assert _check_scales(_tables(files)) == {True, False}


@pytest.mark.parametrize(
    ("total", "workers", "smallest"), [(50_000, 2, 256), (1000, 4, 7), (5, 2, 3)]
)
def test_chunks_shrink_to_the_smallest_as_the_pass_nears_its_end(
    total: int, workers: int, smallest: int
) -> None:
    sizes = []
    handed = 0
    while handed < total:
        size = min(chunk_for(total - handed, workers, smallest), total - handed)
        sizes.append(size)
        handed += size
    assert handed == total
    assert all(0 < s <= max(MAX_CHUNK_SIZE, smallest) for s in sizes)
    assert sizes == sorted(sizes, reverse=True)  # never a large chunk after a small one
    # The last chunks are small: no worker is left judging a large one alone at the end.
    assert all(s <= smallest for s in sizes[-workers:])
    if total >= 10 * MAX_CHUNK_SIZE:
        assert sizes[0] == MAX_CHUNK_SIZE
