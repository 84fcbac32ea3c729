"""Execute one run of the night's assets in this process, as a run the Dagster UI can re-execute.

Why not `materialize()` / `execute_in_process` / `execute_job`: they record runs without a code-location
origin, and the UI's Re-execute on such a run fails (`CheckError: Expected non-None value`, the parent
run's `remote_job_origin`). Here the run is created with the origin of this code location as the
webserver and daemon load it (location `huracan`, repository `__repository__`, the implicit asset job),
then executed in this process exactly as a run worker executes a launched run.

Private Dagster imports (the only ones in the project), because Dagster offers no public call for this:
`dagster._core.remote_origin` (the origin classes a launched run carries),
`dagster._core.definitions.reconstruct` (the code location's repository, reconstructable by module: the
public `reconstructable`/`build_reconstructable_job` wrap one job in a repository of its own, and the
implicit asset job's reserved name refuses that), and `dagster._core.execution.api.execute_run` (what the
run worker calls on a run that already exists).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from dagster import AssetKey, DagsterInstance, DagsterRun
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    LoadableTargetOrigin,
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)

MODULE = "huracan_dagster.definitions"
LOCATION = "huracan"  # workspace.yaml's location_name and pyproject's [tool.dagster] code_location_name
REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"
# the terminal shows the night's progress bar, its table and one line per failure; each run's full event
# log (step failures with their stack traces) is in the instance, the engine's own log in logs/
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _origin() -> RemoteJobOrigin:
    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name=MODULE, working_directory=os.getcwd()
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(loadable_target_origin=target, location_name=LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY), ASSET_JOB)


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    error: str | None
    interrupted: str | None = None  # "SIGTERM" / "SIGINT" when a signal stopped the run


def _error_of(instance: DagsterInstance, run: DagsterRun) -> str | None:
    """The first step failure's message (the innermost error Dagster wrapped), else the run failure's."""
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            if user is not None and user.description:
                return user.description.strip()[:2000]
            while error.cause is not None:
                error = error.cause
            return error.message.strip()[:2000]
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is not None and event.is_run_failure:
            return (record.message or "run failed").strip()[:2000]
    return None


def execute(
    instance: DagsterInstance,
    assets: tuple[str, ...],
    *,
    tags: dict[str, str],
    run_config: dict | None = None,
) -> RunOutcome:
    """Materialise `assets` for the partition (range) named in `tags`, as one run, in this process."""
    job = ReconstructableRepository.for_module(MODULE, "defs", os.getcwd()).get_reconstructable_job(ASSET_JOB)
    selection = {AssetKey(a) for a in assets}
    config = {**QUIET, **(run_config or {})}
    run = instance.create_run_for_job(
        job_def=job.get_definition(),
        run_config=config,
        tags=tags,
        asset_selection=selection,
        remote_job_origin=_origin(),
        job_code_origin=job.get_python_origin(),
    )
    result = execute_run(job.get_subset(asset_selection=selection), run, instance, raise_on_error=False)
    ended = instance.get_run_by_id(run.run_id) or run
    if result.success:
        return RunOutcome(run.run_id, True, None)
    error = _error_of(instance, ended)
    return RunOutcome(run.run_id, False, error, _signal_in(instance, run.run_id))


def _signal_in(instance: DagsterInstance, run_id: str) -> str | None:
    """The signal that stopped a run: SIGTERM arrives in a Ray driver as SystemExit(15) (Ray's handler),
    Ctrl-C as KeyboardInterrupt or Dagster's interrupt."""
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.is_step_failure or not event.step_failure_data:
            continue
        error = event.step_failure_data.error
        while error is not None:
            if error.cls_name == "SystemExit" and error.message.strip().endswith(("15", "143")):
                return "SIGTERM"
            if error.cls_name in ("KeyboardInterrupt", "DagsterExecutionInterruptedError"):
                return "SIGINT"
            error = error.cause
    return None
