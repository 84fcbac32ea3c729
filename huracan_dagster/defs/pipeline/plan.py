"""The night as a state machine: given what the Dagster instance has recorded for a date, which
step runs come next. The daemon's sensors and `huracan run` both ask this one planner, so the chain
is the same whether a human or the schedule starts it.

A *generation* is one materialisation of `universe` for the date: every step run is tagged with it,
and a step is complete when its assets were materialised after that universe. Re-materialising the
universe (`--force`) starts a new generation; otherwise completed steps are never run twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunsFilter

from huracan_core.config import TrainingSettings
from huracan_dagster.partitions import coin_key

TAG_DATE = "huracan/date"
TAG_STEP = "huracan/step"
TAG_GENERATION = "huracan/generation"

IN_FLIGHT = {
    DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING,
}


@dataclass(frozen=True)
class Step:
    """A run kind. Per-coin steps wait for `coin_after` of the same coin and for the daily `day_after`;
    daily steps wait until every coin of `gather` is complete or failed (and, if `needs_one`, one completed).
    """

    name: str
    job: str
    assets: tuple[str, ...]
    per_coin: bool
    coin_after: str | None = None
    day_after: str | None = None
    gather: str | None = None
    needs_one: bool = True


STEPS = (
    Step("universe", "universe_job", ("universe",), False),
    Step("candles", "candles_job", ("candles",), True),
    Step("market_context", "market_context_job", ("market_context",), False, gather="candles"),
    Step("features", "features_job", ("features",), True, coin_after="candles", day_after="market_context"),
    Step("shared_encoder", "shared_encoder_job", ("shared_encoder",), False, gather="features"),
    Step("model", "model_job", ("model",), True, coin_after="features", day_after="shared_encoder"),
    Step("publish", "publish_job", ("roster", "exports"), False, gather="model", needs_one=False),
)
STEP_BY_NAME = {s.name: s for s in STEPS}


@dataclass(frozen=True)
class StepRequest:
    step: str
    job: str
    partition_key: str
    symbol: str | None
    run_key: str
    tags: dict[str, str]


@dataclass(frozen=True)
class Generation:
    run_id: str
    storage_id: int
    symbols: list[str]
    requested: dict


@dataclass
class DayState:
    day: date
    generation: Generation | None
    done: dict[str, set[str]] = field(default_factory=dict)  # step -> partition keys complete
    failed: dict[str, set[str]] = field(default_factory=dict)
    in_flight: dict[str, set[str]] = field(default_factory=dict)
    started: dict[str, set[str]] = field(default_factory=dict)  # any run at all in this generation

    def keys(self, step: Step) -> list[str]:
        if not step.per_coin:
            return [self.day.isoformat()]
        return [str(coin_key(self.day, s)) for s in (self.generation.symbols if self.generation else [])]

    def blocked(self, step: Step, key: str) -> bool:
        """A coin step that can never run in this generation because an earlier step of it failed."""
        if not step.per_coin:
            if step.gather is None:
                return False
            gathered = STEP_BY_NAME[step.gather]
            keys = self.keys(gathered)
            return (
                step.needs_one
                and all(self.terminal(gathered, k) for k in keys)
                and not any(k in self.done.get(gathered.name, set()) for k in keys)
            )
        if step.day_after is not None:
            day_step, day_key = STEP_BY_NAME[step.day_after], self.day.isoformat()
            if day_key in self.failed.get(day_step.name, set()) or self.blocked(day_step, day_key):
                return True
        if step.coin_after is None:
            return False
        before = STEP_BY_NAME[step.coin_after]
        return key in self.failed.get(before.name, set()) or self.blocked(before, key)

    def terminal(self, step: Step, key: str) -> bool:
        return (
            key in self.done.get(step.name, set())
            or key in self.failed.get(step.name, set())
            or self.blocked(step, key)
        )

    def finished(self) -> bool:
        return self.day.isoformat() in self.done.get("publish", set())


def latest_generation(instance: DagsterInstance, day: date) -> Generation | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("universe"), asset_partitions=[day.isoformat()]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    metadata = record.asset_materialization.metadata if record.asset_materialization else {}
    symbols = metadata["symbols"].value if "symbols" in metadata else []
    requested = metadata["requested"].value if "requested" in metadata else {}
    return Generation(record.run_id, record.storage_id, list(symbols), dict(requested))


def day_state(instance: DagsterInstance, day: date) -> DayState:
    gen = latest_generation(instance, day)
    state = DayState(day, gen)
    if gen is None:
        return state
    materialised = {
        asset: instance.get_materialized_partitions(AssetKey(asset), after_cursor=gen.storage_id)
        for step in STEPS[1:]
        for asset in step.assets
    }
    latest_run: dict[tuple[str, str], DagsterRunStatus] = {}
    for record in instance.get_run_records(RunsFilter(tags={TAG_GENERATION: gen.run_id}), ascending=True):
        tags = record.dagster_run.tags
        step, key = tags.get(TAG_STEP, ":").split(":", 1)
        latest_run[(step, key)] = record.dagster_run.status
    for step in STEPS[1:]:
        for key in state.keys(step):
            status = latest_run.get((step.name, key))
            if status is not None:
                state.started.setdefault(step.name, set()).add(key)
            if all(key in materialised[a] for a in step.assets):
                state.done.setdefault(step.name, set()).add(key)
            elif status in IN_FLIGHT:
                state.in_flight.setdefault(step.name, set()).add(key)
            elif status is not None:
                state.failed.setdefault(step.name, set()).add(key)
    return state


def model_max_runtime_s(training: TrainingSettings) -> int:
    """`dagster/max_runtime` for a model run: every attempt may use its full timeout, plus backoff room.
    Run monitoring then kills a run that outlives its own coin-level timeouts (a stuck process)."""
    return int(training.timeout_minutes * 60 * (training.retries + 1) + 600)


def next_steps(
    state: DayState,
    *,
    attempted: set[str] | None = None,
    skip_started: bool = True,
    exclude: tuple[str, ...] = (),
    training: TrainingSettings | None = None,
) -> list[StepRequest]:
    """Step runs that may start now. `skip_started`: never re-request a step that already has a run in
    this generation (sensor mode); the CLI instead passes the steps it tried in this invocation.
    """
    gen = state.generation
    if gen is None:
        return []
    attempted = attempted or set()
    day_key = state.day.isoformat()
    out: list[StepRequest] = []
    for step in STEPS[1:]:
        if step.name in exclude:
            continue
        for key in state.keys(step):
            step_id = f"{step.name}:{key}"
            if (
                key in state.done.get(step.name, set())
                or key in state.in_flight.get(step.name, set())
                or (skip_started and key in state.started.get(step.name, set()))
                or step_id in attempted
            ):
                continue
            if step.per_coin:
                ready = (step.coin_after is None or key in state.done.get(step.coin_after, set())) and (
                    step.day_after is None or day_key in state.done.get(step.day_after, set())
                )
            else:
                gathered = STEP_BY_NAME[step.gather]
                keys = state.keys(gathered)
                ready = all(state.terminal(gathered, k) for k in keys) and (
                    not step.needs_one or any(k in state.done.get(gathered.name, set()) for k in keys)
                )
            if not ready:
                continue
            out.append(
                StepRequest(
                    step=step.name,
                    job=step.job,
                    partition_key=key,
                    symbol=key.split("|")[1] if step.per_coin else None,
                    run_key=f"{gen.run_id}:{step_id}",
                    tags={
                        TAG_DATE: day_key, TAG_STEP: step_id, TAG_GENERATION: gen.run_id,
                        **({"dagster/max_runtime": str(model_max_runtime_s(training))}
                           if training is not None and step.name == "model" else {}),
                    },
                )
            )
    return out
