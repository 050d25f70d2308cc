"""The review's budgets (issue 21): folder size, report height with sections folded, ``evaluate`` on a warm run;
this code vs. the code of a base commit, measured in the same run.

    python benchmarks/bench_review.py [--base-rev REV] [--subjects 8] [--seconds 60]

Builds a patients-vs-controls folder cohort from real EEGMAT recordings (``$EEG_GNN_DATA/eegmat``: the first
``--subjects`` subjects, half 'control' and half 'patient', both recordings of each cut to ``--seconds``), trains
one small run with this code (2 folds, 2 epochs, the default 5 bands and the interactive views they bring,
``--bad-channels interpolate``), then for each code (this checkout and a ``git worktree`` of ``--base-rev``, by
default where this branch left ``main``: a later ``main`` may expect results this code does not write) runs
``evaluate.py RUN --overwrite --quiet`` twice on its own copy of the run: the first fills that code's caches, the
second (warm) is timed. Printed per code: the review folder's size, the report's height in a 1400 px wide headless
Chromium with the sections as the page opens them, and the warm ``evaluate`` time; then the ratios this / base and
the budgets: folder <= 10 MB, report <= 8,000 px, warm evaluate <= 30 s (on this machine's cores).

Everything is written to a temporary folder, nothing next to the data. Needs Chromium for the height
(``apt-get install chromium``); without it the height is not measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGETS = {"folder_mb": 10.0, "height_px": 8000.0, "warm_s": 30.0}


def make_cohort(root: Path, eegmat: Path, n_subjects: int, seconds: float) -> Path:
    import mne

    from eeg_gnn.signal.io import read_recording

    root.mkdir(parents=True)
    rows = ["participant_id\tgroup"]
    for index in range(n_subjects):
        subject = f"Subject{index:02d}"
        rows.append(f"{subject}\t{'patient' if index >= n_subjects // 2 else 'control'}")
        for part in ("1", "2"):
            raw = read_recording(eegmat / f"{subject}_{part}.edf").crop(0, seconds, include_tmax=False)
            raw.pick([name for name in raw.ch_names if name.startswith("EEG ") and name != "EEG A2-A1"])
            if index == 1 and part == "1":  # a near-dead pair of electrodes, rebuilt under interpolate
                raw.apply_function(lambda x: x / 100, picks=["EEG Fz", "EEG Pz"])
            mne.export.export_raw(root / f"{subject}_{part}.edf", raw, fmt="edf", verbose="error")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def report_height(report: Path, out: Path) -> float | None:
    """The full-page height in px of ``report`` at 1400 px (the browser check's screenshot), None without Chromium."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "check_report_in_browser.py"), str(report),
                             "--widths", "1400", "--screenshots", str(out)], capture_output=True, text=True,
                            check=False)
    shot = out / "report-1400px.png"
    if not shot.is_file():
        print(f"  (no height: {result.stdout.strip() or result.stderr.strip()})")
        return None
    from PIL import Image

    with Image.open(shot) as image:
        return float(image.size[1])


def evaluate(code: Path, run_dir: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(code / "evaluate.py"), str(run_dir), "--overwrite", "--quiet"], check=True,
                   env={**env, "PYTHONPATH": str(code)}, cwd=code, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(name: str, code: Path, run_dir: Path, work: Path, env: dict) -> dict[str, float | None]:
    mine = work / f"run_{name}"
    shutil.copytree(run_dir, mine)
    env = {**env, "EEG_GNN_CACHE": str(work / f"cache_{name}")}
    cold = evaluate(code, mine, env)
    warm = evaluate(code, mine, env)
    review = mine / "review"
    height = report_height(review / "report.html", work / f"shots_{name}")
    size = folder_size(review) / 1e6
    print(f"{name:>6}: folder {size:6.1f} MB, report {height or float('nan'):7.0f} px at 1400 px, evaluate cold "
          f"{cold:5.1f} s, warm {warm:5.1f} s", flush=True)
    return {"folder_mb": size, "height_px": height, "warm_s": warm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-rev", help="the code to compare with (default: git merge-base HEAD main)")
    parser.add_argument("--subjects", type=int, default=8, help="EEGMAT subjects in the cohort (default: 8)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds kept of each recording (default: 60)")
    args = parser.parse_args(argv)
    if args.base_rev is None:
        args.base_rev = subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"], capture_output=True,
                                       text=True, check=True).stdout.strip()
    data = Path(os.environ.get("EEG_GNN_DATA", Path.home() / "eeg_gnn_data")) / "eegmat"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory(prefix="bench_review_") as tmp:
        work = Path(tmp)
        base = work / "base"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), args.base_rev],
                       check=True, capture_output=True)
        try:
            sys.path.insert(0, str(REPO))
            from eeg_gnn.pipeline.config import TrainConfig
            from eeg_gnn.pipeline.experiment import run_cv

            cohort = make_cohort(work / "cohort", data, args.subjects, args.seconds)
            os.environ["EEG_GNN_CACHE"] = str(work / "cache_train")
            config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(work / "runs"),
                                 epochs=2, folds=2, n_boot=200, progress=False, bad_channels="interpolate")
            run_dir = run_cv(config).run_dir
            print(f"cohort: {args.subjects} EEGMAT subjects, 2 recordings of {args.seconds:g} s each; "
                  f"base {args.base_rev} = {_commit(base)}, this = {_commit(REPO)}", flush=True)
            this = measure("this", REPO, run_dir, work, env)
            before = measure("base", base, run_dir, work, env)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False,
                           capture_output=True)
    for key, label in (("folder_mb", "review folder"), ("height_px", "report height"), ("warm_s", "warm evaluate")):
        ours, theirs = this[key], before[key]
        ratio = f"{ours / theirs:.2f}x" if ours and theirs else "n/a"
        verdict = "within" if ours is not None and ours <= BUDGETS[key] else "OVER"
        print(f"{label:>14}: this / base = {ratio}; budget {BUDGETS[key]:g}: {verdict}")
    return 0


def _commit(checkout: Path) -> str:
    result = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False)
    return result.stdout.strip() or "?"


if __name__ == "__main__":
    raise SystemExit(main())
