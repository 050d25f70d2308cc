"""Everything a training run depends on, defined once: a dataclass saved as ``config.json`` and ``config.toml``.

Each setting is a field with its help text, its section of the experiment file and, where the name differs, its
command-line flag; ``train.py``'s flags and the TOML sections are generated from these fields, so a setting is
written in one place. An experiment file holds some settings by section::

    [data]
    task = "workload"

    [graph]
    graph = "plv"
    graph_band = "alpha"

Flags override the file; the file overrides the defaults. TOML has no null: a setting that is off (``notch``,
``top_k`` ...) is written ``"none"``.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from eeg_gnn.data.datasets import ON_MISSING
from eeg_gnn.data.extraction import GRAPH_SCOPES, FeatureSpec
from eeg_gnn.evaluation.splitters import CV_METHODS, PROTOCOLS
from eeg_gnn.evaluation.thresholds import THRESHOLD_METHODS
from eeg_gnn.models.catalog import (
    BACKENDS,
    BASELINES,
    DEFAULT_BASELINES,
    ESTIMATOR_MODELS,
    MODELS,
    NODE_FEATURES,
    OWN_GENERATOR_DEVICES,
    READOUTS,
    needs_covariance,
)
from eeg_gnn.signal.events import check_epoch, parse_epoch, parse_event_labels
from eeg_gnn.signal.features import DEFAULT_BANDS, FEATURE_KINDS, check_bands, parse_bands
from eeg_gnn.signal.graph import CONNECTIVITY_METHODS, CONTROLS
from eeg_gnn.signal.headers import ON_TRUNCATED
from eeg_gnn.signal.io import TEXT_UNITS
from eeg_gnn.signal.preprocessing import Preprocessing
from eeg_gnn.signal.quality import (
    BAD_CHANNEL_POLICIES,
    CLIPPING,
    MAX_BAD_FRACTION,
    SATURATED_FRACTION,
)
from eeg_gnn.utils.parallel import PREFER, Executor
from eeg_gnn.utils.validation import check_option, check_positive

TASKS = {
    "workload": "eegmat",
    "schizophrenia": "msu",
    "seizure": "chbmit",
    "emotion": "seed",
    "motor_imagery": "eegmmidb",
}
#: ``--align``: none, or each subject re-centred on its own unlabelled windows (see :mod:`eeg_gnn.signal.alignment`).
ALIGNMENTS = ("none", "subject")
DISTANCE_GRAPHS = ("distance", "knn")
GRAPHS = DISTANCE_GRAPHS + CONNECTIVITY_METHODS
#: Settings of a run that may be changed when applying it to new recordings (``evaluate.py RUN --data-dir``): how
#: they are read and listed, and what to do with bad channels.
APPLY_SETTINGS = ("sfreq", "units", "scale", "on_truncated", "bad_channels", "clipping", "rail_uv",
                  "saturated_fraction", "max_bad_fraction", "label_column", "subject_column", "file_column",
                  "on_missing")
#: Settings added with a new default after runs were saved without them: the value those runs used.
LEGACY_VALUES = {"readout": "pool", "refit": False}
SECTIONS = ("data", "preprocessing", "features", "graph", "model", "training", "evaluation", "execution", "output")
NONE = "none"


def setting(default: Any, help: str, section: str, *, flag: str | None = None, choices=None, parse=None,
            metavar: str | None = None) -> Any:
    """A :class:`TrainConfig` field with what its flag and its experiment-file entry need.

    Parameters
    ----------
    default : object
        The default value; a dict is copied for every config.
    help : str
        What the setting means, shown by ``--help``; ``%(default)s`` is filled in.
    section : str
        One of :data:`SECTIONS`: the TOML table it belongs to and the group of its flag.
    flag : str, optional
        The flag, when it is not ``--<name with dashes>``; a flag starting ``--no-`` (or ``--quiet``) turns a
        ``True`` default off.
    choices : sequence or callable, optional
        The allowed values (a callable is called when the parser is built).
    parse : callable, optional
        Turns the flag's text into the value (e.g. the band list).
    """
    metadata = {"help": help, "section": check_option("section", section, SECTIONS), "flag": flag,
                "choices": choices, "parse": parse, "metavar": metavar}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def parse_names(text: str) -> tuple[str, ...]:
    """``'a,b'`` as ``('a', 'b')``; ``'none'`` or nothing as ``()``."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    return () if names == (NONE,) else names


def _node_sets() -> tuple[str, ...]:
    from eeg_gnn.signal.montage import node_sets

    return tuple(node_sets()) + tuple(node_sets(bipolar=True))


def _datasets() -> list[str]:
    from eeg_gnn.data.datasets import available_datasets

    return available_datasets()


@dataclass
class TrainConfig:
    """A cross-validated training run. Defaults are the project's recommended configuration.

    Every parameter is a setting of ``train.py`` (``python train.py --help`` explains each one) and of the
    experiment file (``train.py --config FILE``).
    """

    task: str = setting("workload", "what to classify; picks the default dataset: "
                        + ", ".join(f"{t} -> {d}" for t, d in TASKS.items()), "data", choices=tuple(TASKS))
    dataset: str | None = setting(None, "dataset to use instead of the task's default; 'folder' = --data-dir with "
                                  "participants.tsv; 'bids' = --data-dir is the root of a BIDS dataset", "data",
                                  choices=_datasets)
    data_dir: str | None = setting(None, "folder holding the dataset's files (default: $EEG_GNN_DATA/<dataset>, "
                                   "with $EEG_GNN_DATA defaulting to ~/eeg_gnn_data)", "data")
    sfreq: float | None = setting(None, "sampling rate in Hz of CSV/TSV recordings in a folder dataset (they do not "
                                  "store it)", "data")
    units: str = setting("uV", "unit of the numbers in CSV/TSV recordings (default: %(default)s)", "data",
                         choices=tuple(TEXT_UNITS))
    scale: float = setting(1.0, "multiply the samples of every recording by this factor, for files whose header "
                           "names the wrong unit (1e6 for volts labelled as microvolts) (default: %(default)s)",
                           "data")
    on_truncated: str = setting("raise", "an EDF/BDF recording shorter than its header declares: raise = refuse "
                                "it, warn = use the data records it holds and record that in config.json "
                                "(default: %(default)s)", "data", choices=ON_TRUNCATED)
    download: bool = setting(True, "do not download a missing open dataset on first use (also "
                             "EEG_GNN_NO_DOWNLOAD=1); by default the open MSU, RepOD and EEGMAT data are downloaded "
                             "into $EEG_GNN_DATA (verified, atomic) when they are not there", "data",
                             flag="--no-download")
    label_column: str | None = setting(None, "folder or bids dataset: the participants table's label column "
                                       "(default: the first named label, group, diagnosis or class)", "data",
                                       metavar="COLUMN")
    subject_column: str | None = setting(None, "folder dataset: the participants table's subject column (default: "
                                         "the first named participant_id, subject, subject_id or id)", "data",
                                         metavar="COLUMN")
    file_column: str | None = setting(None, "folder dataset: the participants table's column of recording paths, "
                                      "relative to --data-dir (default: file, path, recording or filename if "
                                      "present; else subject ids are matched in file names)", "data",
                                      metavar="COLUMN")
    task_label: str | None = setting(None, "bids dataset: where the classes come from: participants = the "
                                     "participants.tsv column of --label-column, task = each recording's BIDS task "
                                     "(task-rest against task-arithmetic), events = the trial_type of each recording's "
                                     "events.tsv, per window (default: participants.tsv's label column if it has "
                                     "one, else task when there are several tasks, else events)", "data",
                                     choices=("participants", "task", "events"))
    on_missing: str = setting("raise", "folder dataset: subjects listed without a recording and recordings of no "
                              "listed subject: raise = refuse the cohort naming them, warn = leave them out, list "
                              "them and record them in config.json (default: %(default)s)", "data",
                              choices=ON_MISSING)
    event_labels: dict[str, str] | None = setting(
        None, "labels from the recordings' annotations instead of one label per recording: DESCRIPTION=CLASS,... "
        "(e.g. T1=left,T2=right; several descriptions may share a class); any dataset or folder cohort (its "
        "participants table then needs no label column) (default: the dataset's, e.g. eegmmidb's T1=left,T2=right)",
        "data", parse=parse_event_labels, metavar="EVENTS")
    nodes: str | None = setting(None, "node set, e.g. 10-20 (19 electrodes) or 10-10-64 (the 64 electrodes of the "
                                "10-10 system that eegmmidb records); montages/node_sets.json lists them (default: "
                                "the dataset's)", "data", choices=_node_sets)
    epoch: tuple[float, float] | None = setting(
        None, "event-locked windows: TMIN,TMAX seconds after each annotated event of --event-labels (e.g. 0.5,4.0), "
        "one window per event, instead of consecutive --window windows; the length never comes from the "
        "annotation's duration (default: the dataset's, e.g. eegmmidb's 0.5,4.0)", "preprocessing",
        parse=parse_epoch, metavar="TMIN,TMAX")
    window: float = setting(4.0, "window length in seconds (default: %(default)s)", "preprocessing")
    overlap: float = setting(0.0, "fraction of a window shared with the next, in [0, 1) (default: %(default)s)",
                             "preprocessing")
    l_freq: float | None = setting(1.0, "high-pass edge of the band-pass filter in Hz (default: %(default)s)",
                                   "preprocessing")
    h_freq: float | None = setting(45.0, "low-pass edge of the band-pass filter in Hz (default: %(default)s)",
                                   "preprocessing")
    notch: float | None = setting(None, "mains frequency to notch out, e.g. 50 or 60 (default: none)",
                                  "preprocessing")
    resample_sfreq: float | None = setting(128.0, "common sampling rate in Hz (default: %(default)s)",
                                           "preprocessing", flag="--resample")
    reference: str | None = setting(None, "re-reference to the average of the nodes, or keep the recording's own "
                                    "reference (default: the dataset's: as-recorded for bipolar CHB-MIT, else "
                                    "average)", "preprocessing", choices=("average", "as-recorded"))
    reject_uv: float | None = setting(None, "drop windows exceeding this peak-to-peak amplitude in µV "
                                      "(default: none)", "preprocessing")
    flat_uv: float = setting(0.01, "drop windows in which a node varies less than this many µV peak to peak; 0 "
                             "keeps them (default: %(default)s)", "preprocessing")
    bad_channels: str = setting("raise", "a recording with flat, saturated (clipped) or implausible (peak to peak "
                                "below 0.1 µV or above 10 mV) nodes, nodes 10 times below or above the others or "
                                "near copies of another (before re-referencing): raise = refuse it, drop-recording = leave it "
                                "out, interpolate = rebuild those nodes from the others (MNE's spherical splines on "
                                "the montage positions), interpolate-or-drop = rebuild them where at most "
                                "--max-bad-fraction of the nodes are bad and leave the other recordings out; every "
                                "recording affected is listed in the summary and config.json (default: "
                                "%(default)s)", "preprocessing", choices=BAD_CHANNEL_POLICIES)
    clipping: str = setting("channel", "judge clipping per channel (a node at its rail in --saturated-fraction of "
                            "its samples is a bad node) or per window (reject each window in which a node sits at its "
                            "rail, keep the rest; every recording's count is listed) (default: %(default)s)",
                            "preprocessing", choices=CLIPPING)
    rail_uv: float | None = setting(None, "the amplifier's rail in µV, e.g. 325: samples at or beyond it are clipped "
                                    "(default: none = a node's own minimum or maximum held for 3 samples or more)",
                                    "preprocessing")
    saturated_fraction: float = setting(SATURATED_FRACTION, "--clipping channel: share of a node's samples at its "
                                        "rail from which it is a bad (saturated) node (default: %(default)s)",
                                        "preprocessing")
    max_bad_fraction: float = setting(MAX_BAD_FRACTION, "largest share of a recording's nodes that interpolation "
                                      "rebuilds; beyond it interpolate refuses the recording and interpolate-or-drop "
                                      "leaves it out (default: %(default)s)", "preprocessing")
    features: str = setting("log_power", "node features per band: log10 absolute power, relative power or "
                            "differential entropy (default: %(default)s)", "features", choices=FEATURE_KINDS)
    node_features: str = setting("bands+tangent", "what each node carries into the graph model: bands = its "
                                 "--features per band; tangent = its row of every band's covariance (OAS) log-mapped "
                                 "at the Riemannian mean of the fold's training windows (what the tangent-space "
                                 "baseline uses, per electrode); bands+tangent = both (default: %(default)s, chosen "
                                 "on validation subjects: docs, Models, 'How the defaults were chosen')", "features",
                                 choices=tuple(NODE_FEATURES))
    align: str = setting("none", "label-free alignment of each subject, training and test subjects alike: subject = "
                         "re-centre each band's covariance matrices at the subject's own Riemannian mean and "
                         "standardise its band features over its own windows. It uses the test subjects' unlabelled "
                         "windows, so the evaluation is transductive (said in the summary and results); refused "
                         "where every subject has one class (default: %(default)s)", "features",
                         choices=ALIGNMENTS)
    spatial_centring: bool = setting(False, "subtract, in every window, each node feature's mean over the nodes "
                                     "(per band; no labels) before the graph model", "features")
    bands: dict[str, tuple[float, float]] = setting(
        DEFAULT_BANDS, "bands as name:fmin-fmax,... or default band names "
        "(default: delta:1-4,theta:4-8,alpha:8-13,beta:13-30,gamma:30-45)", "features", parse=parse_bands)
    graph: str = setting("plv", "edges: distance = Gaussian kernel of electrode distance, knn = 4 nearest "
                         "electrodes, or functional connectivity per window: plv, wpli, dwpli (debiased squared "
                         "wPLI), coherence, correlation. wPLI from one 4 s window has few segments and is biased "
                         "upwards: prefer dwpli, --graph-scope recording or longer windows (default: %(default)s)",
                         "graph", choices=GRAPHS)
    graph_band: str = setting("alpha", "band the connectivity is computed in (default: %(default)s)", "graph")
    graph_scope: str = setting("window", "connectivity per window, or averaged over each recording "
                               "(default: %(default)s)", "graph", choices=GRAPH_SCOPES)
    top_k: int | None = setting(None, "keep each node's k strongest edges (default: all)", "graph")
    model: str = setting("cheb", "gcn = graph convolutional network, cheb = Chebyshev spectral convolutions, "
                         "dgcnn = Chebyshev convolutions on one adjacency learned with the network, initialised "
                         "from --graph (its mean over the training windows), gat = graph attention (--heads heads, the "
                         "edge weight in the attention), gin = graph isomorphism network (edge-weighted sums), "
                         "tangent_graph = the tangent_space baseline's band covariances in the tangent space "
                         "filtered over --graph for --hops hops (SGC), then its logistic regression (C by inner CV "
                         "over training subjects) "
                         "(default: %(default)s)", "model", choices=MODELS)
    hidden: int = setting(32, "hidden channels (default: %(default)s)", "model")
    layers: int = setting(2, "graph layers (default: %(default)s)", "model")
    dropout: float = setting(0.3, "dropout (default: %(default)s)", "model")
    cheb_k: int = setting(3, "Chebyshev order K (default: %(default)s)", "model")
    hops: int = setting(2, "tangent_graph: hops K of the graph filter; its features are S^k T S^k for k = 0..K (S the "
                        "normalised adjacency with self loops, T each band's tangent matrix); 0 = the tangent_space "
                        "baseline exactly (default: %(default)s)", "model")
    adjacency_l1: float = setting(1e-3, "dgcnn: weight of the L1 penalty on the learned adjacency (its mean weighted "
                                  "degree), which keeps it sparse (default: %(default)s)", "model")
    heads: int = setting(1, "gat: attention heads of every layer, averaged; each further head costs about as much "
                         "time as the first (default: %(default)s)", "model")
    readout: str = setting("flatten", "how node embeddings become one vector per window: pool = mean and max over "
                           "the electrodes (which electrode is which is forgotten); flatten = every electrode's "
                           "embedding in montage order, concatenated (DGCNN's readout; the head then weighs each "
                           "electrode on its own) (default: %(default)s, chosen on validation subjects: docs, Models, 'How "
                           "the defaults were chosen')", "model", choices=tuple(READOUTS))
    node_embedding: int = setting(0, "size of a learned vector per electrode appended to its input features, so "
                                  "that the convolutions know which electrode is which; 0 = none "
                                  "(default: %(default)s)", "model", metavar="DIM")
    self_weight: bool = setting(False, "gcn: give each electrode's own features a weight of their own beside the "
                                "one its neighbours share, so that no graph (a control's shuffled one too) "
                                "averages them away; cheb (its order-0 term), gat and gin always have one", "model")
    cv: str | None = setting(None, "group-kfold = stratified group k-fold by subject; loso = leave one subject "
                             "out; time-blocks = contiguous time blocks of one patient's recording (within-patient "
                             "only); within-subject = SEED's clips 1-9 train, 10-15 test (default: the dataset's "
                             "protocol: time-blocks for umich_seizure, loso for SEED/DEAP, else group-kfold)",
                             "training", choices=lambda: tuple(CV_METHODS))
    folds: int = setting(5, "folds for group-kfold and time-blocks (default: %(default)s)", "training")
    val_fraction: float = setting(0.2, "share of each fold's training subjects held out for early stopping, in "
                                  "[0, 1) (default: %(default)s)", "training")
    epochs: int = setting(60, "maximum epochs; early stopping on validation subjects picks the best "
                          "(default: %(default)s)", "training")
    refit: bool = setting(True, "keep each graph model as early stopping left it, trained on the fold's fit "
                          "subjects only. By default the validation subjects choose only the number of epochs: the "
                          "graph models are then trained again on every training subject (fit and validation) for "
                          "that many epochs, as the baselines learn from every training subject, and cut at "
                          "probability 0.5 (their loss is class-weighted; no held-out subject is left to choose "
                          "another threshold)", "training", flag="--no-refit")
    patience: int = setting(15, "epochs without validation improvement before stopping (default: %(default)s)",
                            "training")
    batch_size: int = setting(64, "windows per batch, at least 2 (default: %(default)s)", "training")
    lr: float = setting(1e-3, "Adam learning rate (default: %(default)s)", "training")
    weight_decay: float = setting(1e-3, "Adam weight decay (default: %(default)s)", "training")
    seed: int = setting(0, "seed for folds, initialisation and batches; same seed, same results "
                        "(default: %(default)s)", "training")
    select: str | None = setting(None, "nested selection: a TOML grid file of settings to choose from (docs, "
                                 "Running, 'Experiment files'); each outer fold picks one configuration by an inner "
                                 "cross-validation over its training subjects only and tests that alone "
                                 "(default: none)", "training", metavar="GRID")
    repeats: int = setting(1, "repeat the whole cross-validation with N fold assignments (seeds seed, seed+1, "
                           "...) and report the spread over them (default: %(default)s)", "training", metavar="N")
    device: str = setting("cpu", "cpu, cuda, cuda:N or mps (default: %(default)s)", "training")
    backend: str = setting("dense", "dense = batched matrix products on graph operators computed once per window "
                           "(fast; every window has the same nodes); pyg = PyTorch Geometric message passing, "
                           "which rebuilds them on every forward pass (same results, slower) "
                           "(default: %(default)s)", "training", choices=BACKENDS)
    threads: int = setting(1, "CPU threads for torch; EEG graphs are small, and more threads mostly add "
                           "synchronisation cost (default: %(default)s)", "training")
    n_boot: int = setting(1000, "bootstrap resamples of subjects for the 95 % intervals (default: %(default)s)",
                          "evaluation")
    baselines: tuple[str, ...] = setting(
        DEFAULT_BASELINES, "non-graph baselines scored on the same folds, comma-separated, or none: logreg = logistic "
        "regression on the node features, tangent_space = Riemannian tangent space of band-wise covariances; both "
        "choose C by an inner CV over the training subjects; csp_lda = common spatial patterns of the covariance "
        "summed over the bands + LDA (the motor-imagery classic; 8-30 Hz with --task motor_imagery) (default: "
        "logreg,tangent_space)", "evaluation",
        parse=parse_names, metavar="NAMES")
    controls: tuple[str, ...] = setting(
        tuple(CONTROLS), "graph controls trained like the graph model on the same folds, comma-separated, or none: "
        "no_edges = the same model without edges, shuffled = on a node-permuted graph, rewired = on the graph "
        "rewired keeping every electrode's weighted degree, uniform = on an all-to-all graph of the graph's mean "
        "weight (default: no_edges,shuffled,rewired,uniform)", "evaluation", parse=parse_names, metavar="NAMES")
    threshold: str = setting("balanced", "decision threshold of two-class models: balanced = the cut maximising "
                             "balanced accuracy on held-out training subjects (a baseline's inner CV, or an "
                             "early-stopped graph model's validation subjects; a refitted graph model is cut at "
                             "0.5, see --refit), argmax = the most probable class (default: %(default)s)",
                             "evaluation",
                             choices=THRESHOLD_METHODS)
    out: str = setting("runs", "parent folder of run directories (default: %(default)s)", "output")
    n_jobs: int = setting(-1, "workers on this machine for feature extraction (one task per recording) and the "
                          "models (one task per model and fold; per fold with --select); -1 = one per CPU core, "
                          "1 = one task after the other; results are identical whatever the number (default: "
                          "%(default)s)", "execution")
    prefer: str = setting("threads", "what the --n-jobs workers are: threads = threads of this process (no start-up "
                          "cost, the windows shared, not copied; on devices other than cpu and cuda the tasks then "
                          "run one after the other), processes = worker processes (joblib's loky; for tasks that "
                          "hold Python's GIL) (default: %(default)s)", "execution", choices=PREFER)
    scheduler: str | None = setting(None, "run those tasks on a Dask cluster: the scheduler's address, e.g. "
                                    "tcp://10.0.0.5:8786 (docs, Running, 'Speed, and running on a Dask cluster'), or "
                                    "local = a local cluster of --n-jobs worker processes (at least 2) for this "
                                    "run (default: none)", "execution", metavar="ADDRESS")
    use_cache: bool = setting(True, "recompute features instead of using the cache ($EEG_GNN_CACHE, default "
                              "~/.cache/eeg_gnn)", "output", flag="--no-cache")
    progress: bool = setting(True, "no progress bars", "output", flag="--quiet")

    def __post_init__(self) -> None:
        check_option("task", self.task, TASKS)
        if self.dataset is None:
            self.dataset = TASKS[self.task]
        if self.data_dir is not None:  # absolute, so that the saved run finds its data from anywhere
            self.data_dir = str(Path(self.data_dir).expanduser().absolute())
        check_option("model", self.model, MODELS)
        check_option("graph", self.graph, GRAPHS)
        check_option("graph_scope", self.graph_scope, GRAPH_SCOPES)
        check_option("features", self.features, FEATURE_KINDS)
        check_option("node_features", self.node_features, NODE_FEATURES)
        check_option("backend", self.backend, BACKENDS)
        check_option("threshold", self.threshold, THRESHOLD_METHODS)
        self.baselines = tuple(check_option("baselines", b, BASELINES) for b in dict.fromkeys(self.baselines))
        self.controls = tuple(check_option("controls", c, CONTROLS) for c in dict.fromkeys(self.controls))
        if self.cv is None:
            self.cv = self._descriptor_default("default_cv", "group-kfold")
        if self.reference is None:
            self.reference = self._descriptor_default("reference", "average")
        check_option("align", self.align, ALIGNMENTS)
        if self.event_labels is None and self._descriptor_default("events", None):
            self.event_labels = dict(self._descriptor_default("events", None))
        if self.epoch is None and self._descriptor_default("epoch", None) and self.event_labels:
            self.epoch = tuple(self._descriptor_default("epoch", None))
        if self.epoch is not None:
            self.epoch = check_epoch(self.epoch)
            if not self.event_labels:
                raise ValueError("--epoch locks windows to annotated events: pass --event-labels DESCRIPTION=CLASS,... "
                                 "(e.g. --event-labels T1=left,T2=right).")
            self.window = round(self.epoch[1] - self.epoch[0], 6)
        if self.bands == DEFAULT_BANDS and self._descriptor_default("bands", None):
            self.bands = {name: tuple(edges) for name, edges in self._descriptor_default("bands", None).items()}
            if self.graph_band not in self.bands:
                self.graph_band = self._descriptor_default("graph_band", self.graph_band)
        check_option("cv", self.cv, CV_METHODS)
        protocol = PROTOCOLS.get(self.cv)
        if protocol is not None and self.dataset != protocol.dataset:
            raise ValueError(f"--cv {self.cv} is {protocol.dataset}'s protocol "
                             f"({protocol.description.format(n_folds='its')}); use it with --dataset "
                             f"{protocol.dataset}.")
        self.bands = check_bands(self.bands, self.resample_sfreq)
        if self.graph in CONNECTIVITY_METHODS and self.graph_band not in self.bands:
            raise ValueError(f"--graph-band {self.graph_band!r} is not one of the bands ({', '.join(self.bands)}); "
                             "pass --graph-band with one of them.")
        for name in ("epochs", "batch_size", "hidden", "layers", "cheb_k", "heads", "n_boot", "patience", "threads",
                     "repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name!r} must be a positive whole number, got {value!r}.")
        if self.folds < 2 and self.cv in ("group-kfold", "time-blocks"):
            raise ValueError(f"--folds (folds in [training]) must be at least 2, got {self.folds}.")
        if not str(self.out).strip():
            raise ValueError("--out is empty: give the folder that receives the run directories (default: runs; "
                             "'.' for the current folder).")
        if isinstance(self.hops, bool) or not isinstance(self.hops, int) or self.hops < 0:
            raise ValueError(f"'hops' must be a whole number >= 0, got {self.hops!r}.")
        if self.batch_size < 2:
            raise ValueError(f"'batch_size' must be at least 2 (batch normalisation needs two graphs), got "
                             f"{self.batch_size}.")
        if self.graph_scope == "recording" and self.cv == "time-blocks":
            raise ValueError("--graph-scope recording averages connectivity over the whole recording, test blocks "
                             "included; with --cv time-blocks use --graph-scope window.")
        for name in ("lr", "window", "scale"):
            check_positive(name, getattr(self, name))
        check_option("units", self.units, TEXT_UNITS)
        check_option("on_truncated", self.on_truncated, ON_TRUNCATED)
        check_option("on_missing", self.on_missing, ON_MISSING)
        if self.task_label is not None and self.dataset != "bids":
            raise ValueError(f"--task-label {self.task_label} chooses the labels of a BIDS dataset; use it with "
                             "--dataset bids --data-dir ROOT.")
        check_option("bad_channels", self.bad_channels, BAD_CHANNEL_POLICIES)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        check_positive("adjacency_l1", self.adjacency_l1, allow_zero=True)
        check_option("readout", self.readout, READOUTS)
        if not isinstance(self.node_embedding, int) or self.node_embedding < 0:
            raise ValueError(f"--node-embedding must be a whole number >= 0 (0 = none), got {self.node_embedding!r}.")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"'val_fraction' must be in [0, 1), got {self.val_fraction!r}.")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"'top_k' must be >= 1, got {self.top_k!r}.")
        if self.n_jobs != -1 and (not isinstance(self.n_jobs, int) or self.n_jobs < 1):
            raise ValueError(f"--n-jobs must be a positive whole number or -1 (one per CPU core), got {self.n_jobs!r}.")
        self.executor()
        self.preprocessing()

    def executor(self) -> Executor:
        """Where the run's tasks (recordings, models) are computed: here, in worker threads or processes, or on Dask."""
        n_jobs = self.n_jobs
        if self.prefer == "threads" and self.device.split(":")[0] not in OWN_GENERATOR_DEVICES:
            n_jobs = 1  # models on this device share PyTorch's generator: threads would mix their draws
        return Executor(n_jobs=n_jobs, scheduler=self.scheduler, prefer=self.prefer, threads=self.threads)

    def _descriptor_default(self, key: str, fallback: Any) -> Any:
        """A dataset's own default for a setting (e.g. ``default_cv``, ``reference`` in its descriptor)."""
        from eeg_gnn.data.datasets import has_descriptor, load_descriptor

        if not has_descriptor(self.dataset):
            return fallback
        return load_descriptor(self.dataset).get(key, fallback)

    def check_device(self) -> None:
        """Refuse a device this machine does not have; checked when a run starts, not when a config is loaded."""
        import torch

        if self.device == "cpu":
            return
        if self.device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise ValueError(f"Device {self.device!r} is not available (torch sees no CUDA GPU); use --device cpu.")
            return
        if self.device == "mps":
            if not torch.backends.mps.is_available():
                raise ValueError("Device 'mps' is not available on this machine; use --device cpu.")
            return
        raise ValueError(f"Invalid value for the 'device' parameter. Allowed values are 'cpu', 'cuda', 'cuda:N', "
                         f"'mps', but got {self.device!r} instead.")

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(l_freq=self.l_freq, h_freq=self.h_freq, notch=self.notch,
                             resample_sfreq=self.resample_sfreq, reference=self.reference, window_s=self.window,
                             overlap=self.overlap, reject_uv=self.reject_uv, flat_uv=self.flat_uv,
                             bad_channels=self.bad_channels, clipping=self.clipping, rail_uv=self.rail_uv,
                             saturated_fraction=self.saturated_fraction, max_bad_fraction=self.max_bad_fraction,
                             epoch=self.epoch, events=tuple(self.event_labels or ()) if self.epoch else ())

    def dataset_options(self) -> dict:
        """How to list a folder dataset's recordings (see :func:`eeg_gnn.data.datasets.load_folder`)."""
        options = {"label_column": self.label_column, "subject_column": self.subject_column,
                   "file_column": self.file_column, "on_missing": self.on_missing}
        if self.task_label is not None:
            options["task_label"] = self.task_label
        return options

    def read_kwargs(self) -> dict:
        """How to read every recording (see :func:`eeg_gnn.signal.io.read_recording`): the settings that differ
        from the reader's defaults."""
        values = {"sfreq": self.sfreq, "unit": self.units, "scale": self.scale, "on_truncated": self.on_truncated}
        defaults = {"sfreq": None, "unit": "uV", "scale": 1.0, "on_truncated": "raise"}
        return {name: value for name, value in values.items() if value != defaults[name]}

    def feature_spec(self) -> FeatureSpec:
        method = self.graph if self.graph in CONNECTIVITY_METHODS else None
        covariance = ("oas" if needs_covariance(self.node_features) or self.model in ESTIMATOR_MODELS
                      or any(BASELINES[b].input == "covariance" for b in self.baselines) else None)
        return FeatureSpec(kind=self.features, bands=self.bands, connectivity=method,
                           connectivity_band=self.graph_band, covariance=covariance)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["bands"] = {name: list(edges) for name, edges in self.bands.items()}
        return values

    @classmethod
    def from_dict(cls, values: dict, *, source: str = "the config") -> TrainConfig:
        """A config from saved values (``config.json``'s ``config``), checking every key and type.

        A setting that a run saved before it existed takes the value that run used (:data:`LEGACY_VALUES`), not
        today's default."""
        return cls(**{**LEGACY_VALUES, **_checked_values(values, source)})

    def to_toml(self) -> str:
        """The fully resolved experiment file: fed back with ``--config``, it reproduces this run."""
        values = self.to_dict()
        lines = ["# eeg-gnn experiment file: `eeg-gnn train --config THIS_FILE` reruns it; flags override it."]
        for section in SECTIONS:
            lines += ["", f"[{section}]"]
            lines += [f"{f.name} = {_toml_value(values[f.name])}" for f in fields(self)
                      if f.metadata["section"] == section]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """A config from an experiment file, with ``overrides`` (e.g. command-line flags) taking precedence."""
        values = {**read_experiment_file(path), **overrides}
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def out_path(self) -> Path:
        return Path(self.out).expanduser()


def _toml_value(value: Any) -> str:
    if value is None:
        return f'"{NONE}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"Cannot write {type(value).__name__} to an experiment file.")


def config_fields() -> dict[str, Any]:
    """The settings of :class:`TrainConfig` by name (dataclass fields with their metadata)."""
    return {f.name: f for f in fields(TrainConfig)}


def _checked_values(values: dict, source: str) -> dict:
    known = config_fields()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"Unknown setting {unknown[0]!r} in {source}; known settings: {', '.join(known)}.")
    hints = get_type_hints(TrainConfig)
    checked = {}
    for name, value in values.items():
        checked[name] = _coerce(name, value, hints[name], source)
    return checked


_TYPE_NAMES = {int: "a whole number", float: "a number", str: "a text string"}


def _coerce(name: str, value: Any, hint: Any, source: str) -> Any:
    """``value`` as the type of setting ``name``, or a ValueError naming the setting, the source and the type."""
    members = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    optional = type(None) in members
    base = next(a for a in members if a is not type(None))
    origin = get_origin(base) or base
    if value is None or (optional and value == NONE):
        if optional:
            return None
        raise ValueError(f"Setting {name!r} in {source} cannot be {NONE!r}: it needs a {origin.__name__}.")
    parse = config_fields()[name].metadata["parse"] if name in config_fields() else None
    if origin is tuple:
        if isinstance(value, str):
            return (parse or parse_names)(value)
        if get_args(base) and all(arg is float for arg in get_args(base)):
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                               for v in value):
                raise ValueError(f"Setting {name!r} in {source} must be a list of numbers like [0.5, 4.0], got "
                                 f"{value!r}.")
            return tuple(float(v) for v in value)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"Setting {name!r} in {source} must be a list of names like [\"a\", \"b\"], got "
                             f"{value!r}.")
        return tuple(value)
    if origin is dict:
        if isinstance(value, str):
            return (parse or parse_bands)(value)
        if not isinstance(value, dict):
            raise ValueError(f"Setting {name!r} in {source} must be a table like {{ alpha = [8, 13] }}, got "
                             f"{value!r}.")
        return {str(k): v if isinstance(v, str) else tuple(v) for k, v in value.items()}
    if origin is bool:
        if not isinstance(value, bool):
            raise ValueError(f"Setting {name!r} in {source} must be true or false, got {value!r}.")
        return value
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, origin) or isinstance(value, bool) and origin is not bool:
        allowed = f"{'none or ' if optional else ''}{_TYPE_NAMES.get(origin, origin.__name__)}"
        raise ValueError(f"Setting {name!r} in {source} must be {allowed}, got {value!r} "
                         f"({type(value).__name__}).")
    return value


def read_experiment_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML experiment file, checked: sections, keys and types.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not TOML, an unknown section or setting, a setting in the wrong section, or a value of the wrong type; the
        message names the key, the file and what is allowed.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No experiment file at {path}; give the path of a .toml file (see examples/).")
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a valid TOML file: {exc}") from exc
    known = config_fields()
    values = {}
    for section, table in document.items():
        if section not in SECTIONS:
            raise ValueError(f"Unknown section [{section}] in {path}; allowed sections: "
                             f"{', '.join(f'[{s}]' for s in SECTIONS)}.")
        if not isinstance(table, dict):
            raise ValueError(f"{section!r} in {path} must be a section ([{section}]), not a value.")
        for name, value in table.items():
            if name not in known:
                allowed = [n for n, f in known.items() if f.metadata["section"] == section]
                raise ValueError(f"Unknown setting {name!r} in [{section}] of {path}; settings of [{section}]: "
                                 f"{', '.join(allowed)}.")
            expected = known[name].metadata["section"]
            if expected != section:
                raise ValueError(f"Setting {name!r} belongs in [{expected}], not [{section}], in {path}.")
            values[name] = value
    return _checked_values(values, str(path))


def default_of(name: str) -> Any:
    """The default value of setting ``name``."""
    spec = config_fields()[name]
    return spec.default_factory() if spec.default is MISSING else spec.default
