"""Settings defined once: experiment files, generated flags, and what they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from eeg_gnn.cli.train import build_parser, config_from_args
from eeg_gnn.pipeline.config import SECTIONS, TrainConfig, config_fields, read_experiment_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_example_file_is_the_default_run():
    assert TrainConfig.from_toml(EXAMPLES / "workload.toml") == TrainConfig(task="workload")


def test_written_file_gives_back_the_same_config(tmp_path):
    config = TrainConfig(task="workload", graph="distance", notch=50.0, top_k=3, bands={"alpha": (8.0, 13.0)},
                         graph_band="alpha", use_cache=False, seed=7)
    path = _file(tmp_path, config.to_toml())
    assert TrainConfig.from_toml(path) == config
    assert 'top_k = 3' in path.read_text() and 'reject_uv = "none"' in path.read_text()


def test_every_setting_has_help_and_a_section():
    for name, spec in config_fields().items():
        assert spec.metadata["help"], name
        assert spec.metadata["section"] in SECTIONS


def test_flags_are_generated_from_the_settings():
    parser = build_parser()
    flags = {option for action in parser._actions for option in action.option_strings}
    for name, spec in config_fields().items():
        assert (spec.metadata["flag"] or "--" + name.replace("_", "-")) in flags


def test_flags_override_the_file(tmp_path):
    path = _file(tmp_path, '[model]\nmodel = "gcn"\nhidden = 8\n\n[training]\nseed = 3\n')
    args = build_parser().parse_args(["--config", str(path), "--seed", "5", "--no-cache"])
    config = config_from_args(args)
    assert (config.model, config.hidden, config.seed, config.use_cache) == ("gcn", 8, 5, False)
    assert config.epochs == TrainConfig().epochs


def test_no_flags_gives_the_defaults():
    assert config_from_args(build_parser().parse_args([])) == TrainConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[modle]\nmodel = "gcn"\n', r"Unknown section \[modle\] in .*run.toml; allowed sections: \[data\]"),
        ('[model]\nmodle = "gcn"\n', r"Unknown setting 'modle' in \[model\] of .*run.toml; settings of \[model\]: "
                                     r"model, hidden"),
        ('[training]\nmodel = "gcn"\n', r"Setting 'model' belongs in \[model\], not \[training\], in .*run.toml"),
        ('[training]\nseed = "zero"\n', r"Setting 'seed' in .*run.toml must be a whole number, got 'zero' \(str\)"),
        ('[training]\nepochs = 2.5\n', r"Setting 'epochs' in .*run.toml must be a whole number, got 2.5"),
        ('[output]\nuse_cache = "yes"\n', r"Setting 'use_cache' in .*run.toml must be true or false"),
        ('[training]\nepochs = "none"\n', r"Setting 'epochs' in .*run.toml must be a whole number, got 'none'"),
        ('[graph]\ntop_k = "3"\n', r"Setting 'top_k' in .*run.toml must be none or a whole number, got '3'"),
        ('[model]\nmodel = "gat2"\n', r"run.toml: Invalid value for the 'model' parameter. Allowed values are 'gcn'"),
        ("model = 'gcn'\n", r"'model' in .*run.toml must be a section"),
        ("[model\n", r"run.toml is not a valid TOML file"),
    ],
)
def test_bad_files_fail_in_one_line(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(ValueError, match=message) as caught:
        TrainConfig.from_toml(path)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No experiment file at"):
        read_experiment_file(tmp_path / "nothing.toml")


def test_from_dict_names_unknown_keys():
    with pytest.raises(ValueError, match="Unknown setting 'lr_rate' in the config"):
        TrainConfig.from_dict({"lr_rate": 0.1})


def test_loading_a_cuda_run_needs_no_gpu():
    config = TrainConfig.from_dict({**TrainConfig().to_dict(), "device": "cuda"})
    assert config.device == "cuda"
    with pytest.raises(ValueError, match="not available"):
        config.check_device()


def test_none_turns_off_a_setting_that_can_be_off_from_the_command_line():
    from eeg_gnn.cli.train import build_parser, config_from_args

    config = config_from_args(build_parser().parse_args(["--scheduler", "none", "--notch", "None", "--n-jobs", "2"]))
    assert config.scheduler is None and config.notch is None and config.n_jobs == 2
    assert config.executor().describe() == "2 worker threads"
    config = config_from_args(build_parser().parse_args(["--n-jobs", "2", "--prefer", "processes"]))
    assert config.executor().describe() == "2 worker processes (joblib)"
    config = config_from_args(build_parser().parse_args(["--notch", "50", "--scheduler", "local", "--n-jobs", "1"]))
    assert config.notch == 50.0 and config.executor().describe() == "a local Dask cluster of 2 worker processes"


def test_one_fold_in_an_experiment_file_is_refused_before_any_work_naming_the_file(tmp_path):
    experiment = tmp_path / "one_fold.toml"
    experiment.write_text("[training]\nfolds = 1\n")
    with pytest.raises(ValueError, match=rf"^{experiment}: --folds \(folds in \[training\]\) must be at least 2, "
                                         "got 1"):
        TrainConfig.from_toml(experiment)
    assert TrainConfig(cv="loso", folds=1).folds == 1  # leave-one-subject-out does not use it


def test_an_empty_out_is_refused():
    with pytest.raises(ValueError, match="--out is empty"):
        TrainConfig(out="")
    with pytest.raises(ValueError, match="--out is empty"):
        TrainConfig(out="  ")
