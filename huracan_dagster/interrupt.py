"""SIGTERM / SIGINT of `huracan run`: leave an honest record and exit within seconds.

On the first signal the process stops its coin workers (their Ray drivers die with them, so Ray
kills their tasks) and force-cancels its own Ray tasks, marks the coins it had in flight failed with
"interrupted" in the day's ledger, marks its in-flight Dagster runs (and those of its workers, found
by the `huracan/host` + `huracan/pid` tags, as `reap_orphans` does after a kill -9) failed, and exits
130 (SIGINT) or 143 (SIGTERM). The clean-up runs on a watcher thread with a hard bound: whatever it
has not done by then, the process exits anyway (a rerun then reaps what is left, like after kill -9).
A second signal exits at once.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from datetime import date
from types import FrameType

from huracan_core.config import Settings
from huracan_core.ledger import RunLedger
from huracan_core.logs import get_logger
from huracan_core.paths import EngineHome

log = get_logger("dagster.interrupt")
CLEANUP_BOUND_S = 8.0
ERROR_TYPE = "Interrupted"
WATCHED = frozenset({signal.SIGINT, signal.SIGTERM})
_fired = threading.Event()
_keep: list[socket.socket] = []  # the wake-up socket pair lives as long as the process


def exit_code(signum: int) -> int:
    return 128 + signum  # 130 for SIGINT, 143 for SIGTERM: what shells report for a signal death


def install(settings: Settings, day: date) -> None:
    """Handle SIGTERM and SIGINT for the rest of this `huracan run` (call from the main thread).

    Why a wake-up fd and a watcher thread rather than a plain handler: Dagster swaps the SIGINT/SIGTERM
    handlers during every in-process run (it turns them into an interrupt of the step, then carries on
    with the next run). CPython writes every handled signal's number to the wake-up fd whichever
    Python handler is current, so the watcher sees the signal even when Dagster's handler ran.
    """
    _fired.clear()
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    _keep.extend([reader, writer])

    def hold(signum: int, frame: FrameType | None) -> None:
        # the main thread starts no more work while the watcher cleans up; it exits the process
        deadline = time.monotonic() + CLEANUP_BOUND_S + 2
        while time.monotonic() < deadline:
            time.sleep(0.1)
        os._exit(exit_code(signum))

    signal.signal(signal.SIGTERM, hold)
    signal.signal(signal.SIGINT, hold)
    threading.Thread(
        target=_watch, args=(reader, settings, day), daemon=True, name="huracan-interrupt"
    ).start()
    atexit.register(_wait_if_fired)


def _watch(reader: socket.socket, settings: Settings, day: date) -> None:
    while True:
        data = reader.recv(64)
        signums = [b for b in data if b in WATCHED]
        if not signums:
            continue
        signum = signums[0]
        code = exit_code(signum)
        if _fired.is_set():
            os._exit(code)  # a second signal: leave now
        _fired.set()
        worker = threading.Thread(target=_cleanup, args=(settings, day, signum), daemon=True)
        worker.start()
        worker.join(CLEANUP_BOUND_S)
        if worker.is_alive():
            sys.stderr.write(
                f"clean-up after {signal.Signals(signum).name} took over {CLEANUP_BOUND_S:g} s: "
                "exiting anyway (a rerun marks what is left)\n"
            )
        sys.stderr.flush()
        os._exit(code)


def _wait_if_fired() -> None:
    """At a normal interpreter exit after a signal (the main thread finished meanwhile), let the
    watcher finish and exit with the signal's code."""
    if _fired.is_set():
        time.sleep(CLEANUP_BOUND_S + 1)


def _cleanup(settings: Settings, day: date, signum: int) -> None:
    name = signal.Signals(signum).name
    clean_up(settings, day, f"interrupted: huracan run (pid {os.getpid()}) received {name}", signal=name)


def clean_up(
    settings: Settings, day: date, message: str, *, own_run: str | None = None, **log_fields: str
) -> None:
    """Stop this process's coin workers and Ray tasks, and mark failed, with `message`, the coins and
    Dagster runs of `day` that it (or its workers) had in flight: a night that ends early, by a signal
    or by an error, leaves nothing "running" behind it. `own_run` (a daemon-launched night's run) is
    left for Dagster to end."""
    workers = multiprocessing.active_children()  # the CoinPool's spawned worker processes
    pids = {str(os.getpid())} | {str(p.pid) for p in workers}
    for proc in workers:
        with contextlib.suppress(
            ProcessLookupError
        ):  # its Ray driver dies with it: Ray kills that job's tasks
            os.kill(proc.pid, signal.SIGKILL)
    cancelled = 0
    training = sys.modules.get("huracan_core.execution.ray_training")
    if training is not None:  # this process's own tasks (a single-worker night trains in-process)
        cancelled = training.cancel_inflight()
    runs = [(i, r) for i, r in _our_runs(day, pids) if r.run_id != own_run]
    coins = _mark_ledger(settings, day, runs, message)
    failed_runs = _fail_runs(runs, message)
    log.error(
        "night interrupted",
        **log_fields,
        workers_stopped=len(workers),
        ray_tasks_cancelled=cancelled,
        coins=sorted(coins),
        runs=failed_runs,
    )
    sys.stderr.write(
        f"\n{message}: stopped {len(workers)} coin worker(s); marked failed: "
        f"{', '.join(sorted(coins)) or 'no coin'} in the ledger, {len(failed_runs)} Dagster run(s)\n"
    )


def _our_runs(day: date, pids: set[str]) -> list:
    """In-flight Dagster runs of `day` started by this process or its coin workers on this host."""
    if not os.environ.get("DAGSTER_HOME"):
        return []
    from dagster import DagsterInstance, RunsFilter

    from huracan_dagster.defs.pipeline.plan import IN_FLIGHT, TAG_DATE
    from huracan_dagster.runner import TAG_HOST, TAG_PID

    instance = DagsterInstance.get()
    records = instance.get_run_records(
        RunsFilter(tags={TAG_DATE: day.isoformat(), TAG_HOST: socket.gethostname()}, statuses=list(IN_FLIGHT))
    )
    return [(instance, r.dagster_run) for r in records if r.dagster_run.tags.get(TAG_PID) in pids]


def _symbol_of(run: object) -> str | None:
    tags = getattr(run, "tags", {})
    if tags.get("dagster/partition/symbol"):
        return str(tags["dagster/partition/symbol"])
    key = str(tags.get("huracan/step", "")).partition(":")[2]
    return key.split("|")[1] if "|" in key else None


def _mark_ledger(settings: Settings, day: date, runs: list, message: str) -> set[str]:
    """Fail the coins of our in-flight per-coin runs and every coin still `running` in the ledger."""
    ledger = RunLedger(EngineHome(settings.home), day)
    stages = {}
    for _, run in runs:
        symbol = _symbol_of(run)
        if symbol:
            stages[symbol] = str(run.tags.get("huracan/step", run.job_name)).partition(":")[0]
    for symbol, entry in ledger.entries().items():
        if entry.status == "running":
            stages.setdefault(symbol, entry.stage or "")
    for symbol, stage in stages.items():
        ledger.update(symbol, status="failed", stage=stage or None, error=message, error_type=ERROR_TYPE)
    return set(stages)


def _fail_runs(runs: list, message: str) -> list[str]:
    done = []
    for instance, run in runs:
        try:
            instance.report_run_failed(run, message)
            done.append(run.run_id)
        except Exception as exc:  # the run ended meanwhile, or the storage is gone: a rerun reaps it
            log.warning("could not mark a run failed", run_id=run.run_id, error=str(exc))
    return done
