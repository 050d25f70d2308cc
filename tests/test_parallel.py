"""Tasks run here, in worker threads, in joblib worker processes or on a real Dask cluster give the same results;
worker threads share one set of thread limits; killed workers are retried; a run that cannot finish fails in one
line and leaves no run directory."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.utils import parallel
from eeg_gnn.utils.parallel import Executor, ParallelError

from .conftest import N_PER_CLASS, run_script

distributed = pytest.importorskip("distributed")
# Workers import this module to find the task functions: the pipeline (torch) is imported inside the tests only.


def square_plus(item: int, *, offset: np.ndarray) -> float:
    return float(item**2 + offset.sum())


def die_once(item: int, *, marker_dir: str, every_worker: bool = False) -> int:
    """Kill the worker process running this task (or, with ``every_worker``, every worker of the cluster at once,
    so that every copy of the scattered inputs is lost with them) the first time item 1 runs."""
    marker = Path(marker_dir) / f"{item}.started"
    if item == 1 and not marker.exists():
        marker.write_text(str(os.getpid()))
        if every_worker:
            from distributed import get_client

            for pid in get_client().run(os.getpid).values():
                if pid != os.getpid():
                    os.kill(pid, 9)
        os._exit(1)
    return item * 10


def always_die(item: int) -> int:
    os._exit(1)


@pytest.fixture(scope="module")
def cluster():
    """A real distributed.LocalCluster of 2 worker processes on this machine, stopped after the module; a task
    that kills two workers is given up (Dask's default is three)."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as local:
        yield local


def test_every_executor_returns_the_serial_results_in_task_order(cluster):
    items, shared = list(range(7)), {"offset": np.arange(5.0)}
    expected = [square_plus(i, offset=shared["offset"]) for i in items]
    for executor in (Executor(), Executor(n_jobs=2), Executor(n_jobs=2, prefer="processes"),
                     Executor(scheduler=cluster.scheduler_address)):
        seen = []
        results = executor.map(square_plus, items, shared=shared, progress=False,
                               on_result=lambda index, result, seen=seen: seen.append(index))
        assert results == expected, executor
        assert sorted(seen) == items


def thread_limits(_item, *, barrier):
    """The limits a task sees, after another task's own limited_threads context has come and gone."""
    import threading

    import torch
    from threadpoolctl import threadpool_info

    from eeg_gnn.utils.parallel import limited_threads

    with limited_threads(2):  # inside the executor's limit of 1: kept, neither raised nor restored on leaving
        barrier.wait(timeout=30)  # both tasks inside at once
    barrier.wait(timeout=30)  # and both out again
    blas = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    return threading.current_thread().name.startswith("eeg-gnn"), torch.get_num_threads(), blas


def test_worker_threads_share_the_process_limits_and_the_limits_are_restored_after():
    """Limits are settings of the process: one worker thread leaving its limited_threads context must not lift
    them for another still running, and the caller's limits come back when the tasks are done."""
    import threading

    import torch
    from threadpoolctl import threadpool_info

    def blas():
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    before_torch, before_blas = torch.get_num_threads(), blas()
    results = Executor(n_jobs=2).map(thread_limits, [0, 1], shared={"barrier": threading.Barrier(2)},
                                     progress=False)
    assert results == [(True, 1, {1})] * 2
    assert (torch.get_num_threads(), blas()) == (before_torch, before_blas)


def test_a_blas_pool_loaded_while_worker_threads_run_is_limited_then_restored(monkeypatch):
    """A library imported inside a task (SciPy's own OpenBLAS, loaded with scipy.optimize) brings a pool that the
    process limit did not know: the next limit asked for inside limits it too (unlimited, its spinning threads took
    the other worker's core), and it gets its own count back when the workers are done."""
    from contextlib import nullcontext

    class Pool:
        user_api, filepath, num_threads = "blas", "/late/libopenblas.so", 2

        def set_num_threads(self, n):
            self.num_threads = n

    class Controller:
        lib_controllers = [Pool()]

        def select(self, **_):
            return self

        def limit(self, **_):
            return nullcontext()

    controller = Controller()
    monkeypatch.setattr(parallel, "_thread_pools", lambda: controller)
    with parallel.process_thread_limits(1):
        with parallel.blas_threads(1):
            assert controller.lib_controllers[0].num_threads == 1
    assert controller.lib_controllers[0].num_threads == 2


def test_prefer_names_the_allowed_values():
    with pytest.raises(ValueError, match="prefer.*threads.*processes"):
        Executor(n_jobs=2, prefer="fibres")


def record_task(item: int, *, log: list) -> int:
    log.append(f"task {item}")
    return item


def test_worker_threads_hand_their_freed_memory_back_once_they_have_finished(monkeypatch):
    """glibc keeps what each worker thread freed in that thread's arena: it is trimmed once, after the last task."""
    log: list[str] = []
    monkeypatch.setattr(parallel, "release_freed_memory", lambda: log.append("released"))
    assert Executor(n_jobs=2).map(record_task, range(4), shared={"log": log}, progress=False) == [0, 1, 2, 3]
    assert sorted(log[:-1]) == [f"task {i}" for i in range(4)] and log[-1] == "released"
    log.clear()
    Executor(n_jobs=1).map(record_task, range(2), shared={"log": log}, progress=False)
    assert "released" not in log  # one after the other: no thread arenas to trim


def test_freed_memory_is_released_where_glibc_is_the_c_library():
    import platform

    assert parallel.release_freed_memory() is (platform.libc_ver()[0] == "glibc")


def allocator_settings(_item):
    from eeg_gnn.utils.parallel import keep_freed_memory

    return "MALLOC_TRIM_THRESHOLD_" in os.environ, keep_freed_memory()


def test_dask_tasks_keep_freed_memory_where_the_nanny_trims_it(cluster):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ (every tensor of 128 KiB or more mapped and unmapped); the tasks
    undo it in their worker, and nothing changes in this process, which has no such setting."""
    from eeg_gnn.utils.parallel import keep_freed_memory

    assert Executor(scheduler=cluster.scheduler_address).map(allocator_settings, [0, 1], progress=False) == \
        [(True, True)] * 2
    assert "MALLOC_TRIM_THRESHOLD_" in os.environ or not keep_freed_memory()


def test_a_killed_dask_worker_is_replaced_and_its_task_retried(cluster, tmp_path):
    executor = Executor(scheduler=cluster.scheduler_address)
    results = executor.map(die_once, [0, 1, 2], shared={"marker_dir": str(tmp_path)}, progress=False)
    assert results == [0, 10, 20]
    assert (tmp_path / "1.started").exists()


def test_tasks_whose_scattered_inputs_were_lost_are_submitted_again(tmp_path):
    """Its own cluster, at Dask's default of 3 allowed failures (the module's cluster gives up after 1, and the
    scheduler may count both deaths against the task that killed them)."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 3}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                     silence_logs=logging.ERROR) as local:
        executor = Executor(scheduler=local.scheduler_address)
        results = executor.map(die_once, [0, 1, 2], shared={"marker_dir": str(tmp_path), "every_worker": True},
                               progress=False)
    assert results == [0, 10, 20]
    assert (tmp_path / "1.started").exists()


def test_a_task_that_kills_every_worker_stops_with_one_line(cluster):
    with pytest.raises(ParallelError, match="killed every Dask worker") as excinfo:
        Executor(scheduler=cluster.scheduler_address).map(always_die, [0], progress=False)
    assert "\n" not in str(excinfo.value)


def test_an_unreachable_scheduler_is_one_line_naming_the_flag(monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ParallelError, match="--scheduler tcp://127.0.0.1:9") as excinfo:
        Executor(scheduler="tcp://127.0.0.1:9").map(square_plus, [1], shared={"offset": np.zeros(1)},
                                                    progress=False)
    assert "\n" not in str(excinfo.value) and "--scheduler local" in str(excinfo.value)


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_bad_n_jobs_is_refused(bad):
    from eeg_gnn.pipeline.config import TrainConfig

    with pytest.raises((ValueError, TypeError), match="n.jobs"):
        TrainConfig(n_jobs=bad)


def _config(cohort: Path, out: Path, **overrides):
    from eeg_gnn.pipeline.config import TrainConfig

    values = dict(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(out), epochs=3,
                  patience=3, folds=2, n_boot=50, progress=False, hidden=8, baselines=("logreg",),
                  controls=("no_edges", "shuffled"))
    return TrainConfig(**{**values, **overrides})


def _numbers(run_dir: Path) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    return {k: v for k, v in results.items() if k not in ("seconds", "features_from_cache")}


@pytest.mark.slow
def test_n_jobs_and_a_dask_cluster_give_the_serial_results_json(cohort, tmp_path, cluster):
    from eeg_gnn.pipeline.experiment import run_cv

    serial = run_cv(_config(cohort, tmp_path / "serial", n_jobs=1, use_cache=False))
    # one task per model and fold; threads: graph models with dropout trained at the same time in one process
    threads = run_cv(_config(cohort, tmp_path / "threads", n_jobs=2, use_cache=False, dropout=0.5))
    serial_dropout = run_cv(_config(cohort, tmp_path / "serial_dropout", n_jobs=1, use_cache=False, dropout=0.5))
    joblib = run_cv(_config(cohort, tmp_path / "joblib", n_jobs=2, prefer="processes", use_cache=False))
    dask = run_cv(_config(cohort, tmp_path / "dask", scheduler=cluster.scheduler_address))
    assert dask.results["features_from_cache"] == 2 * N_PER_CLASS  # the workers read the cache the others wrote
    assert _numbers(serial.run_dir) == _numbers(joblib.run_dir) == _numbers(dask.run_dir)
    assert _numbers(threads.run_dir) == _numbers(serial_dropout.run_dir)
    assert (threads.run_dir / "predictions.csv").read_text() == \
        (serial_dropout.run_dir / "predictions.csv").read_text()
    for run in (joblib, dask):
        assert sorted(p.name for p in (run.run_dir / "checkpoints").iterdir()) == \
            sorted(p.name for p in (serial.run_dir / "checkpoints").iterdir())
        assert (run.run_dir / "predictions.csv").read_text() == (serial.run_dir / "predictions.csv").read_text()


@pytest.mark.slow
def test_scheduler_local_starts_and_stops_its_own_cluster(cohort, tmp_path):
    from eeg_gnn.pipeline.experiment import run_cv

    serial = run_cv(_config(cohort, tmp_path / "serial", controls=(), n_jobs=1))
    local = run_cv(_config(cohort, tmp_path / "local", controls=(), scheduler="local"))
    assert _numbers(serial.run_dir) == _numbers(local.run_dir)


def test_a_run_whose_cluster_cannot_finish_fails_in_one_line_and_leaves_nothing(cohort, tmp_path, capsys,
                                                                               monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "runs"
    code, _, err = run_script("train.py", ["--task", "schizophrenia", "--dataset", "folder", "--data-dir",
                                           str(cohort), "--out", str(out), "--quiet", "--epochs", "1",
                                           "--scheduler", "tcp://127.0.0.1:9"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "--scheduler" in err
    assert not out.exists() or list(out.iterdir()) == []


@pytest.fixture
def http_server():
    """An HTTP server on 127.0.0.1 (a Dask dashboard's port, say): it waits for a request and never speaks first."""
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_scheduler_address_at_an_http_server_fails_within_30_s_naming_the_flag(http_server):
    import time

    started = time.monotonic()
    with pytest.raises(ParallelError) as excinfo:
        Executor(scheduler=http_server).map(square_plus, [1], shared={"offset": np.zeros(1)}, progress=False)
    message = str(excinfo.value)
    assert time.monotonic() - started < 30
    assert "\n" not in message and f"--scheduler {http_server}" in message and "no Dask handshake" in message
    assert "--scheduler local" in message


def test_a_service_that_speaks_first_but_not_dask_is_refused():
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def answer():
        connection, _ = listener.accept()
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    with pytest.raises(ParallelError, match=r"answered 'HTTP/1\.1', which is not a Dask scheduler's handshake"):
        parallel.check_dask_scheduler(address)
    listener.close()
