"""Where the guidelines file is looked for, and every way reading it can fail, as a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.guidelines import GUIDELINES_BYTES, guidelines_path, read_guidelines
from curator.settings import load


def test_the_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "team" / "config.toml"
    config.parent.mkdir()
    config.write_text('[review]\nguidelines = "docs/guide.md"\n')
    settings = load({"CURATOR_CONFIG": str(config)})
    assert guidelines_path(settings) == tmp_path / "team" / "docs" / "guide.md"
    config.write_text(f'[review]\nguidelines = "{tmp_path / "abs.md"}"\n')
    assert guidelines_path(load({"CURATOR_CONFIG": str(config)})) == tmp_path / "abs.md"
    assert guidelines_path(load({"CURATOR_CONFIG": "/dev/null"})) is None


def test_a_wrong_type_is_a_config_error(tmp_path: Path) -> None:
    from curator.domain import BadInput

    config = tmp_path / "config.toml"
    config.write_text("[review]\nguidelines = 3\n")
    with pytest.raises(BadInput, match=r"\[review\] guidelines"):
        load({"CURATOR_CONFIG": str(config)})


def test_reading_problems_are_messages(tmp_path: Path) -> None:
    assert "No guidelines are configured" in read_guidelines(None).problem
    assert "does not exist" in read_guidelines(tmp_path / "nope.md").problem
    assert "is a folder" in read_guidelines(tmp_path).problem
    bad = tmp_path / "latin1.md"
    bad.write_bytes(b"caf\xe9")
    assert "not UTF-8" in read_guidelines(bad).problem
    empty = tmp_path / "empty.md"
    empty.write_text("  \n")
    assert "is empty" in read_guidelines(empty).problem
    good = tmp_path / "good.md"
    good.write_text("# Rules\n")
    result = read_guidelines(good)
    assert result.text == "# Rules\n" and result.problem == ""
    big = tmp_path / "big.md"
    big.write_text("x" * (GUIDELINES_BYTES + 10))
    cut = read_guidelines(big)
    assert cut.text is not None and "cut at" in cut.text
    assert len(cut.text) < GUIDELINES_BYTES + 100
