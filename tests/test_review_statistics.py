"""Review statistics: which differences survive the correction, and the intervals of their effect sizes."""

from __future__ import annotations

import numpy as np
import pytest

from eeg_gnn.evaluation.stats import benjamini_hochberg
from eeg_gnn.review.statistics import (
    compare_band_power,
    compare_bands,
    detectability,
    enough_permutations,
    significant_edges,
)

N_NODES = 6
BANDS = ["theta", "alpha", "beta"]
NAMES = ["F3", "F4", "C3", "C4", "P3", "P4"]


def _symmetric(values: np.ndarray) -> np.ndarray:
    return (values + np.swapaxes(values, -1, -2)) / 2


def _cohort(n_subjects: int = 14, shift: float = 0.2, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per band, rest and task matrices of the same subjects; only alpha F3-C3 (0, 2) is higher during the task."""
    rng = np.random.default_rng(seed)
    rest, task = [], []
    for band in BANDS:
        subject_level = _symmetric(rng.uniform(0.3, 0.6, (n_subjects, N_NODES, N_NODES)))
        before = _symmetric(subject_level + rng.normal(0, 0.03, subject_level.shape))
        after = _symmetric(subject_level + rng.normal(0, 0.03, subject_level.shape))
        if band == "alpha":
            after[:, 0, 2] += shift
            after[:, 2, 0] += shift
        rest.append(before)
        task.append(after)
    return task, rest


def test_only_the_planted_pair_survives_with_its_effect_size_and_interval():
    task, rest = _cohort()
    result = compare_bands(task, rest, BANDS, paired=True, n_boot=500)
    assert [band.n_significant for band in result.bands] == [0, 1, 0]
    alpha = result.by_band()["alpha"]
    assert alpha.significant[0, 2] and alpha.significant[2, 0]
    differences = task[1][:, 0, 2] - rest[1][:, 0, 2]
    n = len(differences)
    d_z = (1 - 3 / (4 * (n - 1) - 1)) * differences.mean() / differences.std(ddof=1)
    assert alpha.test.effect_size[0, 2] == pytest.approx(d_z)
    low, high = alpha.effect_ci[0, 2]
    assert 0 < low < d_z < high
    low, high = alpha.difference_ci[0, 2]
    assert low < differences.mean() < high and low > 0.1
    assert result.effect_name == "Cohen's d_z with Hedges' correction"
    (edge,) = significant_edges(result, NAMES)
    assert (edge["band"], edge["node_a"], edge["node_b"]) == ("alpha", "F3", "C3")
    assert edge["difference"] == pytest.approx(differences.mean())
    assert edge["mean_1"] - edge["mean_0"] == pytest.approx(edge["difference"])


def test_all_bands_is_one_family_and_per_band_is_the_test_s_own():
    task, rest = _cohort(shift=0.03, seed=3)
    pooled = compare_bands(task, rest, BANDS, paired=True, n_boot=200)
    separate = compare_bands(task, rest, BANDS, paired=True, correction="per-band", n_boot=200)
    rows, cols = np.triu_indices(N_NODES, 1)
    raw = np.stack([band.test.p_value[rows, cols] for band in pooled.bands])
    np.testing.assert_allclose(np.stack([band.p_fdr[rows, cols] for band in pooled.bands]),
                               benjamini_hochberg(raw))
    for band in separate.bands:
        np.testing.assert_allclose(band.p_fdr, band.test.p_fdr)
    assert pooled.family_size == 45 and separate.family_size == 15
    assert "over all 45 tests (15 electrode pairs x 3 bands)" in pooled.correction_text()
    assert "within each band (15 electrode pairs)" in separate.correction_text()


def test_independent_groups_use_hedges_g():
    rng = np.random.default_rng(5)
    patients = [_symmetric(rng.normal(0.5, 0.05, (12, N_NODES, N_NODES))) for _ in BANDS]
    controls = [_symmetric(rng.normal(0.5, 0.05, (10, N_NODES, N_NODES))) for _ in BANDS]
    patients[0][:, 1, 3] += 0.2
    patients[0][:, 3, 1] += 0.2
    result = compare_bands(patients, controls, BANDS, paired=False, n_boot=300)
    assert result.effect_name == "Hedges' g" and result.n_subjects == (12, 10)
    assert "Welch t" in result.describe() and "12 vs 10 subjects" in result.describe()
    theta = result.by_band()["theta"]
    assert theta.significant[1, 3] and theta.n_significant == 1
    low, high = theta.effect_ci[1, 3]
    assert 0 < low < theta.test.effect_size[1, 3] < high


def test_default_permutations_let_a_single_pair_be_significant():
    assert enough_permutations(855, 0.05) == 34200
    assert enough_permutations(10, 0.05) == 5000
    task, rest = _cohort()
    result = compare_bands(task, rest, BANDS, paired=True, n_boot=100)
    assert result.n_permutations == 5000 and result.smallest_q() < result.alpha
    few = compare_bands(task, rest, BANDS, paired=True, n_permutations=100, n_boot=100)
    assert few.smallest_q() > few.alpha and few.bands[1].n_significant == 0


def test_band_power_is_one_family_over_electrodes_and_bands():
    rng = np.random.default_rng(2)
    rest = rng.normal(0.2, 0.02, (14, N_NODES, len(BANDS)))
    task = rest + rng.normal(0, 0.01, rest.shape)
    task[:, 4, 1] -= 0.05  # P3 alpha falls during the task
    result = compare_band_power(task, rest, paired=True)
    significant = result.significant.reshape(N_NODES, len(BANDS))
    assert significant[4, 1] and significant.sum() == 1


def test_bad_arguments_are_named():
    task, rest = _cohort()
    with pytest.raises(ValueError, match="'all-bands', 'per-band', but got 'fdr'"):
        compare_bands(task, rest, BANDS, paired=True, correction="fdr")
    with pytest.raises(ValueError, match="one .* array per band"):
        compare_bands(task[:2], rest, BANDS, paired=True)
    with pytest.raises(ValueError, match="same subjects in both classes.*13 subjects in class 1 and 14"):
        compare_bands([t[:13] for t in task], rest, BANDS, paired=True)


def test_detectability_counts_distinct_labellings_not_permutations():
    small = detectability((3, 4), paired=False, family_size=855, alpha=0.05, n_permutations=50_000)
    assert small.n_labellings == 35 and small.smallest_p == pytest.approx(1 / 35)
    assert small.smallest_q == 1.0 and not small.lone_difference_testable
    assert small.pairs_needed == 489  # 489 pairs at p = 1/35: q = 855 / 35 / 489 < 0.05; 488 are not enough
    assert small.detectable_effect == np.inf
    nine = detectability((9, 9), paired=False, family_size=855, alpha=0.05)
    assert nine.smallest_p == pytest.approx(2 / 48620)  # equal groups: a labelling and its mirror give the same |t|
    assert nine.smallest_q == pytest.approx(855 * 2 / 48620) and nine.lone_difference_testable
    assert nine.pairs_needed == 1
    eight = detectability((8, 8), paired=False, family_size=855, alpha=0.05)
    assert not eight.lone_difference_testable and eight.pairs_needed == 3
    hopeless = detectability((2, 2), paired=False, family_size=10, alpha=0.05)
    assert hopeless.smallest_p == pytest.approx(1 / 3) and hopeless.pairs_needed is None


def test_detectable_effect_matches_the_normal_approximation_for_many_subjects():
    many = detectability((400, 400), paired=True, family_size=1, alpha=0.05)
    assert many.smallest_p < 1e-100
    assert many.detectable_effect == pytest.approx((1.959964 + 0.841621) / np.sqrt(400), rel=0.01)
    groups = detectability((200, 200), paired=False, family_size=1, alpha=0.05)
    assert groups.detectable_effect == pytest.approx((1.959964 + 0.841621) * np.sqrt(2 / 200), rel=0.01)
    fewer = detectability((200, 200), paired=False, family_size=855, alpha=0.05)
    assert fewer.detectable_effect > groups.detectable_effect
