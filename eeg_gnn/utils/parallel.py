"""One function over many independent tasks: here, in worker threads or processes, or on a Dask cluster.

The tasks of a run are independent and seeded by what they are (a recording, a fold), not by the order they run
in, so every way of running them gives the same results. :class:`Executor` picks the engine from its settings:

- ``n_jobs=1``, no scheduler: one task after the other, here.
- ``n_jobs=N``: N worker threads of this process (``prefer='threads'``: no start-up cost, the tasks' inputs are
  shared, not copied; the libraries the tasks spend their time in, PyTorch, NumPy and BLAS, release the GIL) or N
  worker processes (``prefer='processes'``: joblib's ``loky`` backend, the engine of MNE and scikit-learn's
  ``n_jobs``).
- ``scheduler='tcp://host:8786'``: the tasks go to a running Dask distributed cluster (``distributed.Client``);
  ``scheduler='local'`` starts a ``distributed.LocalCluster`` of ``n_jobs`` worker processes (at least 2) for the
  run and stops it afterwards. A task whose worker dies is run again on another worker (Dask's scheduler
  reschedules it); a task that keeps killing workers stops the run with :class:`ParallelError`.

Large inputs shared by every task (the windows of a dataset) are shared by worker threads and sent to each worker
process once: joblib memory-maps arrays, Dask scatters them to every worker. Results come back as each task
finishes (``on_result``), so the caller can save them while the rest run, and are returned in task order.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eeg_gnn.utils.validation import check_integer, check_option

LOCAL = "local"
#: Seconds to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT_S = 20
#: Seconds to wait for a TCP connection to a scheduler's address, then for the handshake it sends first.
HANDSHAKE_TIMEOUT_S = 5
#: The largest first message length a Dask handshake plausibly has (its first 8 bytes, little-endian).
MAX_HANDSHAKE_BYTES = 1 << 20
#: How many times tasks whose scattered inputs were lost with their workers are submitted again.
LOST_DATA_RETRIES = 2


def _thread_pools():
    """threadpoolctl's controller of the thread pools loaded in this process, found again once modules have been
    imported since (a library imported later, such as SciPy's own OpenBLAS, brings its own pool)."""
    return _thread_pools_at(len(sys.modules))


@lru_cache(maxsize=1)
def _thread_pools_at(n_modules: int):
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


#: Executor ``prefer`` values: what the ``n_jobs`` workers on this machine are.
PREFER = ("threads", "processes")

# Thread limits are settings of the whole process, so worker threads must not set and restore them task by task
# (one task's restore would change the limit under another's feet): the executor sets them once for all its
# threads, and limits asked for inside that are already in force.
_limits_lock = threading.Lock()
_process_limit: list[int] = []
#: BLAS pools loaded while a process limit was in force, limited then: their own counts, to restore afterwards.
_limited_later: dict[str, tuple[Any, int]] = {}


def _extend_process_limit() -> bool:
    """Whether a process limit is in force; if so, BLAS pools loaded since it was set are limited too."""
    with _limits_lock:
        if not _process_limit:
            return False
        for pool in _thread_pools().select(user_api="blas").lib_controllers:
            if pool.num_threads != _process_limit[-1] and pool.filepath not in _limited_later:
                _limited_later[pool.filepath] = (pool, pool.num_threads)
                pool.set_num_threads(_process_limit[-1])
        return True


@contextmanager
def blas_threads(n_threads: int):
    """A context in which BLAS (OpenBLAS, MKL) uses at most ``n_threads`` threads.

    Stacks of small matrix products (19 x 512 per window) are fastest on one thread: OpenBLAS's threads cost more
    to wake than they save, and on a busy machine 2 threads were 17 times slower than 1 for the PLV Gram matrices
    of a recording. Entering it costs about 10 µs (the thread pools are found once per process). Inside
    :func:`process_thread_limits` (worker threads of an :class:`Executor`) the limit in force there is kept.
    """
    if _extend_process_limit():
        yield
        return
    with _thread_pools().limit(limits=n_threads, user_api="blas"):
        yield


@contextmanager
def limited_threads(n_threads: int):
    """torch and BLAS limited to ``n_threads`` threads in this process, restored afterwards, so that every way of
    running a run's tasks gives the same numbers. Inside :func:`process_thread_limits` the limit in force there is
    kept."""
    if _extend_process_limit():
        yield
        return
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with blas_threads(n_threads):
            yield
    finally:
        torch.set_num_threads(previous_threads)


def _limit_worker_thread(n_threads: int) -> None:
    """A new thread's own OpenMP thread count (a per-thread setting, which starts at one per core, so two worker
    threads on 2 cores ran their larger torch operations on 4 threads: 1.4 times slower)."""
    import torch

    torch.set_num_threads(n_threads)


@contextmanager
def process_thread_limits(n_threads: int):
    """torch and BLAS limited to ``n_threads`` threads for the whole process while worker threads run tasks;
    :func:`limited_threads` and :func:`blas_threads` entered inside (from any thread) keep this limit."""
    with limited_threads(n_threads):
        with _limits_lock:
            _process_limit.append(n_threads)
        try:
            yield
        finally:
            with _limits_lock:
                _process_limit.pop()
                if not _process_limit:
                    for pool, n_own in _limited_later.values():
                        pool.set_num_threads(n_own)
                    _limited_later.clear()


class ParallelError(RuntimeError):
    """The workers could not finish the tasks (a worker died every time it ran a task, or the cluster went away)."""


def _call(function: Callable, index: int, item: Any, shared: dict[str, Any]) -> tuple[int, Any]:
    return index, function(item, **shared)


def _dask_task(function: Callable, index: int, item: Any, shared: dict[str, Any]) -> tuple[int, Any]:
    keep_freed_memory()
    return _call(function, index, item, shared)


#: glibc's ``mallopt`` parameters and the values :func:`keep_freed_memory` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD_BYTES, MMAP_THRESHOLD_BYTES = 256 * 2**20, 32 * 2**20


@lru_cache(maxsize=1)
def _glibc():
    """glibc, where it is this process's C library (not on musl, macOS or Windows), else None."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Let this process's allocator keep freed memory, where Dask's nanny told it to return it at once.

    A Dask nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's threshold for
    allocating with ``mmap`` at 128 KiB: every batch tensor of a training step (64 windows x 19 nodes x 32 channels
    is 152 KiB) is then mapped, faulted in page by page and unmapped again. On this 2-core machine that was 45 % of
    a training task's time in the kernel (a 2-worker ``LocalCluster`` took 55 s for a run the serial code does in
    38 s; 40 s with this). Here glibc keeps up to 256 MiB of freed memory and maps only blocks of 32 MiB or more.
    Done once per process, only where that variable is set and glibc is the C library; returns whether it was done.
    """
    libc = _glibc()
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


def release_freed_memory() -> bool:
    """Hand the memory this process has freed back to the system (glibc's ``malloc_trim``); returns whether glibc
    was there to do it.

    Each worker thread allocates from a glibc arena of its own, and what its tasks freed stays mapped there once
    the thread has ended, so what the main thread allocates next (a run's evaluation and figures) comes on top of
    it. Called when an executor's worker threads have finished: the peak resident memory of the default
    ``train.py --task workload`` run, which is reached in that last phase, went from 576-577 MiB to 551-568 MiB on
    a 2-core machine (2 runs each).
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def usable_cores() -> int:
    """CPU cores this process may use: joblib's count, which heeds the affinity mask and a container's CPU quota."""
    from joblib import cpu_count

    return max(cpu_count(), 1)


def check_scheduler(scheduler: str | None) -> str | None:
    """``None``, ``'local'`` or a scheduler address (``tcp://host:port``, ``tls://...``, ``host:port``)."""
    if scheduler is None or scheduler == LOCAL:
        return scheduler
    if not isinstance(scheduler, str) or not scheduler.strip() or " " in scheduler.strip():
        raise ValueError(f"scheduler must be 'local' or the address of a Dask scheduler such as "
                         f"tcp://10.0.0.5:8786, got {scheduler!r}.")
    return scheduler.strip()


@dataclass(frozen=True)
class Executor:
    """How the tasks of a run are executed.

    Parameters
    ----------
    n_jobs : int
        Workers on this machine (1: none, tasks run here, one after the other); with ``scheduler='local'``, the
        worker processes of the local cluster. ``-1`` is one per CPU core this process may use.
    scheduler : str or None
        None, ``'local'`` or the address of a Dask scheduler.
    prefer : 'threads' | 'processes'
        What the ``n_jobs`` workers are without a scheduler (joblib's ``prefer``): threads of this process, or
        worker processes (loky).
    threads : int
        torch and BLAS threads while worker threads run (:func:`process_thread_limits`); worker processes and
        serial runs leave the limits to the tasks.
    """

    n_jobs: int = 1
    scheduler: str | None = None
    prefer: str = "threads"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.n_jobs != -1:
            check_integer("n_jobs", self.n_jobs, 1, 4096)
        check_option("prefer", self.prefer, PREFER)
        check_integer("threads", self.threads, 1, 4096)
        object.__setattr__(self, "scheduler", check_scheduler(self.scheduler))

    @property
    def workers(self) -> int:
        """Workers this executor starts on this machine (0 for a remote cluster)."""
        if self.scheduler not in (None, LOCAL):
            return 0
        n_jobs = usable_cores() if self.n_jobs == -1 else self.n_jobs
        return max(n_jobs, 2) if self.scheduler == LOCAL else n_jobs

    @property
    def in_threads(self) -> bool:
        """Whether the tasks run in worker threads of this process."""
        return self.scheduler is None and self.workers > 1 and self.prefer == "threads"

    @property
    def serial(self) -> bool:
        return self.scheduler is None and self.workers == 1

    def describe(self) -> str:
        if self.scheduler == LOCAL:
            return f"a local Dask cluster of {self.workers} worker processes"
        if self.scheduler is not None:
            return f"the Dask cluster at {self.scheduler}"
        if self.serial:
            return "this process"
        return f"{self.workers} worker {'threads' if self.in_threads else 'processes (joblib)'}"

    def map(self, function: Callable, items: Sequence, *, shared: dict[str, Any] | None = None,
            desc: str = "tasks", unit: str = "task", progress: bool = True,
            on_result: Callable[[int, Any], None] | None = None) -> list:
        """``[function(item, **shared) for item in items]``, computed by this executor.

        Parameters
        ----------
        function : callable
            A module-level function (workers import it by name).
        items : sequence
            One task each.
        shared : dict, optional
            Keyword arguments every task receives; sent to each worker once.
        desc, unit : str
            The progress bar's label and unit.
        progress : bool
            Show a progress bar.
        on_result : callable, optional
            ``on_result(index, result)``, called here as each task finishes (in the order they finish).

        Returns
        -------
        list
            The results in the order of ``items``.

        Raises
        ------
        ParallelError
            The workers could not finish a task.
        """
        from tqdm.auto import tqdm

        items, shared = list(items), dict(shared or {})
        results: list = [None] * len(items)
        with tqdm(total=len(items), desc=desc, unit=unit, disable=not progress) as bar:
            for index, result in self._run(function, items, shared):
                results[index] = result
                if on_result is not None:
                    on_result(index, result)
                bar.update()
        return results

    def _run(self, function: Callable, items: list, shared: dict) -> Iterable[tuple[int, Any]]:
        if self.scheduler is not None:
            yield from self._run_dask(function, items, shared)
        elif self.serial or len(items) <= 1:
            for index, item in enumerate(items):
                yield _call(function, index, item, shared)
        elif self.in_threads:
            yield from self._run_threads(function, items, shared)
        else:
            yield from self._run_joblib(function, items, shared)

    def _run_threads(self, function: Callable, items: list, shared: dict) -> Iterable[tuple[int, Any]]:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with process_thread_limits(self.threads):
            pool = ThreadPoolExecutor(max_workers=min(self.workers, len(items)), thread_name_prefix="eeg-gnn",
                                      initializer=_limit_worker_thread, initargs=(self.threads,))
            futures = [pool.submit(_call, function, index, item, shared) for index, item in enumerate(items)]
            interrupted = False
            try:
                for future in as_completed(futures):
                    yield future.result()
            except KeyboardInterrupt:
                interrupted = True  # say so now, not once the running tasks end
                raise
            finally:
                pool.shutdown(wait=not interrupted, cancel_futures=True)  # a failed task stops the run
        release_freed_memory()

    def _run_joblib(self, function: Callable, items: list, shared: dict) -> Iterable[tuple[int, Any]]:
        from joblib import Parallel, delayed
        from joblib.externals.loky.process_executor import TerminatedWorkerError

        parallel = Parallel(n_jobs=min(self.workers, len(items)), backend="loky", return_as="generator_unordered")
        try:
            with warnings.catch_warnings():
                # loky replaces a worker whose memory grew (torch's allocator) and says so; the task is unaffected
                warnings.filterwarnings("ignore", message="A worker stopped while some jobs", category=UserWarning)
                yield from parallel(delayed(_call)(function, index, item, shared)
                                    for index, item in enumerate(items))
        except TerminatedWorkerError as exc:
            raise ParallelError(f"A worker process died while running the {function.__name__} tasks (out of "
                                f"memory, or a crash in a library); run again with fewer --n-jobs.") from exc

    def _run_dask(self, function: Callable, items: list, shared: dict) -> Iterable[tuple[int, Any]]:
        """Each item a Dask task; ``shared`` scattered to every worker once.

        Scattered data has no recipe Dask could recompute it from: if every copy is lost (its workers died), the
        scheduler forgets the tasks that need it and their futures are cancelled. The tasks not yet finished are
        then submitted again on newly scattered data, up to :data:`LOST_DATA_RETRIES` times."""
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        pending = dict(enumerate(items))
        with self._client() as client:
            for attempt in range(LOST_DATA_RETRIES + 1):
                futures = []
                try:
                    scattered = {name: client.scatter(value, broadcast=True, hash=False)
                                 for name, value in shared.items()}
                    futures = [client.submit(_dask_task, function, index, item, scattered, pure=False,
                                             key=f"{function.__name__}-{index}-{os.urandom(4).hex()}")
                               for index, item in pending.items()]
                    for future in as_completed(futures):
                        index, result = future.result()
                        del pending[index]
                        yield index, result
                    return
                except KilledWorker as exc:
                    raise ParallelError(f"Task {exc.task} of {function.__name__} killed every Dask worker that ran "
                                        f"it (out of memory, or a crash in a library); the run stopped. Give the "
                                        f"workers more memory, or run with --scheduler local / --n-jobs 1.") from exc
                except (FutureCancelledError, OSError) as exc:
                    if isinstance(exc, OSError) or attempt == LOST_DATA_RETRIES or client.status != "running":
                        raise ParallelError(f"Lost the Dask cluster at {self.scheduler} while running the "
                                            f"{function.__name__} tasks ({type(exc).__name__}: {exc}).") from exc
                finally:
                    client.cancel(futures)

    def _client(self):
        from distributed import Client, LocalCluster

        if self.scheduler == LOCAL:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            return _OwnedClient(Client(cluster), cluster)
        check_dask_scheduler(self.scheduler)
        try:
            return Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ParallelError(f"Could not reach a Dask scheduler at --scheduler {self.scheduler} within "
                                f"{CONNECT_TIMEOUT_S} s ({exc}). Start one (`dask scheduler`, then `dask worker "
                                f"{self.scheduler}` on each machine) or use --scheduler local.") from exc


def check_dask_scheduler(address: str, timeout: float = HANDSHAKE_TIMEOUT_S) -> None:
    """Check that a ``tcp://`` address is a Dask scheduler before a client connects to it.

    A Dask scheduler writes its handshake as soon as a connection opens: a message whose first 8 bytes are its
    length (little-endian), then its frames. Something else at the address (a dashboard's or proxy's HTTP server,
    which waits for a request, or answers with text) would otherwise make the client wait without end or read
    ``HTTP/1.1`` as a frame length. Other protocols (``tls://``, ``ucx://``) are left to the client.

    Raises
    ------
    ParallelError
        One line naming ``--scheduler`` and the address: nothing listens there, nothing answered within
        ``2 * timeout`` s, or what answered is not a Dask scheduler.
    """
    import socket
    import struct

    target = address.removeprefix("tcp://")
    if "://" in target:
        return
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        raise ParallelError(f"--scheduler {address}: the address needs a port, e.g. tcp://10.0.0.5:8786.")
    advice = (f"Give the scheduler's address (`dask scheduler` prints it, port 8786 by default; {port} may be its "
              "dashboard), or use --scheduler local.")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout) as connection:
            connection.settimeout(timeout)
            try:
                first = connection.recv(8)
            except TimeoutError:
                raise ParallelError(f"--scheduler {address} accepted a connection but sent no Dask handshake within "
                                    f"{timeout:g} s: it is not a Dask scheduler. {advice}") from None
    except ParallelError:
        raise
    except OSError as exc:
        raise ParallelError(f"Could not reach a Dask scheduler at --scheduler {address} ({exc}). Start one (`dask "
                            f"scheduler`, then `dask worker {address}` on each machine) or use --scheduler "
                            "local.") from exc
    length = struct.unpack("<Q", first)[0] if len(first) == 8 else 0
    if not 0 < length <= MAX_HANDSHAKE_BYTES:
        seen = first.decode("ascii", "replace") if first.isascii() else first.hex()
        raise ParallelError(f"--scheduler {address} answered {seen!r}, which is not a Dask scheduler's handshake "
                            f"(an HTTP server or another service listens there). {advice}")


class _OwnedClient:
    """A client whose local cluster is closed with it."""

    def __init__(self, client, cluster) -> None:
        self.client, self.cluster = client, cluster

    def __enter__(self):
        return self.client.__enter__()

    def __exit__(self, *exc) -> None:
        try:
            self.client.__exit__(*exc)
        finally:
            self.cluster.close()
