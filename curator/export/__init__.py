"""Export curated records as fine-tuning data: targets, splits, manifest, fine-tuning jobs."""
