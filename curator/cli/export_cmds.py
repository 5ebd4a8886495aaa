"""Export commands: export, validate, finetune start/status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from curator import safe_text
from curator.cli.options import db_option, open_existing, settings_of
from curator.cli.output import echo_json, note_unsaved_answers, one_line
from curator.domain import ANSWER_TYPES, RecordFilter
from curator.export.targets import TARGETS
from curator.prompts import TABLE_FORMATS
from curator.wording import counted

if TYPE_CHECKING:
    from curator.settings import Settings


#: --target, the same for export and validate.
_target_option = click.option(
    "--target", type=click.Choice(tuple(TARGETS)), default="bedrock-claude", show_default=True
)


@click.command("export")
@click.argument("destination")
@_target_option
@click.option(
    "--table-format",
    type=click.Choice(TABLE_FORMATS),
    default="markdown",
    show_default=True,
)
@click.option(
    "--system-prompt",
    "system_prompt_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the system prompt (default: a financial-analyst prompt).",
)
@click.option("--rationale", is_flag=True, help="Assistant gives <rationale> then <answer>.")
@click.option(
    "--validation-fraction", type=click.FloatRange(0, 0.9), default=0.1, show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-train", type=click.IntRange(min=1), default=None)
@click.option("--max-validation", type=click.IntRange(min=0), default=None)
@click.option(
    "--include-judged-correct",
    "judged",
    default=None,
    metavar="JUDGE[+JUDGE...]",
    help="Also export unreviewed records that JUDGE calls correct; with a panel such as "
    "rules+anthropic, only those every listed judge calls correct.",
)
@click.option(
    "--audit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Queue a stratified random sample of N exported records no person reviewed (the TUI's "
    "audit filter); re-export once they are reviewed for the manifest's error estimate.",
)
@click.option("--split", "splits", multiple=True, help="Only these splits. Repeatable.")
@click.option("--answer-type", "answer_types", multiple=True, type=click.Choice(ANSWER_TYPES))
@click.option(
    "--exclude-overlap-with",
    "exclude_overlap",
    default=None,
    metavar="SPLIT",
    help="Drop records whose table or question reappears in SPLIT (e.g. keep test clean).",
)
@click.option("--region", default=None, help="AWS region for an s3:// destination.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@db_option
@click.pass_context
def export_cmd(
    ctx: click.Context,
    destination: str,
    target: str,
    table_format: str,
    system_prompt_file: Path | None,
    rationale: bool,
    validation_fraction: float,
    seed: int,
    max_train: int | None,
    max_validation: int | None,
    judged: str | None,
    audit: int | None,
    splits: tuple[str, ...],
    answer_types: tuple[str, ...],
    exclude_overlap: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Write accepted and edited records as train/validation JSONL plus manifest.json.

    Split by context (no table in both), stratified by answer type, byte-identical for the same
    store, options and --seed. Every line is checked against the target before the files are
    kept. DESTINATION is a folder or s3://bucket/prefix.

    \b
    Examples:
      curator export out/
      curator export out/ --target bedrock-nova --table-format html --rationale
      curator export s3://my-bucket/tatqa/v3 --include-judged-correct anthropic
    """
    from curator.export.run import ExportOptions, export
    from curator.prompts import load_system_prompt
    from curator.split_choice import check_splits

    settings = settings_of(ctx)
    # Only --audit writes (its sample); the near-duplicate search works on a read-only store.
    store = open_existing(settings, read_only=not audit)
    check_splits(store, splits)
    if judged:
        note_unsaved_answers(store)  # a killed judge pass's verdicts do not count yet
    system = load_system_prompt(system_prompt_file)
    options = ExportOptions(
        target=target,
        table_format=table_format,
        system_prompt=system,
        system_prompt_file=str(system_prompt_file) if system_prompt_file else None,
        rationale=rationale,
        validation_fraction=validation_fraction,
        seed=seed,
        max_train=max_train,
        max_validation=max_validation,
        include_judged_correct=judged,
        filt=RecordFilter(splits=splits, answer_types=answer_types),
        audit=audit,
        exclude_overlap_with=exclude_overlap,
    )
    if destination.startswith("s3://"):
        from curator.export.atomic import local_scratch
        from curator.export.finetune import aws_region, check_bucket, upload_export

        where = aws_region(settings.config, region)
        check_bucket(destination, region=where)  # refused before the export, not after it
        with local_scratch() as tmp:
            manifest = export(store, tmp / "export", options)
            uploaded = upload_export(tmp / "export", destination, region=where)
        manifest["uploaded"] = uploaded
    else:
        manifest = export(store, Path(destination), options)
    if as_json:
        echo_json(manifest)
        return
    train = manifest["splits"]["train"]
    validation = manifest["splits"]["validation"]
    click.echo(
        f"{target}: train {counted(train['records'], 'record')} "
        f"({counted(train['contexts'], 'context')}), "
        f"validation {counted(validation['records'], 'record')} "
        f"({counted(validation['contexts'], 'context')}) -> "
        f"{one_line(destination)}"
    )
    for name, info in manifest["files"].items():
        size = counted(info["bytes"], "byte")
        click.echo(f"  {one_line(name)}: {size}, sha256 {info['sha256'][:16]}…")
    _print_export_leaks(manifest.get("leaks", {}))
    hp = manifest["hyperparameters"]
    click.echo(
        "  recommended: "
        + ", ".join(f"{k}={v['value']}" for k, v in hp.items())
        + " (reasons in manifest.json)"
    )
    from curator.export.audit import audit_line, nothing_to_audit

    if audit is not None and isinstance(manifest["audit"], str):
        click.echo("  " + nothing_to_audit(audit))
    else:
        click.echo("  " + audit_line(manifest["audit"]))


def _print_export_leaks(leaks: dict[str, Any]) -> None:
    click.echo(
        "  near-duplicate tables kept on one side: "
        f"{counted(leaks.get('near_duplicate_clusters', 0), 'cluster')}; "
        f"pairs across train/validation: {leaks.get('cross_split_pairs', 0):,}"
    )
    dropped = leaks.get("dropped")
    if dropped is not None:
        click.echo(
            f"  dropped {counted(dropped['records'], 'record')} overlapping split "
            f"{leaks['exclude_overlap_with']!r}: {dropped['in_split']:,} in it, "
            f"{dropped['near_duplicate_table']:,} with a near-duplicate table, "
            f"{dropped['repeated_question']:,} with a repeated question"
        )


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--target",
    type=click.Choice(tuple(TARGETS)),
    default=None,
    help="Default: the target of the manifest.json beside the files, else bedrock-claude.",
)
@click.option(
    "--kind",
    type=click.Choice(("train", "validation")),
    default=None,
    help="Which limits apply (default: validation when the file name says so).",
)
def validate(files: tuple[Path, ...], target: str | None, kind: str | None) -> None:
    """Check JSONL files (or export folders) against a target; print every problem with its line.

    Record counts follow AWS's validators (for bedrock-claude, Claude 3 Haiku: 32-10,000
    training and 32-1,000 validation records; bedrock-nova: 8-20,000 each); files given together
    are also checked against the target's total. When a manifest.json sits beside the files,
    their sizes, sha256 and line counts must match it, and its target is the default target.
    Exit code 1 when any problem is found.

    \b
    Example:
      curator validate out/train.jsonl out/validation.jsonl --target bedrock-claude
    """
    from curator.export.run import export_files, manifest_problems, manifest_target, validate_files

    paths = export_files(files)
    target = target or manifest_target(paths) or "bedrock-claude"
    problems = validate_files(paths, target, kind)
    problems += manifest_problems(paths)
    for problem in problems:
        click.echo(safe_text.error_line(problem))
    if problems:
        click.echo(counted(len(problems), "problem"), err=True)
        sys.exit(1)
    click.echo(f"ok: {counted(len(paths), 'file')} valid for {target}")


@click.group()
def finetune() -> None:
    """Start and follow a Bedrock fine-tuning job from an export."""


@finetune.command("start")
@click.option(
    "--export-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="out",
    show_default=True,
    help="The folder `curator export` wrote (its manifest.json is checked before any upload).",
)
@click.option("--s3", "s3_uri", required=True, help="s3://bucket/prefix for data and output.")
@click.option("--role-arn", required=True, help="IAM role Bedrock assumes to read the data.")
@click.option(
    "--base-model",
    default=None,
    help="Default: the export target's (Claude 3 Haiku, or Nova Lite for bedrock-nova).",
)
@click.option(
    "--name",
    default=None,
    help="Job name (default: curator-<digest of the export and base model>: running the same "
    "command again finds the job it started).",
)
@click.option(
    "--region",
    default=None,
    help="Default: AWS_REGION / AWS_DEFAULT_REGION, [judge] region, else the AWS profile's.",
)
@click.pass_context
def finetune_start(
    ctx: click.Context,
    export_dir: Path,
    s3_uri: str,
    role_arn: str,
    base_model: str | None,
    name: str | None,
    region: str | None,
) -> None:
    """Upload an export and start a model customization job with its hyperparameters.

    \b
    Example:
      curator finetune start --export-dir out --s3 s3://bucket/tatqa \\
          --role-arn arn:aws:iam::123456789012:role/BedrockFineTune
    """
    from curator.export.finetune import aws_region, configured_base_model, start_job

    settings: Settings = ctx.find_root().obj
    model = base_model or configured_base_model(export_dir, settings.config.export)
    result = start_job(
        export_dir,
        s3_uri,
        role_arn=role_arn,
        name=name,
        base_model=model,
        region=aws_region(settings.config, region),
        # Before the request: a run interrupted from here on may have started the job.
        on_creating=lambda job: click.echo(one_line(f"creating {job} ...")),
    )
    job_name = result["name"]
    if "already" in result:
        # Found before the upload, or started meanwhile (by another run) after it.
        done = (
            "started meanwhile, not a second time"
            if "uploaded" in result
            else "nothing was uploaded"
        )
        click.echo(
            one_line(
                f"already started {job_name} for this export and base model in "
                f"{result['region']} ({result['already']}): {done}"
            )
        )
    else:
        click.echo(one_line(f"started {job_name}: {result['jobArn']}"))
        click.echo(one_line(f"base model: {result['request']['baseModelIdentifier']}"))
        click.echo("hyperparameters: " + safe_text.dumps(result["request"]["hyperParameters"]))
    # A job is found in its region: a --region given here must be given there too.
    where = f" --region {region}" if region else ""
    click.echo(one_line(f"follow it with: curator finetune status {job_name}{where}"))


@finetune.command("status")
@click.argument("name")
@click.option(
    "--region", default=None, help="The region the job was started in (default as for start)."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def finetune_status(ctx: click.Context, name: str, region: str | None, as_json: bool) -> None:
    """Status and losses of a fine-tuning job (NAME: the one `finetune start` printed)."""
    from curator.export.finetune import aws_region, job_status, status_lines

    status = job_status(name, region=aws_region(ctx.find_root().obj.config, region))
    if as_json:
        echo_json(status)
        return
    for line in status_lines(status):
        click.echo(one_line(line))
