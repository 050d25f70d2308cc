"""Every command's --help, and reading an experiment file, import none of the heavy libraries.

Times are not tested here (machines are noisy): ``python benchmarks/bench_startup.py`` measures them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torch_geometric", "sklearn", "scipy.signal", "scipy.stats", "matplotlib", "nilearn",
         "tensorboard", "pyriemann", "skops")

COMMANDS = {
    "train.py --help": "from eeg_gnn.cli import train; train.main(['--help'], prog='train.py')",
    "evaluate.py --help": "from eeg_gnn.cli import evaluate; evaluate.main(['--help'], prog='evaluate.py')",
    "eeg-gnn --help": "from eeg_gnn.cli import main; main.main(['--help'])",
    "eeg-gnn info --help": "from eeg_gnn.cli import main; main.main(['info', '--help'])",
    "eeg-gnn fetch --help": "from eeg_gnn.cli import main; main.main(['fetch', '--help'])",
    "experiment file": "from eeg_gnn.pipeline.config import read_experiment_file; "
                       f"read_experiment_file({str(ROOT / 'examples' / 'workload.toml')!r})",
}


def _imported_after(code: str) -> list[str]:
    probe = (f"import sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
             f"print('imported:', ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    last = result.stdout.strip().splitlines()[-1]
    return [name for name in last.removeprefix("imported:").strip().split(",") if name]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_imports_no_heavy_library(command):
    assert _imported_after(COMMANDS[command]) == []
