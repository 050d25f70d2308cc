"""Everything a training run depends on, in one dataclass that is saved as ``config.json`` and can be rerun."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ._validation import check_option, check_positive
from .cv import CV_METHODS
from .extraction import GRAPH_SCOPES, FeatureSpec
from .features import DEFAULT_BANDS, FEATURE_KINDS, check_bands
from .graph import CONNECTIVITY_METHODS
from .models import MODELS
from .preprocessing import Preprocessing

TASKS = {
    "workload": "eegmat",
    "schizophrenia": "msu",
    "seizure": "chbmit",
    "emotion": "seed",
}
DISTANCE_GRAPHS = ("distance", "knn")
GRAPHS = DISTANCE_GRAPHS + CONNECTIVITY_METHODS


@dataclass
class TrainConfig:
    """A cross-validated training run. Defaults are the project's recommended configuration.

    The parameters mirror ``train.py``'s flags; see ``python train.py --help`` for each one's meaning.
    """

    task: str = "workload"
    dataset: str | None = None
    data_dir: str | None = None
    model: str = "cheb"
    graph: str = "plv"
    graph_band: str = "alpha"
    graph_scope: str = "window"
    top_k: int | None = None
    features: str = "log_power"
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    window: float = 4.0
    overlap: float = 0.0
    l_freq: float | None = 1.0
    h_freq: float | None = 45.0
    notch: float | None = None
    resample_sfreq: float | None = 128.0
    reference: str | None = None
    reject_uv: float | None = None
    sfreq: float | None = None
    folds: int = 5
    cv: str | None = None
    val_fraction: float = 0.2
    epochs: int = 60
    patience: int = 15
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-3
    hidden: int = 32
    layers: int = 2
    dropout: float = 0.3
    cheb_k: int = 3
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    out: str = "runs"
    n_boot: int = 1000
    use_cache: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        check_option("task", self.task, TASKS)
        if self.dataset is None:
            self.dataset = TASKS[self.task]
        check_option("model", self.model, MODELS)
        check_option("graph", self.graph, GRAPHS)
        check_option("graph_scope", self.graph_scope, GRAPH_SCOPES)
        check_option("features", self.features, FEATURE_KINDS)
        if self.cv is None:
            self.cv = self._descriptor_default("default_cv", "group-kfold")
        if self.reference is None:
            self.reference = self._descriptor_default("reference", "average")
        check_option("cv", self.cv, CV_METHODS)
        if self.cv == "within-subject" and self.dataset != "seed":
            raise ValueError("--cv within-subject is SEED's protocol (clips 1-9 train, 10-15 test per subject and "
                             "session); use it with --dataset seed.")
        self.bands = check_bands(self.bands, self.resample_sfreq)
        if self.graph in CONNECTIVITY_METHODS and self.graph_band not in self.bands:
            raise ValueError(f"--graph-band {self.graph_band!r} is not one of the bands ({', '.join(self.bands)}); "
                             "pass --graph-band with one of them.")
        for name in ("epochs", "batch_size", "hidden", "layers", "cheb_k", "n_boot", "patience", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name!r} must be a positive whole number, got {value!r}.")
        if self.batch_size < 2:
            raise ValueError(f"'batch_size' must be at least 2 (batch normalisation needs two graphs), got "
                             f"{self.batch_size}.")
        if self.graph_scope == "recording" and self.cv == "time-blocks":
            raise ValueError("--graph-scope recording averages connectivity over the whole recording, test blocks "
                             "included; with --cv time-blocks use --graph-scope window.")
        for name in ("lr", "window"):
            check_positive(name, getattr(self, name))
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"'val_fraction' must be in [0, 1), got {self.val_fraction!r}.")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"'top_k' must be >= 1, got {self.top_k!r}.")
        self._check_device()
        self.preprocessing()

    def _descriptor_default(self, key: str, fallback: str) -> str:
        """A dataset's own default for a setting (e.g. ``default_cv``, ``reference`` in its descriptor)."""
        from .datasets import FOLDER, load_descriptor

        if self.dataset == FOLDER:
            return fallback
        return load_descriptor(self.dataset).get(key, fallback)

    def _check_device(self) -> None:
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
                             overlap=self.overlap, reject_uv=self.reject_uv)

    def read_kwargs(self) -> dict:
        """How to read the recordings of a folder dataset (the sampling rate of CSV/TSV files)."""
        return {"sfreq": self.sfreq} if self.sfreq else {}

    def feature_spec(self) -> FeatureSpec:
        method = self.graph if self.graph in CONNECTIVITY_METHODS else None
        return FeatureSpec(kind=self.features, bands=self.bands, connectivity=method,
                           connectivity_band=self.graph_band)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["bands"] = {name: list(edges) for name, edges in self.bands.items()}
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown settings {unknown} in the config; known: {sorted(known)}.")
        values = dict(values)
        if "bands" in values:
            values["bands"] = {name: tuple(edges) for name, edges in values["bands"].items()}
        return cls(**values)

    @property
    def out_path(self) -> Path:
        return Path(self.out).expanduser()
