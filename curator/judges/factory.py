"""Build the judge a command asked for, from options, the config file and the environment."""

from __future__ import annotations

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
    thinking_config,
)
from curator.prompts import DEFAULT_JUDGE_TEMPLATE, TABLE_FORMATS, load_judge_template
from curator.settings import Config

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


def default_judge(config: Config) -> str:
    """The configured judge, else anthropic when a key is set, else the offline rules judge."""
    configured = config.judge.backend
    if configured:
        if configured not in JUDGES:
            raise CuratorError(f"config [judge] backend = {configured!r}; expected one of {JUDGES}")
        return configured
    return "anthropic" if config.sdk.anthropic_key_set else "rules"


def arn_region(model: str | None) -> str | None:
    """The region an ARN model id names (arn:PARTITION:bedrock:REGION:...), else None."""
    if model is None or not model.startswith("arn:"):
        return None
    parts = model.split(":", 4)
    return (parts[3] or None) if len(parts) == 5 else None


def resolved_region(choice: JudgeChoice, config: Config) -> str:
    """The region of an ARN model id (provisioned throughput, a custom model, an inference
    profile: the resource lives there and is found nowhere else), else --region, else
    AWS_REGION / AWS_DEFAULT_REGION, else `[judge] region`, else us-east-1 (the environment
    is applied to the config by settings.load). A --region that disagrees with the ARN is bad
    input naming both, not a guess."""
    model = (choice.model or config.judge.bedrock_model) if choice.name == "bedrock" else None
    in_arn = arn_region(model)
    if model is None or in_arn is None:
        return choice.region or config.judge.region or DEFAULT_REGION
    if choice.region and choice.region != in_arn:
        where = "--model" if choice.model else "config [judge] bedrock_model"
        raise BadInput(
            "--region",
            "",
            f"{choice.region!r}, but {where} {model[:200]!r} is a resource of {in_arn!r}: "
            f"drop --region, or pass --region {in_arn}",
        )
    return in_arn


def resolved_model(choice: JudgeChoice, config: Config) -> str:
    """The model id to call. The Bedrock default is the inference profile of the region's
    geography (`[judge] inference_profile` overrides it); a bare id that Bedrock serves only
    through a profile, given explicitly, is refused here rather than by every call."""
    if choice.name != "bedrock":
        return choice.model or config.judge.model or DEFAULT_JUDGE_MODEL
    region = resolved_region(choice, config)
    geography = config.judge.inference_profile
    if geography is not None and geography not in PROFILE_PREFIXES:
        raise BadInput(
            "config",
            "[judge] inference_profile",
            f"{geography[:40]!r}; expected one of {', '.join(PROFILE_PREFIXES)}",
        )
    model = choice.model or config.judge.bedrock_model
    if model is None:
        return with_profile(DEFAULT_BEDROCK_JUDGE_MODEL, region, geography)
    if needs_inference_profile(model):
        where = "--model" if choice.model else "config [judge] bedrock_model"
        raise BadInput(
            where,
            "",
            f"{model[:120]}: Bedrock serves this model on demand only through an inference "
            f"profile; use {with_profile(model, region, geography)} (or global.{model})",
        )
    return model


def price_warning(judge: Judge) -> str | None:
    """A one-line warning when an LLM judge's model has no price (costs would read $0)."""
    from curator.llm.passes import LLMJudge

    if not isinstance(judge, LLMJudge) or judge.price is not None:
        return None
    model = judge.key.model
    return (
        f"warning: no price for model {model[:120]}; costs are unknown. Add "
        f'[prices."{canonical_model(model)[:120]}"] input = ... output = ... to the config'
    )


def require_price_for_cap(judge: Judge, max_cost: float | None) -> None:
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
    config: Config,
    *,
    thinking: dict[str, Any] | None = None,
    estimate_only: bool = False,
) -> Backend:
    """The one place an Anthropic or Bedrock backend is built, for judging and predicting alike.

    The SDK clients are imported here, not at module level, so choosing the rules judge (or
    asking for --help) never loads anthropic or boto3. `estimate_only` (a dry run) builds no
    client at all: no key or credentials are needed and nothing can be called.
    """
    price = price_for(model, config.prices)
    cache_min = price.cache_min_tokens if price else 1024
    if estimate_only and choice.name in BACKENDS:
        from curator.llm.backends import EstimateOnlyBackend

        return EstimateOnlyBackend(choice.name, model, thinking=thinking)
    if choice.name == "anthropic":
        from curator.llm.backends import AnthropicBackend

        return AnthropicBackend(
            model,
            base_url=choice.base_url or config.sdk.anthropic_base_url,
            cache_min_tokens=cache_min,
            thinking=thinking,
        )
    if choice.name != "bedrock":
        raise CuratorError(f"unknown backend {choice.name!r}; expected anthropic or bedrock")
    from curator.llm.backends import BedrockBackend

    return BedrockBackend(
        model,
        region=resolved_region(choice, config),
        endpoint_url=choice.endpoint_url,
        concurrency=choice.concurrency,
        cache_min_tokens=cache_min,
        thinking=thinking,
    )


def make_judge(choice: JudgeChoice, config: Config, *, estimate_only: bool = False) -> Judge:
    """A `Judge` (curator/llm/passes.py): RulesJudge, or LLMJudge over an LLM backend
    (`estimate_only`: over a backend without a client, for a dry run)."""
    from curator.llm.passes import LLMJudge, RulesJudge

    if choice.name == "rules":
        return RulesJudge()
    if choice.name not in JUDGES:
        raise CuratorError(f"unknown judge {choice.name!r}; expected one of {', '.join(JUDGES)}")
    model = resolved_model(choice, config)
    template = (
        load_judge_template(choice.prompt_file) if choice.prompt_file else DEFAULT_JUDGE_TEMPLATE
    )
    table_format = choice.table_format or config.judge.table_format or "markdown"
    if table_format not in TABLE_FORMATS:
        raise CuratorError(f"unknown table format {table_format!r}")
    price = price_for(model, config.prices)
    max_tokens = config.judge.max_tokens or 1024
    backend = make_backend(
        choice,
        model,
        config,
        thinking=thinking_config(model, config.judge),
        estimate_only=estimate_only,
    )
    return LLMJudge(
        backend, price=price, template=template, table_format=table_format, max_tokens=max_tokens
    )
