"""Evaluation commands: predict (a model run or imported answers) and eval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from curator import safe_text
from curator.cli.options import db_option, manifest_option, open_existing, settings_of
from curator.cli.output import (
    echo_json,
    make_console,
    note_unsaved_answers,
    one_line,
    pass_progress,
)
from curator.domain import BadOption
from curator.judges.factory import BACKENDS
from curator.wording import counted


@click.command()
@click.option("--backend", type=click.Choice(BACKENDS), default=None)
@click.option("--model", default=None, help="Model id, or a Bedrock custom model / ARN.")
@click.option(
    "--split",
    "splits",
    multiple=True,
    help="Splits to answer (default: all); with --from-manifest, train / validation are the "
    "export's files.",
)
@click.option("--name", "run", default=None, help="Run name (default: the model id).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option(
    "--max-tokens",
    type=click.IntRange(1, 1_000_000),
    default=512,
    show_default=True,
    help="Output tokens an answer may use; one cut off is not scored and is asked again.",
)
@manifest_option(
    help="Export manifest: use its system prompt and table format (and its files' records for "
    "--split train / validation).",
)
@click.option("--region", default=None)
@click.option("--base-url", default=None)
@click.option("--endpoint-url", default=None)
@click.option(
    "--import",
    "import_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Load answers made elsewhere: the official TAT-QA {uid: [answer, scale]}, "
    '{uid: "text"}, or JSON Lines {"uid", "answer", "scale"}.',
)
@click.option("--json", "as_json", is_flag=True)
@db_option
@click.pass_context
def predict(
    ctx: click.Context,
    backend: str | None,
    model: str | None,
    splits: tuple[str, ...],
    run: str | None,
    concurrency: int,
    limit: int | None,
    max_tokens: int,
    manifest: Path | None,
    region: str | None,
    base_url: str | None,
    endpoint_url: str | None,
    import_file: Path | None,
    as_json: bool,
) -> None:
    """Answer records with a model (same prompt as the export) or import answers, as a run.

    Resumable: running it again answers only what the run is missing.

    \b
    Examples:
      curator predict --backend anthropic --model claude-haiku-4-5 \\
          --from-manifest out/manifest.json --split validation --name base
      curator predict --backend bedrock \\
          --model arn:aws:bedrock:us-east-1:123456789012:provisioned-model/ft0haiku0tqa \\
          --from-manifest out/manifest.json --split validation --name ft
      curator predict --import answers.jsonl --name vendor
    """
    from curator.predict import check_run_name

    if import_file is not None:
        _refuse_model_options(ctx)
    settings = settings_of(ctx)
    store = open_existing(settings)
    if import_file is not None:
        from curator.predict import import_predictions

        if not run:
            raise BadOption("--import needs --name RUN")
        n = import_predictions(store, import_file, check_run_name(run))
        if as_json:
            echo_json({"run": run, "imported": n})
        else:
            click.echo(one_line(f"run {run!r}: imported {counted(n, 'answer')} from {import_file}"))
        return
    if backend is None:
        raise BadOption("choose --backend anthropic|bedrock (or --import FILE)")
    from curator.judges.factory import JudgeChoice
    from curator.predict import check_all_failed, plan_predictions, run_predictions
    from curator.split_choice import choose_splits

    chosen = choose_splits(store, splits, manifest)
    choice = JudgeChoice(
        backend,
        model=model,
        region=region,
        base_url=base_url,
        endpoint_url=endpoint_url,
        concurrency=concurrency,
    )
    plan = plan_predictions(
        store,
        choice,
        settings.config,
        run=run,
        splits=chosen,
        limit=limit,
        manifest=manifest,
        max_tokens=max_tokens,
    )
    with pass_progress(plan.predictor.key) as on_progress:
        summary = run_predictions(plan, on_progress)
    if as_json:
        echo_json(summary.to_json())
    else:
        click.echo(
            f"run {summary.run!r} ({one_line(summary.model)}): {summary.answered:,} answered, "
            f"{summary.truncated:,} cut off by max_tokens, {counted(summary.errors, 'error')}, "
            f"{counted(summary.output_tokens, 'output token')}, ${summary.cost_usd:,.4f}"
        )
        if summary.truncated or summary.errors:
            click.echo(
                "  answers cut off or failed are stored, not scored, and asked again by the "
                "next run" + (" (try a higher --max-tokens)" if summary.truncated else "")
            )
        if summary.errors and summary.answered:
            click.echo("  last error: " + safe_text.error_line(summary.last_error))
        if summary.pending == 0:
            from curator.selection import nothing_to_do
            from curator.store.records import count

            done = f"already has an answer in run {summary.run!r}"
            click.echo("  " + one_line(nothing_to_do(count(store, plan.filt), plan.filt, done)))
    check_all_failed(summary)


#: predict's options that choose what a model is asked and how: an import takes none of them.
_MODEL_OPTIONS = {
    "backend": "--backend",
    "model": "--model",
    "splits": "--split",
    "concurrency": "--concurrency",
    "limit": "--limit",
    "max_tokens": "--max-tokens",
    "manifest": "--from-manifest",
    "region": "--region",
    "base_url": "--base-url",
    "endpoint_url": "--endpoint-url",
}


def _refuse_model_options(ctx: click.Context) -> None:
    """`predict --import` stores a file's answers as they are: a --split or --from-manifest
    given with it was ignored without a word (the run then scored on the file's splits)."""
    from click.core import ParameterSource

    given = [
        flag
        for name, flag in _MODEL_OPTIONS.items()
        if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
    ]
    if given:
        raise BadOption(
            f"--import stores a file's answers as they are; {', '.join(given)} "
            f"{'applies' if len(given) == 1 else 'apply'} only to a model run "
            "(eval --split / --from-manifest choose the questions scored)"
        )


@click.command("eval")
@click.argument("runs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a PNG histogram of output tokens per run.",
)
@click.option(
    "--per-question",
    "per_question",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one JSON line per question and run: uid, type, gold, prediction, em, f1, scale.",
)
@click.option(
    "--split",
    "splits",
    multiple=True,
    help="Score the questions of these splits (default: the splits the run answered in, or the "
    "export file it was asked); "
    "with --from-manifest, train / validation are the export's files.",
)
@manifest_option(help="Export manifest whose files' records --split train / validation mean.")
@db_option
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    runs: tuple[str, ...],
    as_json: bool,
    plot: Path | None,
    per_question: Path | None,
    splits: tuple[str, ...],
    manifest: Path | None,
) -> None:
    """Score runs against the curated answers: token F1, TAT-QA EM/F1/scale, output tokens.

    TAT-QA scores are the official script's, question by question; a question of the scored
    splits without an answer scores 0. The first run is the baseline of the "vs base" columns.
    Gold is the curated answer (the edit when edited); rejected records are left out and counted.

    \b
    Examples:
      curator eval base ft --plot tokens.png --per-question questions.jsonl
      curator eval base ft --from-manifest out/manifest.json --split validation
    """
    from curator.evaluate import (
        compare,
        histogram,
        json_number,
        report,
        same_questions,
        write_per_question,
    )
    from curator.split_choice import choose_splits, stored_choice
    from curator.store.predictions import run_options, scored_rows

    settings = settings_of(ctx)
    store = open_existing(settings, read_only=True)
    chosen = choose_splits(store, splits, manifest)
    reports = []
    for run in runs:
        scope = chosen if splits else (stored_choice(store, run, run_options(store, run)) or chosen)
        rows, rejected = scored_rows(store, run, scope.splits, scope.uids)
        reports.append(report(run, rows, rejected))
    note_unsaved_answers(store)  # a killed predict's answers: not scored until stored
    if plot is not None:
        _plot(reports, plot)
    if per_question is not None:
        write_per_question(reports, per_question)
    vs_base = compare(reports)
    if as_json:
        echo_json(
            {
                "runs": [r.to_json() for r in reports],
                "same_questions": same_questions(reports),
                "vs_base": {
                    run: {
                        "token_f1": round(delta["token_f1"], 2),
                        "tatqa_f1": round(delta["tatqa_f1"], 2),
                        "output_tokens_reduction_pct": json_number(
                            delta["output_tokens_reduction_pct"]
                        ),
                    }
                    for run, delta in vs_base.items()
                },
            }
        )
        return
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    table = Table(title="Evaluation (gold = curated answers)", title_justify="left")
    for col in ("metric", *runs):
        table.add_column(safe_text.markup(col), justify="left" if col == "metric" else "right")

    def row(name: str, values: list[str]) -> None:
        table.add_row(name, *values)

    row("records scored", [f"{r.records:,}" for r in reports])
    row("answered", [f"{r.answered:,}" for r in reports])
    row("cut off by max_tokens (scored 0)", [f"{r.truncated:,}" for r in reports])
    row("rejected, left out", [f"{r.rejected_left_out:,}" for r in reports])
    row("token F1 (post)", [f"{r.token_f1:.2f}" for r in reports])
    deltas = [vs_base[r.run] for r in reports[1:]]
    row("  vs base", ["—"] + [f"{d['token_f1']:+.2f}" for d in deltas])
    row("TAT-QA EM", [f"{r.em * 100:.2f}" for r in reports])
    row("TAT-QA F1", [f"{r.f1 * 100:.2f}" for r in reports])
    row("  vs base", ["—"] + [f"{d['tatqa_f1']:+.2f}" for d in deltas])
    row("TAT-QA scale score", [f"{r.scale_accuracy * 100:.2f}" for r in reports])
    row("output tokens: mean", [_shown(r.tokens.mean, ".1f") for r in reports])
    row(
        "  vs base",
        ["—"] + [_shown(-d["output_tokens_reduction_pct"], "+.1f", "%") for d in deltas],
    )
    row("  median", [_shown(r.tokens.median, ".1f") for r in reports])
    row("  std dev", [_shown(r.tokens.stdev, ".1f") for r in reports])
    row("  min / max", [f"{r.tokens.minimum} / {r.tokens.maximum}" for r in reports])
    console.print(table)
    if not same_questions(reports):
        console.print(
            "note: the runs were scored on different questions ("
            + "; ".join(f"{safe_text.markup(r.run)}: {r.records:,}" for r in reports)
            + '), so "vs base" compares different sets; choose them with --split'
        )
    for r in reports:
        if r.outdated:
            console.print(
                f"note: {safe_text.markup(r.run)}: "
                f"{counted(r.outdated, 'answer was', 'answers were')} given for an earlier version "
                "of the record (edited or re-imported since) and scored against today's gold; "
                "`curator predict` of the run asks them again (an imported run: import it again)"
            )
    kinds = sorted({k for r in reports for k in r.by_answer_type})
    by_type = Table(title="TAT-QA F1 by answer type", title_justify="left")
    by_type.add_column("answer type")
    for r in reports:
        by_type.add_column(safe_text.markup(r.run), justify="right")
    for kind in kinds:
        by_type.add_row(
            safe_text.markup(kind),
            *[f"{r.by_answer_type.get(kind, {}).get('f1', 0):.2f}" for r in reports],
        )
    console.print(by_type)
    by_scale = Table(title="TAT-QA EM / F1 / scale score by gold scale", title_justify="left")
    by_scale.add_column("gold scale")
    for r in reports:
        by_scale.add_column(safe_text.markup(r.run), justify="right")
    for scale in dict.fromkeys(k for r in reports for k in r.by_scale):
        cells = [r.by_scale.get(scale) for r in reports]
        by_scale.add_row(
            safe_text.markup(scale or "(none)"),
            *[f"{c['em']:.2f} / {c['f1']:.2f} / {c['scale']:.2f}" if c else "-" for c in cells],
        )
    console.print(by_scale)
    for r in reports:
        pivot = Table(
            title=f"{safe_text.markup(r.run)}: TAT-QA EM / F1 by answer type and source",
            title_justify="left",
        )
        sources = sorted({f for inner in r.by_type_and_from.values() for f in inner})
        pivot.add_column("answer type")
        for source in sources:
            pivot.add_column(safe_text.markup(source), justify="right")
        for kind, inner in r.by_type_and_from.items():
            cells = [inner.get(f) for f in sources]
            pivot.add_row(
                safe_text.markup(kind),
                *[f"{c['em']:.2f} / {c['f1']:.2f}" if c else "-" for c in cells],
            )
        console.print(pivot)
    for r in reports:
        console.print(f"output tokens, {safe_text.markup(r.run)}:")
        for line in histogram(r.output_tokens):
            # Our own figures and bars, padded into columns: escaped, never made one line
            # (safe_text.markup collapses the padding, and the bars lose their column).
            console.print("  " + escape(line))
    if plot is not None:
        console.print(f"histogram written to {safe_text.markup(str(plot))}")
    if per_question is not None:
        console.print(f"per-question scores written to {safe_text.markup(str(per_question))}")


def _shown(value: float, spec: str, suffix: str = "") -> str:
    """A statistic for the table; "—" when undefined (a run without answers has no mean)."""
    import math

    return f"{value:{spec}}{suffix}" if math.isfinite(value) else "—"


def _plot(reports: list[Any], path: Path) -> None:
    import matplotlib

    from curator.evaluate import OutputUnusable, plot_bins

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    values = [r.output_tokens for r in reports if r.output_tokens]
    if values:
        bins = plot_bins(max(max(v) for v in values))
        for r in reports:
            if r.output_tokens:
                ax.hist(
                    r.output_tokens,
                    bins=bins,
                    alpha=0.55,
                    label=f"{r.run} (mean {r.tokens.mean:.1f})",
                )
    ax.set_xlabel("output tokens per answer")
    ax.set_ylabel("answers")
    ax.set_title("Output-token distribution")
    if values:  # a legend with no labelled bars warns on stderr (runs without output tokens)
        ax.legend()
    fig.tight_layout()
    from curator.tempfiles import replaced_whole

    try:
        with replaced_whole(path) as target:
            fig.savefig(target, format="png")
    except OSError as exc:  # an unusable destination (exit 3), as for --per-question
        raise OutputUnusable(f"{path}: cannot write the plot: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
