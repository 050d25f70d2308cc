"""Bad channels: flat, saturated (clipped), physically implausible, far-off or copied EEG nodes, found per
recording, and what to do about them (the ``bad_channels`` policy).

A channel is

* **flat** when it is constant (peak to peak below :data:`FLAT_UV`, 1e-6 µV: a zeroed or disconnected channel);
* **implausible** when it is far outside what a scalp electrode records: peak to peak above :data:`MAX_UV`
  (10 mV), or non-zero but below :data:`MIN_UV` (0.1 µV, samples stored in another unit than the file says);
* **saturated** when at least :data:`SATURATED_FRACTION` of its samples sit exactly at its minimum or maximum
  for three samples in a row or more (the amplifier or the file's digital range clipped it: a rhythm that is only
  quantised touches its extreme values at single samples).

Two more checks compare a node with the recording's other nodes, on the signal as recorded (before any filter or
re-referencing, which would hide them: after an average reference two near-dead electrodes both become minus the
mean, and their connectivity is near 1). A node is

* **relative**: far below or far above the other nodes, when its robust amplitude (median absolute deviation from its
  median) is under 1/:data:`RELATIVE_FACTOR` or over :data:`RELATIVE_FACTOR` times the median node's (an electrode
  that lost contact, or a gain error);
* **copy**: a near copy of another node, when the variance of their difference (their electrical distance) is under
  :data:`COPY_DISTANCE` times the median distance between two nodes of the recording (electrodes bridged by gel,
  or a channel duplicated in the file; a signal common to every node, such as the reference's, brings all pairs
  closer alike and flags none). On the 48 resting and task recordings of EEGMAT the closest pair of electrodes is
  at 0.026 times the median distance, and the relative amplitudes span 0.51 to 1.93.

When every node is implausible the same way the recording's unit is wrong, not its electrodes: that is refused
whatever the policy, with the ``--scale`` that would fix it.

The policies compose for messy clinical cohorts: ``interpolate-or-drop`` rebuilds the bad nodes of every recording
that has enough good ones (at most ``max_bad_fraction`` of its nodes bad) and leaves the others out, naming each;
``clipping='window'`` judges clipping per window instead of per channel: a node is then never bad for its
clipped samples, but each window in which a node sits at its rail (:func:`rail_mask`) is rejected and the rest
kept. ``rail_uv`` fixes the rail at a known amplifier range (e.g. 325 µV) instead of each node's own extremes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mne
import numpy as np

from eeg_gnn.signal.montage import positions
from eeg_gnn.utils.validation import check_option

BAD_CHANNEL_POLICIES = ("raise", "drop-recording", "interpolate", "interpolate-or-drop")
#: Policies under which a recording that cannot be used is left out (and named) rather than refused.
LEAVING_OUT = ("drop-recording", "interpolate-or-drop")
CLIPPING = ("channel", "window")
MAX_BAD_FRACTION = 0.5
#: Samples in a row a node must hold its own extreme value to count as at its rail (without ``rail_uv``).
RAIL_RUN = 3
FLAT_UV = 1e-6
MIN_UV = 0.1
MAX_UV = 10_000.0
SATURATED_FRACTION = 0.01
TYPICAL_UV = 100.0
RELATIVE_FACTOR = 10.0
#: A pair of nodes is a near copy when the variance of the difference of their first differences is below this share
#: of the median over all pairs: on the 48 EEGMAT and 36 eegmmidb recordings (64 electrodes) the closest pair is at
#: 0.024 and 0.0009, a copy with 1 % of the signal's noise added at about 5e-5.
COPY_DISTANCE = 2e-4
PROBLEMS = ("flat", "saturated", "implausible", "relative", "copy")


class BadChannelsError(ValueError):
    """A recording with bad nodes under the ``raise`` or ``drop-recording`` policy.

    Attributes
    ----------
    bad : dict of str to str
        Each bad node and why (e.g. ``{'Cz': 'flat (peak to peak 0 µV)'}``).
    """

    def __init__(self, message: str, bad: dict[str, str]):
        super().__init__(message)
        self.bad = bad


@dataclass(frozen=True)
class ChannelCheck:
    """The amplitude of one channel and what is wrong with it, if anything.

    Attributes
    ----------
    name : str
    peak_to_peak_uv : float
    problem : 'flat' | 'saturated' | 'implausible' | 'relative' | 'copy' | None
    detail : str
        Why, in words (empty when there is no problem).
    """

    name: str
    peak_to_peak_uv: float
    problem: str | None = None
    detail: str = ""


def rail_mask(data: np.ndarray, rail_uv: float | None = None) -> np.ndarray:
    """Which samples sit at their channel's rail (the amplifier or the file's digital range clipped them).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Signals in volts, as recorded (before any filter, which would smear the rail).
    rail_uv : float, optional
        The rail in µV: every sample at or beyond +-``rail_uv`` is clipped. Without it, a sample is at the rail
        when it equals its channel's minimum or maximum within a run of :data:`RAIL_RUN` samples or more (clipping
        holds the rail; a quantised rhythm touches its extreme values at single samples).

    Returns
    -------
    ndarray of bool, shape (n_channels, n_times)
    """
    data = np.asarray(data, dtype=float)
    if rail_uv is not None:
        return np.abs(data) >= rail_uv * 1e-6 * (1 - 1e-9)
    if data.shape[1] < RAIL_RUN:
        return np.zeros(data.shape, bool)
    at = (data == data.max(axis=1, keepdims=True)) | (data == data.min(axis=1, keepdims=True))
    runs = at[:, RAIL_RUN - 1:].copy()
    for lag in range(1, RAIL_RUN):
        runs &= at[:, RAIL_RUN - 1 - lag:at.shape[1] - lag]
    mask = np.zeros_like(at)
    for lag in range(RAIL_RUN):  # every sample of a run long enough
        mask[:, lag:lag + runs.shape[1]] |= runs
    return mask


def check_channels(data: np.ndarray, ch_names: Sequence[str], *, rail_uv: float | None = None,
                   saturated_fraction: float | None = SATURATED_FRACTION) -> list[ChannelCheck]:
    """Amplitude and problem of every channel.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Signals in volts.
    ch_names : list of str, length n_channels
    rail_uv : float, optional
        The amplifier's rail in µV (see :func:`rail_mask`).
    saturated_fraction : float | None
        Share of samples at the rail from which a channel is saturated; None never calls a channel saturated
        (clipping judged per window instead).

    Returns
    -------
    list of ChannelCheck, length n_channels
    """
    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.shape[0] != len(ch_names):
        raise ValueError(f"data must have shape (n_channels={len(ch_names)}, n_times), got {data.shape}.")
    ptp_uv = np.ptp(data, axis=1) * 1e6 if data.shape[1] else np.zeros(len(data))
    at_rail = rail_mask(data, rail_uv).sum(axis=1) / max(data.shape[1], 1)
    checks = []
    for name, ptp, rail in zip(ch_names, ptp_uv, at_rail, strict=True):
        problem, detail = None, ""
        if ptp < FLAT_UV:
            problem, detail = "flat", f"flat (peak to peak {ptp:.3g} µV)"
        elif ptp < MIN_UV:
            problem, detail = "implausible", f"implausibly small (peak to peak {ptp:.3g} µV, below {MIN_UV:g} µV)"
        elif ptp > MAX_UV:
            problem, detail = "implausible", f"implausibly large (peak to peak {ptp / 1000:.3g} mV, above " \
                                             f"{MAX_UV / 1000:g} mV)"
        elif saturated_fraction is not None and rail >= saturated_fraction:
            where = f"at +-{rail_uv:g} µV or beyond" if rail_uv is not None else "held at its minimum or maximum"
            problem, detail = "saturated", f"saturated ({100 * rail:.1f} % of samples {where})"
        checks.append(ChannelCheck(name, float(ptp), problem, detail))
    return checks


def check_against_others(data: np.ndarray, checks: Sequence[ChannelCheck]) -> list[ChannelCheck]:
    """The checks of :func:`check_channels` with the nodes far below or above the others, or near copies of
    another node, flagged too (``relative`` and ``copy``; a node keeps its first problem).

    Parameters
    ----------
    data : ndarray, shape (n_nodes, n_times)
        The nodes as recorded (volts), before filtering and re-referencing.
    checks : list of ChannelCheck, length n_nodes
        :func:`check_channels` of ``data``.

    Returns
    -------
    list of ChannelCheck, length n_nodes
    """
    data = np.asarray(data, dtype=float)
    live = np.array([c.problem is None for c in checks])
    if live.sum() < 3:
        return list(checks)
    centred = data - np.median(data, axis=1, keepdims=True)
    amplitude = np.median(np.abs(centred), axis=1)
    typical = float(np.median(amplitude[live]))
    checks = list(checks)
    if typical > 0:
        for i, check in enumerate(checks):
            ratio = amplitude[i] / typical
            if check.problem is None and not 1 / RELATIVE_FACTOR <= ratio <= RELATIVE_FACTOR:
                side = "below" if ratio < 1 else "above"
                checks[i] = ChannelCheck(check.name, check.peak_to_peak_uv, "relative",
                                         f"far {side} the recording's other electrodes ({ratio:.2g} times their median "
                                         f"amplitude, before re-referencing)")
    # Copies are judged on the first differences of the signals (a high-pass): neighbouring electrodes of a dense
    # montage share slow drifts that would otherwise make them look alike.
    changes = np.diff(data, axis=1)
    changes -= changes.mean(axis=1, keepdims=True)
    covariance = changes @ changes.T / changes.shape[1]
    variance = np.diag(covariance)
    distance = variance[:, None] + variance[None, :] - 2 * covariance
    pairs = [(a, b) for a, b in zip(*np.triu_indices(len(checks), 1), strict=True) if live[a] and live[b]]
    typical_distance = float(np.median([distance[a, b] for a, b in pairs]))
    if typical_distance > 0:
        for a, b in pairs:
            ratio = distance[a, b] / typical_distance
            if ratio < COPY_DISTANCE:
                for i, j in ((a, b), (b, a)):
                    if checks[i].problem is None:
                        checks[i] = ChannelCheck(
                            checks[i].name, checks[i].peak_to_peak_uv, "copy",
                            f"near copy of {checks[j].name} (the variance of the difference of their changes is {ratio:.2g} times "
                            "the median over pairs of electrodes)")
    return checks


def scale_hint(peak_to_peak_uv: float) -> float:
    """The power of 1000 that brings a peak-to-peak amplitude closest to a typical EEG one (100 µV)."""
    return 10.0 ** (3 * round(math.log10(TYPICAL_UV / peak_to_peak_uv) / 3))


def check_units(checks: Sequence[ChannelCheck], source: str) -> None:
    """Refuse a recording whose every non-flat node is implausible in the same direction: its unit is wrong.

    Raises
    ------
    ValueError
        Naming a channel, its amplitude, the likely unit mistake and the ``--scale`` that fixes it.
    """
    live = [c for c in checks if c.problem != "flat"]
    if not live or not all(c.problem == "implausible" for c in live):
        return
    small = [c.peak_to_peak_uv < MIN_UV for c in live]
    if any(small) and not all(small):
        return
    median = float(np.median([c.peak_to_peak_uv for c in live]))
    factor = scale_hint(median)
    likely = ("samples stored in volts under a microvolt label" if factor >= 1e5 else
              "samples stored in millivolts under a microvolt label" if factor >= 1e2 else
              "samples stored in microvolts under a volt label" if factor <= 1e-5 else
              "samples stored in microvolts under a millivolt label")
    example = live[0]
    raise ValueError(
        f"{source}: every EEG node is {'below' if small[0] else 'above'} the plausible range for scalp EEG "
        f"({example.name}: {example.detail.split('(')[1].rstrip(')')}; median over nodes {median:.3g} µV): likely "
        f"{likely}. Pass --scale 1e{round(math.log10(factor))} to correct it."
    )


def bad_nodes(checks: Sequence[ChannelCheck]) -> dict[str, str]:
    """``{node: why}`` for every channel with a problem."""
    return {c.name: c.detail for c in checks if c.problem}


def describe_bad(bad: dict[str, str]) -> str:
    """``'Cz flat (...); O1 saturated (...)'``."""
    return "; ".join(f"{name} {why}" for name, why in bad.items())


def apply_policy(raw: mne.io.BaseRaw, policy: str, source: str, missing: Sequence[str] = (),
                 order: Sequence[str] | None = None, *, clipping: str = "channel", rail_uv: float | None = None,
                 saturated_fraction: float = SATURATED_FRACTION,
                 max_bad_fraction: float = MAX_BAD_FRACTION) -> dict[str, str]:
    """Find the bad nodes of a recording whose channels are all nodes, and apply ``policy`` to them.

    Parameters
    ----------
    raw : mne.io.BaseRaw | mne.Epochs
        Preloaded, channels named as nodes (see :func:`eeg_gnn.signal.preprocessing.pick_nodes`); changed in place
        when channels are interpolated. Missing nodes can be added to a Raw only.
    policy : 'raise' | 'drop-recording' | 'interpolate' | 'interpolate-or-drop'
        ``raise`` refuses the recording, naming the bad nodes and the flags that would go on; ``drop-recording``
        raises :class:`BadChannelsError` for the caller to leave the recording out; ``interpolate`` replaces each
        bad node by MNE's spherical-spline interpolation (``interpolate_bads``) from the others' scalp positions:
        the recording's own (e.g. from a BIDS ``electrodes.tsv``) when every node has one, else the template's;
        ``interpolate-or-drop`` interpolates where at most ``max_bad_fraction`` of the nodes are bad and raises
        :class:`BadChannelsError` (leave it out) for the rest. Channels listed in ``raw.info["bads"]`` (e.g. marked
        bad in a BIDS ``channels.tsv``) are bad nodes too.
    source : str
        The file, for messages.
    missing : list of str
        Nodes the recording lacks: bad nodes too (``interpolate`` adds them).
    order : list of str, optional
        The node order once missing nodes are added (default: the recording's, then the missing ones).
    clipping : 'channel' | 'window'
        ``channel``: a node at its rail in at least ``saturated_fraction`` of its samples is bad; ``window``: no
        node is bad for clipping (the caller rejects the windows in which one is at its rail).
    rail_uv : float, optional
        The amplifier's rail in µV (see :func:`rail_mask`).
    saturated_fraction : float
    max_bad_fraction : float
        The largest share of bad nodes that is interpolated (the rebuilt nodes come from the others).

    Returns
    -------
    dict of str to str
        The bad nodes and why (empty when there are none).

    Raises
    ------
    ValueError
        A wrong unit (see :func:`check_units`); bad nodes under ``raise``; more than half the nodes bad under
        ``interpolate``.
    BadChannelsError
        Bad nodes under ``drop-recording``; too many bad nodes under ``interpolate-or-drop``.
    """
    check_option("bad_channels", policy, BAD_CHANNEL_POLICIES)
    check_option("clipping", clipping, CLIPPING)
    data = raw.get_data()
    if data.ndim == 3:  # epochs: each channel over all of them
        data = data.transpose(1, 0, 2).reshape(len(raw.ch_names), -1)
    checks = check_channels(data, raw.ch_names, rail_uv=rail_uv,
                            saturated_fraction=saturated_fraction if clipping == "channel" else None)
    check_units(checks, source)
    checks = check_against_others(data, checks)
    marked = dict.fromkeys((name for name in raw.info["bads"] if name in raw.ch_names),
                           "marked bad in the recording's metadata (e.g. BIDS channels.tsv)")
    bad = {**marked, **bad_nodes(checks), **dict.fromkeys(missing, "missing from the recording")}
    if not bad:
        return bad
    if policy == "raise":
        raise BadChannelsError(
            f"{source} has bad EEG nodes: {describe_bad(bad)}. Pass --bad-channels interpolate to rebuild them "
            "from the other electrodes (spherical splines) or --bad-channels drop-recording to leave such "
            "recordings out (--bad-channels interpolate-or-drop does the first where it can and the second for the "
            "rest).", bad)
    if policy == "drop-recording":
        raise BadChannelsError(f"{source} left out (--bad-channels drop-recording): {describe_bad(bad)}.", bad)
    n_nodes = len(raw.ch_names) + len(missing)
    if n_nodes - len(bad) < max(4, n_nodes * (1 - max_bad_fraction)):
        if policy == "interpolate-or-drop":
            raise BadChannelsError(
                f"{source} left out (--bad-channels interpolate-or-drop): {len(bad)} of {n_nodes} nodes are bad, "
                f"more than --max-bad-fraction {max_bad_fraction:g} allows to rebuild: {describe_bad(bad)}.", bad)
        raise BadChannelsError(
            f"{source}: {len(bad)} of {n_nodes} nodes are bad ({describe_bad(bad)}), too many to interpolate "
            f"from the rest (--max-bad-fraction {max_bad_fraction:g}); pass --bad-channels interpolate-or-drop to "
            "rebuild the recordings that can be and leave such ones out.", bad)
    if missing:
        if not isinstance(raw, mne.io.BaseRaw):
            raise BadChannelsError(f"{source} lacks nodes {', '.join(missing)}: interpolate them in the continuous "
                                   "recording before cutting epochs.", bad)
        info = mne.create_info(list(missing), raw.info["sfreq"], "eeg")
        blank = mne.io.RawArray(np.zeros((len(missing), raw.n_times)), info, verbose="error")
        blank.set_meas_date(raw.info["meas_date"])
        raw.add_channels([blank], force_update_info=True)
        raw.reorder_channels(list(order) if order is not None else raw.ch_names)
    if not _has_positions(raw):
        where = positions(raw.ch_names, kind="scalp") / 1000.0
        montage = mne.channels.make_dig_montage(ch_pos=dict(zip(raw.ch_names, where, strict=True)),
                                                coord_frame="head")
        raw.set_montage(montage, verbose="error")
    raw.info["bads"] = list(bad)
    raw.interpolate_bads(reset_bads=True, origin="auto", verbose="error")
    return bad


def _has_positions(raw: mne.io.BaseRaw) -> bool:
    """Whether every channel of ``raw`` has a finite, non-zero position of its own (a digitised montage)."""
    where = np.array([ch["loc"][:3] for ch in raw.info["chs"]])
    return bool(len(where)) and bool(np.isfinite(where).all()) and bool((np.abs(where).sum(axis=1) > 0).all())
