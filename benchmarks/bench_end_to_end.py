"""``train.py --task workload`` end to end: this code vs. the code before the speed work, serial vs. parallel.

    python benchmarks/bench_end_to_end.py [--baseline-rev e14f741] [--skip-parallel] [--skip-scaling]

Needs the EEGMAT recordings (``$EEG_GNN_DATA/eegmat``) and a git checkout (the baseline code is taken from
``--baseline-rev``, by default the last commit before the speed work, whose default run trained the graph model
and one untuned logistic regression). Every run is a fresh ``train.py`` process with its own feature cache
(``warm``: the cache filled by an earlier run of the same code; ``cold``: an empty one, new in every round), writing
to a temporary folder. Cold and warm runs alike are timed once per round, and the fastest of the rounds is kept.
Printed per run: wall time, peak memory (resident set of the main process, and of the largest worker where there
are workers) and the ratio to the named baseline measured in the same benchmark run:

- ``today's work``: the baseline code's default run vs. this code doing the same work (``--controls none
  --baselines logreg``); target >= 3x.
- ``new default``: this code's default run (graph model, both controls, both tuned baselines) vs. the baseline
  code's default run; target >= 1.5x.
- cold vs. warm (target <= 1.3x), ``--n-jobs 2 --prefer processes`` and ``--scheduler local`` (a 2-worker Dask
  LocalCluster) vs. the serial default run, and the cost at 6 / 12 / 24 subjects with its exponent (target <= 1).

The baseline code ran one task after the other on one thread; this code's default (``--n-jobs -1``) runs its
tasks in one worker thread per core, so both are also shown with ``--n-jobs 1`` (serial), side by side.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
loky = sys.modules.get("joblib.externals.loky.reusable_executor")
if loky is not None and loky._executor is not None:  # reap joblib's workers: their CPU time is counted below
    loky._executor.shutdown(wait=True)
me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
print(f"PEAK_KIB {me.ru_maxrss} {children.ru_maxrss} {cpu}", file=sys.stderr)
sys.exit(code)
"""


def export_code(rev: str, target: Path) -> Path:
    """The tree of ``rev`` unpacked into ``target`` (no checkout is touched)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def run(code: Path, args: list[str], cache: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "EEG_GNN_CACHE": str(cache), "MPLBACKEND": "Agg"}
    command = [sys.executable, "-c", PROBE, str(code / "train.py"), "--task", "workload", "--quiet",
               "--out", str(out), *args]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=out.parent)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args) or 'default'} failed:\n{result.stderr[-2000:]}")
    own, workers, cpu = result.stderr.rsplit("PEAK_KIB", 1)[1].split()[:3]
    newest = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
    results = json.loads((newest / "results.json").read_text())
    return {"seconds": seconds, "cpu_seconds": float(cpu), "peak_mib": int(own) / 1024,
            "worker_peak_mib": int(workers) / 1024, "results": results}


def _numbers(measured: dict) -> dict:
    return {k: v for k, v in measured["results"].items() if k not in ("seconds", "features_from_cache")}


def best(runs: list[dict]) -> dict:
    """The fastest of repeated runs by wall time, with the least CPU time of them (load from other processes
    only ever adds)."""
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "cpu_seconds": min(r["cpu_seconds"] for r in runs)}


def subset(eegmat: Path, n_subjects: int, target: Path) -> Path:
    """A folder of symbolic links to the recordings of the first ``n_subjects`` EEGMAT subjects."""
    target.mkdir(parents=True)
    subjects = sorted({p.name.split("_")[0] for p in eegmat.glob("Subject*_*.edf")})[:n_subjects]
    for subject in subjects:
        for path in eegmat.glob(f"{subject}_*.edf"):
            (target / path.name).symlink_to(path)
    return target


def line(name: str, measured: dict, baseline: dict | None = None, baseline_name: str = "") -> str:
    text = (f"  {name:<46}{measured['seconds']:7.1f} s wall {measured['cpu_seconds']:7.1f} s CPU  "
            f"peak {measured['peak_mib']:4.0f} MiB")
    if measured["worker_peak_mib"] > measured["peak_mib"] / 4:
        text += f" (largest worker {measured['worker_peak_mib']:.0f} MiB)"
    if baseline is not None:
        text += (f"   x{baseline['seconds'] / measured['seconds']:.2f} wall, "
                 f"x{baseline['cpu_seconds'] / measured['cpu_seconds']:.2f} CPU vs {baseline_name}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-rev", default="e14f741", help="git revision of the baseline code")
    parser.add_argument("--skip-parallel", action="store_true", help="no --n-jobs / --scheduler runs")
    parser.add_argument("--skip-scaling", action="store_true", help="no 6 / 12 subject runs")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds of the baseline and "
                        "this code's runs (each with a cold run on an empty cache of its own); the fastest of each "
                        "is kept (default: %(default)s)")
    args = parser.parse_args()
    eegmat = Path(os.environ.get("EEG_GNN_DATA", "~/eeg_gnn_data")).expanduser() / "eegmat"
    if not eegmat.is_dir():
        raise SystemExit(f"EEGMAT recordings not found in {eegmat}: set EEG_GNN_DATA.")
    light = ["--controls", "none", "--baselines", "logreg"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = export_code(args.baseline_rev, tmp / "baseline")
        new = ROOT
        old_cache, new_cache = tmp / "cache-baseline", tmp / "cache-new"
        runs = tmp / "runs"
        runs.mkdir()
        print(f"train.py --task workload (24 EEGMAT subjects, 5 folds by subject); baseline code: "
              f"{args.baseline_rev}; {os.cpu_count()} CPU cores", flush=True)
        run(old, [], old_cache, runs)  # fills the baseline's cache
        for filling in (light, []):  # this code's cache, for both feature sets (the default's has covariances)
            run(new, filling, new_cache, runs)
        serial = ["--n-jobs", "1"]
        timed = {"old": [], "light": [], "light_serial": [], "default": [], "serial": [], "cold": []}
        for round_index in range(args.rounds):
            timed["cold"].append(run(new, light, tmp / f"cache-cold-{round_index}", runs))
            timed["old"].append(run(old, [], old_cache, runs))
            timed["light"].append(run(new, light, new_cache, runs))
            timed["light_serial"].append(run(new, [*light, *serial], new_cache, runs))
            timed["default"].append(run(new, [], new_cache, runs))
            timed["serial"].append(run(new, serial, new_cache, runs))
        old_default, warm, default = best(timed["old"]), best(timed["light"]), best(timed["default"])
        cold = best(timed["cold"])
        warm_serial, default_serial = best(timed["light_serial"]), best(timed["serial"])
        print(f"  (best of {args.rounds} interleaved rounds)")
        print(line("baseline code, default run (warm)", old_default))
        print(line("this code, today's work (warm)", warm, old_default, "baseline default"))
        print(line("this code, today's work, --n-jobs 1 (warm)", warm_serial, old_default, "baseline default"))
        print(line("this code, today's work (cold)", cold)
              + f"   cold / warm = {cold['seconds'] / warm['seconds']:.2f} wall")
        print(line("this code, new default (warm)", default, old_default, "baseline default"))
        print(line("this code, new default, --n-jobs 1 (warm)", default_serial, old_default, "baseline default"),
              flush=True)
        runs_compared = [("default (worker threads)", default)]
        if not args.skip_parallel:
            for name, extra in (("--n-jobs 2 --prefer processes", ["--n-jobs", "2", "--prefer", "processes"]),
                                ("--scheduler local (2 workers)", ["--scheduler", "local", "--n-jobs", "2"])):
                runs_compared.append((name, run(new, extra, new_cache, runs)))
        for name, parallel in runs_compared:
            same = _numbers(parallel) == _numbers(default_serial)
            print(line(f"this code, new default, {name}", parallel, default_serial, "--n-jobs 1")
                  + f"   results.json identical: {same}", flush=True)
        if not args.skip_scaling:
            costs = {}
            for n_subjects in (6, 12):
                folder = subset(eegmat, n_subjects, tmp / f"eegmat_{n_subjects}")
                run(new, [*light, "--data-dir", str(folder)], new_cache, runs)
                costs[n_subjects] = run(new, [*light, "--data-dir", str(folder)], new_cache, runs)
                print(line(f"this code, today's work, {n_subjects} subjects (warm)", costs[n_subjects]), flush=True)
            costs[24] = warm
            exponent = math.log(costs[24]["seconds"] / costs[6]["seconds"]) / math.log(24 / 6)
            print(f"  cost grows as subjects^{exponent:.2f} from 6 to 24 subjects (1 = linear; process start-up "
                  "and imports are a fixed cost in every run)")


if __name__ == "__main__":
    main()
