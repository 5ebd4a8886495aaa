"""Recommended Bedrock hyperparameters for a training set, and why each value was chosen.

The rules follow the Bedrock fine-tuning best-practice post for Claude 3 Haiku: batch size 32-64
for 1,000 or more examples, 16-32 for 500-1,000, 4-16 below 500; learning-rate multiplier 1.0
(range 0.1-2.0); more epochs for smaller sets (1-10, default 2); early stopping on.
"""

from __future__ import annotations

from typing import Any


def recommend_hyperparameters(train_size: int) -> dict[str, dict[str, Any]]:
    """{name: {"value", "range", "rule"}}; values are strings as Bedrock's API wants them."""
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
