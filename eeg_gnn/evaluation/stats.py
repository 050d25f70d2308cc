"""Group differences in connectivity (per edge) and node features (per node), tested across subjects.

Clinicians compare patients with controls edge by edge: is the connectivity between two electrodes
different between the groups? This module answers with a two-sided permutation test of the difference of
group means, in which the *subject* labels are permuted. Every subject therefore has to contribute exactly
one observation (e.g. the connectivity matrix averaged over that subject's windows): passing windows instead
of subjects treats correlated windows as independent and gives far too small p-values.

* :func:`edge_permutation_test` tests every upper-triangle edge ``i < j`` of ``(n_subjects, n_nodes,
  n_nodes)`` connectivity matrices and returns an :class:`EdgeTestResult` of ``(n_nodes, n_nodes)`` arrays.
* :func:`feature_permutation_test` does the same for ``(n_subjects, n_nodes)`` node features and returns a
  :class:`FeatureTestResult` of ``(n_nodes,)`` arrays.
* :func:`benjamini_hochberg` gives the FDR-adjusted p-values used by both.

Both tests share one vectorised implementation on ``(n_subjects, n_tests)`` arrays: each permutation of
the subject labels is applied to all tests at once (a matrix product of group-membership masks with the
data), so the cost grows with ``n_permutations x n_subjects x n_tests`` without a Python loop over tests.

The statistic is Welch's t (``statistic="t"``, unequal variances) or the plain difference of means
(``statistic="mean"``). p-values are ``(count + 1) / (n_permutations + 1)``, where ``count`` is the number of
random permutations whose statistic is at least as extreme (in absolute value) as the observed one, so they
are never 0. The effect size is Hedges' g (Cohen's d with the pooled SD, bias-corrected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eeg_gnn.utils.validation import check_option

__all__ = [
    "STATISTICS",
    "EdgeTestResult",
    "FeatureTestResult",
    "benjamini_hochberg",
    "edge_permutation_test",
    "feature_permutation_test",
]

#: Test statistics the permutation tests know.
STATISTICS: tuple[str, ...] = ("t", "mean")

_STATISTIC_LABELS = {
    "t": "Welch t", "mean": "Mean-difference",
    "paired t": "Paired t (sign-flip)", "paired mean": "Paired mean-difference (sign-flip)",
}
# Permuted statistics within this relative distance of the observed one count as "at least as extreme"
# (values that are equal in exact arithmetic, e.g. the label swap when n_a == n_b, differ by rounding).
_TIE_RTOL = 1e-9
# A sum of squared deviations below this fraction of the sum of squares is rounding noise: treat it as 0.
_ZERO_VARIANCE_RTOL = 1e-10
# Upper bound of n_permutations_per_chunk * n_tests (float64 elements of each temporary array).
_CHUNK_ELEMENTS = 1 << 21


# --------------------------------------------------------------------------- FDR


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg FDR-adjusted p-values (q-values) of one family of tests.

    The adjusted value of the test with rank ``k`` (1 = smallest p) among ``m`` is
    ``min over j >= k of p_(j) * m / j``, clipped to 1. Rejecting the tests whose adjusted p-value is below
    ``q`` controls the false discovery rate at ``q`` for independent or positively dependent tests.

    Parameters
    ----------
    p_values : array-like, shape (m,) or any shape
        p-values in ``[0, 1]``. All values form one family, whatever the shape.

    Returns
    -------
    ndarray, shape like ``p_values``
        Adjusted p-values (float64), in the input order; monotone in the raw p-values and never below them.

    Raises
    ------
    ValueError
        If a p-value is NaN, infinite or outside ``[0, 1]`` (the message names it and its position).
    """
    try:
        p = np.array(p_values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"p_values must be numbers in [0, 1], got {p_values!r}.") from exc
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"p_values must lie in [0, 1], got {float(p[index])!r} at index {index if p.ndim != 1 else index[0]} "
            f"({int(bad.sum())} bad value(s) in total)."
        )
    flat = p.ravel()
    m = flat.size
    if m == 0:
        return p
    order = np.argsort(flat, kind="stable")
    scaled = flat[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return adjusted.reshape(p.shape)


# --------------------------------------------------------------------------- results


def _describe(result: EdgeTestResult | FeatureTestResult, n_tests: int, unit: str) -> str:
    label = _STATISTIC_LABELS[result.statistic_name]
    text = (
        f"{label} permutation test across subjects "
        f"({f'{result.n_a} paired' if result.statistic_name.startswith('paired') else f'{result.n_a} vs {result.n_b}'}), "
        f"{result.n_permutations} permutations, Benjamini-Hochberg FDR q < {result.alpha:g}: "
        f"{result.n_significant} of {n_tests} {unit}"
    )
    smallest_q = n_tests / (result.n_permutations + 1)
    if n_tests and smallest_q >= result.alpha:
        text += (
            f" (note: a single {unit[:-1]} cannot reach q < {result.alpha:g}: its FDR-adjusted p is at least "
            f"{min(smallest_q, 1.0):.3g} with {result.n_permutations} permutations for {n_tests} {unit})"
        )
    return text


def _check_names(node_names: Any, n_nodes: int) -> list[str]:
    if isinstance(node_names, str):
        raise ValueError(f"node_names must be a sequence of {n_nodes} names, got the string {node_names!r}.")
    names = [str(name) for name in node_names]
    if len(names) != n_nodes:
        raise ValueError(f"node_names must have {n_nodes} names (one per node), got {len(names)}: {names!r}.")
    return names


def _check_k(k: int | None, n_tests: int) -> int:
    if k is None:
        return n_tests
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer or None (all), got {k!r}.")
    return min(int(k), n_tests)


def _ranking(p_fdr: np.ndarray, effect_size: np.ndarray) -> np.ndarray:
    """Order of the tests by FDR-adjusted p (ascending), then by |effect size| (descending)."""
    return np.lexsort((-np.abs(effect_size), p_fdr))


@dataclass(frozen=True, eq=False)
class _GroupComparison:
    """The fields every permutation-test result has (documented on the subclasses)."""

    statistic: np.ndarray
    p_value: np.ndarray
    p_fdr: np.ndarray
    effect_size: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray
    difference: np.ndarray
    significant: np.ndarray
    alpha: float
    n_permutations: int
    n_a: int
    n_b: int
    statistic_name: str = "t"

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.statistic.shape[0])


@dataclass(frozen=True, eq=False)
class EdgeTestResult(_GroupComparison):
    """Per-edge group comparison from :func:`edge_permutation_test`.

    All matrices are symmetric. Only the edges ``i < j`` are tested; on the diagonal ``statistic`` and
    ``effect_size`` are 0, ``p_value`` and ``p_fdr`` are 1 and ``significant`` is False, while ``mean_a``,
    ``mean_b`` and ``difference`` hold the (untested) group means of the input diagonal.

    Attributes
    ----------
    statistic : ndarray, shape (n_nodes, n_nodes)
        Observed Welch t (or mean difference) of group A minus group B. Welch t is ±inf for an edge whose
        values are constant within each group but differ between the groups.
    p_value : ndarray, shape (n_nodes, n_nodes)
        Two-sided permutation p-values, in ``(0, 1]``.
    p_fdr : ndarray, shape (n_nodes, n_nodes)
        Benjamini-Hochberg adjusted p-values over the ``n_nodes * (n_nodes - 1) / 2`` tested edges.
    effect_size : ndarray, shape (n_nodes, n_nodes)
        Hedges' g of A minus B (0 where the pooled SD is 0).
    mean_a, mean_b : ndarray, shape (n_nodes, n_nodes)
        Group means across subjects.
    difference : ndarray, shape (n_nodes, n_nodes)
        ``mean_a - mean_b``.
    significant : ndarray of bool, shape (n_nodes, n_nodes)
        ``p_fdr < alpha``.
    alpha : float
        FDR level.
    n_permutations : int
        Number of random label permutations.
    n_a, n_b : int
        Number of subjects in each group.
    statistic_name : {"t", "mean"}
        Which statistic was used.
    """

    @property
    def n_edges(self) -> int:
        """Number of tested edges, ``n_nodes * (n_nodes - 1) / 2``."""
        return self.n_nodes * (self.n_nodes - 1) // 2

    @property
    def n_significant(self) -> int:
        """Number of edges with ``p_fdr < alpha`` (each undirected edge counted once)."""
        return int(np.triu(self.significant, k=1).sum())

    def top_edges(self, node_names: Any, k: int | None = 10) -> list[dict[str, Any]]:
        """The ``k`` edges with the smallest FDR-adjusted p-values (ties: largest |effect size| first).

        Parameters
        ----------
        node_names : sequence of str, shape (n_nodes,)
            Names of the nodes, in matrix order (e.g. ``["Fp1", "Fp2", ...]``).
        k : int or None
            How many edges to return; None returns all ``n_edges``.

        Returns
        -------
        list of dict
            One dict per edge with keys ``edge`` (``"Fp1-Fp2"``), ``node_i``, ``node_j`` (names),
            ``i``, ``j`` (indices, ``i < j``), ``mean_a``, ``mean_b``, ``difference``, ``effect_size``,
            ``statistic``, ``p_value``, ``p_fdr`` (floats) and ``significant`` (bool).
        """
        names = _check_names(node_names, self.n_nodes)
        k = _check_k(k, self.n_edges)
        rows, cols = np.triu_indices(self.n_nodes, k=1)
        order = _ranking(self.p_fdr[rows, cols], self.effect_size[rows, cols])[:k]
        edges = []
        for index in order:
            i, j = int(rows[index]), int(cols[index])
            edges.append(
                {
                    "edge": f"{names[i]}-{names[j]}",
                    "node_i": names[i],
                    "node_j": names[j],
                    "i": i,
                    "j": j,
                    "mean_a": float(self.mean_a[i, j]),
                    "mean_b": float(self.mean_b[i, j]),
                    "difference": float(self.difference[i, j]),
                    "effect_size": float(self.effect_size[i, j]),
                    "statistic": float(self.statistic[i, j]),
                    "p_value": float(self.p_value[i, j]),
                    "p_fdr": float(self.p_fdr[i, j]),
                    "significant": bool(self.significant[i, j]),
                }
            )
        return edges

    def describe(self) -> str:
        """One line for file headers, e.g. ``"Welch t permutation test across subjects (14 vs 14), 5000
        permutations, Benjamini-Hochberg FDR q < 0.05: 3 of 171 edges"``."""
        return _describe(self, self.n_edges, "edges")


@dataclass(frozen=True, eq=False)
class FeatureTestResult(_GroupComparison):
    """Per-node group comparison of node features from :func:`feature_permutation_test`.

    Attributes
    ----------
    statistic : ndarray, shape (n_nodes,)
        Observed Welch t (or mean difference) of group A minus group B (±inf when a feature is constant
        within each group but differs between them).
    p_value : ndarray, shape (n_nodes,)
        Two-sided permutation p-values, in ``(0, 1]``.
    p_fdr : ndarray, shape (n_nodes,)
        Benjamini-Hochberg adjusted p-values over the nodes.
    effect_size : ndarray, shape (n_nodes,)
        Hedges' g of A minus B (0 where the pooled SD is 0).
    mean_a, mean_b : ndarray, shape (n_nodes,)
        Group means across subjects.
    difference : ndarray, shape (n_nodes,)
        ``mean_a - mean_b``.
    significant : ndarray of bool, shape (n_nodes,)
        ``p_fdr < alpha``.
    alpha : float
        FDR level.
    n_permutations : int
        Number of random label permutations.
    n_a, n_b : int
        Number of subjects in each group.
    statistic_name : {"t", "mean"}
        Which statistic was used.
    """

    @property
    def n_significant(self) -> int:
        """Number of nodes with ``p_fdr < alpha``."""
        return int(self.significant.sum())

    def top_nodes(self, node_names: Any, k: int | None = 10) -> list[dict[str, Any]]:
        """The ``k`` nodes with the smallest FDR-adjusted p-values (ties: largest |effect size| first).

        Parameters
        ----------
        node_names : sequence of str, shape (n_nodes,)
            Names of the nodes, in column order.
        k : int or None
            How many nodes to return; None returns all.

        Returns
        -------
        list of dict
            One dict per node with keys ``node`` (name), ``i`` (index), ``mean_a``, ``mean_b``,
            ``difference``, ``effect_size``, ``statistic``, ``p_value``, ``p_fdr`` and ``significant``.
        """
        names = _check_names(node_names, self.n_nodes)
        k = _check_k(k, self.n_nodes)
        order = _ranking(self.p_fdr, self.effect_size)[:k]
        return [
            {
                "node": names[i],
                "i": int(i),
                "mean_a": float(self.mean_a[i]),
                "mean_b": float(self.mean_b[i]),
                "difference": float(self.difference[i]),
                "effect_size": float(self.effect_size[i]),
                "statistic": float(self.statistic[i]),
                "p_value": float(self.p_value[i]),
                "p_fdr": float(self.p_fdr[i]),
                "significant": bool(self.significant[i]),
            }
            for i in order
        ]

    def describe(self) -> str:
        """One line for file headers, e.g. ``"Welch t permutation test across subjects (14 vs 14), 5000
        permutations, Benjamini-Hochberg FDR q < 0.05: 2 of 19 nodes"``."""
        return _describe(self, self.n_nodes, "nodes")


# --------------------------------------------------------------------------- validation


def _check_group(values: Any, name: str, ndim: int, shape_text: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        hint = " (take np.abs of complex coherency first)" if arr.dtype.kind == "c" else ""
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}{hint}.")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_text}, got shape {arr.shape}.")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains non-finite value {float(arr[index])!r} at {list(index)} "
            f"({int(bad.sum())} non-finite value(s) in total)."
        )
    return arr


def _check_groups(group_a: Any, group_b: Any, ndim: int, shape_text: str) -> tuple[np.ndarray, np.ndarray]:
    a = _check_group(group_a, "group_a", ndim, shape_text.replace("n_subjects", "n_subjects_a"))
    b = _check_group(group_b, "group_b", ndim, shape_text.replace("n_subjects", "n_subjects_b"))
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(
            f"Each group needs at least 2 subjects, got {a.shape[0]} in group_a and {b.shape[0]} in group_b."
        )
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"group_a and group_b must have the same nodes: got per-subject shapes {a.shape[1:]} in group_a "
            f"and {b.shape[1:]} in group_b."
        )
    return a, b


def _check_matrices(arr: np.ndarray, name: str) -> None:
    """Square and symmetric (only the upper triangle is tested, so a directed matrix would lose half)."""
    if arr.shape[1] != arr.shape[2]:
        raise ValueError(f"{name} must hold square (n_nodes, n_nodes) matrices, got shape {arr.shape}.")
    if arr.shape[1] < 2:
        raise ValueError(f"{name} needs at least 2 nodes to have an edge, got shape {arr.shape}.")
    transposed = arr.transpose(0, 2, 1)
    asymmetric = np.abs(arr - transposed) > 1e-8 + 1e-5 * np.abs(transposed)
    if asymmetric.any():
        s, i, j = (int(v) for v in np.argwhere(asymmetric)[0])
        raise ValueError(
            f"{name}[{s}] is not symmetric: [{i}, {j}] = {arr[s, i, j]!r} but [{j}, {i}] = {arr[s, j, i]!r}. "
            "The edge test compares undirected connectivity; symmetrise directed measures first "
            "(e.g. (C + C.T) / 2) or test both directions with feature_permutation_test on the flattened "
            "matrices."
        )


def _check_options(n_permutations: Any, alpha: Any, statistic: Any) -> tuple[int, float, str]:
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)) or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations!r}.")
    try:
        alpha_value = float(alpha)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}.") from exc
    if not 0 < alpha_value < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    check_option("statistic", statistic, STATISTICS)
    return int(n_permutations), alpha_value, statistic


# --------------------------------------------------------------------------- core


def _group_variance(sums: np.ndarray, squares: np.ndarray, n: int) -> np.ndarray:
    """Unbiased variance from sums and sums of squares; rounding noise around 0 becomes exactly 0."""
    deviations = squares - sums * sums / n
    deviations = np.where(deviations <= _ZERO_VARIANCE_RTOL * squares, 0.0, deviations)
    return deviations / (n - 1)


def _hedges_g(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hedges' g of A minus B per column, 0 where the pooled SD is 0."""
    n_a, n_b = a.shape[0], b.shape[0]
    var_a = np.where(np.ptp(a, axis=0) == 0, 0.0, a.var(axis=0, ddof=1))
    var_b = np.where(np.ptp(b, axis=0) == 0, 0.0, b.var(axis=0, ddof=1))
    pooled_sd = np.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
    correction = 1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0)
    difference = a.mean(axis=0) - b.mean(axis=0)
    safe_sd = np.where(pooled_sd > 0, pooled_sd, 1.0)
    return np.where(pooled_sd > 0, correction * difference / safe_sd, 0.0)


def _permutation_test(
    a: np.ndarray, b: np.ndarray, *, n_permutations: int, alpha: float, seed: Any, statistic: str
) -> dict[str, np.ndarray]:
    """Two-sample permutation test of every column of ``a`` against the same column of ``b``.

    Parameters
    ----------
    a : ndarray, shape (n_a, n_tests)
    b : ndarray, shape (n_b, n_tests)
        Validated, finite float64 data, one row per subject.

    Returns
    -------
    dict of ndarray, each shape (n_tests,)
        ``statistic``, ``p_value``, ``p_fdr``, ``effect_size``, ``mean_a``, ``mean_b``, ``difference``,
        ``significant``.
    """
    n_a, n_b = a.shape[0], b.shape[0]
    n_tests = a.shape[1]
    pooled = np.concatenate([a, b])
    # Both statistics are shift invariant; centring each column keeps the sums-of-squares variances accurate.
    constant = np.ptp(pooled, axis=0) == 0
    centred = pooled - pooled.mean(axis=0)
    centred[:, constant] = 0.0
    squares = centred * centred
    total, total_squares = centred.sum(axis=0), squares.sum(axis=0)

    def statistics(masks: np.ndarray) -> np.ndarray:
        """Statistic of each label assignment; ``masks`` (n_assignments, n_subjects) is 1 for group A."""
        sum_a = masks @ centred
        difference = sum_a / n_a - (total - sum_a) / n_b
        if statistic == "mean":
            return difference
        squares_a = masks @ squares
        var_a = _group_variance(sum_a, squares_a, n_a)
        var_b = _group_variance(total - sum_a, total_squares - squares_a, n_b)
        se = np.sqrt(var_a / n_a + var_b / n_b)
        safe_se = np.where(se > 0, se, 1.0)
        # se == 0 only when both groups are constant: t is ±inf, or 0 when the constants are equal.
        degenerate = np.where(difference > 0, np.inf, np.where(difference < 0, -np.inf, 0.0))
        return np.where(se > 0, difference / safe_se, degenerate)

    labels = np.concatenate([np.ones(n_a), np.zeros(n_b)])
    observed = statistics(labels[None, :])[0]
    threshold = np.abs(observed) * (1.0 - _TIE_RTOL)

    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_permutations, _CHUNK_ELEMENTS // max(n_tests, n_a + n_b, 1)))
    count = np.zeros(n_tests, dtype=np.int64)
    done = 0
    while done < n_permutations:
        size = min(chunk, n_permutations - done)
        masks = rng.permuted(np.broadcast_to(labels, (size, n_a + n_b)), axis=1)
        count += (np.abs(statistics(masks)) >= threshold).sum(axis=0)
        done += size

    p_value = (count + 1) / (n_permutations + 1)
    p_fdr = benjamini_hochberg(p_value)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    return {
        "statistic": observed,
        "p_value": p_value,
        "p_fdr": p_fdr,
        "effect_size": _hedges_g(a, b),
        "mean_a": mean_a,
        "mean_b": mean_b,
        "difference": mean_a - mean_b,
        "significant": p_fdr < alpha,
    }


def _paired_permutation_test(
    a: np.ndarray, b: np.ndarray, *, n_permutations: int, alpha: float, seed: Any, statistic: str
) -> dict[str, np.ndarray]:
    """Paired sign-flip permutation test of ``a - b`` per column (the same subjects measured twice).

    Under the null hypothesis each subject's difference is as likely to have either sign, so the permutation
    distribution flips the signs of whole subjects (the same flips for every column). Effect size: Cohen's
    d_z (mean difference over the SD of the differences) with Hedges' small-sample correction.
    """
    if a.shape != b.shape:
        raise ValueError(f"A paired test needs the same subjects in both groups, got shapes {a.shape} and {b.shape}.")
    differences = a - b
    n = differences.shape[0]
    squares = differences * differences

    def statistics(signs: np.ndarray) -> np.ndarray:
        sums = signs @ differences
        mean = sums / n
        if statistic == "mean":
            return mean
        variance = _group_variance(sums, np.broadcast_to(squares.sum(axis=0), sums.shape), n)
        se = np.sqrt(variance / n)
        degenerate = np.where(mean > 0, np.inf, np.where(mean < 0, -np.inf, 0.0))
        return np.where(se > 0, mean / np.where(se > 0, se, 1.0), degenerate)

    observed = statistics(np.ones((1, n)))[0]
    threshold = np.abs(observed) * (1.0 - _TIE_RTOL)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_permutations, _CHUNK_ELEMENTS // max(differences.shape[1], n, 1)))
    count = np.zeros(differences.shape[1], dtype=np.int64)
    done = 0
    while done < n_permutations:
        size = min(chunk, n_permutations - done)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        count += (np.abs(statistics(signs)) >= threshold).sum(axis=0)
        done += size
    p_value = (count + 1) / (n_permutations + 1)
    p_fdr = benjamini_hochberg(p_value)
    sd = np.where(np.ptp(differences, axis=0) == 0, 0.0, differences.std(axis=0, ddof=1))
    correction = 1.0 - 3.0 / (4.0 * (n - 1) - 1.0)
    mean_difference = differences.mean(axis=0)
    effect = np.where(sd > 0, correction * mean_difference / np.where(sd > 0, sd, 1.0), 0.0)
    return {
        "statistic": observed, "p_value": p_value, "p_fdr": p_fdr, "effect_size": effect,
        "mean_a": a.mean(axis=0), "mean_b": b.mean(axis=0), "difference": mean_difference,
        "significant": p_fdr < alpha,
    }


# --------------------------------------------------------------------------- public tests


def edge_permutation_test(
    group_a: Any,
    group_b: Any,
    *,
    n_permutations: int = 5000,
    alpha: float = 0.05,
    seed: int | None = 0,
    statistic: str = "t",
    paired: bool = False,
) -> EdgeTestResult:
    """Test every edge for a difference in mean connectivity between two groups of subjects.

    Each upper-triangle edge ``i < j`` gets a two-sided permutation test: the subject labels are permuted
    (the same permutations for all edges) and the observed statistic is compared with its permutation
    distribution. p-values are FDR-corrected over the ``n_nodes * (n_nodes - 1) / 2`` edges with
    Benjamini-Hochberg.

    Parameters
    ----------
    group_a : array-like, shape (n_subjects_a, n_nodes, n_nodes)
        One symmetric connectivity matrix per subject of group A (e.g. patients), averaged over that
        subject's windows. Never pass windows: the test assumes independent rows.
    group_b : array-like, shape (n_subjects_b, n_nodes, n_nodes)
        The same for group B (e.g. controls), with the same nodes in the same order.
    n_permutations : int
        Number of random label permutations. The smallest possible p-value is ``1 / (n_permutations + 1)``,
        so the smallest FDR-adjusted p is ``n_edges / (n_permutations + 1)`` for a lone edge: use at least
        ``n_edges / alpha`` permutations (3420 for 19 nodes at 0.05; 40 320 for 64 nodes).
    alpha : float
        FDR level ``q`` for ``significant``.
    seed : int or None
        Seed of ``numpy.random.default_rng`` for the permutations.
    statistic : {"t", "mean"}
        Welch's t (unequal variances) or the plain difference of means, A minus B.
    paired : bool
        The same subjects in both groups, in the same order (e.g. rest and task recordings of each subject):
        a sign-flip permutation test of the within-subject differences, with Cohen's d_z as effect size.

    Returns
    -------
    EdgeTestResult
        Symmetric ``(n_nodes, n_nodes)`` arrays of statistics, p-values, FDR-adjusted p-values, Hedges' g,
        group means and the significance mask.

    Raises
    ------
    ValueError
        If a group is not a 3-D array of finite, real, square, symmetric matrices, has fewer than 2 subjects,
        the groups have different numbers of nodes, or an option is invalid.
    """
    n_permutations, alpha, statistic = _check_options(n_permutations, alpha, statistic)
    a, b = _check_groups(group_a, group_b, 3, "(n_subjects, n_nodes, n_nodes)")
    _check_matrices(a, "group_a")
    _check_matrices(b, "group_b")
    n_nodes = a.shape[1]
    rows, cols = np.triu_indices(n_nodes, k=1)
    core = _paired_permutation_test if paired else _permutation_test
    tested = core(
        a[:, rows, cols], b[:, rows, cols],
        n_permutations=n_permutations, alpha=alpha, seed=seed, statistic=statistic,
    )
    diagonal = {
        "statistic": 0.0,
        "p_value": 1.0,
        "p_fdr": 1.0,
        "effect_size": 0.0,
        "mean_a": np.diagonal(a, axis1=1, axis2=2).mean(axis=0),
        "mean_b": np.diagonal(b, axis1=1, axis2=2).mean(axis=0),
        "significant": False,
    }
    diagonal["difference"] = diagonal["mean_a"] - diagonal["mean_b"]
    matrices = {}
    for field, values in tested.items():
        matrix = np.zeros((n_nodes, n_nodes), dtype=values.dtype)
        matrix[rows, cols] = values
        matrix[cols, rows] = values
        matrix[np.diag_indices(n_nodes)] = diagonal[field]
        matrices[field] = matrix
    return EdgeTestResult(
        **matrices, alpha=alpha, n_permutations=n_permutations, n_a=a.shape[0], n_b=b.shape[0],
        statistic_name=f"paired {statistic}" if paired else statistic,
    )


def feature_permutation_test(
    group_a: Any,
    group_b: Any,
    *,
    n_permutations: int = 5000,
    alpha: float = 0.05,
    seed: int | None = 0,
    statistic: str = "t",
    paired: bool = False,
) -> FeatureTestResult:
    """Test every node feature for a difference in mean between two groups of subjects.

    The per-node version of :func:`edge_permutation_test` (same test, same options): each column is tested
    with a two-sided subject-label permutation test, and the p-values are FDR-corrected over the columns.

    Parameters
    ----------
    group_a : array-like, shape (n_subjects_a, n_nodes)
        One value per subject and node for group A (e.g. alpha log-power averaged over the subject's windows).
    group_b : array-like, shape (n_subjects_b, n_nodes)
        The same for group B, same nodes in the same order.
    n_permutations : int
        Number of random label permutations (smallest p is ``1 / (n_permutations + 1)``).
    alpha : float
        FDR level ``q`` for ``significant``.
    seed : int or None
        Seed of ``numpy.random.default_rng`` for the permutations.
    statistic : {"t", "mean"}
        Welch's t (unequal variances) or the plain difference of means, A minus B.
    paired : bool
        The same subjects in both groups, in the same order: a sign-flip test of within-subject differences.

    Returns
    -------
    FeatureTestResult
        ``(n_nodes,)`` arrays of statistics, p-values, FDR-adjusted p-values, Hedges' g, group means and the
        significance mask.

    Raises
    ------
    ValueError
        If a group is not a finite, real 2-D array, has fewer than 2 subjects, the groups have different
        numbers of nodes, or an option is invalid.
    """
    n_permutations, alpha, statistic = _check_options(n_permutations, alpha, statistic)
    a, b = _check_groups(group_a, group_b, 2, "(n_subjects, n_nodes)")
    if a.shape[1] == 0:
        raise ValueError(f"group_a and group_b need at least one node, got shapes {a.shape} and {b.shape}.")
    core = _paired_permutation_test if paired else _permutation_test
    tested = core(a, b, n_permutations=n_permutations, alpha=alpha, seed=seed, statistic=statistic)
    return FeatureTestResult(
        **tested, alpha=alpha, n_permutations=n_permutations, n_a=a.shape[0], n_b=b.shape[0],
        statistic_name=f"paired {statistic}" if paired else statistic,
    )

