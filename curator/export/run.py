"""`curator export` and `curator validate`: curated records to checked JSONL files and a manifest.

Files are written to a staging folder on the destination's filesystem and swapped in as one
step only after every line passed the target's checks (see `curator.export.atomic`), so a failed
or killed export never leaves half a data set behind: the destination holds the old complete
export or the new one. `validate` checks files against the manifest beside them.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator import __version__
from curator.domain import (
    BadInput,
    CuratorError,
    EnvironmentFailure,
    RecordFilter,
    StoreError,
)
from curator.environment import describe_os_error
from curator.export import leakage
from curator.export.atomic import check_destination, commit, new_staging
from curator.export.audit import audit_summary, selection_key, start_audit
from curator.export.checklines import check_lines
from curator.export.lines import LineWriter
from curator.export.manifest import DEFAULT_BASE_MODELS, recommend_hyperparameters
from curator.export.sink import HashingSink
from curator.export.splits import split_by_context, stratified_sample
from curator.export.targets import TARGETS, Target
from curator.faults import fault_point
from curator.prompts import DEFAULT_SYSTEM_PROMPT, TABLE_FORMATS
from curator.store.db import Store
from curator.store.exports import (
    CuratedKey,
    CuratedRecord,
    curated_keys,
    curated_pages,
    judge_versions,
)
from curator.store.leaks import DEFAULT_THRESHOLD
from curator.wording import counted

TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"
MANIFEST_FILE = "manifest.json"
#: Beside each JSONL, the record uid of each of its lines, in order (Bedrock refuses extra keys
#: inside the JSONL, so the uids live next to it).
UIDS_FILES = {TRAIN_FILE: "train.uids.txt", VALIDATION_FILE: "validation.uids.txt"}
#: The files of an export, the manifest last (the order they are put in place).
_NAMES = (TRAIN_FILE, VALIDATION_FILE, *UIDS_FILES.values(), MANIFEST_FILE)


@dataclass(frozen=True, slots=True)
class ExportOptions:
    target: str = "bedrock-claude"
    table_format: str = "markdown"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    system_prompt_file: str | None = None
    rationale: bool = False
    validation_fraction: float = 0.1
    seed: int = 0
    max_train: int | None = None
    max_validation: int | None = None
    include_judged_correct: str | None = None
    filt: RecordFilter = field(default_factory=RecordFilter)
    #: Draw and queue an audit sample of this many records no person reviewed (see audit.py).
    audit: int | None = None
    #: Drop records whose table or question reappears in this store split (see export/leakage).
    exclude_overlap_with: str | None = None
    leak_threshold: float = DEFAULT_THRESHOLD


def export(
    store: Store, out_dir: Path, options: ExportOptions, *, page_size: int = 1000
) -> dict[str, Any]:
    """Write train/validation JSONL and manifest.json into `out_dir`; return the manifest.

    Streams: the split, the samples and the manifest's counts are made from light keys
    (`CuratedKey`), then the files are written from `page_size` curated rows at a time, so the
    questions, answers and tables in memory do not grow with the number of records.
    """
    if options.target not in TARGETS:
        raise CuratorError(f"unknown target {options.target!r}; expected one of {list(TARGETS)}")
    if options.table_format not in TABLE_FORMATS:
        raise CuratorError(f"unknown table format {options.table_format!r}")
    target = TARGETS[options.target]
    check_destination(out_dir)
    # The whole export is one turn on the store: between turns another process (a reviewer's
    # journal being stored, an import of changed records, a judge pass) could change the
    # records already chosen, and the files would no longer match the choice ("changed while
    # exporting"). The write already held the file; choosing the records holds it a little longer.
    with store.connection():
        return _export(store, target, out_dir, options, page_size)


def _export(
    store: Store, target: Target, out_dir: Path, options: ExportOptions, page_size: int
) -> dict[str, Any]:
    records = curated_keys(
        store, options.filt, include_judged_correct=options.include_judged_correct
    )
    if not records:
        raise CountRefused(_nothing_curated(store, options.filt))
    records, leak_plan = leakage.plan(
        store,
        records,
        threshold=options.leak_threshold,
        exclude_overlap_with=options.exclude_overlap_with,
    )
    if not records:
        raise CountRefused(
            f"nothing to export: every record overlaps split {options.exclude_overlap_with!r}"
        )
    train, validation = split_by_context(
        records, options.validation_fraction, options.seed, leak_plan.groups
    )
    if options.max_train is not None:
        train = stratified_sample(train, options.max_train, options.seed)
    if options.max_validation is not None:
        validation = stratified_sample(validation, options.max_validation, options.seed)
    _check_counts(target, len(train), len(validation))
    if options.audit:
        start_audit(store, [*train, *validation], options.audit, options.seed, _selection(options))

    staging = new_staging(out_dir, _NAMES)
    try:
        parts = {TRAIN_FILE: train, VALIDATION_FILE: validation}
        names = [name for name, part in parts.items() if part or name == TRAIN_FILE]
        pages = curated_pages(
            store,
            options.filt,
            include_judged_correct=options.include_judged_correct,
            page_size=page_size,
        )
        stats, answers, digests = _write(
            target, staging, {n: parts[n] for n in names}, pages, options
        )
        for name in names:
            (staging / UIDS_FILES[name]).write_text(
                "".join(f"{r.uid}\n" for r in parts[name]), "utf-8", newline="\n"
            )
            fault_point("export")
        # Every line was checked as it was built (see lines.py); the files' limits are checked here.
        for name in stats:
            problems = validate_file(
                staging / name, options.target, lines=False, known_lines=len(stats[name])
            )
            if problems:
                # Counts were checked before writing, so this is a file's size: the records
                # chosen are too big for the target, a request the data cannot meet (exit 2).
                # The staging file is gone when this is read: named by its export name.
                problem = problems[0].replace(str(staging / name), name, 1)
                raise CountRefused(
                    f"export does not fit the target: {problem}; export fewer records "
                    "(--max-train, --max-validation, --validation-fraction)"
                )
        manifest = _manifest(store, target, train, validation, stats, digests, staging, options)
        manifest["target_output_tokens"] = {
            name: _token_stats(values) for name, values in answers.items()
        }
        manifest["leaks"] = leakage.manifest_section(leak_plan, train, validation)
        (staging / MANIFEST_FILE).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        fault_point("export")
    except OSError as exc:
        _remove(staging)
        raise EnvironmentFailure(f"cannot export to {out_dir}: {describe_os_error(exc)}") from exc
    except BaseException:
        _remove(staging)
        raise
    commit(staging, out_dir, _NAMES)
    return manifest


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


class CountRefused(CuratorError):
    """The export's record counts fall outside the target's limits, or there is nothing to
    export: the data and options cannot give what was asked, a refusal of the request (exit 2,
    as the README's table says), not an internal error."""

    exit_code = 2


def _check_counts(target: Target, n_train: int, n_validation: int) -> None:
    limits = target.limits
    if n_train > limits.max_train:
        raise CountRefused(
            f"{n_train:,} training records; {target.name} allows at most {limits.max_train:,}: "
            f"pass --max-train {limits.max_train} to sample (keeping the answer-type mix)"
        )
    if n_validation > limits.max_validation:
        raise CountRefused(
            f"{n_validation:,} validation records; {target.name} allows at most "
            f"{limits.max_validation:,}: pass --max-validation {limits.max_validation} or a "
            "smaller --validation-fraction"
        )
    if n_train + n_validation > limits.max_total:
        raise CountRefused(
            f"{n_train + n_validation:,} records in all; {target.name} allows at most "
            f"{limits.max_total:,}: lower --max-train"
        )
    if 0 < n_validation < limits.min_validation:
        raise CountRefused(
            f"only {n_validation} validation records; {target.name} needs at least "
            f"{limits.min_validation} (raise --validation-fraction, or 0 for no validation file)"
        )
    if n_train < limits.min_train:
        raise CountRefused(
            f"only {n_train} training records; {target.name} needs at least {limits.min_train} "
            "(review more records, or add --include-judged-correct JUDGE)"
        )


def _write(
    target: Target,
    staging: Path,
    parts: dict[str, list[CuratedKey]],
    pages: Iterable[list[CuratedRecord]],
    options: ExportOptions,
) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, str]]:
    """Write each part's lines, in one pass over the curated pages (store order, the order of
    each part); per file, (estimated tokens per line, estimated tokens per assistant answer,
    the sha256 of the bytes written)."""
    file_of = {key.seq: name for name, part in parts.items() for key in part}
    tokens: dict[str, list[int]] = {name: [] for name in parts}
    answers: dict[str, list[int]] = {name: [] for name in parts}
    # Each file is hashed and written on its own thread (see sink.py) while the next page's
    # lines are built.
    sinks: dict[str, HashingSink] = {}
    digests: dict[str, str] = {}
    # Each line from its context's template (see lines.py): the same bytes as the record-by-record
    # path (tests/functional/test_export_templates.py holds them to it).
    build = LineWriter(
        target,
        system=options.system_prompt,
        table_format=options.table_format,
        rationale=options.rationale,
    )
    try:
        for part_name in parts:
            sinks[part_name] = HashingSink(staging / part_name)
        for page in pages:
            lines: dict[str, list[bytes]] = {name: [] for name in parts}
            for record in page:
                name = file_of.pop(record.seq, None)
                if name is None:
                    continue
                line, line_tokens, answer_tokens = build(record)
                lines[name].append(line)
                tokens[name].append(line_tokens)
                answers[name].append(answer_tokens)
            for name, written in lines.items():
                if written:
                    sinks[name].write(b"".join(written))
        for name, sink in sinks.items():
            digests[name] = sink.close()
    finally:
        for sink in sinks.values():
            sink.abort()
    if file_of:
        # A backstop: the export holds the store for its whole turn (see `export`), so a chosen
        # record missing from the rows means the store file changed under it (written by
        # something other than curator, or replaced): the store's fault, exit 3 like any other.
        raise StoreError(
            f"{counted(len(file_of), 'chosen record')} changed while exporting, although the "
            "export held the store (was the file written by another program, or replaced?); "
            "nothing was exported: run `curator check`, then export again"
        )
    return tokens, answers, digests


def _token_stats(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"records": 0}
    return {
        "records": len(values),
        "total": sum(values),
        "mean": round(statistics.mean(values), 1),
        "median": statistics.median(values),
        "max": max(values),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(
    store: Store,
    target: Target,
    train: list[CuratedKey],
    validation: list[CuratedKey],
    tokens: dict[str, list[int]],
    digests: dict[str, str],
    staging: Path,
    options: ExportOptions,
) -> dict[str, Any]:
    def counts(records: list[CuratedKey]) -> dict[str, Any]:
        return {
            "records": len(records),
            "contexts": len({r.context_uid for r in records}),
            "answer_type": dict(sorted(Counter(r.answer_type for r in records).items())),
            "answer_from": dict(sorted(Counter(r.answer_from for r in records).items())),
            "status": dict(sorted(Counter(r.status for r in records).items())),
            "source": dict(sorted(Counter(r.source for r in records).items())),
        }

    files = {
        file: {
            "records": len(tokens[name]),
            "bytes": (staging / file).stat().st_size,
            # The JSONL files were hashed as they were written (see _write).
            "sha256": digests[file] if file in digests else _sha256(staging / file),
        }
        for name in tokens
        for file in (name, UIDS_FILES[name])
    }
    return {
        "curator_version": __version__,
        "target": target.name,
        "store": str(store.path.resolve()),
        "files": files,
        "uids": {name: UIDS_FILES[name] for name in tokens},
        "answer_format": "one span per line, the scale after the last one (curator.answer_format)",
        "splits": {"train": counts(train), "validation": counts(validation)},
        "tokens_estimated": {name: _token_stats(t) for name, t in tokens.items()},
        "judges": judge_versions(store),
        "options": {
            "table_format": options.table_format,
            "system_prompt": options.system_prompt_file or "default",
            "system_prompt_sha256": hashlib.sha256(options.system_prompt.encode()).hexdigest(),
            "system_prompt_text": options.system_prompt,
            "rationale": options.rationale,
            "validation_fraction": options.validation_fraction,
            "seed": options.seed,
            "max_train": options.max_train,
            "max_validation": options.max_validation,
            "include_judged_correct": options.include_judged_correct,
            "filters": {
                "splits": list(options.filt.splits),
                "answer_types": list(options.filt.answer_types),
                "answer_sources": list(options.filt.answer_sources),
            },
        },
        "base_model": DEFAULT_BASE_MODELS.get(target.name),
        "hyperparameters": recommend_hyperparameters(len(train), target.name),
        "audit": audit_summary(store, [*train, *validation], _selection(options)),
    }


def _selection(options: ExportOptions) -> str:
    return selection_key(options.include_judged_correct, options.filt)


# -- validate -------------------------------------------------------------------------------


def validate_file(
    path: Path,
    target_name: str,
    kind: str | None = None,
    *,
    lines: bool = True,
    known_lines: int | None = None,
) -> list[str]:
    """Every problem in a JSONL file as "FILE:LINE: problem" (an empty list when valid).

    With `lines=False` only the file-level limits are checked (counts, size); `known_lines`
    (the writer's own count) spares reading the file again to count them.
    """
    if target_name not in TARGETS:
        raise CuratorError(f"unknown target {target_name!r}; expected one of {list(TARGETS)}")
    target = TARGETS[target_name]
    kind = kind or ("validation" if "valid" in path.name.lower() else "train")
    problems: list[str] = []
    try:
        path.open("rb").close()
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror or exc}"]
    if not lines and known_lines is not None:
        count = known_lines  # nothing to read: the writer counted its lines
    elif not lines:
        count = count_lines(path, blank=True)
    else:
        count, problems = check_lines(path, target_name)
    limits = target.limits
    size = path.stat().st_size
    most = limits.max_validation if kind == "validation" else limits.max_train
    if count > most:
        problems.append(
            f"{path}: {counted(count, 'record')}; {target.name} allows {most:,} for {kind}"
        )
    if kind == "train" and count < limits.min_train:
        problems.append(
            f"{path}: {counted(count, 'record')}; {target.name} needs at least {limits.min_train}"
        )
    if kind == "validation" and count < limits.min_validation:
        problems.append(
            f"{path}: {counted(count, 'record')}; {target.name} needs at least "
            f"{limits.min_validation} "
            "for validation"
        )
    max_bytes = limits.max_validation_bytes if kind == "validation" else limits.max_train_bytes
    if size > max_bytes:
        problems.append(f"{path}: {size:,} bytes; at most {max_bytes:,} for {kind}")
    return problems


def count_lines(path: Path, *, blank: bool = False) -> int:
    """Non-blank lines of a file, or all of them with `blank` (0 when it cannot be read;
    validate_file reports that)."""
    try:
        with path.open("rb") as fh:
            return sum(1 for raw in fh if blank or raw.strip())
    except OSError:
        return 0


def validate_files(paths: list[Path], target_name: str, kind: str | None = None) -> list[str]:
    """`validate_file` for each file, and the target's limit on all records together (a
    training and a validation file given together count towards one total).

    A file that cannot be read is bad input (exit 2, as `import` says of a missing file), not a
    problem found in the data (exit 1): nothing was checked.
    """
    for path in paths:
        try:
            path.open("rb").close()
        except OSError as exc:
            raise BadInput(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
    problems: list[str] = []
    for path in paths:
        problems += validate_file(path, target_name, kind)
    limits = TARGETS[target_name].limits
    total = sum(count_lines(p) for p in paths)
    if len(paths) > 1 and total > limits.max_total:
        problems.append(
            f"{len(paths)} files: {total:,} records in all; {target_name} allows at most "
            f"{limits.max_total:,}"
        )
    return problems


def export_files(paths: Iterable[Path]) -> list[Path]:
    """The files to validate: a folder stands for the export files it holds."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [path / n for n in (TRAIN_FILE, VALIDATION_FILE) if (path / n).exists()]
            out += found or [path / TRAIN_FILE]
        else:
            out.append(path)
    return out


def manifest_target(paths: Iterable[Path]) -> str | None:
    """The target the `manifest.json` beside the files names, when every such manifest names
    the same known one: an export is validated as what it was made for."""
    targets = set()
    for folder in {path.parent for path in paths}:
        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text("utf-8"))
        except (OSError, ValueError, RecursionError):
            continue  # no manifest (or an unreadable one, which manifest_problems reports)
        targets.add(manifest.get("target") if isinstance(manifest, dict) else None)
    if len(targets) == 1:
        (target,) = targets
        if isinstance(target, str) and target in TARGETS:
            return target
    return None


def manifest_problems(paths: Iterable[Path]) -> list[str]:
    """Problems with files against the `manifest.json` beside them (none when there is none).

    A file the manifest lists must have the listed size, sha256 and line count, and every file
    it lists must exist: a folder caught between two exports, or a file edited after the export,
    is reported instead of passing as valid.
    """
    problems: list[str] = []
    by_folder: dict[Path, list[Path]] = {}
    for path in paths:
        by_folder.setdefault(path.parent, []).append(path)
    for folder, files in by_folder.items():
        manifest_path = folder / MANIFEST_FILE
        if not manifest_path.is_file():
            continue
        try:
            listed = json.loads(manifest_path.read_text("utf-8"))["files"]
            if not isinstance(listed, dict):
                raise TypeError("files is not an object")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            problems.append(f"{manifest_path}: cannot read the manifest: {exc}")
            continue
        for name in listed:
            if not (folder / name).exists():
                problems.append(f"{folder / name}: listed in {manifest_path} but missing")
        for path in files:
            entry = listed.get(path.name)
            if not isinstance(entry, dict) or not path.is_file():
                continue
            problems += _compare(path, entry, manifest_path)
    return problems


def _compare(path: Path, entry: dict[str, Any], manifest_path: Path) -> list[str]:
    size = path.stat().st_size
    if entry.get("bytes") is not None and entry["bytes"] != size:
        return [
            f"{path}: {size:,} bytes, {manifest_path} says {entry['bytes']:,}: the file is not "
            "the one this export wrote (interrupted or edited); export again"
        ]
    if entry.get("sha256") and entry["sha256"] != _sha256(path):
        return [
            f"{path}: sha256 differs from {manifest_path}: the file is not the one this export "
            "wrote (interrupted or edited); export again"
        ]
    with path.open("rb") as fh:
        lines = sum(1 for _ in fh)
    if entry.get("records") is not None and entry["records"] != lines:
        return [
            f"{path}: {counted(lines, 'line')}, {manifest_path} says "
            f"{counted(entry['records'], 'record')}"
        ]
    return []


def _nothing_curated(store: Store, filt: RecordFilter) -> str:
    """Why an export found nothing: the selection (--split, --answer-type) matched no record
    at all, or none of what it matched was accepted or edited yet."""
    from curator.store.records import count

    chosen = filt.describe()
    if chosen and count(store, filt) == 0:
        return f"nothing to export: no record matches the selection ({chosen})"
    return (
        "nothing to export: no accepted or edited records match (review some first, or "
        "add --include-judged-correct JUDGE)"
    )
