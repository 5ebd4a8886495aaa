"""curator: curate TAT-QA-style financial QA data for fine-tuning Claude on Amazon Bedrock."""

__version__ = "0.1.0"
