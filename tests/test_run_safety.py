"""Opening a run directory never runs code from it; saving one on a full disk leaves nothing half-written."""

from __future__ import annotations

import errno
import json
import re

import numpy as np
import pytest
import skops.io as sio
import torch
from sklearn.linear_model import LogisticRegression

from eeg_gnn import __version__
from eeg_gnn.models.persistence import (
    load_checkpoint,
    load_estimator,
    save_checkpoint,
    save_estimator,
)

from .conftest import run_script

MARKER_NAME = "code-from-the-run-directory-ran"


class Payload:
    """Unpickling this runs ``open(marker, 'w')``: what a malicious checkpoint would do, harmlessly."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _Unknown(LogisticRegression):
    """A type no eeg-gnn baseline contains."""


def test_checkpoint_round_trip_holds_tensors_and_plain_values(tmp_path):
    payload = {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "node_names": ["Fp1", "Cz"], "fold": 2}
    path = save_checkpoint(payload, tmp_path / "fold_2.pt")
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["state_dict"]["w"], payload["state_dict"]["w"])
    assert loaded["node_names"] == ["Fp1", "Cz"] and loaded["fold"] == 2


def test_checkpoint_with_an_object_is_not_saved(tmp_path):
    with pytest.raises(TypeError, match="tensors and plain values only"):
        save_checkpoint({"model": LogisticRegression()}, tmp_path / "fold_0.pt")
    assert not list(tmp_path.iterdir())


def test_planted_pickle_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / MARKER_NAME
    path = tmp_path / "fold_0.pt"
    torch.save({"state_dict": Payload(marker)}, path)
    with pytest.raises(ValueError, match=r"Refusing to load .*fold_0\.pt: .*GLOBAL") as excinfo:
        load_checkpoint(path)
    assert "\n" not in str(excinfo.value)
    assert not marker.exists()


def test_baseline_round_trip_and_unknown_types_refused(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    fitted = LogisticRegression().fit(x, y)
    loaded = load_estimator(save_estimator(fitted, tmp_path / "good.skops"))
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    (tmp_path / "unknown.skops").write_bytes(sio.dumps(_Unknown().fit(x, y)))
    with pytest.raises(ValueError, match=r"Refusing to load .*unknown\.skops: it names .*_Unknown"):
        load_estimator(tmp_path / "unknown.skops")


def test_full_disk_while_saving_a_checkpoint_is_one_line_and_leaves_no_run(cohort, tmp_path, capsys, monkeypatch):
    from eeg_gnn.models import persistence
    from eeg_gnn.utils import files

    def fill_the_disk(path, write, **kwargs):
        def write_then_fail(temp):
            write(temp)
            raise OSError(errno.ENOSPC, "No space left on device")

        return files.atomic_write(path, write_then_fail, **kwargs)

    monkeypatch.setattr(persistence, "atomic_write", fill_the_disk)
    out = tmp_path / "runs"
    code, _, err = run_script("train.py", ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(cohort),
                                           "--out", str(out), "--epochs", "2", "--folds", "2", "--n-boot", "10",
                                           "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1
    # the fold whose models finish first is saved first: with worker threads that need not be fold 0
    assert "the disk is full" in err and re.search(r"fold_\d\w*\.(pt|skops)", err)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("make_out", ["file", "below_a_file"])
def test_unwritable_out_is_one_line_naming_it(cohort, tmp_path, capsys, make_out):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    out = blocker if make_out == "file" else blocker / "runs"
    code, _, err = run_script("train.py", ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(cohort),
                                           "--out", str(out), "--epochs", "2", "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"--out {out}" in err


def test_a_truncated_results_json_is_one_line_naming_it(tmp_path):
    from eeg_gnn.pipeline.runs import load_run

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("config.json", "folds.csv", "predictions.csv"):
        (run_dir / name).write_text("{}" if name.endswith(".json") else "")
    (run_dir / "results.json").write_text('{"classes": ["control", "pat')
    (run_dir / "config.json").write_text(json.dumps({"versions": {"eeg_gnn": __version__}, "config": {}}))
    with pytest.raises(ValueError) as excinfo:
        load_run(run_dir)
    message = str(excinfo.value)
    assert message.startswith(f"{run_dir / 'results.json'} is damaged or cut short") and "\n" not in message


def test_sigint_during_training_exits_at_once_naming_the_unfinished_run(cohort, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    out = tmp_path / "runs"
    command = [sys.executable, str(Path(__file__).parents[1] / "train.py"), "--task", "schizophrenia", "--dataset",
               "folder", "--data-dir", str(cohort), "--out", str(out), "--epochs", "2000", "--patience", "2000",
               "--folds", "2", "--n-jobs", "2", "--baselines", "none", "--controls", "no_edges", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/checkpoints")) and not list(out.glob("*/tensorboard")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # the models are training in worker threads
    assert process.poll() is None, process.communicate()
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert time.monotonic() - sent < 10
    (run_dir,) = out.iterdir()
    assert process.returncode == 130
    assert f"interrupted: the unfinished run in {run_dir} is marked INCOMPLETE" in err
    assert (run_dir / "INCOMPLETE").is_file()
