"""How ``evaluate.py`` builds a review: its settings, one flag each, importable without the review's libraries."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from eeg_gnn.pipeline.config import setting
from eeg_gnn.signal.graph import CONNECTIVITY_METHODS
from eeg_gnn.utils.validation import check_option

#: How p-values are corrected for testing many pairs: one Benjamini-Hochberg family over every pair of every band
#: (the default: a reader looks at all bands at once), or one family per band.
CORRECTIONS = ("all-bands", "per-band")


@dataclass
class ReviewSettings:
    """How ``evaluate.py`` builds a review. Each field is a flag of ``eeg-gnn evaluate``."""

    connectivity: str | None = setting(None, "connectivity of the maps (default: the run's graph if it is "
                                       "functional, else plv)", "evaluation", choices=CONNECTIVITY_METHODS)
    correction: str = setting("all-bands", "false discovery rate over every electrode pair of every band "
                              "(all-bands), or within each band (per-band) (default: %(default)s)", "evaluation",
                              flag="--fdr", choices=CORRECTIONS)
    alpha: float = setting(0.05, "false discovery rate q below which a pair counts as different "
                           "(default: %(default)s)", "evaluation", flag="--q")
    permutations: int | None = setting(None, "permutations of the pair-wise test (default: enough for a single "
                                       "pair to reach q: at least 5000)", "evaluation")
    bootstrap: int = setting(2000, "bootstrap resamples of subjects for the intervals of effect sizes "
                             "(default: %(default)s)", "evaluation")
    brainnet_plain: bool = setting(False, "BrainNet files without any # comment line, for BrainNet Viewer before "
                                   "1.5 (which reads .edge files with MATLAB's load)", "evaluation")
    overwrite: bool = setting(False, "replace an existing RUN_DIR/review/", "output")
    progress: bool = setting(True, "no progress bars", "output", flag="--quiet")

    def __post_init__(self) -> None:
        if self.connectivity is not None:
            check_option("connectivity", self.connectivity, CONNECTIVITY_METHODS)
        check_option("correction", self.correction, CORRECTIONS)
        if not 0 < self.alpha < 1:
            raise ValueError(f"'alpha' (--q) must be in (0, 1), got {self.alpha!r}.")
        for name in ("permutations", "bootstrap"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name!r} must be a positive whole number, got {value!r}.")


def review_fields() -> dict[str, Any]:
    """The settings of :class:`ReviewSettings` by name (dataclass fields with their help and flag)."""
    return {f.name: f for f in fields(ReviewSettings)}
