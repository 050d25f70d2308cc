"""Regenerate ``montages/positions_1010.tsv`` from MNE's template montage and nilearn's MNI152 brain mask.

Run by hand (``python montages/build_positions.py``); the table it writes is what the package reads.

Scalp positions
    MNE ships the 10-20/10-10 template positions of Oostenveld & Praamstra (2001) on the Colin27 head
    (``colin27_1020``, called ``standard_1020`` before MNE 1.13). ``DigMontage.get_positions()`` gives them in the
    ``mri`` coordinate frame of that template, which is MNI space, in metres. The transform to MNI millimetres is
    therefore the identity rotation with a unit change (x 1000); the script refuses to run if MNE reports any
    other frame, instead of guessing a factor.

Cortical positions
    Each scalp position is projected onto the MNI152 brain surface (nilearn's ``load_mni152_brain_mask`` at 1 mm)
    along the ray from the centroid of the brain mask to the electrode: the cortical point is the outermost
    brain voxel on that ray. This mirrors the cortical projection of Okamoto et al. (2004, NeuroImage 21:99-111),
    whose published values for 21 electrodes (``shared/reference/brainnet_example.node``) agree with ours to a mean
    of 11 mm and at most 18 mm (Fp1/Fp2/F3 and TP9/TP10, where the Colin27 scalp template itself sits lower and
    more anterior than Okamoto's subjects).
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


def main() -> None:
    template, ch_pos = load_template()
    names = [n for n in ch_pos if n not in NON_SCALP | OLD_NAMES]
    scalp = np.array([ch_pos[n] for n in names])
    cortex, centre = project_to_cortex(scalp)
    lines = [
        f"# 10-10 electrode positions in MNI mm. scalp: MNE {mne.__version__} '{template}' (mri frame = MNI, m -> mm).",
        f"# cortex: projection onto nilearn MNI152 brain mask (1 mm) along the ray from its centroid "
        f"({centre[0]:.1f}, {centre[1]:.1f}, {centre[2]:.1f}); see build_positions.py.",
        "name\tregion_code\tregion\tscalp_x\tscalp_y\tscalp_z\tcortex_x\tcortex_y\tcortex_z",
    ]
    for name, s, c in zip(names, scalp, cortex):
        code, region = region_of(name)
        coords = "\t".join(f"{v:.1f}" for v in (*s, *c))
        lines.append(f"{name}\t{code}\t{region}\t{coords}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(names)} electrodes to {OUT}")


if __name__ == "__main__":
    main()
