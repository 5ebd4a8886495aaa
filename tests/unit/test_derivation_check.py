"""The edit form's live derivation check is the rules judge's own arithmetic check."""

from __future__ import annotations

import pytest

from curator.judges.rules import check_derivation


@pytest.mark.parametrize(
    ("answer", "derivation", "state", "value"),
    [
        ("9336", "1,027/12%", "mismatch", 1027 / 12),
        ("9,336", "1,027 / 0.11", "match", 1027 / 0.11),
        ("9336.36", "1,027 / 0.11", "match", 1027 / 0.11),
        ("9336.5", "1,027 / 0.11", "mismatch", 1027 / 0.11),  # compared at one decimal
        (9336, "1,027/0.11", "match", 1027 / 0.11),
        ("23.42", "10 / 42.7", "match", 10 / 42.7),  # fits as a percentage
        ("-110", "(110)", "match", -110.0),
        ("7", "", "empty", None),
        ("7", "2 + * x", "unreadable", None),
        ("n/a", "3 + 4", "no-number", 7.0),
    ],
)
def test_check_derivation(answer: object, derivation: str, state: str, value: float | None) -> None:
    check = check_derivation(answer, derivation)  # type: ignore[arg-type]
    assert check.state == state
    if value is None:
        assert check.value is None
    else:
        assert check.value == pytest.approx(value)


def test_percent_fit_is_reported_and_places_follow_the_answer() -> None:
    check = check_derivation("23.42", "10 / 42.7")
    assert check.as_percent and check.places == 2
    assert check_derivation("9,336", "1,027 / 0.11").places == 0
