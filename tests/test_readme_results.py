"""scripts/make_readme_results.py: the README's results section from a run directory, between its markers."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
MODELS = ("graph", "graph_no_edges", "graph_shuffled", "logreg", "tangent_space")


def _script():
    spec = importlib.util.spec_from_file_location("make_readme_results", ROOT / "scripts" / "make_readme_results.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _results(seed: int, graph_ba: float) -> dict:
    def report(ba):
        level = {"balanced_accuracy": ba, "roc_auc": ba + 0.05, "ci95": {"balanced_accuracy": [ba - 0.1, ba + 0.1],
                                                                          "roc_auc": [ba - 0.05, ba + 0.15]}}
        return {"kind": "x", "window": level, "recording": level}

    scores = {"graph": graph_ba, "graph_no_edges": 0.6, "graph_shuffled": 0.62, "logreg": 0.66, "tangent_space": 0.78}
    comparisons = [{"model": "graph", "against": name, "level": level, "metric": metric,
                    "mean_difference": graph_ba - scores[name], "ci95": [-0.2, -0.01], "p_holm": 0.01,
                    "verdict": "worse" if name == "tangent_space" else "not distinguishable"}
                   for level in ("window", "recording") for metric in ("balanced_accuracy", "roc_auc")
                   for name in MODELS[1:]]
    return {"models": {name: report(scores[name]) for name in MODELS}, "comparisons": comparisons,
            "n_folds": 5, "n_subjects": 24, "n_windows": 1439, "seconds": 600.0,
            "selection": {"settings": {"model": ["cheb", "gcn"]}, "candidates": [{"model": "cheb"}, {"model": "gcn"}],
                          "inner_folds": 3, "metric": "balanced_accuracy",
                          "per_fold": [{"fold": k, "settings": {"model": "cheb" if k else "gcn"}} for k in range(5)]},
            "fold_test_subjects": [[str(seed)]]}


def test_section_has_every_model_the_comparisons_and_the_goal(tmp_path):
    run = tmp_path / "run"
    (run / "repeats" / "seed_1").mkdir(parents=True)
    config = {"config": {"task": "workload", "select": "grid.toml", "seed": 0, "model": "cheb", "graph": "plv",
                         "features": "log_power", "window": 4.0,
                         "bands": {"a": [1, 4]}}}
    first = _results(0, 0.70)
    first["repeats"] = {"seeds": [0, 1], "run_dirs": [".", "repeats/seed_1"], "models": {
        "graph": {"window": {"balanced_accuracy": {"mean": 0.71, "sd": 0.01, "min": 0.70, "max": 0.72}}}},
        "pooled_comparisons": [{"against": "tangent_space", "level": "window", "metric": "balanced_accuracy",
                                "mean_difference": -0.07, "ci95": [-0.1, -0.04], "verdict": "worse"}]}
    (run / "results.json").write_text(json.dumps(first))
    (run / "config.json").write_text(json.dumps(config))
    (run / "repeats" / "seed_1" / "results.json").write_text(json.dumps(_results(1, 0.72)))
    script = _script()
    section = script.render(run, 600.0)
    for name in MODELS:
        assert script.NAMES[name] in section
    assert "0.710 ± 0.010 (0.700-0.720)" in section and "0.700 [0.600, 0.800]" in section
    assert "**worse**" in section and "**not distinguishable**" in section
    assert "seed 0: model=gcn (1 fold); model=cheb (4 folds)" in section
    assert "**Goal (issue 20): non-inferior to tangent space — not met.**" in section
    assert "the pooled paired window balanced-accuracy difference is -0.070 (95 % lower bound -0.100" in section
    assert "10.0 minutes" in section
    assert "-0.070 [-0.100, -0.040] **worse**" in section
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Results\n\n{script.BEGIN}\nstale numbers\n{script.END}\n\n## Next\n")
    script.replace_section(readme, section)
    text = readme.read_text()
    assert "stale numbers" not in text and text.endswith(f"{script.END}\n\n## Next\n") and section in text


def test_the_readme_has_the_markers():
    script = _script()
    text = (ROOT / "README.md").read_text()
    assert text.count(script.BEGIN) == 1 and text.count(script.END) == 1


def test_goal_is_met_only_within_every_margin_and_names_each_control():
    script = _script()
    runs = [(seed, _results(seed, 0.77)) for seed in (0, 1)]
    pooled = {("tangent_space", "window", "balanced_accuracy"): {"mean_difference": -0.01, "ci95": [-0.05, 0.03],
                                                               "verdict": "not distinguishable"},
              ("graph_shuffled", "window", "balanced_accuracy"): {"mean_difference": 0.01, "ci95": [-0.02, 0.04],
                                                                "verdict": "not distinguishable", "n_subjects": 24,
                                                                "detectable_difference": 0.043}}
    for _, r in runs:
        for name, report in r["models"].items():
            if name in ("graph", "tangent_space"):
                report["window"]["roc_auc"] = report["recording"]["roc_auc"] = 0.83
    text = script.goal(runs, "recording", pooled)
    assert text.startswith("**Goal (issue 20): non-inferior to tangent space — met.**")
    assert "shuffled graph: +0.010, not distinguishable (differences below 0.043 cannot be detected with 24 subjects)" in text
    assert "does not beat the same model on a shuffled graph" in text
    pooled[("tangent_space", "window", "balanced_accuracy")]["ci95"] = [-0.07, 0.03]
    assert "— not met." in script.goal(runs, "recording", pooled)


def test_summary_is_short_and_links_the_full_page(tmp_path):
    script = _script()
    run = tmp_path / "run"
    run.mkdir()
    results = _results(0, 0.70)
    results["repeats"] = {"seeds": [0], "run_dirs": ["."], "models": {}, "pooled_comparisons": [
        {"against": name, "level": "window", "metric": "balanced_accuracy", "mean_difference": 0.01,
         "ci95": [-0.02, 0.04], "verdict": "not distinguishable", "n_subjects": 24, "detectable_difference": 0.05}
        for name in MODELS[1:]]}
    (run / "results.json").write_text(json.dumps(results))
    (run / "config.json").write_text(json.dumps({"config": {"task": "workload", "select": "g.toml", "seed": 0,
                                                            "features": "log_power", "bands": {"a": [1, 4]}}}))
    summary = script.render_summary(run, 120.0, "EEGMAT", "docs/results/workload.md")
    assert summary.startswith("### EEGMAT") and "[docs/results/workload.md](docs/results/workload.md)" in summary
    assert "| +0.010 [-0.020, +0.040] **not distinguishable** | 0.050 |" in summary
    assert len(summary.splitlines()) < 16
