"""Regenerate the README's results section: one command, every task, every number.

    python scripts/make_readme_results.py                          # train every task, then rewrite README.md
    python scripts/make_readme_results.py --tasks schizophrenia    # only some tasks (the others keep their text)
    python scripts/make_readme_results.py --run schizophrenia=RUN  # render a task from a finished run

EEGMAT and MSU are each a nested-selection run over a grid file fixed before any of its scores was seen
(``eeg-gnn train --task T --select GRID --repeats 3``: three fold assignments, seeds 0, 1, 2), motor imagery a run of
the task's defaults over the same three seeds; the schizophrenia task
adds a leave-one-subject-out run of the default configuration, the motor-imagery task the same run with each
subject re-centred on its own unlabelled data (``--align subject``, transductive). Each task gets two texts:
the full one (every model per seed with intervals, every paired comparison per seed and pooled with what it could
detect, what each fold chose) in ``docs/results/<task>.md``, and a summary (the spread over seeds, the pooled
comparisons, the goal paragraph) in ``runs/readme/<task>.md``, which goes between ``<!-- results:begin -->`` and
``<!-- results:end -->`` of the README in the order of :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "results"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
METRICS = ("balanced_accuracy", "roc_auc")
#: Issue 20's non-inferiority margins against tangent space: pooled paired window BA difference (mean, lower bound of
#: its 95 % interval) and the largest ROC AUC shortfall at either level.
MARGIN_MEAN, MARGIN_LOW, MARGIN_AUC = -0.02, -0.06, 0.02
NAMES = {"graph": "graph model", "graph_no_edges": "control: no edges",
         "graph_shuffled": "control: shuffled graph", "graph_rewired": "control: rewired graph",
         "graph_uniform": "control: uniform graph", "logreg": "baseline: logistic regression",
         "tangent_space": "baseline: tangent space", "csp_lda": "baseline: CSP + LDA"}
CONTROLS = ("graph_no_edges", "graph_shuffled", "graph_rewired", "graph_uniform")


@dataclass(frozen=True)
class Section:
    """One task of the results: its heading, its run and the runs beside it."""

    task: str
    title: str
    grid: str | None
    extra: dict = field(default_factory=dict)
    loso: bool = False
    aligned: bool = False


SECTIONS = {
    "workload": Section("workload", "EEGMAT: rest vs mental arithmetic (24 subjects, recording labels)",
                        "examples/montage_grid.toml"),
    "schizophrenia": Section("schizophrenia", "MSU: adolescent schizophrenia vs control (84 subjects, subject labels)",
                             "examples/montage_grid.toml", loso=True),
    "motor_imagery": Section("motor_imagery", "PhysioNet eegmmidb: imagined left vs right fist (12 subjects, "
                             "64 electrodes, trial labels)", None,
                             extra={"baselines": ("logreg", "tangent_space", "csp_lda")}, aligned=True),
}


def train(section: Section, repeats: int, out: Path, **overrides) -> Path:
    from eeg_gnn.pipeline.config import TrainConfig
    from eeg_gnn.pipeline.experiment import run_cv

    settings = dict(task=section.task, select=str(ROOT / section.grid) if section.grid else None, repeats=repeats,
                    out=str(out), **section.extra)
    settings.update(overrides)
    return run_cv(TrainConfig(**settings)).run_dir


def train_loso(section: Section, out: Path) -> Path:
    """The default configuration (no selection) under leave-one-subject-out, beside tangent space."""
    from eeg_gnn.pipeline.config import TrainConfig
    from eeg_gnn.pipeline.experiment import run_cv

    return run_cv(TrainConfig(task=section.task, cv="loso", controls=(), baselines=("tangent_space",),
                              out=str(out), **section.extra)).run_dir


def _name(name: str) -> str:
    return NAMES.get(name, name)


def _short(name: str) -> str:
    return _name(name).split(": ", 1)[-1]


def _cell(report: dict, metric: str) -> str:
    value = report.get(metric)
    if value is None:
        return "n/a"
    low, high = report.get("ci95", {}).get(metric, (None, None))
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{value:.3f}"


def _runs(run_dir: Path, results: dict) -> list[tuple[int, dict]]:
    """(seed, results) of every repeat, the run's own first."""
    repeats = results.get("repeats")
    if not repeats:
        config = json.loads((run_dir / "config.json").read_text())["config"]
        return [(config["seed"], results)]
    return [(seed, results if where == "." else json.loads((run_dir / where / "results.json").read_text()))
            for seed, where in zip(repeats["seeds"], repeats["run_dirs"])]


def _choices(results: dict) -> str:
    counts: dict[str, int] = {}
    for entry in results.get("selection", {}).get("per_fold", []):
        label = ", ".join(f"{k}={_value(v)}" for k, v in entry["settings"].items())
        counts[label] = counts.get(label, 0) + 1
    return "; ".join(f"{label} ({n} fold{'s' if n > 1 else ''})" for label, n in counts.items()) or "no selection"


def _value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _mean(runs: list[tuple[int, dict]], name: str, level: str, metric: str) -> float | None:
    values = [r["models"].get(name, {}).get(level, {}).get(metric) for _, r in runs]
    return None if any(v is None for v in values) else sum(values) / len(values)


def _levels(results: dict) -> tuple[str, ...]:
    """The levels a run scores: windows, then recordings or subjects (none for labels per window)."""
    for level in ("recording", "subject"):
        if any(level in m for m in results["models"].values()):
            return "window", level
    return ("window",)


def _difference(entry: dict) -> str:
    low, high = entry["ci95"]
    return f"{entry['mean_difference']:+.3f} [{low:+.3f}, {high:+.3f}] **{entry['verdict']}**"


def _detectable(entry: dict) -> str:
    delta = entry.get("detectable_difference")
    if "detectable_difference" not in entry:
        return "n/a"
    return f"cannot be tested (n = {entry['n_subjects']})" if delta is None else f"{delta:.3f}"


def render(run_dir: Path, seconds: float | None, title: str = "") -> str:
    """The markdown of one task's results, from a finished run directory."""
    results = json.loads((run_dir / "results.json").read_text())
    runs = _runs(run_dir, results)
    seeds = [seed for seed, _ in runs]
    config = json.loads((run_dir / "config.json").read_text())["config"]
    selection = results.get("selection")
    names = list(results["models"])
    levels = _levels(results)
    command = _command(config, runs)
    lines = [f"### {title}", ""] if title else []
    lines += [
        f"From `{command}`: every other setting at its default ({config['features']} of {len(config['bands'])} "
        f"bands, {results['n_folds']} folds by subject), {results['n_subjects']} subjects, {results['n_windows']} "
        f"windows, {len(runs)} fold assignment{'s' if len(runs) > 1 else ''} (seed{'s' if len(runs) > 1 else ''} "
        f"{', '.join(map(str, seeds))})."
        + (f" The run took {seconds / 60:.1f} minutes on this machine (2 CPU cores)." if seconds else ""),
        "",
    ]
    if selection:
        grid = "; ".join(f"`{k}` in {', '.join(map(_value, v))}" for k, v in selection["settings"].items())
        lines += [
            f"**Nested selection.** In every outer fold the graph model was chosen among "
            f"{len(selection['candidates'])} candidates ({grid}) by an inner {selection['inner_folds']}-fold "
            f"cross-validation by subject on that fold's training subjects only (window "
            f"{selection['metric'].replace('_', ' ')}); only the chosen one was tested, and its controls are the "
            "same model on the control graphs. Chosen per seed: "
            + " | ".join(f"seed {seed}: {_choices(r)}" for seed, r in runs) + ".",
            "",
        ]
    header = " | ".join(f"{lvl} {'BA' if m == 'balanced_accuracy' else 'AUC'}" for lvl in levels for m in METRICS)
    if len(runs) > 1:
        lines += _spread_table(results, runs, levels) + [""]
    lines += ["Each seed with 95 % bootstrap intervals over subjects:", "",
              f"| model | seed | {header} |", "| --- | --- |" + " --- |" * (2 * len(levels))]
    for name in names:
        for seed, r in runs:
            cells = [_cell(r["models"][name].get(lvl, {}), metric) for lvl in levels for metric in METRICS]
            lines.append(f"| {_name(name)} | {seed} | " + " | ".join(cells) + " |")
    edges = [f"{name} (C at the edge of its grid in {n} of {len(runs) * results['n_folds']} folds)"
             for name in names if (n := _edge_folds(run_dir, runs, name))]
    if edges:
        lines += ["", "Not tuned: " + "; ".join(edges) + "."]
    pooled = {(e["against"], e["level"], e["metric"]): e
              for e in results.get("repeats", {}).get("pooled_comparisons", [])}
    lines += ["", "Paired comparisons over subjects: the graph model minus the other model (mean per-subject "
              "difference [95 % bootstrap interval], Holm-adjusted sign-flip test over subjects, verdict), within "
              "each seed" + (" and pooled (each subject's score averaged over the seeds first)" if pooled else "")
              + "; the last column is the smallest difference the "
              + ("pooled" if pooled else "") + " comparison could detect at 80 % power:", "",
              "| graph model vs | level | metric | " + " | ".join(f"seed {s}" for s in seeds)
              + (" | pooled over seeds" if pooled else "") + " | detectable |",
              "| --- | --- | --- |" + " --- |" * (len(seeds) + bool(pooled) + 1)]
    for entry in results.get("comparisons", []):
        key = (entry["against"], entry["level"], entry["metric"])
        matches = [next((e for e in r["comparisons"] if (e["against"], e["level"], e["metric"]) == key), None)
                   for _, r in runs]
        cells = [_difference(m) if m else "n/a" for m in matches]
        both = pooled.get(key)
        if pooled:
            cells.append(_difference(both) if both else "n/a")
        cells.append(_detectable(both or entry))
        metric = "BA" if entry["metric"] == "balanced_accuracy" else "AUC"
        lines.append(f"| {_name(entry['against'])} | {entry['level']} | {metric} | " + " | ".join(cells) + " |")
    lines += ["", _goal_of(runs, levels, pooled, config)]
    return "\n".join(lines)


def render_summary(run_dir: Path, seconds: float | None, title: str, page: str) -> str:
    """The README's few lines for one task: every model's mean ± sd over the seeds beside its pooled paired
    comparison with the graph model (window balanced accuracy) and what that comparison could detect, then the
    goal paragraph."""
    results = json.loads((run_dir / "results.json").read_text())
    runs = _runs(run_dir, results)
    config = json.loads((run_dir / "config.json").read_text())["config"]
    levels = _levels(results)
    pooled = {(e["against"], e["level"], e["metric"]): e
              for e in results.get("repeats", {}).get("pooled_comparisons", [])}
    comparisons = pooled or {(e["against"], e["level"], e["metric"]): e for e in results.get("comparisons", [])}
    header = " | ".join(f"{lvl} {'BA' if m == 'balanced_accuracy' else 'AUC'}" for lvl in levels for m in METRICS)
    lines = [f"### {title}", "",
             f"`{_command(config, runs)}`: {results['n_subjects']} subjects, {results['n_windows']} windows, "
             f"{results['n_folds']} folds by subject, "
             + (f"mean ± sd over seeds {', '.join(str(seed) for seed, _ in runs)}" if len(runs) > 1
                else "95 % intervals over subjects")
             + (f", {seconds / 60:.0f} minutes on 2 CPU cores" if seconds else "")
             + "; the last columns pair each model with the graph model over subjects (window BA, each subject's "
             "score averaged over the seeds; Holm-adjusted sign-flip verdict) and give the smallest difference "
             f"that comparison detects at 80 % power. Per seed, with intervals: [{page}]({page}).", "",
             f"| model | {header} | graph minus model | detectable |", "| --- |" + " --- |" * (2 * len(levels) + 2)]
    for name in results["models"]:
        cells = []
        for lvl in levels:
            for metric in METRICS:
                spread = results.get("repeats", {}).get("models", {}).get(name, {}).get(lvl, {}).get(metric)
                cells.append(f"{spread['mean']:.3f} ± {spread['sd']:.3f}" if spread
                             else _cell(results["models"][name].get(lvl, {}), metric))
        entry = comparisons.get((name, "window", "balanced_accuracy"))
        cells += [_difference(entry) if entry else "", _detectable(entry) if entry else ""]
        lines.append(f"| {_name(name)} | " + " | ".join(cells) + " |")
    chosen = _chosen_models(runs)
    if chosen:
        lines += ["", f"Chosen in the folds (nested selection on training subjects only): {chosen}."]
    lines += ["", _goal_of(runs, levels, pooled, config)]
    return "\n".join(lines)


def _chosen_models(runs: list[tuple[int, dict]]) -> str:
    """How often nested selection chose each model over every fold of every seed, most often first."""
    counts: dict[str, int] = {}
    for _, r in runs:
        for entry in r.get("selection", {}).get("per_fold", []):
            model = entry["settings"].get("model", "the grid's only model")
            counts[model] = counts.get(model, 0) + 1
    total = sum(counts.values())
    return ", ".join(f"`{model}` in {n} of {total} folds" for model, n in
                     sorted(counts.items(), key=lambda item: -item[1]))


def _command(config: dict, runs: list) -> str:
    grid = Path(config["select"]) if config.get("select") else None
    return (f"eeg-gnn train --task {config['task']}"
            + (f" --select {grid.relative_to(ROOT) if grid.is_relative_to(ROOT) else grid}" if grid else "")
            + (f" --repeats {len(runs)}" if len(runs) > 1 else "")
            + (f" --align {config['align']}" if config.get("align", "none") != "none" else ""))


def _spread_table(results: dict, runs: list, levels: tuple[str, str]) -> list[str]:
    """Every model's scores: mean ± sd over the seeds (range), or with its interval when there is one seed."""
    header = " | ".join(f"{lvl} {'BA' if m == 'balanced_accuracy' else 'AUC'}" for lvl in levels for m in METRICS)
    lines = [(f"Mean ± standard deviation over the {len(runs)} seeds (range over seeds):" if len(runs) > 1 else
              "With 95 % bootstrap intervals over subjects:"), "", f"| model | {header} |", "| --- |" + " --- |" * (2 * len(levels))]
    for name in results["models"]:
        cells = []
        for lvl in levels:
            for metric in METRICS:
                spread = results.get("repeats", {}).get("models", {}).get(name, {}).get(lvl, {}).get(metric)
                cells.append(f"{spread['mean']:.3f} ± {spread['sd']:.3f} ({spread['min']:.3f}-{spread['max']:.3f})"
                             if spread else _cell(results["models"][name].get(lvl, {}), metric))
        lines.append(f"| {_name(name)} | " + " | ".join(cells) + " |")
    return lines


def _edge_folds(run_dir: Path, runs: list[tuple[int, dict]], name: str) -> int:
    """How many folds of the runs chose a baseline's C at an edge of its grid (``at_grid_edge`` in results)."""
    count = 0
    for _, r in runs:
        for fold in r["models"].get(name, {}).get("inner_cv", []) or []:
            count += bool(isinstance(fold, dict) and fold.get("at_grid_edge"))
    return count


def _goal_of(runs: list[tuple[int, dict]], levels: tuple[str, ...], pooled: dict, config: dict) -> str:
    """Issue 24's goal for runs labelled per window (motor imagery), issue 20's for the others."""
    if len(levels) == 1:
        return goal(runs, "window", pooled, aligned=config.get("align", "none") != "none")
    return goal(runs, levels[-1], pooled)


def goal(runs: list[tuple[int, dict]], level: str, pooled: dict, *, aligned: bool | None = None) -> str:
    """The goal paragraph, plainly. Issue 20 (recording or subject labels): is the graph model non-inferior to
    tangent space? Issue 24 (window labels, ``aligned`` given): does the best model reach 0.60 window balanced
    accuracy, and is the graph model not worse than tangent space under the same alignment? Both: does the graph
    matter against its controls?"""
    models = runs[0][1]["models"]
    if "graph" not in models or "tangent_space" not in models:
        return ""
    if aligned is not None:
        return _imagery_goal(runs, pooled, aligned) + _controls_text(pooled)
    per_seed = {}
    for lvl in ("window", level):
        for metric in METRICS:
            per_seed[(lvl, metric)] = (_mean(runs, "graph", lvl, metric), _mean(runs, "tangent_space", lvl, metric))
    ba = pooled.get(("tangent_space", "window", "balanced_accuracy")) or next(
        (e for e in runs[0][1]["comparisons"] if (e["against"], e["level"], e["metric"])
         == ("tangent_space", "window", "balanced_accuracy")), None)
    parts = []
    met = True
    if ba:
        low = ba["ci95"][0]
        ok = ba["mean_difference"] >= MARGIN_MEAN and low >= MARGIN_LOW
        met &= ok
        parts.append(f"the pooled paired window balanced-accuracy difference is {ba['mean_difference']:+.3f} "
                     f"(95 % lower bound {low:+.3f}; margins {MARGIN_MEAN:+.2f} and {MARGIN_LOW:+.2f}: "
                     f"{'met' if ok else 'missed'})")
    for lvl in ("window", level):
        graph_auc, tangent_auc = per_seed[(lvl, "roc_auc")]
        if graph_auc is None or tangent_auc is None:
            continue
        ok = graph_auc >= tangent_auc - MARGIN_AUC
        met &= ok
        parts.append(f"{lvl} ROC AUC {graph_auc:.3f} vs {tangent_auc:.3f} ({'within' if ok else 'not within'} "
                     f"{MARGIN_AUC})")
    text = (f"**Goal (issue 20): non-inferior to tangent space — {'met' if met else 'not met'}.** Mean over seeds, "
            + "; ".join(parts) + ".")
    return text + _controls_text(pooled)


def _imagery_goal(runs: list[tuple[int, dict]], pooled: dict, aligned: bool) -> str:
    means = {name: _mean(runs, name, "window", "balanced_accuracy") for name in runs[0][1]["models"]}
    best = max(means, key=lambda name: means[name])
    entry = pooled.get(("tangent_space", "window", "balanced_accuracy"))
    versus = (f"the graph model minus tangent space {entry['mean_difference']:+.3f} [{entry['ci95'][0]:+.3f}, "
              f"{entry['ci95'][1]:+.3f}], {entry['verdict']}" if entry else "")
    not_worse = entry is not None and entry["ci95"][0] >= MARGIN_LOW
    return (f"**Goal (issue 24){' under alignment' if aligned else ', without alignment'}:** the best model is "
            f"{_name(best)} at {means[best]:.3f} window balanced accuracy (goal >= 0.60: "
            f"{'met' if means[best] >= 0.60 else 'missed'}); {versus} (not worse, lower bound >= {MARGIN_LOW:+.2f}: "
            f"{'met' if not_worse else 'missed'}).")


def _controls_text(pooled: dict) -> str:
    """Whether the graph model beat each of its controls (pooled window BA), with what could be detected."""
    text = ""
    controls = []
    for control in CONTROLS:
        entry = pooled.get((control, "window", "balanced_accuracy"))
        if entry is None:
            continue
        detect = entry.get("detectable_difference")
        can = (f"differences below {detect:.3f} cannot be detected with {entry['n_subjects']} subjects"
               if detect is not None else f"cannot be tested with n = {entry['n_subjects']}")
        controls.append(f"{_short(control)}: {entry['mean_difference']:+.3f}, {entry['verdict']} ({can})")
    if controls:
        beaten = [c for c in CONTROLS if (e := pooled.get((c, "window", "balanced_accuracy")))
                  and e["verdict"] == "better"]
        graph_controls = [c for c in ("graph_shuffled", "graph_rewired") if (c, "window", "balanced_accuracy") in pooled]
        text += (" Against its controls (pooled window balanced accuracy): " + "; ".join(controls) + ". ")
        if graph_controls and all(c in beaten for c in graph_controls):
            text += "The graph model beats the same model on shuffled and rewired graphs: which electrodes are joined matters here."
        else:
            text += ("The graph model does not beat the same model on "
                     + " and ".join(f"a {_short(c)}" for c in graph_controls if c not in beaten)
                     + ": these results do not show that its particular graph (which electrodes are joined) matters.")
    return text


def render_loso(run_dir: Path) -> str:
    """One row per model of a leave-one-subject-out run (subject-level accuracy and balanced accuracy)."""
    results = json.loads((run_dir / "results.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())["config"]
    level = _levels(results)[-1]
    lines = [f"Leave one subject out (`eeg-gnn train --task {config['task']} --cv loso --controls none "
             f"--baselines tangent_space`: the default configuration, no selection; {results['n_subjects']} folds). "
             "The published subject-wise figure for this cohort is about 77 % accuracy.", "",
             f"| model | {level} accuracy | {level} BA | {level} AUC |", "| --- | --- | --- | --- |"]
    for name, report in results["models"].items():
        scores = report.get(level, {})
        lines.append(f"| {_name(name)} | {_cell(scores, 'accuracy')} | "
                     f"{_cell(scores, 'balanced_accuracy')} | {_cell(scores, 'roc_auc')} |")
    return "\n".join(lines)


def replace_section(readme: Path, section: str) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} markers to replace.")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{section}\n{END}{tail}")


def _seconds(run_dir: Path, measured: float | None) -> float | None:
    return measured if measured is not None else json.loads((run_dir / "results.json").read_text()).get("seconds")


ALIGNED = ("the same, each subject re-centred on its own unlabelled data (`--align subject`; transductive: it uses "
           "the test subjects' unlabelled windows, never their labels)")


def build_task(section: Section, args, runs: dict[str, Path]) -> tuple[str, str]:
    """Train (or read) the runs of one task; return its README summary and its full documentation page."""
    out = args.out / section.task
    page = f"docs/results/{section.task}.md"

    def run(key: str, make) -> tuple[Path, float | None]:
        if key in runs:
            return runs[key], _seconds(runs[key], None)
        started = time.time()
        run_dir = make()
        return run_dir, time.time() - started

    run_dir, seconds = run(section.task, lambda: train(section, args.repeats, out))
    summary = render_summary(run_dir, seconds, section.title, page)
    full = f"# {section.title}\n\n" + render(run_dir, seconds)
    if section.aligned:
        aligned, seconds = run(f"{section.task}_aligned",
                               lambda: train(section, args.repeats, out / "aligned", align="subject"))
        heading = ALIGNED[0].upper() + ALIGNED[1:]
        summary += "\n\n" + render_summary(aligned, seconds, "Aligned", page).replace(
            "### Aligned", f"#### {heading}", 1)
        full += f"\n\n## {heading}\n\n" + render(aligned, seconds)
    if section.loso:
        loso, _ = run(f"{section.task}_loso", lambda: train_loso(section, out / "loso"))
        summary += "\n\n" + render_loso(loso)
        full += "\n\n## Leave one subject out\n\n" + render_loso(loso)
    return summary, full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(SECTIONS),
                        help=f"comma-separated tasks to train and render (default: {','.join(SECTIONS)})")
    parser.add_argument("--run", action="append", default=[], metavar="KEY=RUN_DIR",
                        help="a finished run to render instead of training: KEY is a task, TASK_loso or "
                             "TASK_aligned (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="fold assignments (default: 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "readme", help="parent of the run directories")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--docs", type=Path, default=DOCS, help="folder of the full results pages (default: "
                        "docs/results)")
    args = parser.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in SECTIONS]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; choose among {', '.join(SECTIONS)}")
    runs = {}
    for item in args.run:
        key, _, path = item.partition("=")
        if not path:
            parser.error(f"--run takes KEY=RUN_DIR, got {item!r}")
        runs[key] = Path(path)
    args.out.mkdir(parents=True, exist_ok=True)
    args.docs.mkdir(parents=True, exist_ok=True)
    started = time.time()
    for task in tasks:
        summary, full = build_task(SECTIONS[task], args, runs)
        (args.out / f"{task}.md").write_text(summary + "\n")
        (args.docs / f"{task}.md").write_text(full + "\n")
        print(f"{task}: {args.out / f'{task}.md'} and {args.docs / f'{task}.md'} written "
              f"({time.time() - started:.0f} s so far)")
    parts = [(args.out / f"{task}.md").read_text().rstrip() for task in SECTIONS if (args.out / f"{task}.md").exists()]
    replace_section(args.readme, "\n\n".join(parts))
    print(f"{args.readme}: results section regenerated from {len(parts)} task section(s) in {args.out}; "
          f"took {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
