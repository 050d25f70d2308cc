"""Regenerate ``montages/positions_1010.tsv`` from MNE's template montage and nilearn's MNI152 brain mask.

Run by hand (``python montages/build_positions.py``); the table it writes is what the package reads.

Scalp positions
    MNE ships the 10-20/10-10 template positions of Oostenveld & Praamstra (2001) on the Colin27 head
    (``colin27_1020``, called ``standard_1020`` before MNE 1.13). ``DigMontage.get_positions()`` gives them in the
    ``mri`` coordinate frame of that template, which is MNI space, in metres. The transform to MNI millimetres is
    therefore the identity rotation with a unit change (x 1000); the script refuses to run if MNE reports any
    other frame, instead of guessing a factor.

Cortical positions
    Where a published cortical position exists, it is used as published: the 10-20 cortical projection points of
    Okamoto et al. (2004, NeuroImage 21:99-111), measured on the MRIs of 17 adults and normalised to MNI space
    (:data:`OKAMOTO_2004`, 21 sites: the 19 electrodes of the 10-20 system and TP9/TP10). Every other site is
    projected here: the scalp position is moved onto the MNI152 brain surface (nilearn's
    ``load_mni152_brain_mask`` at 1 mm) along the ray from the centroid of the brain mask to the electrode, and the
    cortical point is the outermost brain voxel on that ray. On the 21 published sites this projection differs
    from the published values by 11 mm on average and 18 mm at most (Fp1/Fp2/F3/F4/Fz and TP9/TP10: the Colin27
    scalp template sits lower and more anterior there than Okamoto's subjects), which is why the published values
    are preferred. The ``cortex_source`` column of the table says which applies to each site.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import mne
import numpy as np
from nilearn import datasets

OUT = Path(__file__).with_name("positions_1010.tsv")
TEMPLATE_NAMES = ("colin27_1020", "standard_1020")
NON_SCALP = {"A1", "A2", "M1", "M2"}
OLD_NAMES = {"T3", "T4", "T5", "T6"}
RAY_STEPS = 4001

#: Cortical projection points of the 10-20 sites in MNI millimetres, Okamoto M, Dan H, Sakamoto K, et al. (2004)
#: Three-dimensional probabilistic anatomical cranio-cerebral correlation via the international 10-20 system
#: oriented for transcranial functional brain mapping. NeuroImage 21:99-111 (the MNI table of cortical projection
#: points; transcribed as in ``shared/reference/brainnet_example.node``). Old names: T7/T8/P7/P8 = T3/T4/T5/T6.
OKAMOTO_2004: dict[str, tuple[float, float, float]] = {
    "Fp1": (-21.5, 66.9, 12.1), "Fp2": (24.3, 66.3, 12.5),
    "F3": (-39.7, 25.3, 44.7), "F4": (41.9, 27.5, 43.9),
    "C3": (-49.1, -20.7, 53.2), "C4": (50.3, -18.8, 53.0),
    "P3": (-41.4, -67.8, 42.4), "P4": (44.2, -65.8, 42.7),
    "O1": (-25.8, -93.3, 7.7), "O2": (25.0, -95.2, 6.2),
    "F7": (-52.1, 28.6, 3.8), "F8": (53.2, 28.4, -3.1),
    "T7": (-65.8, -17.8, -2.9), "T8": (67.4, -18.5, -3.4),
    "P7": (-55.9, -64.8, 0.0), "P8": (56.4, -64.4, 0.1),
    "Fz": (0.0, 26.8, 60.6), "Cz": (0.8, -21.9, 77.4), "Pz": (0.7, -69.3, 56.9),
    "TP9": (-62.8, -46.6, -14.66), "TP10": (62.8, -46.58, -14.6),
}
PUBLISHED, PROJECTED = "okamoto2004", "projection"


def load_template() -> tuple[str, dict[str, np.ndarray]]:
    builtin = mne.channels.get_builtin_montages()
    name = next(n for n in TEMPLATE_NAMES if n in builtin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        montage = mne.channels.make_standard_montage(name)
    positions = montage.get_positions()
    if positions["coord_frame"] != "mri":
        sys.exit(f"{name} is in the {positions['coord_frame']!r} frame, not 'mri' (MNI); refusing to guess.")
    ch_pos = {ch: xyz * 1000.0 for ch, xyz in positions["ch_pos"].items()}
    return name, ch_pos


def region_of(name: str) -> tuple[int, str]:
    upper = name.upper()
    digits = "".join(c for c in upper if c.isdigit())
    number = int(digits) if digits else 0
    prefix = upper.rstrip("Z0123456789")
    if prefix in ("FP", "AF"):
        return 1, "prefrontal"
    if prefix in ("F", "FC"):
        return 2, "frontal"
    if prefix in ("C", "CP"):
        return 3, "central"
    if prefix in ("T", "FT", "TP") or (prefix == "P" and number >= 7):
        return 4, "temporal"
    if prefix in ("P", "PO"):
        return 5, "parietal"
    if prefix in ("O", "I"):
        return 6, "occipital"
    raise ValueError(f"No region rule for electrode {name!r}.")


def project_to_cortex(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask_img = datasets.load_mni152_brain_mask(resolution=1)
    mask = mask_img.get_fdata() > 0.5
    affine = mask_img.affine
    inverse = np.linalg.inv(affine)
    voxels_mm = np.argwhere(mask) @ affine[:3, :3].T + affine[:3, 3]
    centre = voxels_mm.mean(axis=0)
    fractions = np.linspace(1.0, 0.0, RAY_STEPS)
    cortex = np.empty_like(points)
    for i, point in enumerate(points):
        ray = centre + fractions[:, None] * (point - centre)
        ijk = np.rint(ray @ inverse[:3, :3].T + inverse[:3, 3]).astype(int)
        inside_volume = np.all((ijk >= 0) & (ijk < mask.shape), axis=1)
        in_brain = np.zeros(RAY_STEPS, dtype=bool)
        in_brain[inside_volume] = mask[tuple(ijk[inside_volume].T)]
        cortex[i] = ray[np.argmax(in_brain)]
    return cortex, centre


def _decimals(value: float) -> str:
    """One decimal, or two where a published value has two (TP9/TP10)."""
    return f"{value:.1f}" if round(value, 1) == round(value, 2) else f"{value:.2f}"


def main() -> None:
    template, ch_pos = load_template()
    names = [n for n in ch_pos if n not in NON_SCALP | OLD_NAMES]
    unknown = sorted(set(OKAMOTO_2004) - set(names))
    if unknown:
        sys.exit(f"Published positions for {unknown}, which the template {template!r} does not have.")
    scalp = np.array([ch_pos[n] for n in names])
    projected, centre = project_to_cortex(scalp)
    lines = [
        f"# 10-10 electrode positions in MNI mm. scalp: MNE {mne.__version__} '{template}' (mri frame = MNI, m -> mm).",
        f"# cortex: {PUBLISHED} = published cortical projection (Okamoto et al. 2004, NeuroImage 21:99-111); "
        f"{PROJECTED} = projection onto nilearn MNI152 brain mask (1 mm) along the ray from its centroid "
        f"({centre[0]:.1f}, {centre[1]:.1f}, {centre[2]:.1f}); see build_positions.py.",
        "name\tregion_code\tregion\tscalp_x\tscalp_y\tscalp_z\tcortex_x\tcortex_y\tcortex_z\tcortex_source",
    ]
    for name, s, c in zip(names, scalp, projected):
        code, region = region_of(name)
        source = PUBLISHED if name in OKAMOTO_2004 else PROJECTED
        cortex = OKAMOTO_2004.get(name, c)
        written = [f"{v:.1f}" for v in s] + [_decimals(v) if source == PUBLISHED else f"{v:.1f}" for v in cortex]
        coords = "\t".join(written)
        lines.append(f"{name}\t{code}\t{region}\t{coords}\t{source}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(names)} electrodes to {OUT}")


if __name__ == "__main__":
    main()
