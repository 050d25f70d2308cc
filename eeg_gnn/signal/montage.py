"""Electrode names and positions: normalise the names real files use, pick the nodes of a montage in order.

The positions are read from ``montages/positions_1010.tsv`` (MNI millimetres; see ``montages/README.md`` for the
transforms). Every graph in the project orders its nodes as a named node set of ``montages/node_sets.json``.

Bipolar nodes
    Recordings made in a bipolar montage (CHB-MIT's "double banana": ``FP1-F7``, ``F7-T7``, ...) have no channel
    per electrode, and re-referencing cannot recover one. Such a dataset uses the derivations themselves as nodes:
    a node named ``'Fp1-F7'`` (both sides canonical 10-10 names) sits at the midpoint of its two electrodes (the
    straight-line midpoint, in both the scalp and the cortex table) and takes the region of its first electrode.
    Node sets of derivations live in ``node_sets.json`` too; :func:`node_sets` lists the electrode sets and
    ``node_sets(bipolar=True)`` the derivation sets. A recording's bipolar channels are matched only when the
    requested nodes are derivations; otherwise they are dropped as before ("bipolar derivation of two scalp sites").
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from eeg_gnn.utils.resources import resource_dir
from eeg_gnn.utils.validation import check_option

ON_MISSING = ("raise", "warn", "ignore")
_UNKNOWN = "not a 10-20/10-10 electrode name"
POSITION_KINDS = ("cortex", "scalp")
REFERENCE_SUFFIXES = ("REF", "LE", "RE", "AR", "AV", "AVG", "CAR", "A1", "A2", "M1", "M2", "A1A2", "LINKED")
_PREFIXES = re.compile(r"^EEG[\s_:\-]+", re.IGNORECASE)
# an empty name or only dashes/dots, possibly with MNE's running number for duplicates: '-', '--0', '.', ''
_PLACEHOLDER = re.compile(r"[-.\s]*(\d+)?")
_PLACEHOLDER_REASON = "placeholder channel"
# MNE's running number appended to duplicate channel names: 'T8-P8' twice becomes 'T8-P8-0', 'T8-P8-1'
_DUPLICATE_NUMBER = re.compile(r"-\d+$")
_NON_SCALP = [
    (re.compile(r"ECG|EKG", re.I), "ECG channel"),
    (re.compile(r"EOG|HEOG|VEOG", re.I), "EOG channel"),
    (re.compile(r"EMG", re.I), "EMG channel"),
    (re.compile(r"^(STATUS|STI\s?\d*|STIM|TRIGGER|TRIG|EVENT|MARKER|ANNOTATIONS?|EDF ANNOTATIONS)$", re.I),
     "stimulus/status channel"),
    (re.compile(r"^(A1|A2|M1|M2|A2-A1|A1-A2|M2-M1|M1-M2)$", re.I), "ear/mastoid reference, not a scalp site"),
    (re.compile(r"^(SP1|SP2|PG1|PG2|NP1|NP2)$", re.I), "sphenoidal/nasopharyngeal, not a scalp site"),
    (re.compile(r"RESP|SAO2|SPO2|PULSE|PHOTIC|PLETH|TEMP|GSR|IBI|BURSTS|SUPPR|DC\d+", re.I), "non-EEG sensor"),
]


@dataclass(frozen=True)
class Electrode:
    """One 10-10 site: its canonical name, region and positions in MNI millimetres."""

    name: str
    region_code: int
    region: str
    scalp: tuple[float, float, float]
    cortex: tuple[float, float, float]
    cortex_source: str = "projection"


@lru_cache(maxsize=1)
def electrodes() -> dict[str, Electrode]:
    """All electrodes of the positions table, keyed by canonical name, in table order.

    ``cortex_source`` says where the cortical position comes from: ``'okamoto2004'`` (the published cortical
    projection of the 10-20 sites, Okamoto et al. 2004) or ``'projection'`` (ours, see ``montages/README.md``).
    """
    table = {}
    path = resource_dir("montages") / "positions_1010.tsv"
    rows = [line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    for row in rows[1:]:
        column = dict(zip(rows[0], row, strict=True))
        table[column["name"]] = Electrode(
            column["name"], int(column["region_code"]), column["region"],
            tuple(float(column[f"scalp_{axis}"]) for axis in "xyz"),
            tuple(float(column[f"cortex_{axis}"]) for axis in "xyz"), column["cortex_source"])
    return table


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    path = resource_dir("montages") / "aliases.tsv"
    rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(row.split("\t") for row in rows[1:])


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    lookup = {name.upper(): name for name in electrodes()}
    lookup.update({alias.upper(): name for alias, name in _aliases().items()})
    return lookup


@lru_cache(maxsize=1)
def _all_node_sets() -> dict[str, list[str]]:
    return json.loads((resource_dir("montages") / "node_sets.json").read_text())


@lru_cache(maxsize=2)
def node_sets(bipolar: bool = False) -> dict[str, list[str]]:
    """Named, ordered lists of nodes (``'10-20'`` is the 19 electrodes of the 10-20 system).

    Parameters
    ----------
    bipolar : bool
        False: the sets of electrodes. True: the sets of bipolar derivations (``'chbmit-bipolar-18'``), whose
        nodes are named ``'A-B'`` and placed at the midpoint of A and B.
    """
    return {name: nodes for name, nodes in _all_node_sets().items()
            if any("-" in node for node in nodes) == bipolar}


def bipolar_name(name: str) -> str | None:
    """Return the canonical name ``'A-B'`` of a bipolar derivation of two scalp electrodes, else None.

    Tolerates what :func:`normalize_ch_name` tolerates on each side (case, old names, an ``EEG`` prefix) and MNE's
    running number for duplicate channel names (``'T8-P8-0'`` is ``'T8-P8'``). A referential name such as
    ``'Fp1-REF'`` or ``'Fp1-A1'`` is not a derivation of two scalp electrodes.

    Examples
    --------
    >>> bipolar_name("FP1-F7")
    'Fp1-F7'
    >>> bipolar_name("T3-T5-1")
    'T7-P7'
    >>> bipolar_name("Fp1-REF") is None
    True
    """
    stripped = _strip(name)
    parts = stripped.split("-")
    if len(parts) == 3 and _DUPLICATE_NUMBER.search(stripped):
        parts = parts[:2]
    if len(parts) != 2:
        return None
    lookup = _lookup()
    left, right = (lookup.get(part.strip().upper()) for part in parts)
    if left is None or right is None or left == right:
        return None
    return f"{left}-{right}"


def _electrodes_of(node: str) -> list[str]:
    """The electrode(s) a canonical node stands for: itself, or the two sides of a derivation."""
    return node.split("-") if "-" in node else [node]


def resolve_nodes(nodes: str | Sequence[str]) -> list[str]:
    """Turn a node-set name or a list of node names into canonical names, checking each one.

    Parameters
    ----------
    nodes : str | list of str
        A key of :func:`node_sets` (electrodes or bipolar derivations), or explicit electrode names (old names are
        accepted: T3 -> T7), or explicit bipolar derivations ``'A-B'`` of two electrodes (``'FP1-F7'`` ->
        ``'Fp1-F7'``, ``'T3-T5'`` -> ``'T7-P7'``).

    Returns
    -------
    list of str, length n_nodes
    """
    if isinstance(nodes, str):
        every = _all_node_sets()
        return list(every[check_option("nodes", nodes, every)])
    resolved = []
    for name in nodes:
        canonical = normalize_ch_name(name)
        if canonical is None:
            canonical = bipolar_name(name)
        if canonical is None:
            raise ValueError(
                f"{name!r} is not a 10-10 electrode name nor a bipolar derivation 'A-B' of two; known names: "
                f"{', '.join(electrodes())}."
            )
        if canonical in resolved:
            what = "Derivation" if "-" in canonical else "Electrode"
            raise ValueError(f"{what} {canonical!r} is listed twice in nodes {list(nodes)}.")
        resolved.append(canonical)
    return resolved


def _strip(name: str) -> str:
    stripped = _PREFIXES.sub("", name.strip())
    return stripped.strip().rstrip(".").strip()


def normalize_ch_name(name: str) -> str | None:
    """Return the canonical 10-10 name of a channel, or None when it is not a scalp electrode.

    Handles the decorations seen in real files: a type prefix (``EEG Fp1``), a reference suffix (``Fp1-REF``,
    ``Fp1-A1``, ``Fp1-LE``), trailing dots (``Fc5.``, ``Fp1..``), any case (``FP1``), and the old names
    T3/T4/T5/T6 (returned as T7/T8/P7/P8).

    Examples
    --------
    >>> normalize_ch_name("EEG T3-REF")
    'T7'
    >>> normalize_ch_name("EEG A2-A1") is None
    True
    """
    stripped = _strip(name)
    lookup = _lookup()
    if stripped.upper() in lookup:
        return lookup[stripped.upper()]
    if "-" in stripped:
        left, _, right = stripped.partition("-")
        if right.strip().rstrip(".").upper() in REFERENCE_SUFFIXES:
            return lookup.get(left.strip().upper())
    return None


def drop_reason(name: str) -> str:
    """Say why a channel that is not a scalp electrode is not a node."""
    stripped = _strip(name)
    if _PLACEHOLDER.fullmatch(stripped) and not stripped.isdigit():
        return _PLACEHOLDER_REASON
    left, _, right = stripped.partition("-")
    core = left.strip() if right.strip().upper() in REFERENCE_SUFFIXES else stripped
    for pattern, reason in _NON_SCALP:
        if any(pattern.search(text) for text in (name, stripped, core)):
            return reason
    if bipolar_name(name) is not None:
        return "bipolar derivation of two scalp sites, not one node"
    return _UNKNOWN


_GRID_NAME = re.compile(r"^[A-Z]\d{1,2}$")
_GRID_REASON = "cap-grid name (A1, B2, ... as on BioSemi caps), not a 10-20 site"
GRID_MIN_UNKNOWN = 16


def looks_like_cap_grid(ch_names: Sequence[str]) -> bool:
    """True when channels are named by a cap grid (A1..A32, B1..): a C3 there is not the 10-20 C3.

    Decided by at least 16 grid-style names (letter + number) that are not 10-10 names, such as B7 or D12.
    """
    lookup = _lookup()
    grid_only = [n for n in ch_names if _GRID_NAME.match(_strip(n)) and _strip(n).upper() not in lookup]
    return len(grid_only) >= GRID_MIN_UNKNOWN


@dataclass
class ChannelMatch:
    """Which channels of a recording became which nodes, and what was left out.

    Attributes
    ----------
    node_names : list of str, length n_nodes
        Canonical names of the matched nodes, in the order of the requested node set.
    ch_names : list of str, length n_nodes
        The recording's own channel names for those nodes, in the same order.
    missing : list of str
        Requested nodes the recording does not have.
    dropped : dict of str to str
        Channels that are not nodes, with the reason.
    """

    node_names: list[str]
    ch_names: list[str]
    missing: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.node_names)


def match_channels(
    ch_names: Sequence[str],
    nodes: str | Sequence[str] = "10-20",
    *,
    on_missing: str = "raise",
    ch_types: Sequence[str] | None = None,
    source: str = "the recording",
) -> ChannelMatch:
    """Match a recording's channels to the nodes of a montage.

    Parameters
    ----------
    ch_names : list of str, length n_channels
        Channel names as the file has them.
    nodes : str | list of str
        A node-set name (``'10-20'``, ``'chbmit-bipolar-18'``) or the electrodes (or bipolar derivations) wanted,
        in the order the nodes should take. When they are derivations, the recording's bipolar channels are
        matched to them (``'FP1-F7'``, ``'T8-P8-0'`` -> ``'T8-P8'``); otherwise bipolar channels are dropped.
    on_missing : 'raise' | 'warn' | 'ignore'
        What to do when requested nodes are absent: raise a ValueError, warn and go on with the nodes present,
        or go on silently.
    ch_types : list of str, length n_channels, optional
        MNE channel types; a channel typed ``ecg``/``eog``/``emg``/``stim``/``misc`` is never a node.
    source : str
        Named in messages (usually the file path).

    Returns
    -------
    ChannelMatch
    """
    check_option("on_missing", on_missing, ON_MISSING)
    wanted = resolve_nodes(nodes)
    bipolar = any("-" in name for name in wanted)
    found: dict[str, str] = {}
    dropped: dict[str, str] = {}
    grid = looks_like_cap_grid(ch_names)
    for index, ch_name in enumerate(ch_names):
        ch_type = ch_types[index] if ch_types is not None else "eeg"
        canonical = None if grid else normalize_ch_name(ch_name)
        if bipolar and canonical is None and not grid:
            canonical = bipolar_name(ch_name)
        if grid and _GRID_NAME.match(_strip(ch_name)):
            dropped[ch_name] = _GRID_REASON
            continue
        if canonical is None:
            reason = drop_reason(ch_name)
            if reason == _UNKNOWN and ch_type in ("ecg", "eog", "emg", "stim", "resp", "bio", "misc"):
                reason = f"{ch_type.upper()} channel"
            dropped[ch_name] = reason
        elif canonical in found:
            dropped[ch_name] = f"duplicate of {canonical} ({found[canonical]!r})"
        elif canonical not in wanted:
            dropped[ch_name] = f"{canonical} is not among the requested nodes"
        else:
            found[canonical] = ch_name
    node_names = [name for name in wanted if name in found]
    missing = [name for name in wanted if name not in found]
    if missing and on_missing != "ignore":
        message = (
            f"{source} lacks {len(missing)} of the {len(wanted)} requested {'nodes' if bipolar else 'electrodes'}: {', '.join(missing)} "
            f"(it has {len(node_names)}: {', '.join(node_names) or 'none'}). Pass on_missing='warn' or 'ignore' "
            "to go on with the electrodes present, or request only those it has."
        )
        if on_missing == "raise":
            raise ValueError(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return ChannelMatch(node_names, [found[name] for name in node_names], missing, dropped)


def positions(node_names: Sequence[str], kind: str = "cortex") -> np.ndarray:
    """Positions of electrodes in MNI millimetres; a bipolar node ``'A-B'`` sits at the midpoint of A and B.

    Parameters
    ----------
    node_names : list of str, length n_nodes
    kind : 'cortex' | 'scalp'
        Cortical projection (for drawing on a brain surface) or scalp position.

    Returns
    -------
    ndarray, shape (n_nodes, 3)
    """
    check_option("kind", kind, POSITION_KINDS)
    table = electrodes()
    names = resolve_nodes(node_names)
    return np.array([np.mean([getattr(table[e], kind) for e in _electrodes_of(name)], axis=0) for name in names],
                    dtype=float).reshape(len(names), 3)


def regions(node_names: Sequence[str]) -> list[tuple[int, str]]:
    """Region code and name (1 prefrontal ... 6 occipital) of each electrode, in order.

    A bipolar node ``'A-B'`` takes the region of its first electrode A.
    """
    table = electrodes()
    first = [_electrodes_of(name)[0] for name in resolve_nodes(node_names)]
    return [(table[name].region_code, table[name].region) for name in first]
