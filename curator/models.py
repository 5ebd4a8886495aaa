"""Model ids and judge settings: defaults a config file overrides, never constants in code.

Anthropic retires models (Claude 3 Haiku is legacy, Sonnet 4.5 is being retired), so the judge
model, its Bedrock id and every price are settings. The defaults are the current Sonnet-class
model as of this release; `[judge]` in the config file changes them (prices: llm/prices.py).
"""

from __future__ import annotations

from typing import Any

from curator.domain import CuratorError
from curator.model_ids import canonical_model
from curator.settings import JudgeConfig

#: Anthropic API id of the default judge model.
DEFAULT_JUDGE_MODEL = "claude-sonnet-5-5"
#: Bedrock base model id of the same model. Bedrock serves it on demand only through an inference
#: profile, so the default judge is this id behind the configured region's profile
#: (`us.anthropic.claude-sonnet-5-5` in us-east-1); see curator/model_ids.py.
DEFAULT_BEDROCK_JUDGE_MODEL = "anthropic.claude-sonnet-5-5"
DEFAULT_REGION = "us-east-1"


#: Models that use extended thinking unless a request says otherwise (prefixes of the model name,
#: Bedrock prefixes stripped). `[judge] thinks_by_default = [...]` replaces the list.
THINKS_BY_DEFAULT = ("claude-sonnet-5", "claude-opus-5")
#: `[judge] thinking`: "off" (default: judging is a short classification; a model that thinks by
#: default is told not to), "on" (with `thinking_budget` tokens), or "model-default".
THINKING_MODES = ("off", "on", "model-default")


def thinking_config(model: str, judge: JudgeConfig) -> dict[str, Any] | None:
    """The `thinking` request field for a judge model, or None to send none.

    Set explicitly whenever the model would otherwise decide for itself: a model that thinks
    by default spends output tokens (and money) on thinking unless it is told not to.
    """
    mode = judge.thinking or "off"
    if mode not in THINKING_MODES:
        raise CuratorError(f"config [judge] thinking = {mode!r}; expected one of {THINKING_MODES}")
    prefixes = THINKS_BY_DEFAULT if judge.thinks_by_default is None else judge.thinks_by_default
    thinks = any(canonical_model(model).startswith(p) for p in prefixes)
    if mode == "on":
        budget = 2048 if judge.thinking_budget is None else judge.thinking_budget
        if budget < 1024:
            raise CuratorError("config [judge] thinking_budget: at least 1024 tokens")
        return {"type": "enabled", "budget_tokens": budget}
    if mode == "off" and thinks:
        return {"type": "disabled"}
    return None
