"""Validating a reviewer's edit: text from the edit form to typed values, and the diff to show.

Kept out of the screens so the rules are tested without Textual and the same rules can serve a
future bulk-edit command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from curator.domain import SCALES, AnswerValue, QuestionAnswer
from curator.numbers import parse_number
from curator.prompts import SPAN_SEPARATOR, render_number


class EditError(ValueError):
    """An edit that cannot be saved; the message names the field."""


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    old: str
    new: str


def answer_to_form(answer: AnswerValue) -> str:
    """How the edit form shows an answer: one span per line, numbers as the data has them."""
    if isinstance(answer, list):
        return "\n".join(answer)
    if isinstance(answer, int | float):
        return render_number(answer)
    return answer


def parse_answer(text: str, answer_type: str) -> AnswerValue:
    """The form's answer text as the JSON type TAT-QA uses for this answer type."""
    stripped = text.strip()
    if not stripped:
        raise EditError("answer: must not be empty")
    if answer_type in ("span", "multi-span"):
        lines = [line.strip() for line in stripped.splitlines() if line.strip()]
        if len(lines) == 1 and SPAN_SEPARATOR.strip() in lines[0] and answer_type == "multi-span":
            lines = [
                part.strip() for part in lines[0].split(SPAN_SEPARATOR.strip()) if part.strip()
            ]
        if answer_type == "span" and len(lines) != 1:
            raise EditError("answer: a span answer is one line")
        return lines
    value = parse_number(stripped)
    if value is None:
        raise EditError(f"answer: {answer_type} needs a number, got {stripped!r}")
    if answer_type == "count":
        if value < 0:
            raise EditError(f"answer: a count cannot be negative, got {stripped!r}")
        if not value.is_integer():
            raise EditError(f"answer: a count is a whole number, got {stripped!r}")
        return str(int(value))
    return int(value) if value.is_integer() and "." not in stripped else value


def validate_edit(
    *,
    answer_type: str,
    original: dict[str, Any],
    question: str,
    answer: str,
    derivation: str,
    scale: str,
) -> tuple[dict[str, Any], list[FieldDiff]]:
    """The changed fields (typed) and a human diff; raises EditError naming the bad field."""
    if not question.strip():
        raise EditError("question: must not be empty")
    if scale not in SCALES:
        raise EditError(f"scale: {scale!r} is not one of {', '.join(repr(s) for s in SCALES)}")
    new_values: dict[str, Any] = {
        "question": question.strip(),
        "answer": parse_answer(answer, answer_type),
        "derivation": derivation.strip(),
        "scale": scale,
    }
    changed = {k: v for k, v in new_values.items() if v != original.get(k)}
    diffs = [FieldDiff(k, _show(original.get(k)), _show(v)) for k, v in changed.items()]
    return changed, diffs


def _show(value: Any) -> str:
    """A field's value as a reviewer reads it in the diff: spans one after another (each in
    quotes, so `a; b` as one span and as two differ), numbers as written, and a blank value
    as `(none)` rather than nothing after the arrow."""
    if isinstance(value, list):
        text = ", ".join(json.dumps(str(v), ensure_ascii=False) for v in value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = render_number(value)
    else:
        text = "" if value is None else str(value)
    return text if text.strip() else "(none)"


EDITED_FIELDS = ("question", "answer", "derivation", "scale")


def whole_edit(
    current: QuestionAnswer, imported: QuestionAnswer, changes: dict[str, Any]
) -> dict[str, Any]:
    """What an edit event stores: `changes` on top of every field an earlier edit changed.

    A record's curated values are its latest live edit's fields over the imported ones, so an
    edit that carried only the fields changed this time would silently drop what an earlier
    edit changed (a reworded question lost by a later answer fix)."""
    earlier = {
        name: getattr(current, name)
        for name in EDITED_FIELDS
        if getattr(current, name) != getattr(imported, name)
    }
    return {**earlier, **changes}
