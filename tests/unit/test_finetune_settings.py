"""Bedrock fine-tuning requests: names Bedrock accepts, the target's hyperparameters and model."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curator.aws_ids import check_role_arn
from curator.domain import CuratorError
from curator.export.finetune import (
    base_model_for,
    check_job_name,
    custom_model_name,
    status_lines,
)
from curator.export.manifest import recommend_hyperparameters

BEDROCK_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*")


@given(st.text(max_size=120))
def test_custom_model_name_always_matches_bedrocks_pattern(job: str) -> None:
    name = custom_model_name(job)
    assert BEDROCK_NAME.fullmatch(name) and len(name) <= 63


def test_job_names_are_checked() -> None:
    assert check_job_name("curator-20261126-101500") == "curator-20261126-101500"
    for bad in ("-x", "a_b", "a b", "x" * 64, ""):
        with pytest.raises(CuratorError):
            check_job_name(bad)


def test_each_target_gets_its_own_hyperparameters() -> None:
    claude = recommend_hyperparameters(1200, "bedrock-claude")
    assert set(claude) >= {"epochCount", "batchSize", "learningRateMultiplier"}
    nova = recommend_hyperparameters(1200, "bedrock-nova")
    assert set(nova) == {"epochCount", "batchSize", "learningRate", "learningRateWarmupSteps"}
    assert nova["learningRateWarmupSteps"]["value"] == "8"  # 1,200 / 160 for Nova Lite
    micro = recommend_hyperparameters(64_000, "bedrock-nova", "amazon.nova-micro-v1:0:128k")
    assert micro["learningRateWarmupSteps"]["value"] == "100"  # capped at 100
    assert int(recommend_hyperparameters(100, "bedrock-nova")["epochCount"]["value"]) <= 5


def test_the_base_model_follows_the_manifests_target() -> None:
    assert "haiku" in base_model_for({"target": "bedrock-claude"})
    assert base_model_for({"target": "bedrock-nova"}).startswith("amazon.nova")
    assert base_model_for({"target": "bedrock-nova", "base_model": "amazon.nova-pro-v1:0:300k"})
    with pytest.raises(CuratorError, match="does not match"):
        base_model_for({"target": "bedrock-nova"}, "anthropic.claude-3-haiku-20240307-v1:0:200k")
    with pytest.raises(CuratorError, match="Bedrock fine-tunes only"):
        base_model_for({"target": "openai-chat"})


#: Bedrock's customModelName pattern (botocore's service model): stricter than a job name's.
MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")


@given(st.text(max_size=120))
def test_custom_model_name_matches_bedrocks_model_name_pattern(job: str) -> None:
    """A job name with '+', '.' or '--' (all valid job names) gave a customModelName Bedrock
    refuses, after the upload."""
    name = custom_model_name(job)
    assert MODEL_NAME.fullmatch(name) and len(name) <= 63


def test_custom_model_names_of_valid_job_names() -> None:
    assert custom_model_name("curator-20261126-101500") == "curator-20261126-101500-model"
    assert custom_model_name("tatqa.v2+nova") == "tatqa-v2-nova-model"
    assert custom_model_name("a--b") == "a-b-model"


def test_role_arns_are_checked() -> None:
    role = "arn:aws:iam::123456789012:role/BedrockFineTune"
    assert check_role_arn(role) == role
    assert check_role_arn("arn:aws-cn:iam::123456789012:role/x")
    for bad in ("arn:x", "BedrockFineTune", "arn:aws:iam::123456789012:user/x", ""):
        with pytest.raises(CuratorError, match="--role-arn") as raised:
            check_role_arn(bad)
        assert raised.value.exit_code == 2


def test_status_lines_say_what_comes_after_a_completed_job() -> None:
    """`finetune status` printed Python reprs of its objects and left a user with a completed
    job and no word of how to ask it (a custom model must be served first)."""
    status = {
        "jobName": "ft-1",
        "status": "Completed",
        "hyperParameters": {"epochCount": "2"},
        "validationLoss": [0.5],
        "outputModel": "arn:aws:bedrock:us-east-1:123456789012:custom-model/ft-1-model/x",
        "failureMessage": None,
    }
    lines = status_lines(status)
    assert lines[:4] == [
        "jobName: ft-1",
        "status: Completed",
        'hyperParameters: {"epochCount": "2"}',
        "validationLoss: [0.5]",
    ]
    assert (
        "provisioned throughput" in lines[-1] and "--model <its provisioned-model ARN>" in lines[-1]
    )
    assert not any(
        "provisioned" in line for line in status_lines({**status, "status": "InProgress"})
    )


def test_base_models_are_what_create_model_customization_job_takes() -> None:
    """A custom model's ARN (continued fine-tuning) was refused: its last part is its own
    12-character id, not a model id. Each form Bedrock's pattern takes is taken, with the
    family read where the identifier carries it; anything else is bad input."""
    from curator.export.finetune import base_model_id

    haiku = "anthropic.claude-3-haiku-20240307-v1:0:200k"
    custom = f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{haiku}/a1b2c3d4e5f6"
    foundation = f"arn:aws:bedrock:us-east-1::foundation-model/{haiku}"
    for model in (haiku, custom, foundation):
        assert base_model_id(model) == haiku
        assert base_model_for({"target": "bedrock-claude"}, model) == model
        with pytest.raises(CuratorError, match="does not match the export's target bedrock-nova"):
            base_model_for({"target": "bedrock-nova"}, model)
    nova = (
        "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:custom-model/"
        "amazon.nova-lite-v1:0:300k/0123456789ab"
    )
    assert base_model_for({"target": "bedrock-nova"}, nova) == nova
    # A custom model's name: only Bedrock knows its base model (start_job asks it).
    assert base_model_id("my-tuned_model1") is None
    assert base_model_for({"target": "bedrock-nova"}, "my-tuned_model1") == "my-tuned_model1"
    for bad in (
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a1b2c3d4e5f6",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc",
        f"arn:aws:s3:::{haiku}",
        "anthropic claude",
        "x" * 2049,
    ):
        with pytest.raises(CuratorError, match=r"base model: .*expected a model id") as error:
            base_model_for({"target": "bedrock-claude"}, bad)
        assert error.value.exit_code == 2
