"""Model ids as the two services spell them: one normaliser, and Bedrock inference profiles.

The same Claude model has many ids: `claude-haiku-4-5` and `claude-haiku-4-5-20251001` on the
Anthropic API, `anthropic.claude-haiku-4-5-20251001-v1:0` on Bedrock, and
`us.`/`eu.`/`apac.`/`global.` cross-region inference profiles of it, or an ARN ending in one of
those. Prices are keyed by the plain name, so every lookup goes through `canonical_model`.

Bedrock serves Claude 3.7 and every Claude 4-family or newer model on demand only through an
inference profile: a bare `anthropic.claude-sonnet-4-5-…` id is refused with a ValidationException.
The default Bedrock model is therefore the profile for the configured region's geography.
"""

from __future__ import annotations

import re

#: Geography prefixes of system-defined cross-region inference profiles.
PROFILE_PREFIXES = ("global", "us", "us-gov", "eu", "apac", "jp", "au", "ca")

_VERSION_SUFFIX = re.compile(r"(-v\d+(:\d+)?|:\d+)$")
_DATE_SUFFIX = re.compile(r"([-@]\d{8}|-latest)$")
_FAMILY_FIRST = re.compile(r"^claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d))?(?:-|$)")
_VERSION_FIRST = re.compile(r"^claude-(\d+)(?:-(\d))?-(?:opus|sonnet|haiku)(?:-|$)")


def split_profile(model_id: str) -> tuple[str | None, str]:
    """(`us`, `anthropic.claude-…`) for a profile id; (None, id) for anything else."""
    name = model_id.rsplit("/", 1)[-1]
    head, dot, rest = name.partition(".")
    if dot and head in PROFILE_PREFIXES and "." in rest:
        return head, rest
    return None, name


def canonical_model(model_id: str) -> str:
    """The plain model name: `us.anthropic.claude-sonnet-4-5-20250929-v1:0` -> `claude-sonnet-4-5`.

    Drops an ARN's path, a profile's geography, the `anthropic.` provider, a `-v1:0` version
    and a `-20250929` (or `@20250929`) date, in that order.
    """
    _, name = split_profile(model_id.strip())
    name = name.removeprefix("anthropic.")
    name = _VERSION_SUFFIX.sub("", name)
    return _DATE_SUFFIX.sub("", name)


def _version(canonical: str) -> tuple[int, int] | None:
    match = _FAMILY_FIRST.match(canonical) or _VERSION_FIRST.match(canonical)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def needs_inference_profile(model_id: str) -> bool:
    """Whether Bedrock refuses this id on demand: a bare `anthropic.claude-…` id of Claude 3.7
    or a Claude 4-family or newer model. Profiles, ARNs and other providers never do."""
    if model_id.startswith("arn:") or split_profile(model_id)[0] is not None:
        return False
    if not model_id.startswith("anthropic.claude-"):
        return False
    version = _version(canonical_model(model_id))
    return version is not None and version >= (3, 7)


def profile_geography(region: str) -> str:
    """The inference-profile prefix for an AWS region: us, us-gov, eu, apac, else global."""
    if region.startswith("us-gov-"):
        return "us-gov"
    for start, geo in (("us-", "us"), ("eu-", "eu"), ("ap-", "apac")):
        if region.startswith(start):
            return geo
    return "global"


def with_profile(model_id: str, region: str, geography: str | None = None) -> str:
    """`anthropic.claude-…` -> `us.anthropic.claude-…` (per region) when Bedrock needs it."""
    if not needs_inference_profile(model_id):
        return model_id
    return f"{geography or profile_geography(region)}.{model_id}"
