"""Start and follow a Bedrock fine-tuning job from an export: upload, create, status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curator.domain import CuratorError, EnvironmentFailure
from curator.export.manifest import api_hyperparameters
from curator.export.run import MANIFEST_FILE, TRAIN_FILE, VALIDATION_FILE

#: The base model the Bedrock fine-tuning post used; a setting, overridable per call.
DEFAULT_BASE_MODEL = "anthropic.claude-3-haiku-20240307-v1:0:200k"


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
    for name in (TRAIN_FILE, VALIDATION_FILE, MANIFEST_FILE):
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
    base_model: str = DEFAULT_BASE_MODEL,
    region: str | None = None,
) -> dict[str, Any]:
    """Upload the export and call create_model_customization_job with its hyperparameters."""
    import boto3

    manifest_path = export_dir / MANIFEST_FILE
    if not manifest_path.exists():
        raise CuratorError(f"{export_dir}: no {MANIFEST_FILE}; run `curator export` first")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    uris = upload_export(export_dir, s3_uri, region=region)
    bucket, prefix = split_s3(s3_uri)
    bedrock = boto3.client("bedrock", region_name=region)
    request: dict[str, Any] = {
        "jobName": name,
        "customModelName": f"{name}-model",
        "roleArn": role_arn,
        "baseModelIdentifier": base_model,
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
