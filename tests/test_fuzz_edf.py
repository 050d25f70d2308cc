"""Property test: mutated headers and truncations of a real EEGMAT EDF never give a traceback or hang.

Every mutant is described by ``eeg-gnn info``: either it loads, and then lasts what its header declares, or the
command exits 2 with one line naming the file. Bounded examples and a fixed seed keep the test deterministic and
under a minute.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from eeg_gnn.cli.main import main

RECORDING = "Subject00_2.edf"
SECONDS_PER_EXAMPLE = 20
FIXED = {"version": (0, 8), "start_date": (168, 8), "start_time": (176, 8), "header_bytes": (184, 8),
         "reserved": (192, 44), "n_records": (236, 8), "record_duration": (244, 8), "n_signals": (252, 4)}
PER_SIGNAL = {"label": 16, "transducer": 80, "dimension": 8, "physical_min": 8, "physical_max": 8,
              "digital_min": 8, "digital_max": 8, "prefiltering": 80, "samples_per_record": 8, "reserved": 32}

numbers = st.one_of(st.integers(-(10**7), 10**8).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["", "-", "1e9", "0", "-1", "+5", "0x10", "1,5", "nan", "61", "63", "2", "499"]))
values = st.one_of(numbers.map(lambda text: text.encode("latin-1", "replace")), st.binary(max_size=16))
mutations = st.lists(st.one_of(
    st.tuples(st.just("fixed"), st.sampled_from(sorted(FIXED)), st.just(0), values),
    st.tuples(st.just("signal"), st.sampled_from(sorted(PER_SIGNAL)), st.integers(0, 21), values),
), max_size=3)


@pytest.fixture(scope="module")
def original(eegmat_dir) -> bytes:
    return (eegmat_dir / RECORDING).read_bytes()


def mutate(data: bytes, changes, cut_at: int | None) -> bytes:
    out = bytearray(data)
    n_signals = int(data[252:256])
    for kind, name, index, value in changes:
        if kind == "fixed":
            start, width = FIXED[name]
        else:
            offset = 256 + sum(w for f, w in PER_SIGNAL.items() if list(PER_SIGNAL).index(f) < list(PER_SIGNAL).index(name)) * n_signals
            start, width = offset + index * PER_SIGNAL[name], PER_SIGNAL[name]
        out[start:start + width] = value[:width].ljust(width, b" ")
    return bytes(out if cut_at is None else out[:cut_at])


def declared_seconds(data: bytes) -> float | None:
    """n_records x record duration as the header states them; None when unreadable or not given (-1)."""
    try:
        n_records, duration = int(data[236:244]), float(data[244:252])
    except ValueError:
        return None
    return n_records * duration if n_records >= 0 else None


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"eeg-gnn info took more than {SECONDS_PER_EXAMPLE} s")


@seed(20261201)
@settings(max_examples=120, deadline=None, database=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(changes=mutations, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_info_on_mutants_loads_as_declared_or_fails_in_one_line(original, changes, cut):
    cut_at = None if cut is None else int(cut * len(original))
    data = mutate(original, changes, cut_at)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.edf"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(SECONDS_PER_EXAMPLE)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["info", str(path)])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    if code != 0:
        assert code == 2, err.getvalue()
        assert err.getvalue().count("\n") == 1 and str(path) in err.getvalue(), err.getvalue()
        return
    match = re.search(r"duration: +\S+ s \((\d+) samples\)\nsfreq: +(\S+) Hz", out.getvalue())
    n_times, sfreq = int(match.group(1)), float(match.group(2))
    declared = declared_seconds(data)
    if declared is not None:
        assert abs(n_times / sfreq - declared) <= 1 / sfreq, (n_times, sfreq, declared)
