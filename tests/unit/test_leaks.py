"""Near-duplicate contexts and repeated questions (`curator leaks`) on hand-made tables."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curator.leaks import clusters, find_leaks, side_by_side
from curator.store import Store
from curator.store.importer import import_file
from curator.store.leaks import twins_of
from tests.conftest import CliResult, tiny_context, write_json

BASE = [
    ["", "2019", "2018"],
    ["Revenue", "$12,345", "$11,234"],
    ["Cost of sales", "(7,891)", "(7,012)"],
    ["Gross profit", "4,454", "4,222"],
    ["Operating expenses", "(2,113)", "(1,987)"],
    ["Net income", "2,341", "2,235"],
]

MUST_MATCH: dict[str, list[list[str]]] = {
    # The same figures in another layout: transposed, no currency signs, minus signs.
    "transposed": [
        ["Year", "Revenue", "Cost of sales", "Gross profit", "Operating expenses", "Net income"],
        ["2019", "12,345", "-7,891", "4,454", "-2,113", "2,341"],
        ["2018", "11,234", "-7,012", "4,222", "-1,987", "2,235"],
    ],
    # An extra column (the earlier year).
    "extra-column": [
        ["", "2019", "2018", "2017"],
        ["Revenue", "$12,345", "$11,234", "$10,876"],
        ["Cost of sales", "(7,891)", "(7,012)", "(6,543)"],
        ["Gross profit", "4,454", "4,222", "4,333"],
        ["Operating expenses", "(2,113)", "(1,987)", "(1,902)"],
        ["Net income", "2,341", "2,235", "2,431"],
    ],
    # Another scale word: the same amounts in millions instead of thousands.
    "millions": [
        ["(in millions)", "2019", "2018"],
        ["Revenue", "$12.345", "$11.234"],
        ["Cost of sales", "(7.891)", "(7.012)"],
        ["Gross profit", "4.454", "4.222"],
        ["Operating expenses", "(2.113)", "(1.987)"],
        ["Net income", "2.341", "2.235"],
    ],
    # Rows reordered.
    "reordered": [BASE[0], BASE[5], BASE[3], BASE[1], BASE[4], BASE[2]],
}

MUST_NOT_MATCH: dict[str, list[list[str]]] = {
    # The same company a year later: the 2019 column comes back, the 2020 one is new.
    "year-later": [
        ["", "2020", "2019"],
        ["Revenue", "$13,456", "$12,345"],
        ["Cost of sales", "(8,123)", "(7,891)"],
        ["Gross profit", "5,333", "4,454"],
        ["Operating expenses", "(2,298)", "(2,113)"],
        ["Net income", "3,035", "2,341"],
    ],
    # Shares only years and small counts with the next one.
    "small-counts-1": [
        ["", "2019", "2018", "2017"],
        ["Employees", "45", "42", "40"],
        ["Stores", "12", "11", "10"],
        ["Share of revenue", "100%", "100%", "100%"],
        ["Segments", "3", "3", "2"],
    ],
    "small-counts-2": [
        ["", "2019", "2018", "2017"],
        ["Headcount", "45", "42", "40"],
        ["Branches", "12", "11", "10"],
        ["Weight", "100%", "100%", "100%"],
        ["Countries", "3", "3", "2"],
    ],
}


def context(uid: str, table: list[list[str]], question: str, answer: str) -> dict[str, Any]:
    ctx = tiny_context(uid, (f"{uid}-q1",))
    ctx["table"]["table"] = table
    ctx["paragraphs"][0]["text"] = "Figures are audited."
    q = ctx["questions"][0]
    q["question"], q["answer"] = question, [answer]
    return ctx


@pytest.fixture
def store(tmp_path: Path, store_path: Path) -> Store:
    st = Store.open(store_path, create=True)
    train = [context("base", BASE, "What was revenue in 2019?", "$12,345")]
    for name, table in MUST_NOT_MATCH.items():
        train.append(context(name, table, "What was revenue in 2019?", "$12,345"))
    dev = [
        context(name, table, f"What is the {name} revenue?", "x")
        for name, table in MUST_MATCH.items()
    ]
    # A repeated question: same text (other case and punctuation) and answer, on a copy.
    dev[0]["questions"][0].update(question="what was revenue in 2019 ?", answer=["$12,345"])
    import_file(st, write_json(tmp_path / "train.json", train), "train")
    import_file(st, write_json(tmp_path / "dev.json", dev), "dev")
    return st


def _partners(pairs: list[Any], uid: str) -> set[str]:
    return {p.b for p in pairs if p.a == uid} | {p.a for p in pairs if p.b == uid}


def test_copies_in_another_form_match_and_lookalikes_do_not(store: Store) -> None:
    report = find_leaks(store)
    partners = _partners(report.contexts, "base")
    assert partners == set(MUST_MATCH)
    for name in MUST_MATCH:
        assert _partners(report.contexts, name) == (set(MUST_MATCH) - {name}) | {"base"}
    for name in MUST_NOT_MATCH:
        assert _partners(report.contexts, name) == set(), name
    best = next(p for p in report.contexts if {p.a, p.b} == {"base", "reordered"})
    assert best.score == 1.0 and best.figures == 10


def test_year_later_scores_below_the_threshold_but_is_seen_lower(store: Store) -> None:
    """The year-later table is a candidate (half its figures shared) that the score rejects."""
    low = find_leaks(store, threshold=0.5)
    pair = next(p for p in low.contexts if {p.a, p.b} == {"base", "year-later"})
    assert 0.5 <= pair.score < 0.8
    assert pair.figures == 5


def test_repeated_question_on_a_near_duplicate(store: Store) -> None:
    report = find_leaks(store)
    assert [(q.a, q.b) for q in report.questions] == [("base-q1", "transposed-q1")]
    q = report.questions[0]
    assert (q.split_a, q.split_b) == ("train", "dev")
    assert q.question == "what was revenue in 2019"
    # The year-later context asks the same question with the same answer text, but its table
    # is not a copy: no question pair.


def test_split_scope_and_across(store: Store) -> None:
    within_dev = find_leaks(store, splits=["dev"])
    assert {(p.split_a, p.split_b) for p in within_dev.contexts} == {("dev", "dev")}
    assert len(within_dev.contexts) == 6  # 4 copies pairwise
    across = find_leaks(store, across_only=True)
    assert len(across.contexts) == 4
    assert all(p.split_a != p.split_b for p in across.contexts)


def test_across_with_one_split_is_refused_rather_than_finding_nothing(store: Store) -> None:
    """Found walking `curator leaks` on the real files: `--across --split dev` listed no pair
    and exited 0, as if dev were clean; no pair can cross splits within one split."""
    from curator.domain import BadInput

    with pytest.raises(BadInput, match="--across") as refused:
        find_leaks(store, splits=["dev", "dev"], across_only=True)
    assert refused.value.exit_code == 2
    assert len(find_leaks(store, splits=["dev", "train"], across_only=True).contexts) == 4


def test_a_pairs_sides_follow_the_split_order(
    store: Store, run_cli: Callable[..., CliResult], store_path: Path
) -> None:
    """Found walking `curator leaks --split dev --split test` on the real files: one pair had
    its test table on the left, the other its dev table (the store orders sides by uid). The
    first split named is on the left, in the listing and in --json; without --split, the split
    imported first (here train)."""
    for order in (["dev", "train"], ["train", "dev"], []):
        report = find_leaks(store, splits=order, across_only=True)
        first, second = order or ["train", "dev"]
        assert len(report.contexts) == 4 and len(report.questions) == 1
        assert {(p.split_a, p.split_b) for p in report.contexts} == {(first, second)}
        (q,) = report.questions
        assert (q.split_a, q.split_b) == (first, second)
        base_side = ("base-q1", "base") if first == "train" else ("transposed-q1", "transposed")
        assert (q.a, q.context_a) == base_side
        splits = [f"--split={s}" for s in order]
        lines = run_cli("leaks", "--json", "--across", "--db", store_path, *splits)
        assert {tuple(d["splits"]) for d in lines.json_lines()} == {(first, second)}
        question = next(d for d in lines.json_lines() if d["kind"] == "question")
        assert (question["a"], question["shared"]["contexts"][0]) == base_side
        text = run_cli("leaks", "--db", store_path, "--top", "4", "--across", *splits)
        heads = [line for line in text.out.splitlines() if "‖" in line and "[" in line]
        assert len(heads) == 4
        assert all(f"[{first}]" in h.split(" ‖ ")[0] for h in heads), heads
        assert all(h.rstrip().endswith(f"[{second}]") for h in heads), heads


def test_import_reports_near_duplicates_and_cache_names_twins(store: Store, tmp_path: Path) -> None:
    again = copy.deepcopy(context("base-copy", MUST_MATCH["extra-column"], "Q?", "a"))
    summary = import_file(store, write_json(tmp_path / "more.json", [again]), "test")
    assert summary.near_duplicate_contexts == 1
    # Importing the same file again (nothing new: the count comes from the stored pairs).
    assert import_file(store, tmp_path / "more.json", "test").near_duplicate_contexts == 1
    twins = {t.context_uid for t in twins_of(store, "base-copy", 0.8)}
    assert twins == {"base", *MUST_MATCH}
    assert twins_of(store, "year-later", 0.8) == []


def test_paragraphs_fingerprint_a_table_with_few_figures(tmp_path: Path, store_path: Path) -> None:
    text = "Sales were $4,567.8 million, up from $3,987.6 million; margin was 23.4% and 21.7%."
    a = context("pa", [["", "2019"], ["Stores", "12"]], "Q?", "a")
    b = context("pb", [["", "2019"], ["Stores", "12"]], "Q?", "b")
    c = context("pc", [["", "2019"], ["Stores", "12"]], "Q?", "c")
    a["paragraphs"][0]["text"] = text
    b["paragraphs"][0]["text"] = "In 2019: " + text
    c["paragraphs"][0]["text"] = "Sales were $5,111.2 million, margin 19.9%, 18.8% and 17.6%."
    st = Store.open(store_path, create=True)
    import_file(st, write_json(tmp_path / "p.json", [a, b, c]), "train")
    pairs = find_leaks(st).contexts
    assert [(p.a, p.b) for p in pairs] == [("pa", "pb")]


def test_clusters_union_find() -> None:
    groups = clusters([("b", "c"), ("c", "d"), ("x", "y"), ("d", "zz")], ["a", "b", "c", "d", "x"])
    assert groups == {"a": "a", "b": "b", "c": "b", "d": "b", "x": "x"}


def test_side_by_side_makes_control_characters_visible() -> None:
    lines = side_by_side([["a\x1b[31m", "1"]], [["[b]bold[/b]", "2"]], width=80)
    assert len(lines) == 1
    assert "\x1b" not in lines[0] and "\\x1b[31m" in lines[0]
    assert "[b]bold[/b]" in lines[0] and "‖" in lines[0]


def test_cli_json_lines_and_listing(
    store: Store, run_cli: Callable[..., CliResult], store_path: Path
) -> None:
    result = run_cli("leaks", "--json", "--db", store_path)
    assert result.code == 0, result.err
    lines = result.json_lines()
    assert {tuple(sorted(d)) for d in lines} == {("a", "b", "kind", "score", "shared", "splits")}
    kinds = [d["kind"] for d in lines]
    assert kinds.count("context") == 10 and kinds.count("question") == 1
    text = run_cli("leaks", "--db", store_path, "--top", "1", "--across")
    assert text.code == 0
    assert "4 near-duplicate context pairs (4 across splits)" in text.out
    rows = [line for line in text.out.splitlines() if "‖" in line]
    assert rows[0].startswith("base [train]") and rows[0].rstrip().endswith("extra-column [dev]")
    left, right = rows[2].split(" ‖ ")
    assert left.rstrip() == "Revenue | $12,345 | $11,234"
    assert right == "Revenue | $12,345 | $11,234 | $10,876"
    assert "3 more context pairs" in text.out
    bad = run_cli("leaks", "--db", store_path, "--split", "nope")
    assert bad.code == 2 and "unknown split 'nope'" in bad.err
    bad = run_cli("leaks", "--db", store_path, "--threshold", "1.5")
    assert bad.code == 2


def _h(uid: str) -> str:
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:16]


@pytest.mark.shared
def test_real_tatqa_dev_and_test_share_tables(tatqa_dir: Path, store_path: Path) -> None:
    """TAT-QA's dev and test files hold the same tables under other uids (one with two more
    year columns); the check finds exactly those, and their repeated questions."""
    st = Store.open(store_path, create=True)
    import_file(st, tatqa_dir / "tatqa_dataset_dev.json", "dev")
    summary = import_file(st, tatqa_dir / "tatqa_dataset_test_gold.json", "test")
    assert summary.near_duplicate_contexts == 2
    report = find_leaks(st, splits=["dev", "test"], across_only=True)
    # The table uids, by the first 16 hex digits of their sha256 (no shared uid is copied here).
    assert {(_h(p.a), _h(p.b)) for p in report.contexts} == {
        ("ac6495438d48fe07", "522ef80a1b509cce"),
        ("9fb23eca06e35de1", "9d0ec6a44520ba81"),  # dev on the left, as --split names it
    }
    assert all((p.split_a, p.split_b) == ("dev", "test") for p in report.contexts)
    assert {q.question for q in report.questions} == {
        "what was the net income in 2019",
        "what was the percentage change in adjusted ebitda between 2018 and 2019",
    }
    # Everything found within and across the two files stays a handful (few false alarms).
    assert len(find_leaks(st).contexts) <= 5


def test_a_table_copied_more_often_than_the_index_allows_is_still_linked(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Figures shared by more than MAX_POSTINGS contexts leave the inverted index; exact copies
    are then linked as a star (each to the first copy), so clustering still joins them all."""
    import curator.store.leaks as store_leaks

    monkeypatch.setattr(store_leaks, "MAX_POSTINGS", 3)
    copies = [context(f"c{i}", BASE, "Q?", "a") for i in range(6)]
    st = Store.open(store_path, create=True)
    import_file(st, write_json(tmp_path / "c.json", copies), "train")
    pairs = find_leaks(st).contexts
    assert sorted((p.a, p.b) for p in pairs) == [("c0", f"c{i}") for i in range(1, 6)]
    assert all(p.score == 1.0 and p.figures == 10 for p in pairs)
    assert set(clusters(((p.a, p.b) for p in pairs), [f"c{i}" for i in range(6)]).values()) == {
        "c0"
    }


def test_a_changed_context_is_fingerprinted_again(tmp_path: Path, store_path: Path) -> None:
    st = Store.open(store_path, create=True)
    first = [
        context("base", BASE, "Q?", "a"),
        context("later", MUST_NOT_MATCH["year-later"], "Q?", "b"),
    ]
    import_file(st, write_json(tmp_path / "a.json", first), "train")
    assert find_leaks(st).contexts == []
    # The second context is corrected to a copy of the first: the next run sees the new figures.
    changed = [first[0], context("later", MUST_MATCH["extra-column"], "Q?", "b")]
    summary = import_file(st, write_json(tmp_path / "b.json", changed), "train")
    assert summary.changed_contexts == 1
    assert [(p.a, p.b) for p in find_leaks(st).contexts] == [("base", "later")]
    assert [t.context_uid for t in twins_of(st, "base", 0.8)] == ["later"]
