"""Start and follow a Bedrock fine-tuning job from an export: upload, create, status."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from curator.aws_ids import check_role_arn
from curator.domain import BadInput, BadOption, CuratorError, EnvironmentFailure
from curator.export.manifest import DEFAULT_BASE_MODELS, api_hyperparameters
from curator.export.run import MANIFEST_FILE, TRAIN_FILE, UIDS_FILES, VALIDATION_FILE
from curator.settings import Config, ExportConfig

#: The base model the Bedrock fine-tuning post used (the bedrock-claude target's default).
DEFAULT_BASE_MODEL = DEFAULT_BASE_MODELS["bedrock-claude"]
#: Bedrock's pattern for jobName and customModelName (at most 63 characters).
_BEDROCK_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*")
_NAME_MAX = 63
_FAMILY = {"bedrock-claude": "anthropic.", "bedrock-nova": "amazon.nova"}


def check_job_name(name: str, source: str = "--name") -> str:
    """A job name Bedrock accepts, or a clear error (bad input, exit 2) naming `source`."""
    if len(name) > _NAME_MAX or not _BEDROCK_NAME.fullmatch(name):
        raise BadInput(
            source,
            "",
            f"job name {name!r}: Bedrock wants at most {_NAME_MAX} letters, digits, '-', '+' "
            "or '.', starting with a letter or digit",
        )
    return name


#: Bedrock's pattern for customModelName: stricter than jobName's (no '+', '.' or '--').
_MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")


def custom_model_name(job_name: str) -> str:
    """`<job name>-model`, made to fit Bedrock's customModelName pattern and 63 characters
    (a job name's '+' and '.', and runs of '-', become one '-')."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", job_name).strip("-") or "curator"
    name = f"{cleaned[: _NAME_MAX - len('-model')].rstrip('-')}-model"
    assert _MODEL_NAME.fullmatch(name) and len(name) <= _NAME_MAX, name
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


#: What CreateModelCustomizationJob takes as baseModelIdentifier (botocore's service model):
#: a foundation model's ARN, a custom model's ARN (continued fine-tuning; it embeds its base
#: model's id: custom-model/<base id>/<12-character id>), a model id, or a custom model's name.
_FOUNDATION_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20})::foundation-model/"
    r"(?P<id>[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})"
)
_CUSTOM_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):[0-9]{12}:custom-model/"
    r"(?P<id>[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})"
    r"/[a-z0-9]{12}"
)
_MODEL_ID = re.compile(
    r"[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}"
)
_CUSTOM_NAME = re.compile(r"([0-9a-zA-Z][_-]?)+")


def base_model_id(model: str) -> str | None:
    """The model id a base model identifier names: its own, or the base model a custom model's
    ARN embeds; None for a custom model's name (only Bedrock knows its base model). Anything
    Bedrock would not take is bad input (exit 2) naming --base-model."""
    for pattern in (_FOUNDATION_ARN, _CUSTOM_ARN):
        found = pattern.fullmatch(model)
        if found:
            return found["id"]
    if len(model) <= 2048 and _MODEL_ID.fullmatch(model):
        return model
    if len(model) <= 2048 and _CUSTOM_NAME.fullmatch(model):
        return None
    raise BadInput(
        "base model",
        "",
        f"{model[:120]!r}: expected a model id such as {DEFAULT_BASE_MODEL}, a foundation or "
        "custom model's ARN, or a custom model's name",
    )


def check_family(model: str, model_id: str, target: str) -> None:
    """A base model of another family than the export's target is bad input (exit 2)."""
    family = _FAMILY[target]
    if not model_id.startswith(family):
        raise BadOption(
            f"base model {model!r} does not match the export's target {target} "
            f"(expected an {family}* model such as {DEFAULT_BASE_MODELS[target]})"
        )


def check_model_region(model: str, region: str) -> None:
    """A model's ARN (a custom model's, a foundation model's) names the region the model is
    in, and a job can only fine-tune a model of its own region: Bedrock refuses another only
    after the upload. Bad input (exit 2) naming both regions, before anything is sent."""
    for pattern, kind in ((_CUSTOM_ARN, "custom model"), (_FOUNDATION_ARN, "foundation model")):
        found = pattern.fullmatch(model)
        if found is not None and found["region"] != region:
            raise BadOption(
                f"base model {model!r} is a {kind} in {found['region']}, and the job would "
                f"start in {region} (a job fine-tunes a model of its own region): pass "
                f"--region {found['region']}; nothing was uploaded"
            )


def base_model_for(manifest: dict[str, Any], override: str | None = None) -> str:
    """The base model: `override` (flag or setting), else the manifest's, else its target's
    default; refused when it belongs to another family than the export's target (a custom
    model's name is looked up at Bedrock by `start_job`)."""
    target = str(manifest.get("target", "bedrock-claude"))
    if target not in DEFAULT_BASE_MODELS:
        raise BadOption(
            f"the export's target is {target!r}; Bedrock fine-tunes only "
            f"{' and '.join(DEFAULT_BASE_MODELS)} exports"
        )
    model = str(override or manifest.get("base_model") or DEFAULT_BASE_MODELS[target])
    model_id = base_model_id(model)
    if model_id is not None:
        check_family(model, model_id, target)
    return model


def split_s3(uri: str, source: str = "--s3") -> tuple[str, str]:
    """Bucket and prefix of an s3:// URI; anything else is bad input (exit 2) naming `source`."""
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise BadInput(source, "", f"{uri!r}: expected s3://bucket/prefix")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def check_bucket(s3_uri: str, *, region: str | None = None) -> None:
    """The bucket of an s3:// destination exists and this account may use it (one HeadBucket),
    so an export to a bucket that is not there fails at once (exit 3), not after the whole
    export. A bucket that may be read but not written is still found out by the upload."""
    bucket, _ = split_s3(s3_uri, "DESTINATION")
    s3 = aws_client("s3", region, f"s3://{bucket}")
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:  # botocore's errors share no base class with boto3's
        raise aws_failure(exc, s3_uri, "export") from exc


def upload_export(
    export_dir: Path,
    s3_uri: str,
    *,
    region: str | None = None,
    names: tuple[str, ...] | None = None,
) -> dict[str, str]:
    """Upload train/validation (and their uid lists) then the manifest to s3://bucket/prefix/;
    returns their S3 URIs. `names`: only those files (the ones a manifest lists).

    Each file is one PutObject from this thread, not boto3's threaded multipart transfer (the
    files Bedrock takes are far below S3's 5 GB for one PUT): an object is stored whole or not
    at all, so a killed upload leaves no parts behind (stored and billed, invisible, until a
    lifecycle rule aborts them), and Ctrl-C stops the request in flight at once.
    """
    bucket, prefix = split_s3(s3_uri)
    s3 = aws_client("s3", region, f"s3://{bucket}")
    uris = {}
    # The manifest goes last: a reader that finds it finds the files it describes.
    for name in (TRAIN_FILE, VALIDATION_FILE, *UIDS_FILES.values(), MANIFEST_FILE):
        path = export_dir / name
        if (names is None or name in names or name == MANIFEST_FILE) and path.exists():
            key = f"{prefix}/{name}" if prefix else name
            try:
                with path.open("rb") as body:
                    s3.put_object(Bucket=bucket, Key=key, Body=body)
            except Exception as exc:  # botocore's errors share no base class with boto3's
                raise aws_failure(exc, f"s3://{bucket}/{key}", "upload") from exc
            uris[name] = f"s3://{bucket}/{key}"
    return uris


def aws_region(config: Config, region: str | None) -> str | None:
    """--region, else AWS_REGION / AWS_DEFAULT_REGION / `[judge] region` (as the judge and
    predict take it), else None: boto3's own chain (the AWS profile's region)."""
    return region or config.judge.region


def aws_client(service: str, region: str | None, where: str) -> Any:
    """A boto3 client from a fresh session, not boto3's process-wide default (credentials are
    looked up now). No region anywhere is one line (exit 3), not an internal error."""
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.Session(region_name=region).client(service)
    except NoRegionError as exc:
        raise aws_failure(exc, where, "connect") from exc


def _error_code(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def aws_failure(exc: Exception, where: str, action: str) -> CuratorError:
    """One line for a failed AWS call: missing credentials, no network, no bucket, denied.

    Anything else that is not an AWS error is re-raised unchanged (a bug must not be disguised).
    """
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
    elif isinstance(exc, BotoCoreError):
        reason = str(exc)
    else:
        raise exc
    return EnvironmentFailure(f"{where}: {action} failed: {reason}")


def read_export(export_dir: Path) -> dict[str, Any]:
    """The manifest of an export folder whose files are the ones the export wrote.

    Nothing is sent for a folder without a manifest, a manifest that lists no training file, or
    a file missing, edited or cut short since the export (`curator validate` names every
    problem): Bedrock would train on what was uploaded, not on what the manifest describes.
    """
    from curator.export.run import manifest_problems

    manifest_path = export_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BadInput(
            str(export_dir), "", f"no {MANIFEST_FILE}; run `curator export {export_dir}` first"
        )
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
        manifest["hyperparameters"].items()
        listed = manifest["files"]
        listed.items()
    except (
        OSError,
        UnicodeDecodeError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
        RecursionError,
    ) as exc:
        raise BadInput(str(manifest_path), "", f"not an export manifest ({exc})") from exc
    for key, entry in manifest["hyperparameters"].items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise BadInput(
                str(manifest_path),
                f"hyperparameters.{key}",
                f'expected {{"value": ..., "rule": ...}} as the export wrote it, got {entry!r:.60}',
            )
    if TRAIN_FILE not in listed:
        raise BadInput(str(manifest_path), "", f"lists no {TRAIN_FILE}: nothing to train on")
    problems = manifest_problems([export_dir / str(name) for name in listed])
    if problems:
        more = f" (and {len(problems) - 1:,} more)" if len(problems) > 1 else ""
        raise BadInput(
            str(export_dir),
            "",
            f"not as exported: {problems[0]}{more}; nothing was uploaded "
            f"(`curator validate {export_dir}` lists every problem)",
        )
    return dict(manifest)


def _job_exists(bedrock: Any, name: str) -> str | None:
    """The status of the job called `name` when one is found, else None. The look-up is a
    courtesy before the upload: when it fails (no such job, a role that may not read jobs, no
    network) the upload and the create go on and report their own failures as before, and
    create still refuses a name taken."""
    try:
        job = bedrock.get_model_customization_job(jobIdentifier=name)
    except Exception as exc:
        aws_failure(exc, name, "look-up")  # re-raises anything that is not an AWS error
        return None
    return str(job.get("status") or "unknown")


def _check_custom_model(bedrock: Any, name: str, target: str, region: str) -> None:
    """A custom model named as the base model (continued fine-tuning): one this account has in
    `region`, of the export's target's family, or bad input (exit 2) before the upload. When the
    look-up itself fails (a role that may not read models, no network), create decides."""
    try:
        found = bedrock.get_custom_model(modelIdentifier=name)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            raise BadOption(
                f"base model {name!r}: no custom model of that name in {region}, and no model "
                f"id (such as {DEFAULT_BASE_MODELS[target]}); nothing was uploaded"
            ) from exc
        aws_failure(exc, name, "look-up")  # re-raises anything that is not an AWS error
        return
    base = str(found.get("baseModelArn") or "")
    for pattern in (_FOUNDATION_ARN, _CUSTOM_ARN):
        model_id = pattern.fullmatch(base)
        if model_id is not None:
            check_family(name, model_id["id"], target)


def _name_taken(name: str, region: str, status: str, what: str) -> BadOption:
    return BadOption(
        f"a fine-tuning job named {name!r} already exists in {region} ({status}); {what}: "
        f"follow it with `curator finetune status {name}`, or choose another --name"
    )


def default_job_name(export_dir: Path, base_model: str) -> str:
    """`curator-<16 hex>`: a digest of the export's manifest.json (which hashes every file it
    lists) and the base model. The same export and model give the same name, so a re-run of a
    `finetune start` stopped after its create request finds the job it started instead of
    starting (and paying for) a second one; another export or base model is another job."""
    import hashlib

    digest = hashlib.sha256((export_dir / MANIFEST_FILE).read_bytes())
    digest.update(b"\0" + base_model.encode())
    return f"curator-{digest.hexdigest()[:16]}"


#: States of a job that is (or was) training this export: a re-run leaves it be (exit 0).
_STARTED = ("InProgress", "Stopping", "Completed")


def start_job(
    export_dir: Path,
    s3_uri: str,
    *,
    role_arn: str,
    name: str | None = None,
    base_model: str | None = None,
    region: str | None = None,
    on_creating: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Upload the export and call create_model_customization_job with its hyperparameters and
    the base model of its target (`base_model` overrides it).

    Everything that can be checked is checked before anything is sent (the name, the files
    against the manifest, the base model and a custom model's region, the URI), and a job name
    already taken is refused before the upload, so a re-run with the same --name never starts
    (or pays for) a second job nor overwrites the data of the first. Without `name` the job is
    named after the export and the base model (`default_job_name`): when that job already
    exists and is running or done, nothing is sent and the result says so (`already`: its
    status); so it does when the job appears between the look-up and the create (another run
    of the same command started it meanwhile): `uploaded` then says what this run uploaded.
    `on_creating` is called with the name just before the create request: a run interrupted
    after it may have started the job.
    """
    manifest = read_export(export_dir)
    if name is not None:
        check_job_name(name)
    check_role_arn(role_arn)
    model = base_model_for(manifest, base_model)
    derived = name is None
    name = default_job_name(export_dir, model) if name is None else name
    bucket, prefix = split_s3(s3_uri)
    bedrock = aws_client("bedrock", region, f"Bedrock fine-tuning job {name!r}")
    where = str(bedrock.meta.region_name)
    check_model_region(model, where)
    taken = _job_exists(bedrock, name)
    if taken is not None:
        if derived and taken in _STARTED:
            return {"name": name, "already": taken, "region": where}
        raise _name_taken(name, where, taken, "nothing was uploaded")
    if base_model_id(model) is None:
        _check_custom_model(bedrock, model, str(manifest.get("target", "bedrock-claude")), where)
    uris = upload_export(export_dir, s3_uri, region=region, names=tuple(manifest["files"]))
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
    if on_creating is not None:
        on_creating(name)
    try:
        response = bedrock.create_model_customization_job(**request)
    except Exception as exc:
        if _error_code(exc) == "ResourceInUseException":
            # Another run's, or this request's own when a retry follows a lost answer and
            # the service did not match the idempotency token: one job either way. For the
            # default name it is this export's on this base model: the outcome a re-run that
            # finds it reports (exit 0), not an error; a --name is the user's to choose again.
            status = _job_exists(bedrock, name) if derived else None
            if status in _STARTED:
                return {"name": name, "already": status, "region": where, "uploaded": uris}
            raise _name_taken(
                name, where, status or "created meanwhile", "not started a second time"
            ) from exc
        raise aws_failure(exc, f"Bedrock fine-tuning job {name!r}", "create") from exc
    return {"name": name, "jobArn": response["jobArn"], "request": request, "uploaded": uris}


def job_status(name: str, *, region: str | None = None) -> dict[str, Any]:
    """The job's status, losses and output model; a name no job has is bad input (exit 2)
    naming the region looked in (a job lives in the region it was started in)."""
    if not name.startswith("arn:"):
        check_job_name(name, "NAME")
    bedrock = aws_client("bedrock", region, f"Bedrock fine-tuning job {name!r}")
    try:
        job = bedrock.get_model_customization_job(jobIdentifier=name)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            raise BadOption(
                f"no fine-tuning job {name!r} in {bedrock.meta.region_name} (the name is the "
                "one `curator finetune start` printed; a job started in another region needs "
                "--region)"
            ) from exc
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


def status_lines(status: dict[str, Any]) -> list[str]:
    """`finetune status` as text: each field that has a value (objects and lists as JSON, as
    `start` prints them) and, once the job is completed, what comes next: Bedrock answers a
    custom model only once it is served (provisioned throughput), under that ARN."""
    from curator import safe_text

    lines = [
        f"{key}: {value if isinstance(value, str) else safe_text.dumps(value)}"
        for key, value in status.items()
        if value not in (None, [], {})
    ]
    if status.get("status") == "Completed" and status.get("outputModel"):
        lines.append(
            "next: serve outputModel with Bedrock provisioned throughput, then "
            "`curator predict --backend bedrock --model <its provisioned-model ARN> "
            "--from-manifest out/manifest.json --split validation --name ft`"
        )
    return lines
