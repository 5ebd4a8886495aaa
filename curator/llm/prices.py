"""Token prices: US dollars per million tokens, defaults a config file overrides.

`[prices."MODEL"]` in the config changes or adds a price; ids are compared by their canonical
name, so a Bedrock profile id finds the price of the Anthropic model it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from curator.domain import CuratorError
from curator.model_ids import canonical_model
from curator.settings import PriceConfig


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


def price_for(model: str, prices: Mapping[str, PriceConfig] | None = None) -> Price | None:
    """The price of a model: the config's `[prices."MODEL"]` first, then the defaults.

    A config entry for the exact id wins (a Bedrock profile may be priced apart); otherwise ids
    are compared by their canonical name, so `us.anthropic.claude-haiku-4-5-20251001-v1:0`
    finds the price of `claude-haiku-4-5`. None when no entry matches.
    """
    configured = prices or {}
    canonical = canonical_model(model)
    name = model if model in configured else _match(configured, canonical)
    default = _match(DEFAULT_PRICES, canonical)
    if name is not None:
        entry = configured[name]
        if default is not None:
            base = DEFAULT_PRICES[default]
        elif entry.input is None or entry.output is None:
            raise CuratorError(f'config [prices."{name}"]: needs numbers input and output')
        else:
            base = _anthropic_price(entry.input, entry.output)
        given = {f.name: getattr(entry, f.name) for f in fields(entry)}
        return replace(base, **{k: v for k, v in given.items() if v is not None})
    return DEFAULT_PRICES[default] if default is not None else None


def _match(table: Mapping[str, object], canonical: str) -> str | None:
    """The key of `table` whose canonical name is `canonical`."""
    for key in table:
        if canonical_model(str(key)) == canonical:
            return str(key)
    return None
