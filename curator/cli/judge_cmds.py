"""Judging commands: judge (live, dry run, batch) and calibrate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from curator.cli.options import (
    db_option,
    filter_options,
    judge_option,
    open_existing,
    settings_of,
)
from curator.cli.output import echo_json, one_line, pass_progress
from curator.domain import BadOption, RecordFilter
from curator.prompts import TABLE_FORMATS
from curator.wording import counted

if TYPE_CHECKING:
    from curator.llm.passes import Judge, PassOptions
    from curator.store.db import Store


@click.command()
@judge_option(
    help="Default: [judge] backend from the config, else anthropic when ANTHROPIC_API_KEY is set, "
    "else the offline rules judge."
)
@click.option("--model", default=None, help="Model id (default from config; a current Sonnet).")
@click.option("--region", default=None, help="AWS region for --judge bedrock.")
@click.option("--base-url", default=None, help="Anthropic API base URL (default: the SDK's).")
@click.option("--endpoint-url", default=None, help="Bedrock runtime endpoint URL.")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N records.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Model calls at once (default: [judge] concurrency, else 8).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Rules judge: processes judging at once (default: [judge] workers, else one per core).",
)
@click.option("--rejudge", is_flag=True, help="Judge again records that already have a verdict.")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be sent and its cost; call nothing."
)
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, help="Stop at USD.")
@click.option(
    "--batch", is_flag=True, help="Use the Message Batches API / Bedrock batch inference."
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=None,
    help="With --batch: wait up to SECONDS for submitted batches and collect them.",
)
@click.option(
    "--prompt",
    "prompt_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Judge prompt file: system text, a line ---, then a user turn with "
    "{context} {question} {answer}.",
)
@click.option("--table-format", type=click.Choice(TABLE_FORMATS), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@db_option
@click.pass_context
def judge(
    ctx: click.Context,
    judge_name: str | None,
    model: str | None,
    region: str | None,
    base_url: str | None,
    endpoint_url: str | None,
    filt: RecordFilter,
    limit: int | None,
    concurrency: int | None,
    workers: int | None,
    rejudge: bool,
    dry_run: bool,
    max_cost: float | None,
    batch: bool,
    wait: float | None,
    prompt_file: Path | None,
    table_format: str | None,
    as_json: bool,
) -> None:
    """Give records a verdict (correct / incorrect / uncertain) with a short reason.

    Resumable: records that already have a verdict from the same judge, model, prompt and
    record version are skipped, so a pass stopped at any moment continues where it was.

    \b
    Examples:
      curator judge --judge rules                     # offline rules judge, no key needed
      curator judge --judge anthropic --dry-run       # records, tokens and cost; no calls
      curator judge --judge anthropic --max-cost 5 --concurrency 16
      curator judge --judge bedrock --region us-east-1 --verdict uncertain
      curator judge --judge anthropic --batch         # submit; run again to collect
    """
    from curator.judges.factory import (
        JudgeChoice,
        default_judge,
        make_judge,
        price_warning,
        require_price_for_cap,
    )
    from curator.split_choice import check_splits

    if wait is not None and not batch:
        raise BadOption("--wait needs --batch (a live pass always runs to the end)")
    if max_cost is not None and batch and not dry_run:
        # A cap the pass does not apply would be worse than none: a batch is paid as it runs.
        raise BadOption(
            "--max-cost caps live passes only: a batch's cost is known when it ends; see its "
            "estimate with --dry-run and bound it with --limit N"
        )
    settings = settings_of(ctx)
    # A dry run only reads: it works on a store it may not write (read-only media, a snapshot).
    store = open_existing(settings, read_only=dry_run)
    check_splits(store, filt.splits)
    name = judge_name or default_judge(settings.config)
    conc = concurrency or settings.config.judge.concurrency or 8
    choice = JudgeChoice(
        name=name,
        model=model,
        region=region,
        base_url=base_url,
        endpoint_url=endpoint_url,
        prompt_file=prompt_file,
        table_format=table_format,
        concurrency=conc,
    )
    # A dry run builds no client: it estimates without a key or credentials and calls nothing.
    judge_obj = make_judge(choice, settings.config, estimate_only=dry_run)
    if not dry_run:
        require_price_for_cap(judge_obj, max_cost)
    warning = price_warning(judge_obj)
    if warning:
        click.echo(one_line(warning), err=True)
    from curator.llm.passes import PassOptions

    options = PassOptions(
        filt=filt, limit=limit, concurrency=conc, max_cost=max_cost, rejudge=rejudge
    )
    if dry_run:
        _judge_dry_run(store, judge_obj, options, as_json)
        return
    if batch:
        from curator.judges.batch import run_batch

        if name == "rules":
            raise BadOption("--batch needs --judge anthropic or --judge bedrock")
        try:
            summary = run_batch(
                store,
                judge_obj,
                options,
                judge_config=settings.config.judge,
                echo=(lambda _m: None) if as_json else (lambda m: click.echo(one_line(m))),
                wait=wait,
            )
        except KeyboardInterrupt:
            # Every batch created is recorded the moment the service accepts it.
            click.echo(
                "interrupted: batches already submitted keep running at the service; run the "
                "same command again to collect them",
                err=True,
            )
            sys.exit(130)
        if as_json:
            echo_json(summary)
        else:
            collected = dict(summary["collected"])
            waiting = collected.pop("waiting", 0)  # batches, not verdicts
            click.echo(
                f"batch: submitted {counted(summary['submitted'], 'record')}; collected "
                + (", ".join(f"{k} {v:,}" for k, v in collected.items()) or "nothing")
                + (
                    f"; {counted(waiting, 'batch', 'batches')} still running (run again, or "
                    "with --wait SECONDS, to collect)"
                    if waiting
                    else ""
                )
            )
        return
    procs = workers or settings.config.judge.workers
    _judge_live(store, judge_obj, options, as_json, workers=procs if name == "rules" else None)


def _judge_dry_run(store: Store, judge_obj: Judge, options: PassOptions, as_json: bool) -> None:
    from curator.judges.factory import price_warning
    from curator.llm.passes import estimate_pass

    estimate = estimate_pass(store, judge_obj, options)
    key = judge_obj.key
    # An LLM judge without a price estimates "unknown", never a misleading $0.
    priced = price_warning(judge_obj) is None
    if as_json:
        echo_json(
            {
                "judge": key.judge,
                "model": key.model,
                "prompt_hash": key.prompt_hash,
                "records": estimate.records,
                "input_tokens": estimate.input_tokens,
                "output_tokens": estimate.output_tokens,
                "cost_usd": round(estimate.cost_usd, 6) if priced else None,
                "uids": [item.uid for item in estimate.sample],
            }
        )
        return
    click.echo(one_line(f"dry run: judge {key.judge}, model {key.model}, prompt {key.prompt_hash}"))
    for item in estimate.sample:
        click.echo(f"  {one_line(item.uid)}  {one_line(item.question[:200])[:90]}")
    if estimate.records > len(estimate.sample):
        click.echo(f"  … and {estimate.records - len(estimate.sample):,} more")
    if key.judge == "rules":  # no model, no tokens: "~0 input tokens · $0.0000" read as a bug
        click.echo(f"{counted(estimate.records, 'record')} · offline: no model calls, no cost")
        return
    click.echo(
        f"{counted(estimate.records, 'record')} · "
        f"~{counted(estimate.input_tokens, 'input token')} · "
        f"~{counted(estimate.output_tokens, 'output token')} · "
        + (
            f"estimated ${estimate.cost_usd:,.4f} (before prompt caching)"
            if priced
            else "cost unknown (no price for this model)"
        )
    )


def _judge_live(
    store: Store,
    judge_obj: Judge,
    options: PassOptions,
    as_json: bool,
    *,
    workers: int | None = None,
) -> None:
    import asyncio

    from curator.llm.passes import PassProgress, RulesJudge, run_pass
    from curator.store.verdicts import run_summary

    done = [0]  # results of this pass so far: every one is stored before an interrupt ends it
    with pass_progress(judge_obj.key) as bar:

        def on_progress(progress: PassProgress) -> None:
            done[0] = progress.done
            if bar is not None:
                bar(progress)

        try:
            if isinstance(judge_obj, RulesJudge):
                from curator.judges.rules_pass import run_rules_pass

                result = asyncio.run(
                    run_rules_pass(store, options, workers=workers, on_progress=on_progress)
                )
            else:
                from curator.llm.run_lock import judge_lock_name, run_lock

                key = judge_obj.key
                name = judge_lock_name(key, (options.filt, options.limit, options.rejudge))
                what = f"this judge pass ({key.judge}, {key.model}, the same records)"
                with run_lock(store.path, name, what):
                    result = asyncio.run(
                        run_pass(store, judge_obj, options, on_progress=on_progress)
                    )
        except KeyboardInterrupt:
            click.echo(
                f"interrupted: {counted(done[0], 'verdict')} of this pass "
                f"{'is' if done[0] == 1 else 'are'} stored; run the same command again to "
                "continue",
                err=True,
            )
            sys.exit(130)
    summary = run_summary(store, result.run_id)
    payload = {
        "run_id": result.run_id,
        "judge": result.key.judge,
        "model": result.key.model,
        "prompt_hash": result.key.prompt_hash,
        "judged": result.progress.done,
        "stopped_for_cost": result.stopped_for_cost,
        "stopped_for_errors": result.stopped_for_errors,
        "recovered": result.recovered,
        **summary,
    }
    if as_json:
        echo_json(payload)
        _fail_if_every_call_failed(store, result.run_id, summary["verdicts"])
        return
    counts = " · ".join(f"{v} {n:,}" for v, n in sorted(summary["verdicts"].items())) or "nothing"
    click.echo(
        one_line(f"judge {result.key.judge} ({result.key.model}):")
        + f" {counted(result.progress.done, 'record')} judged — {one_line(counts)}"
    )
    if result.recovered:
        click.echo(
            f"  stored first: {counted(result.recovered, 'answer')} an interrupted pass had "
            "received (not asked again)"
        )
    if summary["input_tokens"] or summary["cost_usd"]:
        click.echo(
            f"  tokens in {summary['input_tokens']:,} (cache reads "
            f"{summary['cache_read_tokens']:,}) · out {summary['output_tokens']:,} · "
            f"cost ${summary['cost_usd']:,.4f}"
        )
    if result.stopped_for_cost:
        click.echo("  stopped: --max-cost reached; run again with a higher cap to continue")
    if result.stopped_for_errors:
        left = result.progress.total - result.progress.done
        click.echo(
            f"  stopped: the first {counted(result.progress.done, 'call')} all failed the same "
            f"way; {counted(left, 'record')} not asked (fix the cause, then run again)"
        )
    if result.progress.total == 0:
        from curator.selection import nothing_to_do
        from curator.store.records import count

        matched = count(store, options.filt)
        click.echo("  " + one_line(nothing_to_do(matched, options.filt, _ALREADY_JUDGED)))
    unreadable, failed = summary["verdicts"].get("unparsed", 0), summary["verdicts"].get("error", 0)
    if unreadable:
        click.echo(
            f"  {counted(unreadable, 'record')} had unreadable replies (no single clear "
            "judgement, or cut off: 'unparsed', raw reply kept); the next pass asks again"
        )
    if failed:
        click.echo(f"  {counted(failed, 'record')} failed ('error'); the next pass asks again")
    _fail_if_every_call_failed(store, result.run_id, summary["verdicts"])


#: What is true of every selected record when a judge pass has nothing to do.
_ALREADY_JUDGED = "already has a verdict from this judge"


def _fail_if_every_call_failed(store: Store, run_id: str, verdicts: dict[str, int]) -> None:
    """A pass in which no reply gave a verdict (every call failed, or every reply was
    unreadable) is a failure (exit 3), not a success with errors."""
    from curator.domain import EnvironmentFailure
    from curator.store.verdicts import first_error

    failed, unreadable = verdicts.get("error", 0), verdicts.get("unparsed", 0)
    if not (failed or unreadable) or failed + unreadable != sum(verdicts.values()):
        return
    if not unreadable:
        raise EnvironmentFailure(
            f"every call failed ({counted(failed, 'record')}; "
            + (
                "its verdict is 'error' and the next pass retries it"
                if failed == 1
                else "their verdicts are 'error' and the next pass retries them"
            )
            + f"); first error: {first_error(store, run_id)}"
        )
    raise EnvironmentFailure(
        f"no reply gave a verdict ({unreadable:,} unreadable replies, stored as 'unparsed', "
        f"{failed:,} failed calls; the next pass asks again)"
    )


@click.command()
@judge_option(required=True, help="The judge to calibrate.")
@click.option(
    "--assume-gold",
    "assume_gold",
    default=None,
    metavar="SPLIT",
    help="Corrupt this whole split, taken as right (default: records people accepted or edited).",
)
@click.option("--target", type=click.FloatRange(0, 1), default=0.02, help="Acceptable error rate.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Judge at most N corrupted copies (a random sample; bounds an LLM judge's cost).",
)
@click.option("--seed", type=int, default=7, help="Seed for corruptions and the bootstrap.")
@click.option("--model", default=None, help="Model id for an LLM judge (default from config).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@db_option
@click.pass_context
def calibrate(
    ctx: click.Context,
    judge_name: str,
    assume_gold: str | None,
    target: float,
    limit: int | None,
    seed: int,
    model: str | None,
    as_json: bool,
) -> None:
    """How far a judge can be trusted: corruptions caught, agreement with people, a policy.

    \b
    Examples:
      curator calibrate --judge rules --assume-gold dev
      curator calibrate --judge anthropic --limit 200 --json
    """
    from curator.judges import calibrate as cal
    from curator.judges.factory import JudgeChoice, make_judge
    from curator.split_choice import check_splits

    settings = settings_of(ctx)
    store = open_existing(settings)
    check_splits(store, [assume_gold] if assume_gold is not None else [], "--assume-gold")
    if judge_name == "rules":
        verdicts: cal.Verdicter = cal.rules_verdicts
    else:
        judge_obj = make_judge(JudgeChoice(name=judge_name, model=model), settings.config)
        verdicts = cal.judge_verdicts(judge_obj)
    report = cal.calibrate(
        store, judge_name, verdicts, assume_gold=assume_gold, target=target, seed=seed, limit=limit
    )
    if as_json:
        echo_json(report)
        return
    for line in cal.report_lines(report):
        click.echo(line)
