"""Choose a default configuration by validation subjects only, then show the test results of every candidate.

    python scripts/select_configuration.py --task workload [--out runs/selection]

Each candidate is a full `run_cv`; within every fold, early stopping and this selection look only at validation
subjects drawn from the fold's training side (results.json: models.graph.validation). The test metrics of all candidates
are printed next to it, so the choice can be checked but was not made from them.
"""

from __future__ import annotations

import argparse
import itertools

from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv

GRID = {"model": ("gcn", "cheb"), "graph": ("distance", "plv"), "features": ("log_power", "relative_power")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="workload")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default="runs/selection")
    args = parser.parse_args()
    rows = []
    for values in itertools.product(*GRID.values()):
        settings = dict(zip(GRID, values))
        results = run_cv(TrainConfig(task=args.task, data_dir=args.data_dir, out=args.out, progress=False,
                                     **settings)).results
        graph = results["models"]["graph"]
        validation = graph["validation"]
        rows.append((settings, validation.get("mean_val_balanced_accuracy"), validation.get("mean_val_loss"),
                     graph["window"]["balanced_accuracy"], results["models"]["logreg"]["window"]["balanced_accuracy"]))
        print(f"{settings}: validation bacc {rows[-1][1]:.3f}, loss {rows[-1][2]:.3f} | test window bacc "
              f"model {rows[-1][3]:.3f}, baseline {rows[-1][4]:.3f}", flush=True)
    best = max(rows, key=lambda row: (row[1], -row[2]))
    print(f"selected by validation balanced accuracy: {best[0]} (test window bacc {best[3]:.3f}; "
          f"baseline {best[4]:.3f})")


if __name__ == "__main__":
    main()
