"""Any JSON value gives a clean import or a clean BadInput, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curator.domain import BadInput
from curator.store import Store
from curator.store.importer import import_file
from tests.conftest import tiny_context
from tests.templates import store_copy

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

PATHS = [
    ("table",),
    ("table", "uid"),
    ("table", "table"),
    ("paragraphs",),
    ("paragraphs", 0),
    ("paragraphs", 0, "text"),
    ("paragraphs", 0, "order"),
    ("questions",),
    ("questions", 0),
    *[("questions", 0, key) for key in tiny_context()["questions"][0]],
]


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _new_store(path: Path) -> None:
    Store.open(path, create=True)


def _import(tmp_path: Path, payload: bytes) -> None:
    store_file = tmp_path / "fuzz.duckdb"
    store_file.with_name(store_file.name + ".wal").unlink(missing_ok=True)
    # A new, empty store for each example: a copy of one created (and migrated) once per
    # process, not a migration run per example (tests/templates.py).
    store = Store.open(store_copy("empty", _new_store, store_file))
    data = tmp_path / "fuzz.json"
    data.write_bytes(payload)
    try:
        summary = import_file(store, data, "train")
    except BadInput as exc:
        assert str(exc).startswith(str(data))
        assert "\n" not in str(exc)
    else:
        assert summary.questions >= 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), value=json_values)
def test_one_field_replaced_by_any_json(tmp_path: Path, path: tuple[Any, ...], value: Any) -> None:
    doc = [tiny_context()]
    _set(doc[0], path, value)
    _import(tmp_path, json.dumps(doc).encode())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values)
def test_any_json_document(tmp_path: Path, value: Any) -> None:
    _import(tmp_path, json.dumps(value).encode())


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=64))
def test_any_bytes(tmp_path: Path, payload: bytes) -> None:
    _import(tmp_path, payload)
