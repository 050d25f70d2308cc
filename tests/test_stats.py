"""Group statistics across subjects: permutation tests per edge and per node feature, and BH FDR."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from eeg_gnn.evaluation.stats import (
    EdgeTestResult,
    benjamini_hochberg,
    edge_permutation_test,
    feature_permutation_test,
)

N_NODES = 10
NAMES = [f"N{i}" for i in range(N_NODES)]
PLANTED = [(0, 1), (2, 5), (4, 9)]


def symmetric_noise(rng: np.random.Generator, n_subjects: int, n_nodes: int = N_NODES) -> np.ndarray:
    """Random symmetric (n_subjects, n_nodes, n_nodes) matrices, off-diagonal SD about 0.07, diagonal 1."""
    x = rng.normal(0.0, 0.1, size=(n_subjects, n_nodes, n_nodes))
    x = (x + x.transpose(0, 2, 1)) / 2
    x[:, np.arange(n_nodes), np.arange(n_nodes)] = 1.0
    return x


def planted_groups(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = symmetric_noise(rng, 12), symmetric_noise(rng, 12)
    for i, j in PLANTED:
        a[:, i, j] += 0.5
        a[:, j, i] += 0.5
    return a, b


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray, EdgeTestResult]:
    a, b = planted_groups()
    return a, b, edge_permutation_test(a, b, n_permutations=2000, seed=0)


def upper(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[0], k=1)]


# --------------------------------------------------------------------------- Benjamini-Hochberg


def test_bh_hand_computed_example():
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(adjusted, [0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_bh_matches_scipy_and_is_monotone():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=60), rng.uniform(0, 0.002, size=10), [0.2, 0.2, 1.0, 0.0]])
    adjusted = benjamini_hochberg(p)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)
    if not hasattr(scipy.stats, "false_discovery_control"):
        pytest.skip("scipy.stats.false_discovery_control needs scipy >= 1.11")
    np.testing.assert_allclose(adjusted, scipy.stats.false_discovery_control(p, method="bh"))


def test_bh_keeps_shape_and_handles_empty():
    p = np.array([[0.01, 0.02], [0.03, 0.9]])
    adjusted = benjamini_hochberg(p)
    assert adjusted.shape == (2, 2)
    np.testing.assert_allclose(adjusted.ravel(), benjamini_hochberg(p.ravel()))
    assert benjamini_hochberg([]).shape == (0,)


@pytest.mark.parametrize("bad", [[0.1, np.nan], [0.1, 1.5], [-0.01, 0.2]])
def test_bh_rejects_invalid_p(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\].*index 1|\[0, 1\].*index 0"):
        benjamini_hochberg(bad)


# --------------------------------------------------------------------------- edge test


def test_planted_edges_are_found(planted):
    _, _, result = planted
    found = {(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(result.significant, k=1)))}
    assert set(PLANTED) <= found
    assert len(found - set(PLANTED)) <= 1  # of 42 null edges
    for i, j in PLANTED:
        assert result.difference[i, j] > 0.4
        assert result.effect_size[i, j] > 2
        assert result.statistic[i, j] > 0
        assert result.p_value[i, j] == pytest.approx(1 / 2001)


def test_null_gives_no_significant_edges():
    hits = 0
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        result = edge_permutation_test(symmetric_noise(rng, 12), symmetric_noise(rng, 12),
                                       n_permutations=1000, seed=seed)
        hits += bool(result.significant.any())
    assert hits <= 1


def test_result_matrices_are_symmetric_with_neutral_diagonal(planted):
    a, b, result = planted
    for name in ("statistic", "p_value", "p_fdr", "effect_size", "mean_a", "mean_b", "difference", "significant"):
        matrix = getattr(result, name)
        assert matrix.shape == (N_NODES, N_NODES), name
        np.testing.assert_array_equal(matrix, matrix.T, err_msg=name)
        assert not np.isnan(matrix.astype(float)).any(), name
    assert np.all((result.p_value > 0) & (result.p_value <= 1))
    assert np.all((result.p_fdr >= result.p_value) & (result.p_fdr <= 1))
    np.testing.assert_array_equal(np.diag(result.p_value), 1.0)
    np.testing.assert_array_equal(np.diag(result.p_fdr), 1.0)
    np.testing.assert_array_equal(np.diag(result.statistic), 0.0)
    np.testing.assert_array_equal(np.diag(result.effect_size), 0.0)
    assert not np.diag(result.significant).any()
    np.testing.assert_allclose(result.mean_a, a.mean(axis=0))
    np.testing.assert_allclose(result.difference, a.mean(axis=0) - b.mean(axis=0))
    np.testing.assert_array_equal(result.significant, result.p_fdr < 0.05)
    np.testing.assert_allclose(upper(result.p_fdr), benjamini_hochberg(upper(result.p_value)))


def test_hedges_g_and_welch_t_match_hand_computation(planted):
    a, b, result = planted
    i, j = 3, 7
    x, y = a[:, i, j], b[:, i, j]
    n_a, n_b = len(x), len(y)
    pooled_sd = np.sqrt(((n_a - 1) * x.var(ddof=1) + (n_b - 1) * y.var(ddof=1)) / (n_a + n_b - 2))
    g = (1 - 3 / (4 * (n_a + n_b) - 9)) * (x.mean() - y.mean()) / pooled_sd
    assert result.effect_size[i, j] == pytest.approx(g, rel=1e-10)
    welch = scipy.stats.ttest_ind(x, y, equal_var=False).statistic
    assert result.statistic[i, j] == pytest.approx(welch, rel=1e-9)


def test_p_values_agree_with_scipy_permutation_test():
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.4, 1, size=(9, 1)), rng.normal(0, 1, size=(11, 1))
    ours = feature_permutation_test(x, y, n_permutations=4000, seed=1).p_value[0]
    theirs = scipy.stats.permutation_test(
        (x[:, 0], y[:, 0]),
        lambda u, v, axis: scipy.stats.ttest_ind(u, v, equal_var=False, axis=axis).statistic,
        vectorized=True, n_resamples=4000, permutation_type="independent", alternative="two-sided",
        random_state=2,
    ).pvalue
    assert ours == pytest.approx(theirs, abs=0.03)


def test_mean_statistic_is_the_difference(planted):
    a, b, _ = planted
    result = edge_permutation_test(a, b, n_permutations=1000, seed=0, statistic="mean")
    np.testing.assert_allclose(upper(result.statistic), upper(result.difference), atol=1e-12)
    assert all(result.significant[i, j] for i, j in PLANTED)
    assert result.describe().startswith("Mean-difference permutation test")


def test_seed_makes_results_deterministic(planted):
    a, b, _ = planted
    first = edge_permutation_test(a, b, n_permutations=500, seed=7)
    again = edge_permutation_test(a, b, n_permutations=500, seed=7)
    other = edge_permutation_test(a, b, n_permutations=500, seed=8)
    np.testing.assert_array_equal(first.p_value, again.p_value)
    assert not np.array_equal(first.p_value, other.p_value)


def test_top_edges_lists_planted_edges_first(planted):
    _, _, result = planted
    top = result.top_edges(NAMES, k=5)
    assert len(top) == 5
    assert {(edge["i"], edge["j"]) for edge in top[:3]} == set(PLANTED)
    first = top[0]
    assert first["edge"] == f"{first['node_i']}-{first['node_j']}"
    assert first["node_i"] == NAMES[first["i"]] and first["node_j"] == NAMES[first["j"]]
    for key in ("mean_a", "mean_b", "difference", "effect_size", "p_value", "p_fdr"):
        assert isinstance(first[key], float)
    assert first["difference"] == pytest.approx(first["mean_a"] - first["mean_b"])
    assert first["significant"] is True
    assert [edge["p_fdr"] for edge in top] == sorted(edge["p_fdr"] for edge in top)
    assert len(result.top_edges(NAMES, k=None)) == 45
    with pytest.raises(ValueError, match="10 names.*got 3"):
        result.top_edges(NAMES[:3])
    with pytest.raises(ValueError, match="k must be.*0"):
        result.top_edges(NAMES, k=0)


def test_describe_mentions_counts_and_fdr_level(planted):
    _, _, result = planted
    n_hits = int(np.triu(result.significant, k=1).sum())
    assert result.describe() == (
        "Welch t permutation test across subjects (12 vs 12), 2000 permutations, "
        f"Benjamini-Hochberg FDR q < 0.05: {n_hits} of 45 edges"
    )


def test_describe_warns_when_permutations_are_too_few(planted):
    a, b, _ = planted
    result = edge_permutation_test(a, b, n_permutations=200, seed=0)
    assert not result.significant.any()
    assert "cannot reach q < 0.05" in result.describe()


def test_constant_edges_do_not_warn_or_produce_nan():
    rng = np.random.default_rng(0)
    a, b = symmetric_noise(rng, 4, 4), symmetric_noise(rng, 5, 4)
    a[:, 0, 1] = a[:, 1, 0] = 0.3  # constant everywhere
    b[:, 0, 1] = b[:, 1, 0] = 0.3
    a[:, 0, 2] = a[:, 2, 0] = 0.7  # constant within each group, different between them
    b[:, 0, 2] = b[:, 2, 0] = 0.1
    result = edge_permutation_test(a, b, n_permutations=300, seed=0)
    assert result.statistic[0, 1] == 0 and result.p_value[0, 1] == 1 and result.effect_size[0, 1] == 0
    assert result.statistic[0, 2] == np.inf and result.effect_size[0, 2] == 0
    assert result.p_value[0, 2] < 0.05
    assert not np.isnan(result.p_value).any()


# --------------------------------------------------------------------------- feature test


def test_feature_test_finds_planted_node_and_shares_the_edge_core(planted):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(12, 6)), rng.normal(size=(10, 6))
    a[:, 4] += 3.0
    result = feature_permutation_test(a, b, n_permutations=1000, seed=0)
    assert result.p_value.shape == (6,)
    assert np.flatnonzero(result.significant).tolist() == [4]
    top = result.top_nodes([f"C{i}" for i in range(6)], k=2)
    assert top[0]["node"] == "C4" and top[0]["effect_size"] > 1
    assert result.describe().endswith("1 of 6 nodes")

    # The edge test is the feature test on the upper-triangle entries.
    edge_a, edge_b, _ = planted
    edges = edge_permutation_test(edge_a, edge_b, n_permutations=300, seed=4)
    rows, cols = np.triu_indices(N_NODES, k=1)
    flat = feature_permutation_test(edge_a[:, rows, cols], edge_b[:, rows, cols], n_permutations=300, seed=4)
    np.testing.assert_array_equal(upper(edges.p_value), flat.p_value)
    np.testing.assert_array_equal(upper(edges.effect_size), flat.effect_size)


# --------------------------------------------------------------------------- errors


def test_errors_name_the_bad_input(planted):
    a, b, _ = planted
    with pytest.raises(ValueError, match=r"same nodes.*\(10, 10\).*\(9, 9\)"):
        edge_permutation_test(a, b[:, :9, :9])
    with pytest.raises(ValueError, match="square"):
        edge_permutation_test(a[:, :, :9], b[:, :, :9])
    with pytest.raises(ValueError, match="1 in group_a and 1 in group_b"):
        edge_permutation_test(a[:1], b[:1])
    with pytest.raises(ValueError, match="1 in group_b"):
        feature_permutation_test(np.zeros((3, 4)), np.zeros((1, 4)))
    bad = a.copy()
    bad[2, 3, 4] = bad[2, 4, 3] = np.nan
    with pytest.raises(ValueError, match=r"group_a contains non-finite value nan at \[2, 3, 4\]"):
        edge_permutation_test(bad, b)
    with pytest.raises(ValueError, match="group_b must have shape"):
        edge_permutation_test(a, b[:, 0])
    asymmetric = b.copy()
    asymmetric[1, 0, 5] += 1.0
    with pytest.raises(ValueError, match=r"group_b\[1\] is not symmetric"):
        edge_permutation_test(a, asymmetric)
    with pytest.raises(ValueError, match="'statistic'.*'median'"):
        edge_permutation_test(a, b, statistic="median")
    with pytest.raises(ValueError, match="n_permutations.*0"):
        edge_permutation_test(a, b, n_permutations=0)
    with pytest.raises(ValueError, match="alpha.*1.5"):
        edge_permutation_test(a, b, alpha=1.5)
    with pytest.raises(ValueError, match="real numeric.*complex"):
        feature_permutation_test(np.ones((3, 2), dtype=complex), np.ones((3, 2)))


def test_paired_sign_flip_finds_within_subject_shift_that_between_subject_noise_hides():
    rng = np.random.default_rng(5)
    n_subjects, n_nodes = 12, 8
    subject_level = rng.normal(0, 2.0, (n_subjects, n_nodes, n_nodes))
    subject_level = (subject_level + subject_level.transpose(0, 2, 1)) / 2
    rest = subject_level + rng.normal(0, 0.1, subject_level.shape)
    task = subject_level + rng.normal(0, 0.1, subject_level.shape)
    rest, task = (rest + rest.transpose(0, 2, 1)) / 2, (task + task.transpose(0, 2, 1)) / 2
    task[:, 1, 2] += 0.5
    task[:, 2, 1] += 0.5
    unpaired = edge_permutation_test(task, rest, n_permutations=2000, seed=0)
    paired = edge_permutation_test(task, rest, n_permutations=2000, seed=0, paired=True)
    assert not unpaired.significant[1, 2]
    assert paired.significant[1, 2] and paired.significant.sum() == 2
    assert paired.effect_size[1, 2] > 1 and paired.difference[1, 2] == pytest.approx(0.5, abs=0.1)
    assert "paired" in paired.describe().lower()


def test_paired_needs_the_same_subjects():
    a = np.zeros((4, 3))
    with pytest.raises(ValueError, match="same subjects"):
        feature_permutation_test(a, np.zeros((5, 3)), paired=True)
