"""The public API: the README's Python examples run as written, and ``import eeg_gnn`` exposes every public name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import eeg_gnn

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    section = README.read_text().split("## From Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_every_public_name_resolves():
    missing = [name for name in eeg_gnn.__all__ if getattr(eeg_gnn, name, None) is None]
    assert missing == []
    assert set(eeg_gnn.__all__) <= set(dir(eeg_gnn))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        eeg_gnn.nothing_here  # noqa: B018


def test_readme_has_two_python_examples():
    assert len(_python_blocks()) == 2


@pytest.mark.slow
def test_readme_notebook_example_runs(eegmat_dir, capsys):
    namespace: dict = {}
    exec(compile(_python_blocks()[0], "README.md (From Python, first example)", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3
    for line in printed:
        score = float(re.search(r"balanced accuracy (\d\.\d+)", line).group(1))
        assert 0.0 <= score <= 1.0
    assert namespace["X"].shape[1:] == (19, 5)
    assert namespace["plv"].shape[1:] == (19, 19)
    assert sorted(set(namespace["groups"])) == ["Subject00", "Subject01", "Subject02", "Subject03"]


@pytest.mark.slow
def test_readme_run_cv_example_runs(eegmat_dir, tmp_path, monkeypatch, capsys):
    """The second example on a four-subject EEGMAT folder (links to the real files, in tmp_path)."""
    folder = tmp_path / "data" / "eegmat"
    folder.mkdir(parents=True)
    for path in sorted(eegmat_dir.glob("Subject0[0-3]_[12].edf")):
        (folder / path.name).symlink_to(path)
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_python_blocks()[1], "README.md (From Python, second example)", "exec"), namespace)
    out = capsys.readouterr().out
    assert "workload on eegmat: 4 subjects, 8 recordings" in out
    run = namespace["run"]
    assert run.path.resolve().parent == tmp_path.resolve() / "runs"
    assert eeg_gnn.TrainConfig.from_dict(run.config.to_dict()) == run.config
    assert "[graph]" in out and 'graph = "plv"' in out


@pytest.mark.slow
def test_a_runs_config_toml_reruns_it_exactly(eegmat_dir, tmp_path):
    from eeg_gnn.pipeline.experiment import run_cv

    folder = tmp_path / "eegmat"
    folder.mkdir()
    for path in sorted(eegmat_dir.glob("Subject0[0-3]_[12].edf")):
        (folder / path.name).symlink_to(path)
    config = eeg_gnn.TrainConfig(task="workload", data_dir=str(folder), folds=2, epochs=2, n_boot=20,
                                 out=str(tmp_path / "runs"), progress=False)
    first = run_cv(config)
    again = run_cv(eeg_gnn.TrainConfig.from_toml(first.run_dir / "config.toml"))
    assert again.run_dir != first.run_dir
    assert again.results["models"] == first.results["models"]
    assert again.results["comparisons"] == first.results["comparisons"]


def test_console_script_lists_every_command(capsys):
    from eeg_gnn.cli.main import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("train", "evaluate", "info", "datasets", "fetch"):
        assert command in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "usage: eeg-gnn train" in capsys.readouterr().out
