"""Review a finished run: recompute its metrics, export BrainNet Viewer files and figures, build a report.

Examples
--------
    python evaluate.py runs/workload_eegmat_gcn_distance_20261122-101500
    python evaluate.py RUN_DIR --connectivity wpli --overwrite
    python evaluate.py RUN_DIR --data-dir NEW_RECORDINGS      # apply the fold models to new recordings

Writes RUN_DIR/review/: report.html (one self-contained file: open it in a browser), brainnet/*.node and *.edge
(BrainNet Viewer, MNI mm, cortical positions), figures/*.png and interactive/*.html. Every metric is first
recomputed from predictions.csv and checked against results.json. With --data-dir, writes
RUN_DIR/applied/<time>/subjects.csv and windows.csv instead.
"""

from __future__ import annotations

import argparse

from eeg_gnn.cli import positive_int, run_cli
from eeg_gnn.signal.graph import CONNECTIVITY_METHODS


def build_parser(prog: str = "eeg-gnn evaluate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run directory written by train.py")
    parser.add_argument("--connectivity", choices=CONNECTIVITY_METHODS,
                        help="connectivity for the maps (default: the run's graph if it is functional, else plv)")
    parser.add_argument("--permutations", type=positive_int, default=5000,
                        help="permutations for the edge-wise group test (default: %(default)s)")
    parser.add_argument("--data-dir", help="apply the run's fold models to the recordings in this folder instead")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing RUN_DIR/review/")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None, prog: str = "eeg-gnn evaluate") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    def job() -> str:
        from eeg_gnn.pipeline.runs import load_run

        run = load_run(args.run_dir)
        if args.data_dir:
            from eeg_gnn.pipeline.apply import apply_run

            out = apply_run(run, args.data_dir, progress=not args.quiet)
            return f"predictions for the new recordings: {out / 'subjects.csv'} (per subject) and {out / 'windows.csv'}"
        from eeg_gnn.review.build import build_review

        review = build_review(run, connectivity_method=args.connectivity, n_permutations=args.permutations,
                              overwrite=args.overwrite, progress=not args.quiet)
        n_pairs = len(list((review / "brainnet").glob("*.edge")))
        return (f"metrics recomputed from predictions.csv match results.json\n"
                f"review written to {review}: report.html, {n_pairs} BrainNet .node/.edge pairs, figures/, interactive/")

    return run_cli(job, parser.prog)


