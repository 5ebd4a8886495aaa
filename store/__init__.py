"""The store: the only package that speaks SQL. Returns plain dataclasses, never widgets."""

from curator.store.db import Store

__all__ = ["Store"]
