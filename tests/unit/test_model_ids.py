"""Model ids: the one normaliser behind prices, and Bedrock's inference-profile rule."""

from __future__ import annotations

import pytest

from curator.domain import BadInput, CuratorError
from curator.judges.factory import JudgeChoice, resolved_model
from curator.llm.prices import DEFAULT_PRICES, price_for
from curator.model_ids import (
    canonical_model,
    needs_inference_profile,
    profile_geography,
    with_profile,
)
from curator.settings import Config, JudgeConfig, PriceConfig


@pytest.mark.parametrize(
    ("model", "canonical"),
    [
        ("claude-haiku-4-5", "claude-haiku-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("global.anthropic.claude-sonnet-5-5", "claude-sonnet-5-5"),
        ("apac.anthropic.claude-opus-5-v1", "claude-opus-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
        (
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/"
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
            "claude-haiku-4-5",
        ),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro"),
    ],
)
def test_canonical_model_drops_prefixes_dates_and_versions(model: str, canonical: str) -> None:
    assert canonical_model(model) == canonical


@pytest.mark.parametrize(
    "model",
    [
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-haiku-4-5-20251001",
        "eu.anthropic.claude-sonnet-5-5",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-5",
    ],
)
def test_every_spelling_of_a_known_model_has_its_price(model: str) -> None:
    price = price_for(model)
    assert price is not None
    assert price == DEFAULT_PRICES[canonical_model(model)]


def test_dated_default_keys_match_every_spelling() -> None:
    # The default table's dated Claude 3 Haiku key is found from its Bedrock id.
    assert (
        price_for("anthropic.claude-3-haiku-20240307-v1:0")
        == DEFAULT_PRICES["claude-3-haiku-20240307"]
    )


def test_unknown_ids_have_no_price() -> None:
    assert price_for("claude-unknown-9") is None
    assert price_for("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc") is None


def test_configured_prices_exact_id_first_then_canonical() -> None:
    prices = {
        "claude-haiku-4-5": PriceConfig(input=7.0, output=8.0),
        "us.anthropic.claude-haiku-4-5-20251001-v1:0": PriceConfig(input=1.1, output=5.5),
    }
    profiled = price_for("us.anthropic.claude-haiku-4-5-20251001-v1:0", prices)
    assert profiled is not None and (profiled.input, profiled.output) == (1.1, 5.5)
    # Cache-write and minimum follow the model's defaults unless configured.
    assert profiled.cache_min_tokens == 2048
    other = price_for("eu.anthropic.claude-haiku-4-5-20251001-v1:0", prices)
    assert other is not None and (other.input, other.output) == (7.0, 8.0)
    with pytest.raises(CuratorError, match=r'\[prices."claude-x"\]'):
        price_for("claude-x", {"claude-x": PriceConfig(input=1.0)})


@pytest.mark.parametrize(
    ("model", "needs"),
    [
        ("anthropic.claude-sonnet-5-5", True),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", True),
        ("anthropic.claude-opus-4-1-20250805-v1:0", True),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", True),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", False),
        ("anthropic.claude-3-haiku-20240307-v1:0", False),
        ("us.anthropic.claude-sonnet-5-5", False),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc", False),
        ("amazon.nova-pro-v1:0", False),
    ],
)
def test_which_bare_ids_need_an_inference_profile(model: str, needs: bool) -> None:
    assert needs_inference_profile(model) is needs


@pytest.mark.parametrize(
    ("region", "geo"),
    [
        ("us-east-1", "us"),
        ("us-west-2", "us"),
        ("us-gov-west-1", "us-gov"),
        ("eu-central-1", "eu"),
        ("ap-southeast-2", "apac"),
        ("sa-east-1", "global"),
        ("me-central-1", "global"),
    ],
)
def test_profile_geography_per_region(region: str, geo: str) -> None:
    assert profile_geography(region) == geo
    assert (
        with_profile("anthropic.claude-sonnet-5-5", region) == f"{geo}.anthropic.claude-sonnet-5-5"
    )


def test_resolved_bedrock_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    bedrock = JudgeChoice("bedrock", region="eu-west-3")
    none = Config()
    assert resolved_model(bedrock, none) == "eu.anthropic.claude-sonnet-5-5"
    assert (
        resolved_model(bedrock, Config(judge=JudgeConfig(inference_profile="global")))
        == "global.anthropic.claude-sonnet-5-5"
    )
    in_mumbai = Config(judge=JudgeConfig(region="ap-south-1"))
    assert resolved_model(JudgeChoice("bedrock"), in_mumbai).startswith("apac.")
    with pytest.raises(BadInput, match="inference_profile"):
        resolved_model(bedrock, Config(judge=JudgeConfig(inference_profile="mars")))
    with pytest.raises(BadInput) as bare:
        resolved_model(bedrock, Config(judge=JudgeConfig(bedrock_model="anthropic.claude-opus-5")))
    assert bare.value.exit_code == 2
    assert "config [judge] bedrock_model" in str(bare.value)
    assert "use eu.anthropic.claude-opus-5" in str(bare.value)
    # Ids the service takes on demand, and profiles, are used as given.
    for given in ("anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-opus-5"):
        assert resolved_model(JudgeChoice("bedrock", model=given), none) == given
    assert resolved_model(JudgeChoice("anthropic"), none) == "claude-sonnet-5-5"


def test_an_arn_model_names_its_region() -> None:
    """An ARN's resource lives in the region it names: that is the region asked, over
    AWS_REGION / [judge] region; an explicit --region that disagrees is bad input."""
    from curator.judges.factory import resolved_region

    arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdef123456"
    in_eu = Config(judge=JudgeConfig(region="eu-west-1"))
    assert resolved_region(JudgeChoice("bedrock", model=arn), in_eu) == "us-east-1"
    assert resolved_region(JudgeChoice("bedrock", model=arn, region="us-east-1"), in_eu)
    configured = Config(judge=JudgeConfig(region="eu-west-1", bedrock_model=arn))
    assert resolved_region(JudgeChoice("bedrock"), configured) == "us-east-1"
    with pytest.raises(BadInput, match=r"config \[judge\] bedrock_model .*'us-east-1'") as e:
        resolved_region(JudgeChoice("bedrock", region="eu-west-1"), configured)
    assert e.value.exit_code == 2 and "--region: 'eu-west-1'" in str(e.value)
    # Not an ARN, or not the Bedrock backend: as before.
    assert resolved_region(JudgeChoice("bedrock", model="anthropic.x-v1:0"), in_eu) == "eu-west-1"
    assert resolved_region(JudgeChoice("anthropic", model=arn), in_eu) == "eu-west-1"
    assert resolved_region(JudgeChoice("bedrock", model="arn:aws:bedrock::1:x"), in_eu) == (
        "eu-west-1"
    )
