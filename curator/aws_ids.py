"""AWS identifiers curator checks before it sends anything (a role Bedrock would refuse only
after an upload or a batch's preparation)."""

from __future__ import annotations

import re

from curator.domain import BadInput

#: Bedrock's pattern for the roleArn of a customization job or a batch inference job.
_ROLE_ARN = re.compile(r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+")


def check_role_arn(role_arn: str, source: str = "--role-arn") -> str:
    """An IAM role ARN as Bedrock's pattern wants it, or bad input (exit 2) naming `source`."""
    if len(role_arn) > 2048 or not _ROLE_ARN.fullmatch(role_arn):
        raise BadInput(
            source,
            "",
            f"{role_arn[:80]!r}: expected an IAM role ARN such as "
            "arn:aws:iam::123456789012:role/BedrockFineTune",
        )
    return role_arn
