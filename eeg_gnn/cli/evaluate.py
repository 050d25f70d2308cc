"""Review a finished run: recompute its metrics, export BrainNet Viewer files and figures, build a report.

Examples
--------
    eeg-gnn evaluate runs/workload_eegmat_cheb_plv_20261122-101500
    eeg-gnn evaluate RUN_DIR --connectivity wpli --fdr per-band --overwrite
    eeg-gnn evaluate RUN_DIR --brainnet-plain          # BrainNet files for BrainNet Viewer before 1.5
    eeg-gnn evaluate RUN_DIR --data-dir NEW_RECORDINGS  # apply the fold models to new recordings

Writes RUN_DIR/review/: report.html (one self-contained file: open it in a browser; the verdict comes first),
brainnet/*.node and *.edge (BrainNet Viewer, MNI mm, cortical positions; brainnet_options.m sets BrainNet to draw
only the significant pairs), figures/*.png and interactive/*.html (3-D views). Every metric is first recomputed
from predictions.csv and checked against results.json. With --data-dir, writes RUN_DIR/applied/<time>/subjects.csv
and windows.csv instead.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING

from eeg_gnn.cli import run_cli

#: Flags of ``--data-dir`` that say how its recordings are listed and what to do with unreadable ones.
LISTING = ("layout", "subject_pattern", "on_error")


def build_parser(prog: str = "eeg-gnn evaluate") -> argparse.ArgumentParser:
    """The run folder, --data-dir, and one flag per :class:`~eeg_gnn.review.build.ReviewSettings` field."""
    from eeg_gnn.cli.train import _flag, _value_type
    from eeg_gnn.pipeline.config import APPLY_SETTINGS, config_fields
    from eeg_gnn.review.settings import review_fields

    parser = argparse.ArgumentParser(prog=prog, description=__doc__, argument_default=argparse.SUPPRESS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run directory written by eeg-gnn train")
    parser.add_argument("--data-dir", help="apply the run's fold models to the recordings in this folder (or this "
                                           "one recording) instead: a plain folder of recordings needs no labels; "
                                           "labelled ones are scored (RUN_DIR/applied/<time>/results.json)")
    applying = parser.add_argument_group("reading the recordings of --data-dir (default: as the run read its own)")
    applying.add_argument("--dataset", dest="layout", metavar="NAME",
                          help="list --data-dir as this described dataset does (its subjects and labels from the "
                                "file names), e.g. eegmat (default: the run's dataset when every file fits it, a "
                                "participants table when there is one, else one subject per file)")
    applying.add_argument("--subject-pattern", metavar="REGEX",
                          help="take each file's subject from its path with this regular expression (its group "
                               "'subject', or its first group), e.g. '(Subject\\d+)_'")
    applying.add_argument("--on-error", choices=("raise", "skip"),
                          help="a recording that cannot be read: raise = stop naming it (default), skip = leave it "
                               "out, name it and go on")
    fields = config_fields()
    for name in APPLY_SETTINGS:
        spec = fields[name]
        help_text = spec.metadata["help"].replace("%(default)s", "the run's").replace("%", "%%")
        applying.add_argument(_flag(name, spec), dest=name, type=_value_type(spec), choices=spec.metadata["choices"],
                              metavar=spec.metadata["metavar"], help=help_text)
    for name, spec in review_fields().items():
        meta = spec.metadata
        default = spec.default_factory() if spec.default is MISSING else spec.default
        if isinstance(default, bool):
            parser.add_argument(_flag(name, spec), dest=name, action="store_const", const=not default,
                                help=meta["help"])
            continue
        help_text = meta["help"].replace("%(default)s", str(default)).replace("%", "%%")
        parser.add_argument(_flag(name, spec), dest=name, type=_value_type(spec), choices=meta["choices"],
                            metavar=meta["metavar"], help=help_text)
    return parser


def main(argv: list[str] | None = None, prog: str = "eeg-gnn evaluate") -> int:
    parser = build_parser(prog)
    args = vars(parser.parse_args(argv))

    def job() -> str:
        from eeg_gnn.pipeline.config import APPLY_SETTINGS
        from eeg_gnn.pipeline.runs import load_run

        run = load_run(args.pop("run_dir"))
        data_dir = args.pop("data_dir", None)
        reading = {name: args.pop(name) for name in (*APPLY_SETTINGS, *LISTING) if name in args}
        if reading and not data_dir:
            flags = ", ".join("--" + {"layout": "dataset"}.get(name, name).replace("_", "-") for name in reading)
            raise ValueError(f"{flags} describe the recordings of --data-dir; pass --data-dir DIR with them.")
        if data_dir:
            import json

            from eeg_gnn.data.extraction import describe_data_quality
            from eeg_gnn.pipeline.apply import apply_run, format_applied_summary

            out = apply_run(run, data_dir, progress=args.get("progress", True), **reading)
            quality = json.loads((out / "data_quality.json").read_text()) if (out / "data_quality.json").is_file() \
                else {}
            lines = describe_data_quality(quality)
            for recording_id, why in quality.get("unreadable", {}).items():
                lines.append(f"left out {recording_id}, which could not be read (--on-error skip): {why}")
            if quality.get("not_scored"):
                lines.append(f"not scored: {quality['not_scored']}")
            if (out / "results.json").is_file():
                lines.append(format_applied_summary(json.loads((out / "results.json").read_text()), out))
            return "\n".join([*lines, f"predictions for the new recordings: {out / 'subjects.csv'} (per subject) "
                                       f"and {out / 'windows.csv'}"])
        from eeg_gnn.review.build import build_review
        from eeg_gnn.review.settings import ReviewSettings

        review = build_review(run, ReviewSettings(**args))
        n_pairs = len(list((review / "brainnet").glob("*.edge")))
        return (f"metrics recomputed from predictions.csv match results.json\n"
                f"review written to {review}: report.html, {n_pairs} BrainNet .node/.edge pairs, figures/, interactive/")

    return run_cli(job, parser.prog)
