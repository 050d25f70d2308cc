"""Which differences between two classes survive: edge-wise permutation tests per band, one false-discovery-rate
family over all bands (or one per band), and bootstrap intervals for the effect size and the difference of every
electrode pair.

The tests run across subjects (one matrix per subject and class, the mean over that subject's windows), never
across windows. The design names the test and the effect size:

* the same subjects recorded in both classes (a within-subject contrast such as rest vs task): a sign-flip
  permutation test of the within-subject differences, effect size Cohen's d_z with Hedges' small-sample
  correction;
* different subjects in the two classes (patients vs controls): a permutation test of the class labels of
  subjects (Welch t), effect size Hedges' g.

Intervals are BCa bootstrap intervals over subjects (:func:`scipy.stats.bootstrap`): the subjects are resampled
(within each group when the groups are independent) and the statistic recomputed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as scipy_stats

from eeg_gnn.evaluation.stats import (
    EdgeTestResult,
    FeatureTestResult,
    benjamini_hochberg,
    edge_permutation_test,
    feature_permutation_test,
)
from eeg_gnn.review.settings import CORRECTIONS
from eeg_gnn.utils.validation import check_option

__all__ = [
    "CORRECTIONS",
    "BandDifference",
    "BandDifferences",
    "band_power_intervals",
    "compare_band_power",
    "compare_bands",
    "Detectability",
    "detectability",
    "enough_permutations",
    "significant_edges",
]

PAIRED_EFFECT = "Cohen's d_z with Hedges' correction"
INDEPENDENT_EFFECT = "Hedges' g"
BOOTSTRAP_BATCH = 250


@dataclass(frozen=True)
class Detectability:
    """What a permutation test of a family of tests can find with a cohort's numbers of subjects.

    Attributes
    ----------
    n_subjects : tuple of int
        Subjects of class 1 and class 0 (equal when paired).
    paired : bool
    n_labellings : int
        Distinct relabellings of the subjects: ``2 ** n`` sign flips (paired) or ``C(n_1 + n_0, n_1)`` label
        assignments (independent groups).
    smallest_p : float
        The smallest two-sided p-value any test can reach: the observed labelling is one of the labellings that
        give the same absolute statistic (2 when its mirror image gives it too), and at least
        ``1 / (n_permutations + 1)``.
    family_size : int
        Tests corrected together.
    alpha : float
        FDR level q.
    smallest_q : float
        The smallest q of a lone difference (one test at ``smallest_p``, the rest null):
        ``family_size * smallest_p``, at most 1.
    pairs_needed : int or None
        How many tests at ``smallest_p`` together reach q < ``alpha`` (Benjamini-Hochberg); None when even all of
        them cannot.
    detectable_effect : float
        The smallest standardised effect (d_z or g) that a lone test finds with 80 % power at the level a lone
        difference needs (``alpha / family_size``), from the noncentral t distribution; ``inf`` when that level is
        below ``smallest_p``.
    """

    n_subjects: tuple[int, int]
    paired: bool
    n_labellings: int
    smallest_p: float
    family_size: int
    alpha: float
    smallest_q: float
    pairs_needed: int | None
    detectable_effect: float

    @property
    def lone_difference_testable(self) -> bool:
        """Whether a single test could reach q < ``alpha`` on its own."""
        return self.smallest_q < self.alpha

    def sizes_text(self) -> str:
        """``n = 12 subjects`` (paired) or ``n = 3 and 4 subjects``."""
        first, second = self.n_subjects
        return f"n = {first} subjects" if self.paired else f"n = {first} and {second} subjects"


POWER = 0.8


def detectability(n_subjects: tuple[int, int], *, paired: bool, family_size: int, alpha: float,
                  n_permutations: int | None = None) -> Detectability:
    """The smallest p, the smallest q of a lone difference and the smallest effect detectable at 80 % power, for
    a permutation test with these numbers of subjects.

    Parameters
    ----------
    n_subjects : tuple of int
        Subjects of class 1 and class 0.
    paired : bool
        Sign flips of within-subject differences (both numbers are the same subjects) or label permutations.
    family_size : int
        Tests in one false-discovery-rate family (e.g. 855 = 171 pairs x 5 bands).
    alpha : float
        FDR level q.
    n_permutations : int, optional
        Random permutations drawn (their number bounds p from below too).

    Returns
    -------
    Detectability
    """
    first, second = (int(n) for n in n_subjects)
    if paired:
        n_labellings = 2 ** first
        mirrored = True
        df, scale = first - 1, math.sqrt(first)
    else:
        n_labellings = math.comb(first + second, first)
        mirrored = first == second
        df, scale = first + second - 2, math.sqrt(first * second / (first + second))
    smallest_p = (2 if mirrored else 1) / n_labellings
    if n_permutations:
        smallest_p = max(smallest_p, 1 / (n_permutations + 1))
    smallest_p = min(1.0, smallest_p)
    smallest_q = min(1.0, family_size * smallest_p)
    needed = math.floor(family_size * smallest_p / alpha) + 1
    pairs_needed = needed if needed <= family_size else None
    level = alpha / family_size
    effect = math.inf
    if level >= smallest_p and df >= 1:
        critical = scipy_stats.t.ppf(1 - level / 2, df)

        def shortfall(d: float) -> float:
            return float(scipy_stats.nct.sf(critical, df, d * scale)) - POWER

        high = 1.0
        while shortfall(high) < 0 and high < 1e3:
            high *= 2
        effect = float(optimize.brentq(shortfall, 0.0, high)) if shortfall(high) >= 0 else math.inf
    return Detectability((first, second), paired, n_labellings, smallest_p, family_size, alpha, smallest_q,
                         pairs_needed, effect)


def enough_permutations(n_tests: int, alpha: float, *, at_least: int = 5000) -> int:
    """Permutations for which a single test of a family of ``n_tests`` can reach FDR q < ``alpha``.

    The smallest permutation p-value is ``1 / (n_permutations + 1)``, so a lone significant test has an adjusted
    p of at least ``n_tests / (n_permutations + 1)``; twice ``n_tests / alpha`` leaves room for it.

    Parameters
    ----------
    n_tests : int
        Size of the family (e.g. 855 for 171 electrode pairs in 5 bands).
    alpha : float
        FDR level q.
    at_least : int
        Lower bound.

    Returns
    -------
    int
    """
    return max(int(at_least), math.ceil(2 * n_tests / alpha))


@dataclass(frozen=True, eq=False)
class BandDifference:
    """Class 1 minus class 0 connectivity in one band, tested pair by pair across subjects.

    Attributes
    ----------
    band : str
    test : EdgeTestResult
        The permutation test of this band (its own ``p_fdr`` is corrected within the band).
    p_fdr : ndarray, shape (n_nodes, n_nodes)
        FDR-adjusted p-values under the chosen correction; 1 on the diagonal.
    significant : ndarray of bool, shape (n_nodes, n_nodes)
        ``p_fdr < alpha``: symmetric, False on the diagonal.
    effect_ci, difference_ci : ndarray, shape (n_nodes, n_nodes, 2)
        95 % BCa bootstrap intervals over subjects of the effect size and of the mean difference; NaN on the
        diagonal and where undefined (a pair constant across subjects).
    """

    band: str
    test: EdgeTestResult
    p_fdr: np.ndarray
    significant: np.ndarray
    effect_ci: np.ndarray
    difference_ci: np.ndarray

    @property
    def n_significant(self) -> int:
        """Electrode pairs that survive (each counted once)."""
        return int(np.triu(self.significant, 1).sum())

    @property
    def difference(self) -> np.ndarray:
        """Class 1 minus class 0, shape (n_nodes, n_nodes), 0 on the diagonal."""
        difference = self.test.difference.copy()
        np.fill_diagonal(difference, 0.0)
        return difference


@dataclass(frozen=True, eq=False)
class BandDifferences:
    """Every band's test under one correction.

    Attributes
    ----------
    bands : list of BandDifference
        In the order of the bands given.
    correction : {"all-bands", "per-band"}
    alpha : float
        FDR level q.
    paired : bool
        Within-subject contrast (sign flips, d_z) or independent groups (label permutation, g).
    n_subjects : tuple of int
        Subjects of class 1 and class 0 (equal when paired).
    n_permutations, n_boot : int
    """

    bands: list[BandDifference]
    correction: str
    alpha: float
    paired: bool
    n_subjects: tuple[int, int]
    n_permutations: int
    n_boot: int

    @property
    def effect_name(self) -> str:
        return PAIRED_EFFECT if self.paired else INDEPENDENT_EFFECT

    @property
    def n_pairs(self) -> int:
        """Electrode pairs per band."""
        return self.bands[0].test.n_edges

    @property
    def family_size(self) -> int:
        """Tests in one FDR family."""
        return self.n_pairs * (len(self.bands) if self.correction == "all-bands" else 1)

    def by_band(self) -> dict[str, BandDifference]:
        return {band.band: band for band in self.bands}

    def correction_text(self) -> str:
        """The correction in words, e.g. ``Benjamini-Hochberg false discovery rate over all 855 tests ...``."""
        if self.correction == "all-bands":
            return (f"Benjamini-Hochberg false discovery rate over all {self.family_size} tests "
                    f"({self.n_pairs} electrode pairs x {len(self.bands)} bands)")
        return f"Benjamini-Hochberg false discovery rate within each band ({self.n_pairs} electrode pairs)"

    def design_text(self) -> str:
        """The test in words: which permutations, how many subjects."""
        if self.paired:
            return (f"sign-flip permutation test of the within-subject differences (paired t), {self.n_subjects[0]} "
                    f"subjects recorded in both classes, {self.n_permutations} permutations")
        return (f"permutation test of the subjects' class labels (Welch t), {self.n_subjects[0]} vs "
                f"{self.n_subjects[1]} subjects, {self.n_permutations} permutations")

    def describe(self) -> str:
        """Design, correction and effect size in one sentence (for file headers and the report's methods)."""
        return (f"{self.design_text()}; {self.correction_text()}, q < {self.alpha:g}; effect size {self.effect_name} "
                f"with a 95 % BCa bootstrap interval over subjects ({self.n_boot} resamples)")

    def detectability(self) -> Detectability:
        """What this family could find with its numbers of subjects (see :func:`detectability`)."""
        return detectability(self.n_subjects, paired=self.paired, family_size=self.family_size, alpha=self.alpha,
                             n_permutations=self.n_permutations)

    def smallest_q(self) -> float:
        """The smallest adjusted p a single pair can reach with these permutations: below ``alpha`` or the test
        cannot find a lone difference."""
        return min(1.0, self.family_size / (self.n_permutations + 1))


def _adjusted(tests: list[EdgeTestResult], correction: str) -> list[np.ndarray]:
    """FDR-adjusted p-values of every band, each ``(n_nodes, n_nodes)``, under ``correction``."""
    n_nodes = tests[0].n_nodes
    rows, cols = np.triu_indices(n_nodes, k=1)
    raw = np.stack([test.p_value[rows, cols] for test in tests])
    adjusted = benjamini_hochberg(raw) if correction == "all-bands" else np.stack([benjamini_hochberg(p) for p in raw])
    matrices = []
    for values in adjusted:
        matrix = np.ones((n_nodes, n_nodes))
        matrix[rows, cols] = values
        matrix[cols, rows] = values
        matrices.append(matrix)
    return matrices


def _d_z(differences: np.ndarray, axis: int = -1) -> np.ndarray:
    n = differences.shape[axis]
    sd = differences.std(axis=axis, ddof=1)
    correction = 1.0 - 3.0 / (4.0 * (n - 1) - 1.0)
    return np.where(sd > 0, correction * differences.mean(axis=axis) / np.where(sd > 0, sd, 1.0), np.nan)


def _hedges_g(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    n_a, n_b = a.shape[axis], b.shape[axis]
    pooled = np.sqrt(((n_a - 1) * a.var(axis=axis, ddof=1) + (n_b - 1) * b.var(axis=axis, ddof=1)) / (n_a + n_b - 2))
    correction = 1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0)
    difference = a.mean(axis=axis) - b.mean(axis=axis)
    return np.where(pooled > 0, correction * difference / np.where(pooled > 0, pooled, 1.0), np.nan)


def _mean_difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return a.mean(axis=axis) - b.mean(axis=axis)


def _mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return values.mean(axis=axis)


def _intervals(a: np.ndarray, b: np.ndarray, *, paired: bool, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """95 % BCa bootstrap intervals over subjects of the effect size and of the mean difference, per column.

    Parameters
    ----------
    a, b : ndarray, shape (n_subjects_a, n_tests) and (n_subjects_b, n_tests)
        Class 1 and class 0; the same subjects in the same rows when ``paired``.

    Returns
    -------
    effect, difference : ndarray, shape (n_tests, 2)
    """
    options = {"n_resamples": n_boot, "confidence_level": 0.95, "method": "BCa", "axis": 0, "vectorized": True,
               "batch": BOOTSTRAP_BATCH}
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant columns: NaN intervals, said in the docstring
        warnings.simplefilter("ignore", scipy_stats.DegenerateDataWarning)
        if paired:
            data, effect_statistic, mean_statistic = (a - b,), _d_z, _mean
        else:
            data, effect_statistic, mean_statistic = (a, b), _hedges_g, _mean_difference
        effect = scipy_stats.bootstrap(data, effect_statistic, rng=np.random.default_rng(seed), **options)
        mean = scipy_stats.bootstrap(data, mean_statistic, rng=np.random.default_rng(seed), **options)
    return tuple(np.column_stack([result.confidence_interval.low, result.confidence_interval.high])
                 for result in (effect, mean))


def _check_classes(class_1: np.ndarray, class_0: np.ndarray, paired: bool, name: str) -> None:
    if paired and class_1.shape != class_0.shape:
        raise ValueError(f"A paired test needs the same subjects in both classes, in the same order: {name} has "
                         f"{class_1.shape[0]} subjects in class 1 and {class_0.shape[0]} in class 0.")


def compare_bands(
    class_1: list[np.ndarray],
    class_0: list[np.ndarray],
    band_names: list[str],
    *,
    paired: bool,
    correction: str = "all-bands",
    alpha: float = 0.05,
    n_permutations: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> BandDifferences:
    """Test class 1 minus class 0 connectivity pair by pair in every band, under one FDR correction.

    Parameters
    ----------
    class_1, class_0 : list of ndarray, each shape (n_subjects, n_nodes, n_nodes)
        One entry per band: a symmetric matrix per subject (the mean over that subject's windows of the class).
        When ``paired``, row ``s`` of both is the same subject.
    band_names : list of str, length n_bands
    paired : bool
        The same subjects in both classes: sign-flip test and d_z; otherwise label permutation and Hedges' g.
    correction : {"all-bands", "per-band"}
        One FDR family over every pair of every band, or one per band.
    alpha : float
        FDR level q.
    n_permutations : int, optional
        Default: :func:`enough_permutations` for the family size, so that a single pair can be significant.
    n_boot : int
        Bootstrap resamples of subjects for the intervals.
    seed : int
        Seed of the permutations and of the bootstrap.

    Returns
    -------
    BandDifferences

    Raises
    ------
    ValueError
        If the correction is unknown, the lists do not have one array per band, or a paired test gets different
        numbers of subjects (and the errors of :func:`~eeg_gnn.evaluation.stats.edge_permutation_test`).
    """
    check_option("correction", correction, CORRECTIONS)
    if not band_names or not len(class_1) == len(class_0) == len(band_names):
        raise ValueError(f"Give one (n_subjects, n_nodes, n_nodes) array per band for both classes: got "
                         f"{len(class_1)} and {len(class_0)} arrays for {len(band_names)} bands ({band_names}).")
    class_1 = [np.asarray(values, dtype=float) for values in class_1]
    class_0 = [np.asarray(values, dtype=float) for values in class_0]
    for name, a, b in zip(band_names, class_1, class_0, strict=True):
        _check_classes(a, b, paired, f"band {name!r}")
    n_nodes = class_1[0].shape[1]
    n_pairs = n_nodes * (n_nodes - 1) // 2
    if n_permutations is None:
        n_permutations = enough_permutations(n_pairs * (len(band_names) if correction == "all-bands" else 1), alpha)
    tests = [edge_permutation_test(a, b, n_permutations=n_permutations, alpha=alpha, seed=seed, paired=paired)
             for a, b in zip(class_1, class_0, strict=True)]
    rows, cols = np.triu_indices(n_nodes, k=1)
    bands = []
    for name, test, p_fdr, a, b in zip(band_names, tests, _adjusted(tests, correction), class_1, class_0, strict=True):
        effect, difference = _intervals(a[:, rows, cols], b[:, rows, cols], paired=paired, n_boot=n_boot, seed=seed)
        intervals = []
        for values in (effect, difference):
            matrix = np.full((n_nodes, n_nodes, 2), np.nan)
            matrix[rows, cols] = values
            matrix[cols, rows] = values
            intervals.append(matrix)
        significant = p_fdr < alpha
        np.fill_diagonal(significant, False)
        bands.append(BandDifference(name, test, p_fdr, significant, *intervals))
    return BandDifferences(bands, correction, alpha, paired, (tests[0].n_a, tests[0].n_b), n_permutations, n_boot)


def compare_band_power(class_1: np.ndarray, class_0: np.ndarray, *, paired: bool, alpha: float = 0.05,
                       n_permutations: int | None = None, seed: int = 0) -> FeatureTestResult:
    """Test class 1 minus class 0 band power per electrode and band: one FDR family over all of them.

    Parameters
    ----------
    class_1, class_0 : ndarray, shape (n_subjects, n_nodes, n_bands)
        Band power per subject (mean over the subject's windows of the class).
    paired : bool
    alpha : float
    n_permutations : int, optional
        Default: :func:`enough_permutations` for ``n_nodes * n_bands`` tests.
    seed : int

    Returns
    -------
    FeatureTestResult
        Flat arrays of ``n_nodes * n_bands`` tests, node-major: reshape to ``(n_nodes, n_bands)``.
    """
    a, b = np.asarray(class_1, dtype=float), np.asarray(class_0, dtype=float)
    _check_classes(a, b, paired, "band power")
    if a.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"Band power must be (n_subjects, n_nodes, n_bands) for both classes with the same nodes "
                         f"and bands, got shapes {a.shape} and {b.shape}.")
    n_tests = a.shape[1] * a.shape[2]
    permutations = n_permutations or enough_permutations(n_tests, alpha)
    return feature_permutation_test(a.reshape(len(a), -1), b.reshape(len(b), -1), n_permutations=permutations,
                                    alpha=alpha, seed=seed, paired=paired)


def band_power_intervals(class_1: np.ndarray, class_0: np.ndarray, *, paired: bool, n_boot: int = 2000,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """95 % BCa bootstrap intervals over subjects of the effect size (d_z or g) and of the difference of band
    power, per electrode and band.

    Parameters
    ----------
    class_1, class_0 : ndarray, shape (n_subjects, n_nodes, n_bands)
        As for :func:`compare_band_power`.

    Returns
    -------
    effect_ci, difference_ci : ndarray, shape (n_nodes * n_bands, 2)
        Node-major, as the tests of :func:`compare_band_power`; NaN where undefined.
    """
    a, b = np.asarray(class_1, dtype=float), np.asarray(class_0, dtype=float)
    _check_classes(a, b, paired, "band power")
    return _intervals(a.reshape(len(a), -1), b.reshape(len(b), -1), paired=paired, n_boot=n_boot, seed=seed)


def significant_edges(differences: BandDifferences, node_names: list[str]) -> list[dict]:
    """Every pair that survives, over all bands, most significant first (ties: largest |effect| first).

    Parameters
    ----------
    differences : BandDifferences
    node_names : list of str, length n_nodes

    Returns
    -------
    list of dict
        Keys ``band``, ``node_a``, ``node_b``, ``mean_0`` and ``mean_1`` (class means), ``difference`` (class 1
        minus class 0) with ``difference_ci``, ``effect_size`` with ``effect_ci`` ([low, high]), ``p_value`` and
        ``p_fdr``.
    """
    rows = []
    for band in differences.bands:
        test = band.test
        for i, j in zip(*np.nonzero(np.triu(band.significant, 1)), strict=True):
            rows.append({
                "band": band.band, "node_a": node_names[i], "node_b": node_names[j],
                "mean_0": float(test.mean_b[i, j]), "mean_1": float(test.mean_a[i, j]),
                "difference": float(test.difference[i, j]), "difference_ci": band.difference_ci[i, j].tolist(),
                "effect_size": float(test.effect_size[i, j]), "effect_ci": band.effect_ci[i, j].tolist(),
                "p_value": float(test.p_value[i, j]), "p_fdr": float(band.p_fdr[i, j]),
            })
    return sorted(rows, key=lambda row: (row["p_fdr"], -abs(row["effect_size"])))
