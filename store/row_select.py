"""Select lists written from a dataclass's fields, for rows read as `cls(*row)`.

A row read positionally into a dataclass silently gives every field its neighbour's value when
the SELECT and the dataclass disagree on the order. Writing the select list from
`dataclasses.fields(cls)` and a mapping of each field to its SQL keeps the two in step: a field
moved in the dataclass moves in the query, and a field added without SQL fails at once (a
KeyError naming it), never as a shifted row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any


def dataclass_columns(cls: Any, sql_of: Mapping[str, str]) -> str:
    """The select list of `cls`'s fields in `cls`'s order, each as `<sql> AS "<field>"`."""
    return ", ".join(f'{sql_of[f.name]} AS "{f.name}"' for f in fields(cls))
