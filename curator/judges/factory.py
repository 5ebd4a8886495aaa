"""Build the judge a command asked for, from options, the config file and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.domain import BadInput, CuratorError
from curator.llm.prices import price_for
from curator.model_ids import (
    PROFILE_PREFIXES,
    canonical_model,
    needs_inference_profile,
    with_profile,
)
from curator.models import (
    DEFAULT_BEDROCK_JUDGE_MODEL,
    DEFAULT_JUDGE_MODEL,
    DEFAULT_REGION,
    judge_setting,
    thinking_config,
)
from curator.prompts import DEFAULT_JUDGE_TEMPLATE, TABLE_FORMATS, load_judge_template

if TYPE_CHECKING:
    from curator.llm.backends import Backend
    from curator.llm.passes import Judge

#: The judges a user can choose (CLI choice lists come from here).
JUDGES = ("rules", "anthropic", "bedrock")
#: The backends that call a model (predict's choice list).
BACKENDS = ("anthropic", "bedrock")


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


def resolved_region(choice: JudgeChoice, sections: dict[str, Any]) -> str:
    """--region, else AWS_REGION / AWS_DEFAULT_REGION, else `[judge] region`, else us-east-1."""
    return (
        choice.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or str(judge_setting(sections, "region", DEFAULT_REGION))
    )


def resolved_model(choice: JudgeChoice, sections: dict[str, Any]) -> str:
    """The model id to call. The Bedrock default is the inference profile of the region's
    geography (`[judge] inference_profile` overrides it); a bare id that Bedrock serves only
    through a profile, given explicitly, is refused here rather than by every call."""
    if choice.name != "bedrock":
        return choice.model or str(judge_setting(sections, "model", DEFAULT_JUDGE_MODEL))
    region = resolved_region(choice, sections)
    geography = judge_setting(sections, "inference_profile", None)
    if geography is not None and str(geography) not in PROFILE_PREFIXES:
        raise BadInput(
            "config",
            "[judge] inference_profile",
            f"{str(geography)[:40]!r}; expected one of {', '.join(PROFILE_PREFIXES)}",
        )
    explicit = choice.model or judge_setting(sections, "bedrock_model", None)
    if explicit is None:
        return with_profile(DEFAULT_BEDROCK_JUDGE_MODEL, region, geography)
    model = str(explicit)
    if needs_inference_profile(model):
        where = "--model" if choice.model else "config [judge] bedrock_model"
        raise BadInput(
            where,
            "",
            f"{model[:120]}: Bedrock serves this model on demand only through an inference "
            f"profile; use {with_profile(model, region, geography)} (or global.{model})",
        )
    return model


def price_warning(judge: Any) -> str | None:
    """A one-line warning when an LLM judge's model has no price (costs would read $0)."""
    if getattr(judge, "backend", None) is None or judge.price is not None:
        return None
    model = judge.key.model
    return (
        f"warning: no price for model {model[:120]}; costs are unknown. Add "
        f'[prices."{canonical_model(model)[:120]}"] input = ... output = ... to the config'
    )


def require_price_for_cap(judge: Any, max_cost: float | None) -> None:
    """--max-cost cannot be honoured without a price: refuse before anything is called."""
    if max_cost is not None and price_warning(judge) is not None:
        model = judge.key.model
        raise BadInput(
            "--max-cost",
            "",
            f"no price for model {model[:120]}, so the cap cannot be enforced; add "
            f'[prices."{canonical_model(model)[:120]}"] to the config',
        )


def make_backend(
    choice: JudgeChoice,
    model: str,
    sections: dict[str, Any],
    *,
    thinking: dict[str, Any] | None = None,
) -> Backend:
    """The one place an Anthropic or Bedrock backend is built, for judging and predicting alike.

    The SDK clients are imported here, not at module level, so choosing the rules judge (or
    asking for --help) never loads anthropic or boto3.
    """
    price = price_for(model, sections)
    cache_min = price.cache_min_tokens if price else 1024
    if choice.name == "anthropic":
        from curator.llm.backends import AnthropicBackend

        return AnthropicBackend(
            model,
            base_url=choice.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
            cache_min_tokens=cache_min,
            thinking=thinking,
        )
    if choice.name != "bedrock":
        raise CuratorError(f"unknown backend {choice.name!r}; expected anthropic or bedrock")
    from curator.llm.backends import BedrockBackend

    return BedrockBackend(
        model,
        region=resolved_region(choice, sections),
        endpoint_url=choice.endpoint_url,
        concurrency=choice.concurrency,
        cache_min_tokens=cache_min,
        thinking=thinking,
    )


def make_judge(choice: JudgeChoice, sections: dict[str, Any]) -> Judge:
    """A `Judge` (curator/llm/passes.py): RulesJudge, or LLMJudge over an LLM backend."""
    from curator.llm.passes import LLMJudge, RulesJudge

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
    max_tokens = int(judge_setting(sections, "max_tokens", 1024))
    backend = make_backend(choice, model, sections, thinking=thinking_config(model, sections))
    return LLMJudge(
        backend, price=price, template=template, table_format=table_format, max_tokens=max_tokens
    )
