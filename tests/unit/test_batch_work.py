"""A batch pass reads its work in large columnar windows (`batch_rows`) and writes request lines
from rows (`RowLines`): the records, their order and values must be exactly `work_page`'s,
and every line exactly what `json.dumps` of the `messages_body` request writes, on sample_data,
the hostile corpus, edited records and the real TAT-QA files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from curator.domain import (
    Context,
    JudgeKey,
    NewVerdict,
    RecordFilter,
    WorkItem,
    answer_from_json,
)
from curator.judges.batch import RequestLines
from curator.judges.batch_work import BatchRow, RowLines, _answer_text, batch_rows
from curator.llm.backends import AnthropicBackend
from curator.llm.passes import LLMJudge
from curator.llm.work import WorkCursor
from curator.prompts import DEFAULT_JUDGE_TEMPLATE, JudgeTemplate, render_answer
from curator.store import Store
from curator.store.importer import import_file
from curator.store.reviews import decide
from curator.store.verdicts import append_verdicts, work_page
from tests.conftest import SAMPLE_DATA
from tests.hostile import RECORDS, edit_hostile

KEY = JudgeKey("anthropic", "claude-sonnet-5-5", "p")


def old_items(store: Store, **kwargs: Any) -> list[WorkItem]:
    """What the batch pass read before: `work_page`, page by page."""

    def fetch(after: int, size: int) -> list[WorkItem]:
        return work_page(store, KEY, after_seq=after, limit=size, **kwargs)

    return list(WorkCursor(fetch, page_size=7))


def new_rows(store: Store, **kwargs: Any) -> list[BatchRow]:
    return list(batch_rows(store, KEY, **kwargs))


def same_as_old(store: Store, window: int, **kwargs: Any) -> list[BatchRow]:
    expected = old_items(store, **kwargs)
    rows = new_rows(store, window=window, **kwargs)
    assert [row.work_item() for row in rows] == expected
    # One Context object per context and split within a window, as work_page's pages share.
    assert all(isinstance(row.context, Context) for row in rows)
    return rows


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, RECORDS, "train")
    for path in sorted(SAMPLE_DATA.glob("*.json")):
        import_file(store, path, path.stem.rsplit("_", 1)[-1])
    first = edit_hostile(store, KEY)
    decide(store, first[2].uid, "edit", "ana", edited={"answer": 12.0, "scale": "percent"})
    return store


@pytest.mark.parametrize("window", [1, 5, 64, 100_000])
def test_rows_are_work_pages_items_in_order(store: Store, window: int) -> None:
    rows = same_as_old(store, window)
    assert len(rows) > 50
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)


def test_rows_follow_filters_judged_records_rejudge_limit_and_skip(store: Store) -> None:
    every = old_items(store)
    append_verdicts(
        store, KEY, "r", [NewVerdict(i.uid, i.record_hash, "correct") for i in every[3:9]]
    )
    append_verdicts(store, KEY, "r", [NewVerdict(every[10].uid, every[10].record_hash, "error")])
    rows = same_as_old(store, 16)
    assert len(rows) == len(every) - 6  # judged ones left out, the error retried
    same_as_old(store, 16, rejudge=True)
    same_as_old(store, 16, filt=RecordFilter(splits=("dev",)))
    assert [r.uid for r in new_rows(store, window=4, limit=5)] == [r.uid for r in rows[:5]]
    assert new_rows(store, limit=0) == []
    skip = {rows[0].uid, rows[7].uid}
    kept = new_rows(store, window=4, skip=skip, limit=10)
    assert [r.uid for r in kept] == [r.uid for r in rows if r.uid not in skip][:10]


def test_a_consumer_that_stops_early_leaves_no_read_running(store: Store) -> None:
    work = batch_rows(store, KEY, window=2)
    assert next(work).uid == old_items(store)[0].uid
    work.close()  # the read ahead is awaited and dropped; the store is free again
    assert len(new_rows(store)) == len(old_items(store))


@pytest.mark.parametrize(
    "answer",
    ['["1,234"]', '["a", "b"]', '["a\\"b"]', '["\\u00e9"]', '["x\\\\"]', "12.0", "12", '"s"'],
)
@pytest.mark.parametrize("scale", ["", "percent", "million"])
def test_the_answer_short_cut_renders_what_the_decoder_does(answer: str, scale: str) -> None:
    assert _answer_text(answer, scale) == render_answer(answer_from_json(answer), scale), answer


TEMPLATES: dict[str, JudgeTemplate] = {
    "default": DEFAULT_JUDGE_TEMPLATE,
    # Answer before question in the record part.
    "answer first": JudgeTemplate("sys", "Context:\n{context}\nA: {answer}\nQ: {question}"),
    # The context after the question: every record takes RequestLines (the slow path).
    "context last": JudgeTemplate("sys", "{question}\n{context}\n{answer}"),
    "few-shot": JudgeTemplate(
        'Be strict. "Really" — strict.',
        "C: {context}\nQ: {question}\nA: {answer}",
        examples=(("Q: 1+1?\nA: 2", "<reason>ok</reason><judgement>correct</judgement>"),),
    ),
}


def anthropic(cid: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": cid, "params": {"model": "claude-sonnet-5-5", **body}}


def bedrock(cid: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"recordId": cid, "modelInput": {"anthropic_version": "bedrock-2023-05-31", **body}}


def assert_lines_identical(
    rows: list[BatchRow],
    template: JudgeTemplate,
    provider: str,
    thinking: dict[str, Any] | None = None,
    cache_min: int = 1024,
) -> int:
    """Every row's line is `json.dumps`'s; returns how many rows took the slow path."""
    backend = AnthropicBackend(
        "claude-sonnet-5-5", api_key="k", base_url="http://127.0.0.1:9", thinking=thinking,
        cache_min_tokens=cache_min,
    )  # fmt: skip
    judge = LLMJudge(backend, price=None, template=template)
    wrap = bedrock if provider == "bedrock" else anthropic
    end = b"\n" if provider == "bedrock" else b""
    slow = SlowPath(RequestLines(judge, wrap, end))
    fast = RowLines(slow, judge)  # type: ignore[arg-type]
    plain = RequestLines(judge, wrap, end)
    for n, row in enumerate(rows):
        cid = f"0123456789abn{n}"
        expected = plain.plain(cid, row.work_item())
        assert fast(cid, row) == expected, row.uid
    json.loads(fast("x", rows[-1]))
    return slow.calls


class SlowPath:
    """RequestLines, counting the records that took it instead of a context's template."""

    def __init__(self, lines: RequestLines) -> None:
        self.lines = lines
        self.calls = 0

    def cut(self, prompt: Any) -> Any:
        return self.lines.cut(prompt)

    def __call__(self, cid: str, item: WorkItem) -> bytes:
        self.calls += 1
        return self.lines(cid, item)


@pytest.mark.parametrize("template", list(TEMPLATES))
@pytest.mark.parametrize("provider", ["anthropic", "bedrock"])
def test_row_lines_are_json_dumps_on_sample_hostile_and_edited_records(
    store: Store, template: str, provider: str
) -> None:
    rows = new_rows(store)
    slow = assert_lines_identical(rows, TEMPLATES[template], provider)
    # Only a record part holding the context takes the slow path (every record of it).
    assert slow == (len(rows) + 1 if template == "context last" else 0)


@pytest.mark.parametrize("cache_min", [1, 300, 10**9])
def test_row_lines_follow_the_cache_decision_and_thinking(store: Store, cache_min: int) -> None:
    rows = new_rows(store)
    thinking = {"type": "enabled", "budget_tokens": 2048}
    assert (
        assert_lines_identical(rows, DEFAULT_JUDGE_TEMPLATE, "anthropic", thinking, cache_min) == 0
    )


@pytest.mark.shared
def test_real_tatqa_files_read_and_line_the_same(tmp_path: Path, tatqa_dir: Path) -> None:
    store = Store.open(tmp_path / "tatqa.duckdb", create=True)
    import_file(store, tatqa_dir / "tatqa_dataset_dev.json", "dev")
    import_file(store, tatqa_dir / "tatqa_dataset_test_gold.json", "test")
    expected = work_page(store, KEY, limit=1_000_000)
    rows = new_rows(store, window=1000)
    assert [row.work_item() for row in rows] == expected
    assert len(rows) > 3000
    for provider in ("anthropic", "bedrock"):
        assert assert_lines_identical(rows, DEFAULT_JUDGE_TEMPLATE, provider) == 0
