"""Train a graph neural network on EEG graphs with cross-validation split by subject.

Examples
--------
    python train.py --task workload                       # EEGMAT rest vs arithmetic: Chebyshev on alpha PLV graphs
    python train.py --task workload --model cheb --graph plv
    python train.py --task workload --cv loso
    python train.py --task schizophrenia                  # MSU adolescents (python -m eeg_gnn fetch msu)
    python train.py --task schizophrenia --dataset folder --data-dir DIR   # your recordings + participants.tsv

Every run writes a new directory under --out with config.json, folds.csv, predictions.csv, results.json,
TensorBoard logs (tensorboard --logdir RUN_DIR/tensorboard) and one checkpoint per fold. The graph model is always
reported next to a non-graph baseline (logistic regression on the same features) scored on the same folds.
"""

from __future__ import annotations

import argparse
import sys

from eeg_gnn.cli import argument_type, run_cli
from eeg_gnn.config import GRAPHS, TASKS, TrainConfig
from eeg_gnn.cv import CV_METHODS
from eeg_gnn.datasets import available_datasets
from eeg_gnn.extraction import GRAPH_SCOPES
from eeg_gnn.features import FEATURE_KINDS, parse_bands
from eeg_gnn.models import MODELS

DEFAULTS = TrainConfig.__dataclass_fields__


def _default(name: str):
    field = DEFAULTS[name]
    return field.default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--task", default="workload", choices=sorted(TASKS),
                      help="what to classify; picks the default dataset: "
                           + ", ".join(f"{t} -> {d}" for t, d in TASKS.items()))
    data.add_argument("--dataset", choices=available_datasets(),
                      help="dataset to use instead of the task's default; 'folder' = --data-dir with participants.tsv")
    data.add_argument("--sfreq", type=float,
                      help="sampling rate in Hz of CSV/TSV recordings in a folder dataset (they do not store it)")
    data.add_argument("--data-dir", help="folder holding the dataset's files (default: $EEG_GNN_DATA/<dataset>, "
                                         "with $EEG_GNN_DATA defaulting to ~/eeg_gnn_data)")
    pre = parser.add_argument_group("windows and features")
    pre.add_argument("--window", type=float, default=_default("window"), help="window length in seconds (default: %(default)s)")
    pre.add_argument("--overlap", type=float, default=_default("overlap"),
                     help="fraction of a window shared with the next, in [0, 1) (default: %(default)s)")
    pre.add_argument("--features", choices=FEATURE_KINDS, default=_default("features"),
                     help="node features per band: log10 absolute power, relative power or differential entropy "
                          "(default: %(default)s)")
    pre.add_argument("--bands", type=argument_type(parse_bands),
                     help="bands as name:fmin-fmax,... or default band names "
                          "(default: delta:1-4,theta:4-8,alpha:8-13,beta:13-30,gamma:30-45)")
    pre.add_argument("--resample", type=float, default=_default("resample_sfreq"),
                     help="common sampling rate in Hz (default: %(default)s)")
    pre.add_argument("--reference", choices=("average", "as-recorded"),
                     help="re-reference to the average of the nodes, or keep the recording's own reference "
                          "(default: the dataset's: as-recorded for bipolar CHB-MIT, else average)")
    pre.add_argument("--l-freq", type=float, default=_default("l_freq"),
                     help="high-pass edge of the band-pass filter in Hz (default: %(default)s)")
    pre.add_argument("--h-freq", type=float, default=_default("h_freq"),
                     help="low-pass edge of the band-pass filter in Hz (default: %(default)s)")
    pre.add_argument("--notch", type=float, help="mains frequency to notch out, e.g. 50 or 60 (default: none)")
    pre.add_argument("--reject-uv", type=float, help="drop windows exceeding this peak-to-peak amplitude in µV")
    graph = parser.add_argument_group("graph and model")
    graph.add_argument("--model", choices=MODELS, default=_default("model"),
                       help="gcn = graph convolutional network, cheb = Chebyshev spectral convolutions (default: %(default)s)")
    graph.add_argument("--graph", choices=GRAPHS, default=_default("graph"),
                       help="edges: distance = Gaussian kernel of electrode distance, knn = 4 nearest electrodes, or "
                            "functional connectivity per window: plv, wpli, dwpli (debiased squared wPLI), "
                            "coherence, correlation. wPLI from one 4 s window has few segments and is biased upwards: "
                            "prefer dwpli, --graph-scope recording or longer windows (default: %(default)s)")
    graph.add_argument("--graph-band", default=_default("graph_band"),
                       help="band the connectivity is computed in (default: %(default)s)")
    graph.add_argument("--graph-scope", choices=GRAPH_SCOPES, default=_default("graph_scope"),
                       help="connectivity per window, or averaged over each recording (default: %(default)s)")
    graph.add_argument("--top-k", type=int, help="keep each node's k strongest edges (default: all)")
    graph.add_argument("--hidden", type=int, default=_default("hidden"), help="hidden channels (default: %(default)s)")
    graph.add_argument("--layers", type=int, default=_default("layers"), help="graph layers (default: %(default)s)")
    graph.add_argument("--cheb-k", type=int, default=_default("cheb_k"), help="Chebyshev order K (default: %(default)s)")
    graph.add_argument("--dropout", type=float, default=_default("dropout"), help="dropout (default: %(default)s)")
    fit = parser.add_argument_group("cross-validation and training")
    fit.add_argument("--cv", choices=CV_METHODS,
                     help="group-kfold = stratified group k-fold by subject; loso = leave one subject out; "
                          "time-blocks = contiguous time blocks of one patient's recording (within-patient only); "
                          "within-subject = SEED's clips 1-9 train, 10-15 test "
                          "(default: the dataset's protocol: time-blocks for umich_seizure, loso for SEED/DEAP, "
                          "else group-kfold)")
    fit.add_argument("--folds", type=int, default=_default("folds"), help="folds for group-kfold (default: %(default)s)")
    fit.add_argument("--epochs", type=int, default=_default("epochs"),
                     help="maximum epochs; early stopping on validation subjects picks the best (default: %(default)s)")
    fit.add_argument("--patience", type=int, default=_default("patience"),
                     help="epochs without validation improvement before stopping (default: %(default)s)")
    fit.add_argument("--batch-size", type=int, default=_default("batch_size"), help="(default: %(default)s)")
    fit.add_argument("--lr", type=float, default=_default("lr"), help="Adam learning rate (default: %(default)s)")
    fit.add_argument("--weight-decay", type=float, default=_default("weight_decay"), help="(default: %(default)s)")
    fit.add_argument("--seed", type=int, default=_default("seed"),
                     help="seed for folds, initialisation and batches; same seed, same results (default: %(default)s)")
    fit.add_argument("--device", default=_default("device"), help="cpu, cuda, cuda:N or mps (default: %(default)s)")
    fit.add_argument("--threads", type=int, default=_default("threads"),
                     help="CPU threads for torch; EEG graphs are small, and more threads mostly add "
                          "synchronisation cost (default: %(default)s)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", default=_default("out"), help="parent folder of run directories (default: %(default)s)")
    out.add_argument("--no-cache", action="store_true", help="recompute features instead of using the cache "
                                                            "($EEG_GNN_CACHE, default ~/.cache/eeg_gnn)")
    out.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = dict(
        task=args.task, dataset=args.dataset, data_dir=args.data_dir, model=args.model, graph=args.graph,
        graph_band=args.graph_band, graph_scope=args.graph_scope, top_k=args.top_k, features=args.features,
        window=args.window, overlap=args.overlap, resample_sfreq=args.resample, notch=args.notch,
        reference=args.reference, l_freq=args.l_freq, h_freq=args.h_freq, sfreq=args.sfreq,
        reject_uv=args.reject_uv, folds=args.folds, cv=args.cv, epochs=args.epochs, patience=args.patience,
        batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, hidden=args.hidden,
        layers=args.layers, cheb_k=args.cheb_k, dropout=args.dropout, seed=args.seed, device=args.device, threads=args.threads,
        out=args.out, use_cache=not args.no_cache, progress=not args.quiet,
    )
    if args.bands is not None:
        values["bands"] = args.bands
    return TrainConfig(**values)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def job() -> str:
        from eeg_gnn.experiment import run_cv

        return run_cv(config_from_args(args)).summary()

    return run_cli(job, parser.prog)


if __name__ == "__main__":
    sys.exit(main())
