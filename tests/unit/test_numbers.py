"""Reading filing numbers and evaluating TAT-QA derivations."""

from __future__ import annotations

import pytest

from curator.numbers import (
    DerivationError,
    decimals_of,
    evaluate,
    matches,
    numbers_in,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$1,452.4", 1452.4),
        ("$  1,452.4", 1452.4),
        ("(110)", -110.0),
        ("$(5,637)", -5637.0),
        ("-3", -3.0),
        ("−3", -3.0),
        ("12.5%", 12.5),
        ("2019", 2019.0),
        ("0.5", 0.5),
        (".5", 0.5),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "(1", "1.2.3", "$", "n/a", "2019 and 2018"])
def test_parse_number_refuses_non_numbers(text: str) -> None:
    assert parse_number(text) is None


def test_numbers_in_free_text() -> None:
    text = "shares (2018: 1,313,323,941) and a loss of $(3.2) million, down 5%."
    assert numbers_in(text) == [2018.0, 1313323941.0, -3.2, 5.0]


@pytest.mark.parametrize(
    ("derivation", "value"),
    [
        ("1,496.5 - 1,202.9", 293.6),
        ("(19+11+18)/3", 16.0),
        ("[(166+178)/2] - [(57+44)/2]", 121.5),
        ("2 × 3 ÷ 4", 1.5),
        ("2 x 3", 6.0),
        ("-5,637-(-3,990)", -1647.0),
        ("$0.34-$0.28", 0.06),
    ],
)
def test_evaluate_plain_reading(derivation: str, value: float) -> None:
    assert evaluate(derivation)[0].value == pytest.approx(value)


def test_accounting_negative_reading_is_offered() -> None:
    values = {round(e.value, 6) for e in evaluate("(110) + 20")}
    assert values == {130.0, -90.0}


def test_percent_as_fraction_reading_is_offered() -> None:
    values = {round(e.value, 4) for e in evaluate("53%*$23,406")}
    assert 12405.18 in values


def test_ratio_and_percent_flags() -> None:
    ratio = evaluate("(2,807 - 2,790) / 2,790")[0]
    average = evaluate("(185 + 136) / 2")[0]
    assert ratio.divides_by_variable and not average.divides_by_variable
    assert evaluate("4.00% - 3.75%")[0].percent_numbers


@pytest.mark.parametrize(
    "derivation", ["", "locate and analyze row 5", "1 / 0", "(1 + 2", "2019##2018"]
)
def test_unreadable_derivations(derivation: str) -> None:
    with pytest.raises(DerivationError):
        evaluate(derivation)


def test_rounding_at_the_answers_precision() -> None:
    assert matches(2.93069, 2.93, decimals_of(2.93))
    assert not matches(2.94, 2.93, decimals_of(2.93))
    assert matches(-19411.0, -19411, decimals_of(-19411))
    assert not matches(0.06, 0.05, decimals_of(0.05))
    assert decimals_of(160.5) == 1 and decimals_of(16) == 0
