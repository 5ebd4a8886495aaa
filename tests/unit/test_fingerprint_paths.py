"""The import's faster fingerprint paths give what fingerprinting each context alone gives.

Cells are tokenised once per distinct text and joined back to the contexts holding them, and
candidate pairs that are exact copies are scored from their sets' sizes: both must attribute
every figure and label to the right context and score exactly as counting value by value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from curator.leaks import find_leaks
from curator.store import Store
from curator.store.importer import import_file
from tests.conftest import write_json
from tests.unit.test_leaks import BASE, MUST_MATCH, context

_PRINTS = """
    SELECT 'figure', f.uid, x.part, x.token FROM context_figures x
    JOIN context_fingerprints f USING (id)
    UNION ALL
    SELECT 'label', f.uid, '', x.label FROM context_labels x JOIN context_fingerprints f USING (id)
"""


def _prints(path: Path) -> set[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return set(con.execute(_PRINTS).fetchall())
    finally:
        con.close()


def _relabelled(table: list[list[str]]) -> list[list[str]]:
    """The same figures under other row labels (no text cell in common)."""
    return [[f"Line {i}", *row[1:]] if i else row for i, row in enumerate(table)]


def test_shared_cells_fingerprint_each_context_as_alone(tmp_path: Path) -> None:
    """Contexts sharing cells (labels, figures, years) in one import get the fingerprints each
    gets when imported alone into its own store."""
    contexts = [
        context("base", BASE, "Q?", "a"),
        context("millions", MUST_MATCH["millions"], "Q?", "b"),
        context("extra", MUST_MATCH["extra-column"], "Q?", "c"),
        context("relabelled", _relabelled(BASE), "Q?", "d"),
    ]
    contexts[1]["paragraphs"][0]["text"] = "Revenue rose to $12,345 from $11,234 (thousands)."
    together = tmp_path / "together.duckdb"
    import_file(
        Store.open(together, create=True), write_json(tmp_path / "all.json", contexts), "train"
    )
    alone: set[tuple[Any, ...]] = set()
    for ctx in contexts:
        uid = ctx["table"]["uid"]
        db = tmp_path / f"{uid}.duckdb"
        import_file(Store.open(db, create=True), write_json(tmp_path / f"{uid}.json", [ctx]), "t")
        alone |= _prints(db)
    found = _prints(together)
    assert found == alone
    # Each context has its own figures and labels (the join did not lose or mix them).
    assert {(kind, uid) for kind, uid, *_ in found} == {
        (kind, ctx["table"]["uid"]) for kind in ("figure", "label") for ctx in contexts
    }


def test_exact_copies_score_as_counted(tmp_path: Path, store_path: Path) -> None:
    """Three exact copies pair at 1.0 with every figure and label counted; a copy with the
    same figures under other labels is no exact copy: its labels are counted (none shared),
    so it scores 0.6 x 1 + 0.3 x 0 + 0.1 x 1 = 0.7."""
    copies = [context(f"e{i}", BASE, "Q?", str(i)) for i in (1, 2, 3)]
    other = context("e4", _relabelled(BASE), "Q?", "4")
    st = Store.open(store_path, create=True)
    import_file(st, write_json(tmp_path / "c.json", [*copies, other]), "train")
    pairs = {(p.a, p.b): p for p in find_leaks(st, threshold=0.5).contexts}
    assert set(pairs) == {
        ("e1", "e2"),
        ("e1", "e3"),
        ("e2", "e3"),
        ("e1", "e4"),
        ("e2", "e4"),
        ("e3", "e4"),
    }
    for a, b in (("e1", "e2"), ("e1", "e3"), ("e2", "e3")):
        pair = pairs[(a, b)]
        assert (pair.score, pair.figures, pair.labels, pair.paragraph_figures) == (1.0, 10, 5, 0)
    for a in ("e1", "e2", "e3"):
        pair = pairs[(a, "e4")]
        assert (pair.score, pair.figures, pair.labels) == (0.7, 10, 0)
