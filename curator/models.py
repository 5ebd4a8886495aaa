"""Model ids and prices: defaults that a config file overrides, never constants in the code paths.

Anthropic retires models (Claude 3 Haiku is legacy, Sonnet 4.5 is being retired), so the judge
model, its Bedrock id and every price are settings. The defaults are the current Sonnet-class
model as of this release; `[judge]` and `[prices."MODEL"]` in the config file change them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from curator.domain import CuratorError
from curator.model_ids import canonical_model

#: Anthropic API id of the default judge model.
DEFAULT_JUDGE_MODEL = "claude-sonnet-5-5"
#: Bedrock base model id of the same model. Bedrock serves it on demand only through an inference
#: profile, so the default judge is this id behind the configured region's profile
#: (`us.anthropic.claude-sonnet-5-5` in us-east-1); see curator/model_ids.py.
DEFAULT_BEDROCK_JUDGE_MODEL = "anthropic.claude-sonnet-5-5"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    #: Fewest tokens a prompt prefix needs before the API will cache it.
    cache_min_tokens: int = 1024

    def cost(
        self, input_tokens: int, output_tokens: int, cache_write: int, cache_read: int
    ) -> float:
        return (
            input_tokens * self.input
            + output_tokens * self.output
            + cache_write * self.cache_write
            + cache_read * self.cache_read
        ) / 1_000_000


def _anthropic_price(input_: float, output: float, cache_min: int = 1024) -> Price:
    # Prompt caching: writes cost 1.25x the input price, reads 0.1x.
    return Price(input_, output, input_ * 1.25, input_ * 0.1, cache_min)


DEFAULT_PRICES: dict[str, Price] = {
    "claude-sonnet-5-5": _anthropic_price(2.0, 10.0),
    "claude-sonnet-5": _anthropic_price(2.0, 10.0),
    "claude-opus-5": _anthropic_price(5.0, 25.0),
    "claude-haiku-4-5": _anthropic_price(1.0, 5.0, 2048),
    "claude-sonnet-4-5": _anthropic_price(3.0, 15.0),
    "claude-3-haiku-20240307": _anthropic_price(0.25, 1.25, 2048),
}


def price_for(model: str, sections: dict[str, Any] | None = None) -> Price | None:
    """The price of a model: the config's `[prices."MODEL"]` first, then the defaults.

    A config entry for the exact id wins (a Bedrock profile may be priced apart); otherwise ids
    are compared by their canonical name, so `us.anthropic.claude-haiku-4-5-20251001-v1:0`
    finds the price of `claude-haiku-4-5`. None when no entry matches.
    """
    configured = (sections or {}).get("prices", {})
    if not isinstance(configured, dict):
        raise CuratorError('config [prices] must be a table of [prices."MODEL"] tables')
    canonical = canonical_model(model)
    name = model if model in configured else _match(configured, canonical)
    if name is not None:
        entry = configured[name]
        default = _match(DEFAULT_PRICES, canonical)
        try:
            base = (
                DEFAULT_PRICES[default]
                if default is not None
                else _anthropic_price(float(entry["input"]), float(entry["output"]))
            )
            return replace(
                base,
                **{k: type(getattr(base, k))(v) for k, v in entry.items() if hasattr(base, k)},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CuratorError(
                f'config [prices."{name}"]: needs numbers input and output ({exc})'
            ) from exc
    default = _match(DEFAULT_PRICES, canonical)
    return DEFAULT_PRICES[default] if default is not None else None


def _match(table: dict[str, Any], canonical: str) -> str | None:
    """The key of `table` whose canonical name is `canonical`."""
    for key in table:
        if canonical_model(str(key)) == canonical:
            return str(key)
    return None


#: Models that use extended thinking unless a request says otherwise (prefixes of the model name,
#: Bedrock prefixes stripped). `[judge] thinks_by_default = [...]` replaces the list.
THINKS_BY_DEFAULT = ("claude-sonnet-5", "claude-opus-5")
#: `[judge] thinking`: "off" (default: judging is a short classification; a model that thinks by
#: default is told not to), "on" (with `thinking_budget` tokens), or "model-default".
THINKING_MODES = ("off", "on", "model-default")


def thinking_config(model: str, sections: dict[str, Any]) -> dict[str, Any] | None:
    """The `thinking` request field for a judge model, or None to send none.

    Set explicitly whenever the model would otherwise decide for itself: a model that thinks
    by default spends output tokens (and money) on thinking unless it is told not to.
    """
    mode = str(judge_setting(sections, "thinking", "off"))
    if mode not in THINKING_MODES:
        raise CuratorError(f"config [judge] thinking = {mode!r}; expected one of {THINKING_MODES}")
    prefixes = judge_setting(sections, "thinks_by_default", THINKS_BY_DEFAULT)
    if not isinstance(prefixes, list | tuple) or not all(isinstance(p, str) for p in prefixes):
        raise CuratorError("config [judge] thinks_by_default: expected a list of model names")
    thinks = any(canonical_model(model).startswith(p) for p in prefixes)
    if mode == "on":
        try:
            budget = int(judge_setting(sections, "thinking_budget", 2048))
        except (TypeError, ValueError) as exc:
            raise CuratorError("config [judge] thinking_budget: expected a number") from exc
        if budget < 1024:
            raise CuratorError("config [judge] thinking_budget: at least 1024 tokens")
        return {"type": "enabled", "budget_tokens": budget}
    if mode == "off" and thinks:
        return {"type": "disabled"}
    return None


def judge_setting(sections: dict[str, Any], key: str, default: Any) -> Any:
    judge = sections.get("judge", {})
    return judge.get(key, default) if isinstance(judge, dict) else default
