"""Start and follow a Bedrock fine-tuning job from an export: upload, create, status."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

from curator.domain import BadInput, CuratorError, EnvironmentFailure
from curator.export.manifest import DEFAULT_BASE_MODELS, api_hyperparameters
from curator.export.run import MANIFEST_FILE, TRAIN_FILE, UIDS_FILES, VALIDATION_FILE
from curator.settings import ExportConfig

#: The base model the Bedrock fine-tuning post used (the bedrock-claude target's default).
DEFAULT_BASE_MODEL = DEFAULT_BASE_MODELS["bedrock-claude"]
#: Bedrock's pattern for jobName and customModelName (at most 63 characters).
_BEDROCK_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*")
_NAME_MAX = 63
_FAMILY = {"bedrock-claude": "anthropic.", "bedrock-nova": "amazon.nova"}


def check_job_name(name: str) -> str:
    """A job name Bedrock accepts, or a clear error."""
    if len(name) > _NAME_MAX or not _BEDROCK_NAME.fullmatch(name):
        raise BadInput(
            "--name",
            "",
            f"job name {name!r}: Bedrock wants at most {_NAME_MAX} letters, digits, '-', '+' "
            "or '.', starting with a letter or digit",
        )
    return name


def custom_model_name(job_name: str) -> str:
    """`<job name>-model`, made to fit Bedrock's customModelName pattern and 63 characters."""
    cleaned = re.sub(r"[^a-zA-Z0-9+\-.]", "-", job_name).lstrip("-+.") or "curator"
    name = f"{cleaned[: _NAME_MAX - len('-model')]}-model"
    assert _BEDROCK_NAME.fullmatch(name), name
    return name


#: The setting ([export] section) that overrides each target's base model.
BASE_MODEL_SETTINGS: Final = {"bedrock-claude": "base_model", "bedrock-nova": "nova_base_model"}


def configured_base_model(export_dir: Path, export: ExportConfig) -> str | None:
    """The [export] setting naming the base model for this export's target, if any."""
    try:
        target = json.loads((export_dir / MANIFEST_FILE).read_text("utf-8")).get("target")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None  # start_job reports the unusable manifest
    key = BASE_MODEL_SETTINGS.get(str(target))
    value: str | None = getattr(export, key) if key else None
    return value or None


def base_model_for(manifest: dict[str, Any], override: str | None = None) -> str:
    """The base model: `override` (flag or setting), else the manifest's, else its target's
    default; refused when it belongs to another family than the export's target."""
    target = str(manifest.get("target", "bedrock-claude"))
    if target not in DEFAULT_BASE_MODELS:
        raise CuratorError(
            f"the export's target is {target!r}; Bedrock fine-tunes only "
            f"{' and '.join(DEFAULT_BASE_MODELS)} exports"
        )
    model = override or manifest.get("base_model") or DEFAULT_BASE_MODELS[target]
    family = _FAMILY[target]
    bare = str(model).rsplit("/", 1)[-1]  # an ARN ends with the model id
    if not bare.startswith(family):
        raise CuratorError(
            f"base model {model!r} does not match the export's target {target} "
            f"(expected a {family}* model such as {DEFAULT_BASE_MODELS[target]})"
        )
    return str(model)


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise CuratorError(f"{uri}: expected s3://bucket/prefix")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def upload_export(export_dir: Path, s3_uri: str, *, region: str | None = None) -> dict[str, str]:
    """Upload train/validation/manifest to s3://bucket/prefix/; returns their S3 URIs."""
    import boto3

    bucket, prefix = split_s3(s3_uri)
    # A fresh session, not boto3's process-wide default: credentials are looked up now.
    s3 = boto3.Session(region_name=region).client("s3")
    uris = {}
    # The manifest goes last: a reader that finds it finds the files it describes.
    for name in (TRAIN_FILE, VALIDATION_FILE, *UIDS_FILES.values(), MANIFEST_FILE):
        path = export_dir / name
        if path.exists():
            key = f"{prefix}/{name}" if prefix else name
            try:
                s3.upload_file(str(path), bucket, key)
            except Exception as exc:  # botocore's errors share no base class with boto3's
                raise aws_failure(exc, f"s3://{bucket}/{key}", "upload") from exc
            uris[name] = f"s3://{bucket}/{key}"
    return uris


def aws_failure(exc: Exception, where: str, action: str) -> CuratorError:
    """One line for a failed AWS call: missing credentials, no network, no bucket, denied.

    Anything else that is not an AWS error is re-raised unchanged (a bug must not be disguised).
    """
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        reason = "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/...)"
    elif isinstance(exc, NoRegionError):
        reason = "no AWS region configured (pass --region or set AWS_REGION)"
    elif isinstance(exc, EndpointConnectionError):
        reason = f"cannot reach the service ({exc})"
    elif isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        if code in ("NoSuchBucket", "404"):
            reason = "the bucket does not exist"
        elif code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            reason = f"access denied ({message})"
        else:
            reason = f"{code}: {message}"
    elif isinstance(exc, S3UploadFailedError):
        text = str(exc)
        reason = "the bucket does not exist" if "NoSuchBucket" in text else text
    elif isinstance(exc, BotoCoreError):
        reason = str(exc)
    else:
        raise exc
    return EnvironmentFailure(f"{where}: {action} failed: {reason}")


def start_job(
    export_dir: Path,
    s3_uri: str,
    *,
    role_arn: str,
    name: str,
    base_model: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Upload the export and call create_model_customization_job with its hyperparameters and
    the base model of its target (`base_model` overrides it)."""
    import boto3

    manifest_path = export_dir / MANIFEST_FILE
    if not manifest_path.exists():
        raise CuratorError(f"{export_dir}: no {MANIFEST_FILE}; run `curator export` first")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
        manifest["hyperparameters"].items()
    except (
        OSError,
        UnicodeDecodeError,
        ValueError,
        KeyError,
        AttributeError,
        RecursionError,
    ) as exc:
        raise BadInput(str(manifest_path), "", f"not an export manifest ({exc})") from exc
    check_job_name(name)
    model = base_model_for(manifest, base_model)
    uris = upload_export(export_dir, s3_uri, region=region)
    bucket, prefix = split_s3(s3_uri)
    bedrock = boto3.client("bedrock", region_name=region)
    request: dict[str, Any] = {
        "jobName": name,
        "customModelName": custom_model_name(name),
        "roleArn": role_arn,
        "baseModelIdentifier": model,
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": uris[TRAIN_FILE]},
        "outputDataConfig": {"s3Uri": f"s3://{bucket}/{prefix + '/' if prefix else ''}output/"},
        "hyperParameters": api_hyperparameters(manifest),
    }
    if VALIDATION_FILE in uris:
        request["validationDataConfig"] = {"validators": [{"s3Uri": uris[VALIDATION_FILE]}]}
    try:
        response = bedrock.create_model_customization_job(**request)
    except Exception as exc:
        raise aws_failure(exc, f"Bedrock fine-tuning job {name!r}", "create") from exc
    return {"jobArn": response["jobArn"], "request": request, "uploaded": uris}


def job_status(name: str, *, region: str | None = None) -> dict[str, Any]:
    import boto3

    bedrock = boto3.client("bedrock", region_name=region)
    try:
        job = bedrock.get_model_customization_job(jobIdentifier=name)
    except Exception as exc:
        raise aws_failure(exc, f"Bedrock fine-tuning job {name!r}", "status") from exc
    return {
        "jobName": job.get("jobName"),
        "jobArn": job.get("jobArn"),
        "status": job.get("status"),
        "baseModel": job.get("baseModelArn"),
        "hyperParameters": job.get("hyperParameters", {}),
        "trainingLoss": (job.get("trainingMetrics") or {}).get("trainingLoss"),
        "validationLoss": [m.get("validationLoss") for m in job.get("validationMetrics") or []],
        "outputModel": job.get("outputModelArn"),
        "failureMessage": job.get("failureMessage"),
    }
