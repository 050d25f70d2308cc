"""Start-up time of the commands: ``--help`` and reading an experiment file, vs. the interpreter alone.

    python benchmarks/bench_startup.py

Each command runs in a fresh interpreter 5 times; the best wall time is printed next to the baseline measured in
the same run, ``python -c pass`` (what no program can beat), and ``python -c "import torch"`` (what a command
that imports torch pays before it can print anything). The target is ``--help`` under 1 s.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "python train.py --help": [sys.executable, str(ROOT / "train.py"), "--help"],
    "python evaluate.py --help": [sys.executable, str(ROOT / "evaluate.py"), "--help"],
    "python -m eeg_gnn --help": [sys.executable, "-m", "eeg_gnn", "--help"],
    "python -m eeg_gnn info --help": [sys.executable, "-m", "eeg_gnn", "info", "--help"],
    "read examples/workload.toml": [sys.executable, "-c", "from eeg_gnn.pipeline.config import TrainConfig, "
                                    f"read_experiment_file; read_experiment_file({str(ROOT / 'examples' / 'workload.toml')!r})"],
}


def best_time(command: list[str]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    baseline = None
    for name, command in COMMANDS.items():
        seconds = best_time(command)
        baseline = baseline or seconds
        print(f"{name:<36} {seconds:6.2f} s   {seconds - baseline:+6.2f} s over the interpreter")


if __name__ == "__main__":
    main()
