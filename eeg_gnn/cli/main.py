"""``eeg-gnn`` (or ``python -m eeg_gnn``): train, evaluate, look at recordings and datasets, download datasets.

    eeg-gnn train --task workload      cross-validated training by subject (eeg-gnn train --help)
    eeg-gnn evaluate RUN_DIR           recompute a run's metrics, build the clinician review (eeg-gnn evaluate --help)
    eeg-gnn info PATH                  what a recording holds and which 10-20 nodes it gives
    eeg-gnn info DATASET               subjects, recordings and classes of a dataset
    eeg-gnn datasets                   the datasets eeg-gnn knows, with sources and licences
    eeg-gnn fetch DATASET              download an open dataset into $EEG_GNN_DATA and verify it
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mne
import numpy as np

from eeg_gnn.cli import run_cli
from eeg_gnn.data.datasets import (
    FOLDER,
    _is_recording,
    available_datasets,
    has_descriptor,
    load_dataset,
    load_descriptor,
)
from eeg_gnn.signal.headers import ON_TRUNCATED
from eeg_gnn.signal.io import TEXT_UNITS, read_recording, recording_format
from eeg_gnn.signal.montage import match_channels
from eeg_gnn.signal.quality import (
    MAX_BAD_FRACTION,
    check_against_others,
    check_channels,
    check_units,
)

DESCRIPTION = __doc__
SCRIPTS = {"train": "cross-validated training by subject; writes a run directory (see `eeg-gnn train --help`)",
           "evaluate": "check a run and build its review, or apply it to new recordings (`eeg-gnn evaluate --help`)"}


def info_recording(path: Path, nodes: str, sfreq: float | None, *, units: str = "uV", scale: float = 1.0,
                   on_truncated: str = "raise") -> str:
    notes: list[str] = []
    raw = read_recording(path, sfreq=sfreq, unit=units, scale=scale, on_truncated=on_truncated, notes=notes)
    match = match_channels(raw.ch_names, nodes, on_missing="ignore", ch_types=raw.get_channel_types(),
                           source=str(path))
    lines = [
        f"file:      {path}",
        f"format:    {recording_format(path)}",
        f"duration:  {raw.times[-1] + 1 / raw.info['sfreq']:.1f} s ({raw.n_times} samples)",
        f"sfreq:     {raw.info['sfreq']:g} Hz",
        *[f"note:      {note}" for note in notes],
        f"channels:  {len(raw.ch_names)}",
        f"nodes:     {match.n_nodes} of the {len(match.node_names) + len(match.missing)} in {nodes!r}",
    ]
    for node, original in zip(match.node_names, match.ch_names, strict=True):
        lines.append(f"  {node:<5} <- {original}")
    if match.missing:
        lines.append(f"missing:   {', '.join(match.missing)}")
    lines.append(f"dropped:   {len(match.dropped)}")
    by_reason: dict[str, list[str]] = {}
    for name, reason in match.dropped.items():
        by_reason.setdefault(reason, []).append(repr(name))
    for reason, names in by_reason.items():
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        lines.append(f"  {shown}: {reason}")
    lines += amplitude_lines(raw, match)
    if match.missing:
        lines.append(
            f"note:      this recording cannot give the full {nodes!r} graph; training on it needs --bad-channels "
            "interpolate (rebuilds the missing nodes from the others) or --bad-channels drop-recording."
        )
    return "\n".join(lines)


def amplitude_lines(raw, match) -> list[str]:
    """Peak-to-peak amplitude of every data channel; flat, saturated and implausible nodes flagged, and nodes far
    from the others or near copies of another (before re-referencing)."""
    picks = mne.pick_types(raw.info, meg=False, eeg=True, ecg=True, eog=True, emg=True, misc=True, seeg=True,
                           ecog=True, bio=True, resp=True, exclude=())
    names = [raw.ch_names[i] for i in picks]
    data = raw.get_data(picks=picks) if names else np.zeros((0, 0))
    checks = check_channels(data, names) if names else []
    node_of = dict(zip(match.ch_names, match.node_names, strict=True))
    on_nodes = [i for i, name in enumerate(names) if name in node_of]
    for i, check in zip(on_nodes, check_against_others(data[on_nodes], [checks[i] for i in on_nodes]), strict=True):
        checks[i] = check
    width = max((len(name) for name in names), default=4)
    lines = ["amplitude: peak to peak per channel (problems flagged on nodes)"]
    bad = {}
    for check in checks:
        node = node_of.get(check.name)
        flag = ""
        if node is not None and check.problem:
            flag = f"  {check.problem.upper()}: {check.detail}"
            bad[node] = check.detail
        label = f"{check.name} ({node})" if node is not None and node != check.name else check.name
        lines.append(f"  {label:<{width + 8}} {check.peak_to_peak_uv:>10.4g} µV{flag}")
    try:
        check_units([c for c in checks if c.name in node_of], str(raw.filenames[0] if raw.filenames else "it"))
    except ValueError as exc:
        return [*lines, f"unit:      {exc}"]
    if bad and len(node_of) - len(bad) < max(4, len(node_of) * (1 - MAX_BAD_FRACTION)):
        lines.append(f"bad nodes: {len(bad)} of {len(node_of)} ({', '.join(bad)}), too many to rebuild from the rest: "
                     "this recording cannot be used; --bad-channels drop-recording or interpolate-or-drop leaves it "
                     "out of training")
    elif bad:
        lines.append(f"bad nodes: {len(bad)} ({', '.join(bad)}); training on this recording needs --bad-channels "
                     "interpolate (rebuilds them from the others) or --bad-channels drop-recording (leaves it out); "
                     "interpolate-or-drop does either, recording by recording")
    return lines


def info_plain_folder(folder: Path) -> str:
    """A folder of recordings without a participants table: what it holds, and how to train on it or predict it."""
    files = sorted(p for p in folder.rglob("*") if _is_recording(p))
    if not files:
        raise FileNotFoundError(f"{folder} holds no recording eeg-gnn reads and no participants table; give a "
                                "recording, a dataset name or a folder of recordings.")
    lines = [f"folder:      {folder}", f"recordings:  {len(files)} ("
             + ", ".join(p.relative_to(folder).as_posix() for p in files[:4]) + (", ..." if len(files) > 4 else "")
             + ")"]
    for name in available_datasets():
        if name == FOLDER:
            continue
        try:
            listed = load_dataset(name, folder)
        except (OSError, ValueError):
            continue
        if {r.path for r in listed.recordings} == set(files):
            lines.append(f"layout:      dataset {name!r} (its subjects and labels from the file names): "
                         f"`eeg-gnn info {name} --data-dir {folder}`, `eeg-gnn train --dataset {name} --data-dir "
                         f"{folder}`")
            break
    else:
        lines.append("layout:      no participants table: to train on it, add participants.tsv (subject and label "
                     f"columns) and pass --dataset folder --data-dir {folder}")
    lines.append(f"predict:     `eeg-gnn evaluate RUN_DIR --data-dir {folder}` applies a trained run to it")
    return "\n".join(lines)


def info_dataset(name: str, data_dir: Path | None, **folder_options) -> str:
    import warnings

    with warnings.catch_warnings():  # what a folder cohort leaves out is listed below
        warnings.simplefilter("ignore", RuntimeWarning)
        dataset = load_dataset(name, data_dir, **folder_options, **({"on_missing": "warn"} if name == FOLDER else {}))
    counts = dataset.class_counts()
    descriptor = dataset.descriptor
    lines = [
        f"dataset:     {name} - {descriptor.get('title', '')}",
        f"folder:      {dataset.root}",
        f"task:        {dataset.task}",
        f"subjects:    {len(dataset.subjects)}",
        f"recordings:  {len(dataset.recordings)}",
        f"classes:     {len(dataset.classes)} ({', '.join(dataset.classes)}; labels per {dataset.label_level})",
    ]
    if descriptor.get("label_source"):
        column = f" column {descriptor['label_column']}" if descriptor.get("label_column") else ""
        lines.append(f"labels from: {descriptor['label_source']}{column} (BIDS tasks: "
                     f"{', '.join(descriptor.get('bids_tasks', [])) or 'none'}; --task-label chooses)")
    if dataset.label_level == "window":
        for label in dataset.classes:
            spans = [(start, end) for r in dataset.recordings for name, start, end in r.intervals if name == label]
            spans += [(i["start"], i["end"]) for i in descriptor.get("intervals", []) if i["label"] == label]
            listed = f" ({', '.join(f'{a:g}-{b:g} s' for a, b in spans)})" if len(spans) <= 3 else ""
            lines.append(f"  {label:<14} {len(spans):>3} labelled intervals, "
                         f"{sum(b - a for a, b in spans):.0f} s in all{listed}")
    else:
        for label, count in counts.items():
            lines.append(f"  {label:<14} {count['subjects']:>3} subjects, {count['recordings']:>3} recordings")
    missing = descriptor.get("missing", {})
    if missing.get("recordings_without_subjects"):
        lines.append(f"not in the participants table: {', '.join(missing['recordings_without_subjects'])}")
    if missing.get("subjects_without_recordings"):
        lines.append(f"listed without a recording: {', '.join(missing['subjects_without_recordings'])}")
    if any(missing.values()):
        lines.append("(training on this folder leaves these out with --on-missing warn)")
    lines += [f"license:     {descriptor.get('license', '')}", f"citation:    {descriptor.get('citation', '')}"]
    return "\n".join(lines)


def list_datasets() -> str:
    from eeg_gnn.data.fetch import dataset_status

    status = dict(dataset_status())
    lines = []
    for name in available_datasets():
        if name == FOLDER:
            lines.append(f"{name:<14} your own recordings + participants.tsv (python -m eeg_gnn info DIR)")
            continue
        if not has_descriptor(name):
            lines.append(f"{name:<14} a BIDS dataset: --dataset {name} --data-dir ROOT (pip install eeg-gnn[bids])")
            continue
        d = load_descriptor(name)
        lines.append(f"{name:<14} task={d['task']:<13} {d['title']}\n{'':<15}source: {d['source']}\n"
                     f"{'':<15}license: {d['license']}\n{'':<15}{status[name]}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eeg-gnn", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in SCRIPTS.items():
        commands.add_parser(name, help=summary, add_help=False)
    info = commands.add_parser("info", help="describe a recording file or a dataset")
    info.add_argument("target", help="a recording (EDF, BDF, .vhdr, .set, .fif, .eea, chNN.inp folder, CSV...), "
                                     "a dataset name (see `datasets`), or a folder with participants.tsv")
    info.add_argument("--nodes", default="10-20", help="node set to match channels against (default: 10-20)")
    info.add_argument("--sfreq", type=float, help="sampling rate in Hz, for CSV/TSV files that do not store it")
    info.add_argument("--units", default="uV", choices=tuple(TEXT_UNITS),
                      help="unit of the numbers in a CSV/TSV file (default: uV)")
    info.add_argument("--scale", type=float, default=1.0,
                      help="multiply the samples by this factor, for a file whose header names the wrong unit "
                           "(default: 1)")
    info.add_argument("--on-truncated", default="raise", choices=ON_TRUNCATED,
                      help="an EDF/BDF file shorter than its header declares: refuse it (raise) or describe the data "
                           "records it holds (warn) (default: raise)")
    info.add_argument("--data-dir", type=Path, help="folder of the dataset (default: $EEG_GNN_DATA/<dataset>)")
    for what in ("label", "subject", "file"):
        info.add_argument(f"--{what}-column", metavar="COLUMN",
                          help=f"a folder's participants table: its {what} column (as for train)")
    commands.add_parser("datasets", help="list the datasets eeg-gnn knows")
    fetch = commands.add_parser("fetch", help="download an open dataset and verify it")
    fetch.add_argument("dataset", help="dataset name, e.g. msu, repod, eegmat, chbmit")
    fetch.add_argument("patients", nargs="*", help="for chbmit: the cases to download, e.g. chb01 chb02 (about 1-3 GB "
                                                   "each; chb21 is chb01 again); for eegmmidb: the subjects, e.g. 1 2 "
                                                   "or 1-20 (default: all 109)")
    fetch.add_argument("--runs", help="for eegmmidb: the runs to download, e.g. 4,8,12 (default: the dataset's: "
                                      "4,8,12 for eegmmidb, 6,10,14 for eegmmidb_fists_feet)")
    fetch.add_argument("--data-dir", type=Path, help="destination folder (default: $EEG_GNN_DATA/<dataset>)")
    fetch.add_argument("--base-url", help="a mirror to download from instead of the dataset's own site")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SCRIPTS:
        import importlib

        return importlib.import_module(f"eeg_gnn.cli.{argv[0]}").main(argv[1:], prog=f"eeg-gnn {argv[0]}")
    parser = build_parser()
    args = parser.parse_args(argv)

    def run() -> str:
        if args.command == "datasets":
            return list_datasets()
        if args.command == "fetch" and args.dataset == "chbmit":
            from eeg_gnn.data.chbmit import fetch_patient

            if not args.patients:
                raise ValueError("CHB-MIT is about 40 GB: name the cases to download, e.g. "
                                 "`eeg-gnn fetch chbmit chb01 chb02`.")
            folders = [fetch_patient(p, args.data_dir, args.base_url) for p in args.patients]
            return "\n".join(f"{folder.name} is in {folder}" for folder in folders)
        if args.command == "fetch" and "subject_runs" in load_descriptor(args.dataset).get("download", {}):
            from eeg_gnn.data.physionet_runs import fetch_subject_runs

            folder = fetch_subject_runs(args.dataset, args.patients, [args.runs] if args.runs else [], args.data_dir,
                                        base_url=args.base_url)
            return f"{args.dataset} is in {folder}\n" + info_dataset(args.dataset, folder)
        if args.command == "fetch" and args.runs:
            raise ValueError(f"--runs is for datasets stored per subject and run (eegmmidb); {args.dataset} has none.")
        if args.command == "fetch" and args.patients:
            raise ValueError(f"Only chbmit is fetched case by case; `eeg-gnn fetch {args.dataset}` takes no cases "
                             f"(got {' '.join(args.patients)}).")
        if args.command == "fetch":
            from eeg_gnn.data.fetch import fetch_dataset

            folder = fetch_dataset(args.dataset, args.data_dir, base_url=args.base_url)
            return f"{args.dataset} is in {folder}\n" + info_dataset(args.dataset, folder)
        target = Path(args.target).expanduser()
        if args.target in available_datasets() and not target.exists():
            return info_dataset(args.target, args.data_dir)
        if target.is_dir() and any((target / n).exists() for n in ("participants.tsv", "participants.csv")):
            return info_dataset(FOLDER, target, label_column=args.label_column, subject_column=args.subject_column,
                                file_column=args.file_column)
        if target.is_dir() and not any(target.glob("ch[0-9][0-9].inp")):
            return info_plain_folder(target)
        return info_recording(target, args.nodes, args.sfreq, units=args.units, scale=args.scale,
                              on_truncated=args.on_truncated)

    return run_cli(run, parser.prog)


if __name__ == "__main__":
    sys.exit(main())
