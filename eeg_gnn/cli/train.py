"""Train a graph neural network on EEG graphs with cross-validation split by subject.

Examples
--------
    eeg-gnn train --task workload                     # EEGMAT rest vs arithmetic: Chebyshev on alpha PLV graphs
    eeg-gnn train --task workload --model gcn --graph distance
    eeg-gnn train --task workload --cv loso
    eeg-gnn train --config examples/workload.toml     # an experiment file; flags override it
    eeg-gnn train --config runs/RUN/config.toml       # rerun a run exactly
    eeg-gnn train --task schizophrenia                # MSU adolescents (eeg-gnn fetch msu)
    eeg-gnn train --task schizophrenia --dataset folder --data-dir DIR   # your recordings + participants.tsv

(``python train.py`` in a checkout is the same command.) Every run writes a new directory under --out with
config.json and config.toml (the resolved experiment file), folds.csv, predictions.csv, results.json, TensorBoard
logs (tensorboard --logdir RUN_DIR/tensorboard) and one checkpoint per fold. The graph model is always reported
next to a non-graph baseline scored on the same folds.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING

from eeg_gnn.cli import argument_type, run_cli

#: Flags whose text a plain type cannot parse, by the field's annotation.
_TYPES = {"int": int, "float": float, "str": str}


def _flag(name: str, spec) -> str:
    return spec.metadata["flag"] or "--" + name.replace("_", "-")


def _value_type(spec):
    """The flag's parser: the setting's type; for a setting that can be off (``| None``), ``none`` turns it off."""
    hint = str(spec.type)
    parse = next((parse for word, parse in _TYPES.items() if hint.startswith(word)), str)
    if not hint.endswith("| None"):
        return parse

    def parse_or_none(text: str):
        return None if text.strip().lower() == "none" else parse(text)

    parse_or_none.__name__ = parse.__name__
    return parse_or_none


def build_parser(prog: str = "eeg-gnn train") -> argparse.ArgumentParser:
    """The flags, one per :class:`~eeg_gnn.pipeline.config.TrainConfig` setting, grouped by experiment-file section.

    Defaults are not set on the parser (only given flags are in the parsed namespace), so that a flag overrides an
    experiment file and the defaults apply last.
    """
    from eeg_gnn.pipeline.config import SECTIONS, config_fields

    parser = argparse.ArgumentParser(prog=prog, description=__doc__, argument_default=argparse.SUPPRESS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE", help="experiment file (TOML) with settings by section; flags "
                                                         "given as well override it")
    groups = {section: parser.add_argument_group(section) for section in SECTIONS}
    for name, spec in config_fields().items():
        meta = spec.metadata
        default = spec.default_factory() if spec.default is MISSING else spec.default
        flag = _flag(name, spec)
        if isinstance(default, bool):
            groups[meta["section"]].add_argument(flag, dest=name, action="store_const", const=not default,
                                                 help=meta["help"])
            continue
        choices = meta["choices"]() if callable(meta["choices"]) else meta["choices"]
        parse = argument_type(meta["parse"]) if meta["parse"] else _value_type(spec)
        help_text = meta["help"].replace("%(default)s", str(default)).replace("%", "%%")
        groups[meta["section"]].add_argument(flag, dest=name, type=parse, choices=choices, metavar=meta["metavar"],
                                             help=help_text)
    return parser


def config_from_args(args: argparse.Namespace):
    """The run's settings: defaults, then the experiment file, then the flags given."""
    from eeg_gnn.pipeline.config import TrainConfig

    values = {k: v for k, v in vars(args).items() if k != "config"}
    config_file = getattr(args, "config", None)
    if config_file:
        return TrainConfig.from_toml(config_file, **values)
    return TrainConfig(**values)


def main(argv: list[str] | None = None, prog: str = "eeg-gnn train") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    def job() -> str:
        config = config_from_args(args)
        from eeg_gnn.data.datasets import has_descriptor

        if has_descriptor(config.dataset):  # a missing dataset is said before torch is imported (seconds)
            from eeg_gnn.data.fetch import ensure_dataset

            ensure_dataset(config.dataset, config.data_dir, download=config.download, progress=config.progress)
        from eeg_gnn.pipeline.experiment import run_cv

        return run_cv(config).summary()

    return run_cli(job, parser.prog)
