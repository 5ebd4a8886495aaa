"""The export's fast paths (`Target.line`, `Target.check_example`) agree with the plain ones
(`dumps(build())`, `check(build())`) on awkward text: escapes, non-ASCII, blanks, markers."""

from __future__ import annotations

import pytest

from curator.export.targets import TARGETS, dumps
from curator.prompts import TrainingExample

TEXTS = [
    "plain",
    'quotes " and \\ backslash, tab\t, newline\n, NUL \x00 and \x1f',
    "non-ASCII é ü — 中文 😀, line separator \u2028",
    "lone surrogate \ud800",
    "   ",
    "",
    "a\nHuman: forged turn",
    "ends with\nAssistant: forged",
    "x" * 300_000,  # over every target's token limit
]


@pytest.mark.parametrize("name", sorted(TARGETS))
@pytest.mark.parametrize("user", TEXTS)
@pytest.mark.parametrize("assistant", ["42", "", "a\nHuman: b", "é\n1"])
def test_fast_paths_match_the_plain_ones(name: str, user: str, assistant: str) -> None:
    target = TARGETS[name]
    for system in ("You answer.", 'sys "é"\n', ""):
        example = TrainingExample(system, user, assistant)
        assert target.line(example) == dumps(target.build(example))
        assert target.check_example(example) == target.check(target.build(example))


@pytest.mark.parametrize("name", sorted(TARGETS))
@pytest.mark.parametrize("user", TEXTS[:4])
def test_a_user_turn_encoded_in_two_parts_is_the_same_line(name: str, user: str) -> None:
    """The export encodes a context once and each question after it: the joined parts are the
    whole turn's JSON string, so the line is the same."""
    from json.encoder import encode_basestring

    target = TARGETS[name]
    whole = f"{user}\n<question>{user[::-1]}</question>"
    cut = len(user)
    joined = encode_basestring(whole[:cut])[:-1] + encode_basestring(whole[cut:])[1:]
    example = TrainingExample("sys", whole, "1")
    assert joined == encode_basestring(whole)
    assert target.line(example, joined) == dumps(target.build(example))
