"""What the fakes refuse, as the services do: unknown models, bare Bedrock ids that need an
inference profile, and request bodies that do not fit the API's shapes.

Bedrock shapes come from botocore's own service model (the one boto3 serialises from), checked
with botocore's ParamValidator plus the `pattern`, `max` and `enum` constraints it leaves to the
service. Messages API bodies are checked against the installed anthropic SDK's request TypedDicts
(known top-level keys, required keys) and the API reference's rules the types cannot express:
`max_tokens` within the model's limit, user/assistant alternation starting with user, non-empty
text, at most four `cache_control` breakpoints.

Nothing here imports curator: the fakes must not agree with curator by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any


class Refused(Exception):
    """A request the service would refuse: HTTP status, error type/code and message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


# -- model catalogues -------------------------------------------------------------------------

#: Anthropic API model ids (aliases and dated ids) -> most output tokens per request.
ANTHROPIC_MODELS: dict[str, int] = {
    "claude-sonnet-5-5": 64_000,
    "claude-sonnet-5": 64_000,
    "claude-opus-5": 64_000,
    "claude-haiku-4-5": 64_000,
    "claude-haiku-4-5-20251001": 64_000,
    "claude-sonnet-4-5": 64_000,
    "claude-sonnet-4-5-20250929": 64_000,
    "claude-3-haiku-20240307": 4_096,
}


@dataclass(frozen=True)
class BedrockModel:
    max_tokens: int
    #: Served on demand by its bare id; otherwise only through an inference profile.
    on_demand: bool
    profiles: tuple[str, ...] = ("us", "eu", "apac", "global")


#: Bedrock foundation model ids -> how Bedrock serves them.
BEDROCK_MODELS: dict[str, BedrockModel] = {
    "anthropic.claude-sonnet-5-5": BedrockModel(64_000, on_demand=False),
    "anthropic.claude-sonnet-5": BedrockModel(64_000, on_demand=False),
    "anthropic.claude-opus-5": BedrockModel(64_000, on_demand=False),
    "anthropic.claude-haiku-4-5-20251001-v1:0": BedrockModel(64_000, on_demand=False),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": BedrockModel(64_000, on_demand=False),
    "anthropic.claude-3-haiku-20240307-v1:0": BedrockModel(4_096, on_demand=True, profiles=("us",)),
}

#: Provisioned-model ids (the last part of their ARN) this fake account serves: a fine-tuned
#: Claude 3 Haiku, served through provisioned throughput (any other id is unknown).
PROVISIONED_MODELS: dict[str, BedrockModel] = {
    "ft0haiku0tqa": BedrockModel(4_096, on_demand=True, profiles=()),
}

_REGION_GEOGRAPHY = (("us-gov-", "us-gov"), ("us-", "us"), ("eu-", "eu"), ("ap-", "apac"))


def bedrock_model(model_id: str, region: str) -> BedrockModel:
    """The model behind an id as Bedrock in `region` resolves it, or Refused as Bedrock says.
    An ARN names a resource of its own region: asked in another, Bedrock does not find it."""
    if model_id.startswith("arn:"):
        parts = model_id.split(":", 5)
        if len(parts) < 6 or parts[3] != region:
            raise Refused(400, "ValidationException", "The provided model identifier is invalid.")
        kind, _, resource = parts[5].partition("/")
        if kind == "provisioned-model":
            if resource not in PROVISIONED_MODELS:
                raise Refused(
                    400, "ValidationException", "The provided model identifier is invalid."
                )
            return PROVISIONED_MODELS[resource]
    name = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    geo, _, base = name.partition(".")
    if base in BEDROCK_MODELS and "." in base:
        profiled = BEDROCK_MODELS[base]
        home = next((g for prefix, g in _REGION_GEOGRAPHY if region.startswith(prefix)), None)
        if geo in profiled.profiles and (geo == "global" or geo == home):
            return profiled
        raise Refused(400, "ValidationException", "The provided model identifier is invalid.")
    model = BEDROCK_MODELS.get(name)
    if model is None:
        raise Refused(400, "ValidationException", "The provided model identifier is invalid.")
    if not model.on_demand:
        raise Refused(
            400,
            "ValidationException",
            f"Invocation of model ID {name} with on-demand throughput isn't supported. Retry "
            "your request with the ID or ARN of an inference profile that contains this model.",
        )
    return model


@cache
def bedrock_regions() -> frozenset[str]:
    """The regions Bedrock is offered in (botocore's endpoint data for its control plane)."""
    import boto3

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in ("aws", "aws-us-gov")
        for region in session.get_available_regions("bedrock", partition_name=partition)
    )


def region_of(authorization: str | None) -> str:
    """The region a SigV4-signed request was signed for (its credential scope). A region
    Bedrock is not offered in has no endpoint to sign for: refused as AWS refuses a credential
    scoped to an invalid region (the fake serves every region on one address)."""
    match = re.search(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/", authorization or "")
    if match is None:
        raise Refused(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    region = match.group(1)
    if region not in bedrock_regions():
        raise Refused(
            403, "InvalidSignatureException", "Credential should be scoped to a valid region."
        )
    return region


# -- botocore shapes --------------------------------------------------------------------------


@cache
def _operation(service: str, operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def validate_boto(service: str, operation: str, params: dict[str, Any]) -> None:
    """Refused (400 ValidationException) unless `params` fit the operation's input shape."""
    from botocore.validate import ParamValidator

    shape = _operation(service, operation).input_shape
    report = ParamValidator().validate(params, shape)
    problems = report.generate_report() if report.has_errors() else ""
    extra: list[str] = []
    _constraints(shape, params, "", extra)
    if problems or extra:
        text = " ".join([problems, *extra]).strip()
        raise Refused(400, "ValidationException", f"1 validation error detected: {text}")


def _constraints(shape: Any, value: Any, path: str, out: list[str]) -> None:
    """pattern, max and enum: what botocore's client-side validator does not check."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _constraints(member, value[name], f"{path}.{name}".lstrip("."), out)
        if meta.get("union") and len(value) != 1:
            out.append(f"Value at '{path}' must have exactly one member set")
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"Value at '{path}' must have length less than or equal to {meta['max']}")
        for i, item in enumerate(value):
            _constraints(shape.member, item, f"{path}.{i}", out)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _constraints(shape.value, item, f"{path}.{key}", out)
    elif kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"Value at '{path}' failed to satisfy constraint: length <= {meta['max']}")
        pattern = meta.get("pattern")
        if pattern and re.fullmatch(pattern, value) is None:
            out.append(f"Value '{value[:80]}' at '{path}' failed to satisfy constraint: pattern")
        if "enum" in meta and value not in meta["enum"]:
            out.append(f"Value '{value[:80]}' at '{path}' failed to satisfy constraint: enum")
    elif kind in ("integer", "long") and isinstance(value, int) and value > meta.get("max", value):
        out.append(f"Value '{value}' at '{path}' must be <= {meta['max']}")


def validate_converse(params: dict[str, Any], model: BedrockModel) -> None:
    """A Converse request: botocore's shape, then what the service checks beyond it."""
    validate_boto("bedrock-runtime", "Converse", params)
    _roles([m.get("role") for m in params["messages"]], "ValidationException")
    for i, message in enumerate(params["messages"]):
        content = message.get("content") or []
        if not content:
            raise Refused(400, "ValidationException", f"messages.{i}.content must not be empty")
        if "cachePoint" in content[0]:
            raise Refused(
                400, "ValidationException", "A cachePoint cannot be the first content block"
            )
        for j, block in enumerate(content):
            if "text" in block and not block["text"].strip():
                raise Refused(
                    400,
                    "ValidationException",
                    f"The text field in the ContentBlock object at messages.{i}.content.{j} "
                    "is blank. Add text to the text field, and try again.",
                )
    max_tokens = (params.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is not None and max_tokens > model.max_tokens:
        raise Refused(
            400,
            "ValidationException",
            f"The maximum tokens you requested exceeds the model limit of {model.max_tokens}.",
        )


# -- the Messages API -------------------------------------------------------------------------


def _sdk_fields(typed: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(every key, required keys) of one of the SDK's request TypedDicts."""
    annotations = {k: str(v) for k, v in typed.__annotations__.items()}
    required = {k for k, v in annotations.items() if "Required[" in v and "NotRequired[" not in v}
    return frozenset(annotations), frozenset(required)


def _messages_fields() -> tuple[frozenset[str], frozenset[str]]:
    """The Messages API's top-level keys as the installed anthropic SDK declares them."""
    from anthropic.types import message_create_params

    keys, required = _sdk_fields(message_create_params.MessageCreateParamsBase)
    return keys | {"stream"}, required


_API_KEYS, _API_REQUIRED = _messages_fields()
#: InvokeModel / batch `modelInput` bodies on Bedrock (AWS's Anthropic Claude Messages API page):
#: no model, a required anthropic_version.
_BEDROCK_KEYS = frozenset(
    {
        "anthropic_version",
        "anthropic_beta",
        "max_tokens",
        "messages",
        "system",
        "stop_sequences",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
    }
)


def _text_block_keys() -> frozenset[str]:
    from anthropic.types import TextBlockParam

    return _sdk_fields(TextBlockParam)[0]


_TEXT_BLOCK_KEYS = _text_block_keys()
_BLOCK_TYPES = {"text", "image", "document", "tool_use", "tool_result", "thinking"}


def _bad(message: str) -> Refused:
    return Refused(400, "invalid_request_error", message)


def _roles(roles: list[Any], kind: str = "invalid_request_error") -> None:
    if not roles:
        raise Refused(400, kind, "messages: at least one message is required")
    for i, role in enumerate(roles):
        if role not in ("user", "assistant"):
            raise Refused(400, kind, f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise Refused(400, kind, 'messages: first message must use the "user" role')
        if i and role == roles[i - 1]:
            raise Refused(
                400, kind, 'messages: roles must alternate between "user" and "assistant"'
            )


def _text_blocks(blocks: Any, where: str, breakpoints: list[str]) -> None:
    if isinstance(blocks, str):
        return
    if not isinstance(blocks, list):
        raise _bad(f"{where}: Input should be a valid list")
    for j, block in enumerate(blocks):
        at = f"{where}.{j}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            raise _bad(f"{at}.type: Input tag does not match any of the expected tags")
        if block["type"] == "text":
            if not isinstance(block.get("text"), str):
                raise _bad(f"{at}.text: Field required")
            if not block["text"]:
                raise _bad(f"{at}: text content blocks must be non-empty")
            unknown = set(block) - _TEXT_BLOCK_KEYS
            if unknown:
                raise _bad(f"{at}.{sorted(unknown)[0]}: Extra inputs are not permitted")
        control = block.get("cache_control")
        if control is not None:
            if control.get("type") != "ephemeral" or control.get("ttl", "5m") not in ("5m", "1h"):
                raise _bad(f"{at}.cache_control: Input tag does not match the expected tags")
            breakpoints.append(at)


def validate_messages(body: Any, *, bedrock: bool = False) -> str:
    """A Messages API body (or, with bedrock=True, an InvokeModel / batch modelInput body).
    Returns the model id (empty on Bedrock, where the model is not in the body)."""
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    allowed = _BEDROCK_KEYS if bedrock else _API_KEYS
    for key in body:
        if key not in allowed:
            raise _bad(f"{key}: Extra inputs are not permitted")
    required = {"anthropic_version", "messages", "max_tokens"} if bedrock else _API_REQUIRED
    for key in sorted(required):
        if key not in body:
            raise _bad(f"{key}: Field required")
    if bedrock and body["anthropic_version"] != "bedrock-2023-05-31":
        raise _bad("anthropic_version: must be bedrock-2023-05-31")
    model = "" if bedrock else body["model"]
    if not isinstance(model, str):
        raise _bad("model: Input should be a valid string")
    max_tokens = body["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _bad("max_tokens: Input should be a valid integer greater than or equal to 1")
    for key, low, high in (("temperature", 0, 1), ("top_p", 0, 1)):
        if key in body and not (isinstance(body[key], int | float) and low <= body[key] <= high):
            raise _bad(f"{key}: Input should be between {low} and {high}")
    if "stop_sequences" in body and not (
        isinstance(body["stop_sequences"], list)
        and all(isinstance(s, str) for s in body["stop_sequences"])
    ):
        raise _bad("stop_sequences: Input should be a list of strings")
    messages = body["messages"]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise _bad("messages: Input should be a valid list of objects")
    _roles([m.get("role") for m in messages])
    breakpoints: list[str] = []
    if "system" in body:
        _text_blocks(body["system"], "system", breakpoints)
    for i, message in enumerate(messages):
        unknown = set(message) - {"role", "content"}
        if unknown:
            raise _bad(f"messages.{i}.{sorted(unknown)[0]}: Extra inputs are not permitted")
        content = message.get("content")
        if content in (None, "", []):
            raise _bad(f"messages.{i}: all messages must have non-empty content")
        _text_blocks(content, f"messages.{i}.content", breakpoints)
    if len(breakpoints) > 4:
        raise _bad(
            f"A maximum of 4 blocks with cache_control may be provided. Found {len(breakpoints)}."
        )
    return model


def check_max_tokens(body: dict[str, Any], model: str, limit: int) -> None:
    if body["max_tokens"] > limit:
        raise _bad(
            f"max_tokens: {body['max_tokens']} > {limit}, which is the maximum allowed number "
            f"of output tokens for {model}"
        )
