"""Typed config: known keys only, values checked, environment over the file in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from curator.domain import BadInput
from curator.settings import JudgeConfig, PriceConfig, SdkEnvironment, Settings, load


def _load(tmp_path: Path, text: str, **env: str) -> Settings:
    config = tmp_path / "curator.toml"
    config.write_text(text, "utf-8")
    return load({"CURATOR_CONFIG": str(config), "HOME": str(tmp_path), **env})


def test_a_full_config_is_typed(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        '[store]\ndb = "team.duckdb"\n[review]\nreviewer = "ana"\n'
        '[judge]\nbackend = "bedrock"\nconcurrency = 4\nthinks_by_default = ["claude-x"]\n'
        '[export]\nnova_base_model = "amazon.nova-lite"\n'
        '[prices."claude-x"]\ninput = 1\noutput = 2.5\n',
    )
    assert settings.db == Path("team.duckdb") and settings.reviewer == "ana"
    assert settings.config.judge == JudgeConfig(
        backend="bedrock", concurrency=4, thinks_by_default=("claude-x",)
    )
    assert settings.config.export.nova_base_model == "amazon.nova-lite"
    assert settings.config.prices == {"claude-x": PriceConfig(input=1.0, output=2.5)}


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("[judge]\nconcurency = 4\n", "[judge] concurency", "unknown setting"),
        ("[jugde]\nmodel = 'x'\n", "[jugde]", "unknown section"),
        ('[prices."m"]\ninptu = 1\n', '[prices."m"] inptu', "unknown setting"),
        ("[judge]\nconcurrency = 1000\n", "[judge] concurrency", "from 1 to 256"),
        ("[judge]\nthinking_budget = 'big'\n", "[judge] thinking_budget", "whole number"),
        ("[judge]\nthinks_by_default = 'claude'\n", "[judge] thinks_by_default", "list"),
        ("[review]\nreviewer = 7\n", "[review] reviewer", "must be a string"),
        ("judge = 3\n", "[judge]", "must be a table"),
    ],
)
def test_a_wrong_key_or_value_names_the_file_and_key(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    with pytest.raises(BadInput) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert str(tmp_path / "curator.toml") in message and where in message and what in message
    assert caught.value.exit_code == 2


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    text = '[store]\ndb = "file.duckdb"\n[judge]\nbatch_s3 = "s3://file/x"\n'
    settings = _load(tmp_path, text, CURATOR_DB="env.duckdb", CURATOR_BATCH_S3="s3://env/y")
    assert settings.db == Path("env.duckdb")
    assert settings.config.store.db == "env.duckdb"
    assert settings.config.judge.batch_s3 == "s3://env/y"
    assert _load(tmp_path, text).config.judge.batch_s3 == "s3://file/x"
    # The SDKs' region variables override [judge] region, AWS_REGION first.
    regional = '[judge]\nregion = "eu-west-1"\n'
    assert _load(tmp_path, regional).config.judge.region == "eu-west-1"
    assert _load(tmp_path, regional, AWS_DEFAULT_REGION="us-west-2").config.judge.region == (
        "us-west-2"
    )
    both = _load(tmp_path, regional, AWS_DEFAULT_REGION="us-west-2", AWS_REGION="ap-south-1")
    assert both.config.judge.region == "ap-south-1"
    keyed = _load(tmp_path, "", ANTHROPIC_API_KEY="k", ANTHROPIC_BASE_URL="http://127.0.0.1:9")
    assert keyed.config.sdk == SdkEnvironment(True, "http://127.0.0.1:9")
    assert _load(tmp_path, "").config.sdk == SdkEnvironment()


def test_batch_memory_limit_is_checked(tmp_path: Path) -> None:
    ok = _load(tmp_path, "[judge]\nbatch_memory_limit_mb = 512\n")
    assert ok.config.judge.batch_memory_limit_mb == 512
    for bad in ("32", '"512MB"'):
        with pytest.raises(BadInput, match="batch_memory_limit_mb"):
            _load(tmp_path, f"[judge]\nbatch_memory_limit_mb = {bad}\n")


def test_a_config_nested_too_deeply_is_bad_input(tmp_path: Path) -> None:
    """tomllib recurses per nesting level: a hostile file was an internal error (exit 1)."""
    with pytest.raises(BadInput, match="invalid config file") as caught:
        _load(tmp_path, "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert caught.value.exit_code == 2 and str(tmp_path / "curator.toml") in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("[judge]\nthinking = 'lots'\n", "[judge] thinking", "expected one of ['off', 'on'"),
        ("[judge]\nthinking_budget = 100\n", "[judge] thinking_budget", "from 1024 to"),
    ],
)
def test_thinking_settings_are_checked_when_the_config_is_read(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    """`thinking = 'lots'` or a budget under 1024 were refused only when a judge built its
    request, as exit 1 (an internal error) and without the file's name: bad input, exit 2."""
    with pytest.raises(BadInput) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert str(tmp_path / "curator.toml") in message and where in message and what in message
    assert caught.value.exit_code == 2


def test_demo_with_a_folder_of_no_json_files_is_bad_input(tmp_path: Path, run_cli: Any) -> None:
    """`curator demo --data EMPTY_FOLDER` exited 1 (an internal error) for a folder without
    data: bad input, exit 2, naming the folder; no store is made."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("--db", tmp_path / "demo.duckdb", "demo", "--no-tui", "--data", empty)
    assert result.code == 2, result.err
    assert result.err == f"curator: error: {empty}: no *.json files to import\n"
    assert not (tmp_path / "demo.duckdb").exists()
