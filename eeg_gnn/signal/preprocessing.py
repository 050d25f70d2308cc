"""From a Raw to clean windows on the nodes of a montage, as declarative steps saved with every result.

The steps always run in this order: pick the montage's nodes (drop the rest, report why), deal with bad nodes
(flat, saturated, implausible, far from the others, copied: see :mod:`eeg_gnn.signal.quality`), band-pass, notch,
resample, re-reference, cut fixed-length windows (consecutive, or locked to annotated events:
:mod:`eeg_gnn.signal.events`), reject windows by amplitude.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import mne
import numpy as np

from eeg_gnn.signal.events import check_epoch, event_onsets, event_windows
from eeg_gnn.signal.io import check_finite, source_of
from eeg_gnn.signal.montage import ChannelMatch, match_channels, resolve_nodes
from eeg_gnn.signal.quality import (
    BAD_CHANNEL_POLICIES,
    CLIPPING,
    MAX_BAD_FRACTION,
    SATURATED_FRACTION,
    BadChannelsError,
    apply_policy,
    rail_mask,
)
from eeg_gnn.utils.validation import check_option, check_positive

REFERENCES = ("average", "as-recorded")


@dataclass(frozen=True)
class Preprocessing:
    """Parameters of every preprocessing step; ``to_dict()`` is what results save.

    Parameters
    ----------
    l_freq, h_freq : float | None
        Band-pass edges in Hz (None skips that edge).
    notch : float | None
        Mains frequency in Hz to remove with its harmonics below Nyquist (None: no notch).
    resample_sfreq : float | None
        Common sampling rate in Hz (None keeps the recording's own).
    reference : 'average' | 'as-recorded'
    window_s : float
        Window length in seconds.
    overlap : float
        Fraction of a window shared with the next one, in [0, 1).
    reject_uv : float | None
        Drop windows whose peak-to-peak amplitude on any node exceeds this many microvolts.
    flat_uv : float
        Drop windows in which any node varies by less than this many microvolts peak to peak (0 keeps them).
    bad_channels : 'raise' | 'drop-recording' | 'interpolate' | 'interpolate-or-drop'
        What to do with a recording that has flat, saturated, implausible, far-off or copied nodes (see
        :func:`eeg_gnn.signal.quality.apply_policy`).
    clipping : 'channel' | 'window'
        Judge clipping per channel (a node at its rail in ``saturated_fraction`` of its samples is bad) or per
        window (every window in which a node sits at its rail is rejected, the others kept).
    rail_uv : float | None
        The amplifier's rail in µV (samples at or beyond it are clipped); None: each node's own extremes held for
        three samples or more (see :func:`eeg_gnn.signal.quality.rail_mask`).
    saturated_fraction : float
        Share of a node's samples at its rail from which it is saturated (``clipping='channel'``), in (0, 1].
    max_bad_fraction : float
        Largest share of bad nodes rebuilt by interpolation, in (0, 1).
    epoch : (tmin, tmax) | None
        Event-locked windows: one window from ``onset + tmin`` to ``onset + tmax`` seconds after each annotation
        named in ``events`` (see :mod:`eeg_gnn.signal.events`), instead of consecutive ``window_s`` windows; the
        filters run on the continuous recording first.
    events : tuple of str
        The annotation descriptions that windows are locked to (with ``epoch``).
    """

    l_freq: float | None = 1.0
    h_freq: float | None = 45.0
    notch: float | None = None
    resample_sfreq: float | None = None
    reference: str = "average"
    window_s: float = 4.0
    overlap: float = 0.0
    reject_uv: float | None = None
    flat_uv: float = 0.01
    bad_channels: str = "raise"
    clipping: str = "channel"
    rail_uv: float | None = None
    saturated_fraction: float = SATURATED_FRACTION
    max_bad_fraction: float = MAX_BAD_FRACTION
    epoch: tuple[float, float] | None = None
    events: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_option("reference", self.reference, REFERENCES)
        if self.epoch is not None:
            object.__setattr__(self, "epoch", check_epoch(self.epoch))
            object.__setattr__(self, "events", tuple(self.events))
            if not self.events:
                raise ValueError("Event-locked windows (--epoch) need the events to lock to: pass --event-labels "
                                 "DESCRIPTION=CLASS,... (e.g. --event-labels T1=left,T2=right).")
        check_option("bad_channels", self.bad_channels, BAD_CHANNEL_POLICIES)
        check_option("clipping", self.clipping, CLIPPING)
        if self.rail_uv is not None:
            check_positive("rail_uv", self.rail_uv)
        if not 0 < self.saturated_fraction <= 1:
            raise ValueError(f"'saturated_fraction' must be in (0, 1], got {self.saturated_fraction!r}.")
        if not 0 < self.max_bad_fraction < 1:
            raise ValueError(f"'max_bad_fraction' must be in (0, 1), got {self.max_bad_fraction!r}.")
        check_positive("flat_uv", self.flat_uv, allow_zero=True)
        check_positive("window_s", self.window_s)
        if not 0 <= self.overlap < 1:
            raise ValueError(f"'overlap' must be in [0, 1), got {self.overlap!r}.")
        for name in ("l_freq", "h_freq", "notch", "resample_sfreq", "reject_uv"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        if self.l_freq and self.h_freq and self.l_freq >= self.h_freq:
            raise ValueError(f"'l_freq' ({self.l_freq} Hz) must be below 'h_freq' ({self.h_freq} Hz).")

    def to_dict(self) -> dict:
        """The parameters; ``epoch`` and ``events`` only when windows are event-locked (so that the cache keys of
        consecutive windows stay what they were)."""
        values = asdict(self)
        if self.epoch is None:
            del values["epoch"], values["events"]
        else:
            values["epoch"], values["events"] = list(self.epoch), list(self.events)
        return values

    def steps(self) -> list[dict]:
        """The steps this configuration runs, in order, with their parameters."""
        steps = [{"step": "pick_nodes"}, {"step": "bad_channels", "policy": self.bad_channels,
                                          "clipping": self.clipping, "rail_uv": self.rail_uv,
                                          "saturated_fraction": self.saturated_fraction,
                                          "max_bad_fraction": self.max_bad_fraction}]
        if self.l_freq or self.h_freq:
            steps.append({"step": "bandpass", "l_freq": self.l_freq, "h_freq": self.h_freq})
        if self.notch:
            steps.append({"step": "notch", "freq": self.notch})
        if self.resample_sfreq:
            steps.append({"step": "resample", "sfreq": self.resample_sfreq})
        steps.append({"step": "reference", "reference": self.reference})
        if self.epoch is not None:
            steps.append({"step": "event_windows", "epoch": list(self.epoch), "events": list(self.events)})
        else:
            steps.append({"step": "windows", "window_s": self.window_s, "overlap": self.overlap})
        steps.append({"step": "reject_windows", "reject_uv": self.reject_uv, "flat_uv": self.flat_uv,
                      "clipped": self.clipping == "window"})
        return steps

    def policy_options(self) -> dict:
        """The keyword arguments of :func:`eeg_gnn.signal.quality.apply_policy` this configuration sets."""
        return {"clipping": self.clipping, "rail_uv": self.rail_uv, "saturated_fraction": self.saturated_fraction,
                "max_bad_fraction": self.max_bad_fraction}


@dataclass
class Windows:
    """Windows of one recording.

    Attributes
    ----------
    data : ndarray, shape (n_windows, n_nodes, n_times)
        Signals in volts.
    sfreq : float
    node_names : list of str, length n_nodes
    onsets : ndarray, shape (n_windows,)
        Start of each window in seconds from the start of the recording.
    match : ChannelMatch
        Which channels became nodes and which were dropped, with reasons.
    n_rejected : int
        Windows dropped for amplitude (both reasons).
    n_flat : int
        Of those, the windows in which a node varied less than ``flat_uv``.
    bad_channels : dict of str to str
        Nodes interpolated under the ``interpolate`` policy, and why.
    n_clipped : int
        Of the rejected windows, those in which a node sat at its rail (``clipping='window'``).
    clipped_nodes : dict of str to int
        Each node at its rail in some window, and in how many windows.
    """

    data: np.ndarray
    sfreq: float
    node_names: list[str]
    onsets: np.ndarray
    match: ChannelMatch
    n_rejected: int = 0
    n_flat: int = 0
    bad_channels: dict[str, str] = field(default_factory=dict)
    n_clipped: int = 0
    clipped_nodes: dict[str, int] = field(default_factory=dict)

    @property
    def n_windows(self) -> int:
        return self.data.shape[0]


def pick_nodes(
    raw: mne.io.BaseRaw, nodes: str | Sequence[str] = "10-20", *, on_missing: str = "raise"
) -> tuple[mne.io.BaseRaw, ChannelMatch]:
    """Keep only the channels that are nodes, renamed to canonical names and in node order.

    Returns
    -------
    raw : mne.io.BaseRaw
        A copy with n_nodes EEG channels.
    match : ChannelMatch
    """
    source = source_of(raw)
    match = match_channels(raw.ch_names, nodes, on_missing=on_missing, ch_types=raw.get_channel_types(),
                           source=source)
    if match.n_nodes == 0:
        raise ValueError(f"{source} has none of the requested electrodes; its channels are {raw.ch_names}.")
    picked = raw.copy().pick(match.ch_names)
    picked.rename_channels(dict(zip(match.ch_names, match.node_names, strict=True)))
    picked.set_channel_types(dict.fromkeys(match.node_names, "eeg"), on_unit_change="ignore")
    picked.reorder_channels(match.node_names)
    return picked, match


def make_windows(data: np.ndarray, sfreq: float, window_s: float, overlap: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Cut a continuous signal into fixed-length windows (views, no copy).

    Parameters
    ----------
    data : ndarray, shape (n_nodes, n_times_total)
    sfreq : float
    window_s : float
    overlap : float

    Returns
    -------
    windows : ndarray, shape (n_windows, n_nodes, n_times)
    onsets : ndarray, shape (n_windows,)
        Seconds.
    """
    n_times = int(round(window_s * sfreq))
    step = max(1, int(round(n_times * (1 - overlap))))
    if data.shape[1] < n_times:
        raise ValueError(
            f"The recording lasts {data.shape[1] / sfreq:.2f} s, shorter than one window of {window_s} s."
        )
    view = np.lib.stride_tricks.sliding_window_view(data, n_times, axis=1)[:, ::step]
    starts = np.arange(view.shape[1]) * step
    return np.transpose(view, (1, 0, 2)), starts / sfreq


def preprocess(
    raw: mne.io.BaseRaw | mne.BaseEpochs,
    config: Preprocessing,
    nodes: str | Sequence[str] = "10-20",
    *,
    on_missing: str = "raise",
) -> Windows:
    """Run every step of ``config`` on a recording.

    Parameters
    ----------
    raw : mne.io.BaseRaw | mne.Epochs
        A preloaded recording (see :func:`eeg_gnn.signal.io.read_recording`), or epochs already cut: each epoch is
        then one window (see :func:`preprocess_epochs`).
    config : Preprocessing
    nodes : str | list of str
        Node set or electrode names, in node order.
    on_missing : 'raise' | 'warn' | 'ignore'
        What to do about requested electrodes the recording lacks.

    Returns
    -------
    Windows
    """
    if isinstance(raw, mne.BaseEpochs):
        return preprocess_epochs(raw, config, nodes, on_missing=on_missing)
    source = source_of(raw)
    raw, match = pick_nodes(raw, nodes, on_missing="ignore" if on_missing == "raise" else on_missing)
    check_finite(raw, source)  # a NaN would spread through the filters and every window would be dropped silently
    missing = match.missing if on_missing == "raise" else []
    if missing and config.bad_channels == "raise":
        wanted = resolve_nodes(nodes)
        raise BadChannelsError(
            f"{source} lacks {len(missing)} of the {len(wanted)} nodes: {', '.join(missing)} (it has "
            f"{match.n_nodes}). Pass --bad-channels interpolate to rebuild them from the other electrodes "
            "(spherical splines) or --bad-channels drop-recording to leave such recordings out (in Python: "
            "Preprocessing(bad_channels=...), or preprocess(..., on_missing='warn') to go on without them).",
            dict.fromkeys(missing, "missing from the recording"))
    bad = apply_policy(raw, config.bad_channels, str(source), missing, order=resolve_nodes(nodes),
                       **config.policy_options())
    clipped_at = clipped_samples(raw, config, bad)
    sfreq = raw.info["sfreq"]
    target_sfreq = config.resample_sfreq or sfreq
    for name, edge in (("h_freq", config.h_freq), ("notch", config.notch)):
        if edge is not None and edge >= min(sfreq, target_sfreq) / 2:
            raise ValueError(
                f"{source} is sampled at {sfreq:g} Hz (working rate {target_sfreq:g} Hz): its Nyquist frequency "
                f"{min(sfreq, target_sfreq) / 2:g} Hz is too low for {name}={edge:g} Hz. Lower {name} or the bands."
            )
    if config.l_freq or config.h_freq:
        raw.filter(config.l_freq, config.h_freq, verbose="error")
    if config.notch:
        harmonics = np.arange(config.notch, sfreq / 2, config.notch)
        raw.notch_filter(harmonics, verbose="error")
    if config.resample_sfreq and config.resample_sfreq != sfreq:
        raw.resample(config.resample_sfreq, verbose="error")
    if config.reference == "average":
        raw.set_eeg_reference("average", projection=False, verbose="error")
    data = raw.get_data()
    if config.epoch is not None:
        onsets = event_onsets(raw, config.events)
        if not len(onsets):
            raise ValueError(f"{source} has no annotation {' / '.join(config.events)} to lock windows to (its "
                             f"annotations: {sorted(set(raw.annotations.description)) or 'none'}); check "
                             "--event-labels.")
        windows, onsets = event_windows(data, raw.info["sfreq"], onsets, config.epoch)
        if not len(onsets):
            raise ValueError(f"{source}: no window of --epoch {config.epoch[0]:g},{config.epoch[1]:g} fits in the "
                             "recording around its events.")
    else:
        try:
            windows, onsets = make_windows(data, raw.info["sfreq"], config.window_s, config.overlap)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from exc
    keep, flat = amplitude_mask(windows, config)
    clipped = windows_at_rail(clipped_at, sfreq, onsets, config.window_s)
    keep &= ~clipped.any(axis=1)
    return Windows(
        data=np.ascontiguousarray(windows[keep]),
        sfreq=float(raw.info["sfreq"]),
        node_names=list(raw.ch_names),
        onsets=onsets[keep],
        match=match,
        n_rejected=int((~keep).sum()),
        n_flat=int(flat.sum()),
        bad_channels=bad,
        n_clipped=int(clipped.any(axis=1).sum()),
        clipped_nodes={name: int(n) for name, n in zip(raw.ch_names, clipped.sum(axis=0), strict=True) if n},
    )


def clipped_samples(raw: mne.io.BaseRaw, config: Preprocessing, bad: dict[str, str]) -> np.ndarray:
    """Samples of the recording (before filtering) at which each node sits at its rail, for ``clipping='window'``.

    Returns
    -------
    ndarray of bool, shape (n_nodes, n_times)
        All False under ``clipping='channel'``; nodes rebuilt by interpolation are never at a rail.
    """
    if config.clipping != "window":
        return np.zeros((len(raw.ch_names), 0), bool)
    mask = rail_mask(raw.get_data(), config.rail_uv)
    mask[[raw.ch_names.index(name) for name in bad if name in raw.ch_names]] = False
    return mask


def windows_at_rail(clipped_at: np.ndarray, sfreq: float, onsets: np.ndarray, window_s: float) -> np.ndarray:
    """Which windows hold a clipped sample of which node.

    Parameters
    ----------
    clipped_at : ndarray of bool, shape (n_nodes, n_times)
        At the recording's own rate ``sfreq`` (see :func:`clipped_samples`); no columns: nothing clipped.
    sfreq : float
    onsets : ndarray, shape (n_windows,)
        Seconds.
    window_s : float

    Returns
    -------
    ndarray of bool, shape (n_windows, n_nodes)
    """
    n_nodes, n_times = clipped_at.shape
    if n_times == 0:
        return np.zeros((len(onsets), n_nodes), bool)
    counts = np.concatenate([np.zeros((n_nodes, 1), int), np.cumsum(clipped_at, axis=1)], axis=1)
    starts = np.clip(np.floor(onsets * sfreq).astype(int), 0, n_times)
    stops = np.clip(np.ceil((onsets + window_s) * sfreq).astype(int), 0, n_times)
    return (counts[:, stops] - counts[:, starts]).T > 0


def amplitude_mask(windows: np.ndarray, config: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """Which windows pass amplitude rejection, and which were rejected for a flat node.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_nodes, n_times)
        Volts.

    Returns
    -------
    keep, flat : ndarray of bool, shape (n_windows,)
    """
    peak_to_peak = np.ptp(windows, axis=2)
    flat = ~np.all(peak_to_peak >= config.flat_uv * 1e-6, axis=1)
    keep = ~flat
    if config.reject_uv is not None:
        keep &= np.all(peak_to_peak <= config.reject_uv * 1e-6, axis=1)
    return keep, flat


def rejection_message(source, n_windows: int, n_flat: int, config: Preprocessing, n_clipped: int = 0) -> str:
    """Why every window of a recording was rejected, naming the flag that relaxes each cause."""
    causes = []
    if n_clipped:
        causes.append(f"{n_clipped} had a node at its rail (--clipping window; --rail-uv sets the rail)")
    if n_flat:
        causes.append(f"{n_flat} had a node varying less than {config.flat_uv:g} µV peak to peak (--flat-uv; "
                      "--flat-uv 0 keeps such windows)")
    if config.reject_uv is not None and n_windows > n_flat + n_clipped:
        causes.append(f"{n_windows - n_flat} exceeded --reject-uv {config.reject_uv:g} µV (raise it, or leave "
                      "--reject-uv out)")
    return f"{source}: all {n_windows} windows were rejected: {'; '.join(causes)}."


def preprocess_epochs(
    epochs: mne.BaseEpochs,
    config: Preprocessing,
    nodes: str | Sequence[str] = "10-20",
    *,
    on_missing: str = "raise",
) -> Windows:
    """Epochs as windows: node picking, bad channels, resampling, reference and amplitude rejection of ``config``.

    Each epoch is one window, so ``window_s`` and ``overlap`` are not used; nor is the band-pass or notch
    filter (filtering short epochs distorts their edges: filter the continuous recording before epoching).

    Parameters
    ----------
    epochs : mne.Epochs
    config : Preprocessing
    nodes : str | list of str
    on_missing : 'raise' | 'warn' | 'ignore'

    Returns
    -------
    Windows
        ``onsets`` are the epochs' starts in seconds: event sample / sfreq + ``tmin``.
    """
    epochs = epochs.copy().load_data()
    picked, match = pick_nodes(epochs, nodes, on_missing=on_missing)
    bad = apply_policy(picked, config.bad_channels, str(source_of(epochs)), **config.policy_options())
    if config.clipping == "window":
        raw_data = picked.get_data()
        clipped = rail_mask(raw_data.transpose(1, 0, 2).reshape(len(picked.ch_names), -1), config.rail_uv)
        clipped = clipped.reshape(len(picked.ch_names), len(picked), -1).any(axis=2).T
        clipped[:, [picked.ch_names.index(name) for name in bad if name in picked.ch_names]] = False
    else:
        clipped = np.zeros((len(picked), len(picked.ch_names)), bool)
    sfreq = picked.info["sfreq"]
    onsets = picked.events[:, 0] / sfreq + picked.tmin  # before resampling, which keeps the events' sample numbers
    if config.resample_sfreq and config.resample_sfreq != sfreq:
        picked.resample(config.resample_sfreq, verbose="error")
    if config.reference == "average":
        picked.set_eeg_reference("average", projection=False, verbose="error")
    data = picked.get_data(copy=True)
    if not np.isfinite(data).all():
        raise ValueError(f"{source_of(epochs)} has NaN or infinite samples.")
    keep, flat = amplitude_mask(data, config)
    keep &= ~clipped.any(axis=1)
    return Windows(data=np.ascontiguousarray(data[keep]), sfreq=float(picked.info["sfreq"]),
                   node_names=list(match.node_names), onsets=np.asarray(onsets, dtype=float)[keep], match=match,
                   n_rejected=int((~keep).sum()), n_flat=int(flat.sum()), bad_channels=bad,
                   n_clipped=int(clipped.any(axis=1).sum()),
                   clipped_nodes={name: int(n) for name, n in zip(picked.ch_names, clipped.sum(axis=0), strict=True)
                                  if n})
