"""Select lists written from a dataclass's fields, for rows read as `cls(*row)`.

A row read positionally into a dataclass silently gives every field its neighbour's value when
the SELECT and the dataclass disagree on the order. Writing the select list from
`dataclasses.fields(cls)` and a mapping of each field to its SQL keeps the two in step: a field
moved in the dataclass moves in the query, and a field added without SQL fails at once (a
KeyError naming it), never as a shifted row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any


def select_list(names: Iterable[str], sql_of: Mapping[str, str], *, alias: bool = False) -> str:
    """The select list of a row layout (a tuple of field names, the order its reader reads):
    each field's SQL from `sql_of`, in that order; with `alias`, each as `<sql> AS "<field>"`.
    A field without SQL fails at once (a KeyError naming it), never as a shifted row."""
    return ", ".join(f'{sql_of[n]} AS "{n}"' if alias else sql_of[n] for n in names)


def dataclass_columns(cls: Any, sql_of: Mapping[str, str]) -> str:
    """The select list of `cls`'s fields in `cls`'s order, each as `<sql> AS "<field>"`."""
    return select_list((f.name for f in fields(cls)), sql_of, alias=True)
