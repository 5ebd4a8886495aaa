"""What `--split` names: a split of the store, or, for predict and eval with `--from-manifest`,
the records of one of the export's files.

The store's splits are those records were imported into (`train`, `dev`, `test` …); an export
writes `train.jsonl` and `validation.jsonl` drawn from them by context, so "validation" is not a
store split. With a manifest, `train` / `validation` therefore mean the records of that export
file, read from the `*.uids.txt` beside it (checked against the manifest's sha256, so a file
edited since is refused). Any other name must be a split of the store: a typo, or an export
split named without its manifest, is refused (exit 2) instead of silently choosing nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from curator.domain import BadInput, RecordFilter
from curator.store.db import Store
from curator.store.leaks import splits_in_store

#: The export's splits and the file each is written to (curator/export/run.py's names).
EXPORT_SPLITS = {"train": "train.jsonl", "validation": "validation.jsonl"}


def check_splits(store: Store, splits: Sequence[str], option: str = "--split") -> None:
    """Refuse a split the store does not have: a typo would otherwise find (or drop) nothing."""
    if not splits:
        return
    known = splits_in_store(store)
    for split in splits:
        if split not in known:
            raise BadInput(option, "", _unknown(split, known))


def _unknown(split: str, known: Sequence[str], *, takes_manifest: bool = False) -> str:
    """The refusal; for an export's split name, what it is (and, for the commands that take
    `--from-manifest`, how to name its records)."""
    hint = ""
    if split in EXPORT_SPLITS and split not in known:
        hint = (
            f" ({split!r} is an export's file: add --from-manifest DIR/manifest.json)"
            if takes_manifest
            else f" ({split!r} names an export's file, not a split of the store)"
        )
    return f"unknown split {split!r}; the store has: {', '.join(known) or 'none'}{hint}"


@dataclass(frozen=True, slots=True)
class SplitChoice:
    """The records `--split` chose: whole store splits and an export file's records by uid."""

    splits: tuple[str, ...] = ()
    uids: tuple[str, ...] = ()
    #: The export's files `uids` came from ("train", "validation") and their manifest (absolute).
    export_splits: tuple[str, ...] = ()
    manifest: str | None = None

    def record_filter(self) -> RecordFilter:
        return RecordFilter(splits=self.splits, uids=self.uids)

    def run_options(self) -> dict[str, object]:
        """What a prediction run stores of this choice, so that `eval` of the run scores the
        same records by default (an empty dict for store splits: the default was always
        right for them, and a run's stored options stay as they were)."""
        if not self.export_splits:
            return {}
        return {
            "splits": list(self.splits),
            "export_splits": list(self.export_splits),
            "manifest_path": self.manifest,
        }


def stored_choice(store: Store, run: str, options: dict[str, object]) -> SplitChoice | None:
    """The records run `run` was asked to answer when they were an export's file (see
    `SplitChoice.run_options`), read again from its manifest; None for any other run."""
    exported, manifest = options.get("export_splits"), options.get("manifest_path")
    if not isinstance(exported, list) or not exported or not isinstance(manifest, str):
        return None
    if not Path(manifest).exists():
        # Said plainly (not "not an export manifest ([Errno 2] ...)"): which run needs it,
        # for what, and the two ways on.
        files = " and ".join(f"{s} file" for s in exported)
        raise BadInput(
            manifest,
            "",
            f"no such file: run {run!r} was asked this export's {files}, and eval scores it on "
            "those records by default; restore the export, or name the records to score with "
            "--split (an export's file with --from-manifest FILE --split NAME)",
        )
    given = options.get("splits")
    splits = [str(s) for s in given] if isinstance(given, list) else []
    try:
        return choose_splits(store, [*splits, *(str(s) for s in exported)], Path(manifest))
    except BadInput as exc:
        # The export's own files (the uids lists) gone or changed: the same two ways on, and
        # which run needed them, as for the manifest above.
        raise BadInput(
            exc.source,
            exc.where,
            f"{exc.problem}; run {run!r} is scored on this export file's records by default: "
            "restore the export, or name the records to score with --split",
        ) from exc


def choose_splits(store: Store, splits: Sequence[str], manifest: Path | None) -> SplitChoice:
    """Resolve `--split` values for predict and eval (see the module's docstring)."""
    if not splits:
        return SplitChoice()
    known = splits_in_store(store)
    chosen: list[str] = []
    exported: list[str] = []
    uids: list[str] = []
    for split in dict.fromkeys(splits):
        if manifest is not None and split in EXPORT_SPLITS:
            uids += export_uids(store, manifest, split)
            exported.append(split)
        elif split in known:
            chosen.append(split)
        else:
            raise BadInput("--split", "", _unknown(split, known, takes_manifest=True))
    return SplitChoice(
        tuple(chosen),
        tuple(dict.fromkeys(uids)),
        tuple(exported),
        str(manifest.resolve()) if exported and manifest is not None else None,
    )


def export_uids(store: Store, manifest: Path, split: str) -> list[str]:
    """The record uids of the export's `split` file, in its line order, each one in the store."""
    from curator.store.predictions import known_uids

    source = str(manifest)
    try:
        data = json.loads(manifest.read_text("utf-8"))
        listed = data["uids"]
        files = data["files"]
        if not isinstance(listed, dict) or not isinstance(files, dict):
            raise TypeError("uids and files must be objects")
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise BadInput(source, "", f"not an export manifest ({exc})") from exc
    name = listed.get(EXPORT_SPLITS[split])
    if not isinstance(name, str):
        raise BadInput(source, "", f"--split {split}: the export has no {EXPORT_SPLITS[split]}")
    path = manifest.parent / name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
    entry = files.get(name)
    expected = entry.get("sha256") if isinstance(entry, dict) else None
    if expected != hashlib.sha256(raw).hexdigest():
        raise BadInput(str(path), "", f"does not match {manifest.name} (changed since the export)")
    uids = [line for line in raw.decode("utf-8", "replace").splitlines() if line]
    missing = len(set(uids) - known_uids(store, uids))
    if missing:
        raise BadInput(
            str(path),
            "",
            f"{missing:,} of its {len(uids):,} records are not in this store "
            "(an export of another store?)",
        )
    return uids
