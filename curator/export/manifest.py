"""Recommended Bedrock hyperparameters and base model for a training set and target, and why.

Claude 3 Haiku (target bedrock-claude) follows the Bedrock fine-tuning best-practice post: batch
size 32-64 for 1,000 or more examples, 16-32 for 500-1,000, 4-16 below 500; learning-rate
multiplier 1.0 (range 0.1-2.0); more epochs for smaller sets (1-10, default 2); early stopping.

Amazon Nova (target bedrock-nova) takes other hyperparameters (Bedrock's Nova customization
page): epochCount 1-5 (default 2), learningRate 1e-6 to 1e-4 (default 1e-5) and
learningRateWarmupSteps 0-100 (default 10; AWS suggests the training set size divided by 160
for Nova Lite, 640 for Micro, 320 for Pro), with batch size 1.
"""

from __future__ import annotations

from typing import Any, Final

#: The base model each Bedrock target is fine-tuned from unless a setting or flag says otherwise.
DEFAULT_BASE_MODELS: Final = {
    "bedrock-claude": "anthropic.claude-3-haiku-20240307-v1:0:200k",
    "bedrock-nova": "amazon.nova-lite-v1:0:300k",
}
#: Nova's warmup rule: training records per warmup step, by model.
_NOVA_WARMUP_DIVISOR: Final = {"micro": 640, "lite": 160, "pro": 320}


def recommend_hyperparameters(
    train_size: int, target: str = "bedrock-claude", base_model: str | None = None
) -> dict[str, dict[str, Any]]:
    """{name: {"value", "range", "rule"}}; values are strings as Bedrock's API wants them."""
    if target == "bedrock-nova":
        return _nova(train_size, base_model or DEFAULT_BASE_MODELS[target])
    if train_size >= 1000:
        batch, batch_rule = 32, "1,000 or more examples: batch size 32-64 (32 chosen)"
        epochs, epoch_rule = 2, "1,000 or more examples: the default 2 epochs"
    elif train_size >= 500:
        batch, batch_rule = 16, "500-1,000 examples: batch size 16-32 (16 chosen)"
        epochs, epoch_rule = 3, "500-1,000 examples: a few more epochs than the default (3)"
    else:
        batch, batch_rule = 8, "under 500 examples: batch size 4-16 (8 chosen)"
        epochs, epoch_rule = 5, "under 500 examples: more epochs for a small set (5)"
    return {
        "epochCount": {"value": str(epochs), "range": "1-10", "rule": epoch_rule},
        "batchSize": {"value": str(batch), "range": "4-256", "rule": batch_rule},
        "learningRateMultiplier": {
            "value": "1.0",
            "range": "0.1-2.0",
            "rule": "the recommended default 1.0; lower it if validation loss rises early",
        },
        "earlyStoppingThreshold": {
            "value": "0.001",
            "range": "0-0.1",
            "rule": "stop when validation loss improves by less than this",
        },
        "earlyStoppingPatience": {
            "value": "2",
            "range": "1-10",
            "rule": "epochs without that improvement before stopping",
        },
    }


def api_hyperparameters(manifest: dict[str, Any]) -> dict[str, str]:
    """The manifest's recommendation as `create_model_customization_job` takes it."""
    return {k: str(v["value"]) for k, v in manifest["hyperparameters"].items()}


def _nova(train_size: int, base_model: str) -> dict[str, dict[str, Any]]:
    if train_size >= 1000:
        epochs, epoch_rule = 2, "1,000 or more examples: the default 2 epochs"
    elif train_size >= 500:
        epochs, epoch_rule = 3, "500-1,000 examples: a few more epochs than the default (3)"
    else:
        epochs, epoch_rule = 5, "under 1,000 examples: AWS suggests more epochs (5, the most)"
    size = next((s for s in _NOVA_WARMUP_DIVISOR if f"nova-{s}" in base_model), "lite")
    divisor = _NOVA_WARMUP_DIVISOR[size]
    warmup = max(0, min(100, round(train_size / divisor)))
    return {
        "epochCount": {"value": str(epochs), "range": "1-5", "rule": epoch_rule},
        "batchSize": {
            "value": "1",
            "range": "1",
            "rule": "Nova customization on Bedrock trains with batch size 1",
        },
        "learningRate": {
            "value": "0.00001",
            "range": "0.000001-0.0001",
            "rule": "the recommended default 1e-5; lower it if validation loss rises early",
        },
        "learningRateWarmupSteps": {
            "value": str(warmup),
            "range": "0-100",
            "rule": f"training records / {divisor} for Nova {size.title()} (AWS's rule), "
            "within 0-100",
        },
    }
