"""Build the judge a command asked for, from options, the config file and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.domain import CuratorError
from curator.models import (
    DEFAULT_BEDROCK_JUDGE_MODEL,
    DEFAULT_JUDGE_MODEL,
    DEFAULT_REGION,
    judge_setting,
    price_for,
    thinking_config,
)
from curator.prompts import DEFAULT_JUDGE_TEMPLATE, TABLE_FORMATS, load_judge_template

JUDGES = ("rules", "anthropic", "bedrock")


@dataclass(frozen=True, slots=True)
class JudgeChoice:
    """A judge as the user chose it, before any client is created."""

    name: str
    model: str | None = None
    region: str | None = None
    base_url: str | None = None
    endpoint_url: str | None = None
    prompt_file: Path | None = None
    table_format: str | None = None
    concurrency: int = 8


def default_judge(sections: dict[str, Any], env: dict[str, str] | None = None) -> str:
    """The configured judge, else anthropic when a key is set, else the offline rules judge."""
    env = dict(os.environ) if env is None else env
    configured = judge_setting(sections, "backend", None)
    if configured:
        if configured not in JUDGES:
            raise CuratorError(f"config [judge] backend = {configured!r}; expected one of {JUDGES}")
        return str(configured)
    return "anthropic" if env.get("ANTHROPIC_API_KEY") else "rules"


def resolved_model(choice: JudgeChoice, sections: dict[str, Any]) -> str:
    if choice.model:
        return choice.model
    if choice.name == "bedrock":
        return str(judge_setting(sections, "bedrock_model", DEFAULT_BEDROCK_JUDGE_MODEL))
    return str(judge_setting(sections, "model", DEFAULT_JUDGE_MODEL))


def make_judge(choice: JudgeChoice, sections: dict[str, Any]) -> Any:
    """A `Judge` (see runner.py): RulesJudge, or LLMJudge over the Anthropic or Bedrock backend."""
    from curator.judges.runner import LLMJudge, RulesJudge

    if choice.name == "rules":
        return RulesJudge()
    if choice.name not in JUDGES:
        raise CuratorError(f"unknown judge {choice.name!r}; expected one of {', '.join(JUDGES)}")
    model = resolved_model(choice, sections)
    template = (
        load_judge_template(choice.prompt_file) if choice.prompt_file else DEFAULT_JUDGE_TEMPLATE
    )
    table_format = choice.table_format or str(judge_setting(sections, "table_format", "markdown"))
    if table_format not in TABLE_FORMATS:
        raise CuratorError(f"unknown table format {table_format!r}")
    price = price_for(model, sections)
    cache_min = price.cache_min_tokens if price else 1024
    max_tokens = int(judge_setting(sections, "max_tokens", 1024))
    thinking = thinking_config(model, sections)
    backend: Any
    if choice.name == "anthropic":
        from curator.judges.llm import AnthropicBackend

        backend = AnthropicBackend(
            model,
            base_url=choice.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
            cache_min_tokens=cache_min,
            thinking=thinking,
        )
    else:
        from curator.judges.llm import BedrockBackend

        backend = BedrockBackend(
            model,
            region=choice.region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or str(judge_setting(sections, "region", DEFAULT_REGION)),
            endpoint_url=choice.endpoint_url,
            concurrency=choice.concurrency,
            cache_min_tokens=cache_min,
            thinking=thinking,
        )
    return LLMJudge(
        backend, price=price, template=template, table_format=table_format, max_tokens=max_tokens
    )
