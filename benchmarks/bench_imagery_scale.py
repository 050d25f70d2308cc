"""Cost per subject of the motor-imagery features as the cohort grows: 3, 6, 12 subjects of eegmmidb.

    python benchmarks/bench_imagery_scale.py [--subjects 3,6,12] [--n-jobs 1]

Extracts the ``--task motor_imagery`` features (mu/beta log power and band covariances of the event-locked windows,
64 nodes) into an empty cache, one task per recording (:func:`eeg_gnn.data.extraction.extract_dataset`: no worker
holds more than one raw recording), stacks the windows and aligns each subject (``--align subject``). After a
one-subject warm-up (imports and first calls) it prints, per
cohort size, the seconds per subject and the peak resident memory; flat seconds per subject and a peak that does
not grow with the subjects mean the run streams. Needs ``$EEG_GNN_DATA/eegmmidb`` (``eeg-gnn fetch eegmmidb 1-12``).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from eeg_gnn.data.datasets import load_dataset
from eeg_gnn.data.extraction import extract_dataset
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import build_samples


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n_subjects: int, n_jobs: int) -> dict:
    config = TrainConfig(task="motor_imagery", graph="distance", align="subject", n_jobs=n_jobs,
                         baselines=("tangent_space",), progress=False)
    dataset = load_dataset("eegmmidb", event_labels=config.event_labels)
    subjects = dataset.subjects[:n_subjects]
    if len(subjects) < n_subjects:
        raise SystemExit(f"eegmmidb has {len(dataset.subjects)} subjects here; fetch more with "
                         f"`eeg-gnn fetch eegmmidb 1-{n_subjects}`.")
    dataset.recordings = [r for r in dataset.recordings if r.subject in subjects]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["EEG_GNN_CACHE"] = cache
        start = time.perf_counter()
        extracted, _ = extract_dataset(dataset, config.preprocessing(), config.feature_spec(), progress=False,
                                       executor=config.executor())
        samples = build_samples(config, dataset, extracted)
        seconds = time.perf_counter() - start
    return {"subjects": n_subjects, "windows": len(samples.labels), "seconds": seconds,
            "per_subject": seconds / n_subjects, "peak_mib": peak_rss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default="3,6,12", help="cohort sizes (default: 3,6,12)")
    parser.add_argument("--n-jobs", type=int, default=1, help="extraction workers (default: 1)")
    args = parser.parse_args()
    measure(1, args.n_jobs)  # warm-up: imports, filter design, first-call costs
    print(f"{'subjects':>8} {'windows':>8} {'seconds':>8} {'s/subject':>10} {'peak MiB':>9}")
    for n_subjects in (int(n) for n in args.subjects.split(",")):
        row = measure(n_subjects, args.n_jobs)
        print(f"{row['subjects']:>8} {row['windows']:>8} {row['seconds']:>8.1f} {row['per_subject']:>10.2f} "
              f"{row['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
