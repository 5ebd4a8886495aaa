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
