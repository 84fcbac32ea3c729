"""The night as a state machine whose steps are read off the asset graph itself.

Why derive and not declare: the chain that the daemon's sensor and `huracan run` follow must be the
asset graph the UI shows, not a second list beside it that can drift. `derive_steps` walks the graph
in topological order and classifies every dependency by the two partitions definitions it joins:

- per-coin child of a per-coin parent (same date × symbol key): wait for that coin's parent step;
- per-coin child of a daily parent (`by_date` mapping): wait for the day's parent step;
- daily child of a per-coin parent (`by_date` mapping): wait until every coin of the day is terminal;
- daily child of daily parents only, all inside one daily step: runs in that step's run (roster and
  exports publish together), otherwise a step of its own.

A *generation* is one materialisation of the root (`universe`) for the date. A step is *done* when all its
assets were materialised after that universe, *failed* when its latest run since then failed, whoever
launched the run (the sensor, `huracan run`, a UI backfill). A step runs once every step it waits for
is terminal (done or failed): a coin whose upstream failed still gets a fast, red run that names the
upstream failure instead of showing as "missing", and the day's roster and exports always run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    DagsterInstance,
    DagsterRunStatus,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    RunsFilter,
)
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

from huracan_core.config import TrainingSettings
from huracan_dagster.partitions import coin_key

TAG_DATE = "huracan/date"
TAG_STEP = "huracan/step"
TAG_GENERATION = "huracan/generation"
PARTITION_TAG = "dagster/partition"
DATE_DIMENSION_TAG = "dagster/partition/date"

IN_FLIGHT = {
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}
ENDED_BADLY = {DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


class GraphShapeError(Exception):
    """The asset graph has a dependency the planner cannot follow (named in the message)."""


@dataclass(frozen=True)
class Step:
    """One kind of run: the assets it materialises and the steps it waits for (by step name)."""

    name: str
    assets: tuple[str, ...]
    per_coin: bool
    coin_after: tuple[str, ...] = ()
    day_after: tuple[str, ...] = ()
    gather: tuple[str, ...] = ()

    @property
    def job(self) -> str:
        return f"{self.name}_job"

    @property
    def root(self) -> bool:
        return not (self.coin_after or self.day_after or self.gather)


def _per_coin(node_partitions: object) -> bool:
    return isinstance(node_partitions, MultiPartitionsDefinition)


def derive_steps(assets: Sequence[AssetsDefinition]) -> tuple[Step, ...]:
    """The planner's steps, in topological order, from the assets' deps and partition mappings."""
    graph = AssetGraph.from_assets(list(assets))
    step_of: dict[str, str] = {}
    steps: dict[str, Step] = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        name = key.to_user_string()
        coin = _per_coin(node.partitions_def)
        coin_after, day_after, gather = [], [], []
        for parent_key in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            parent = graph.get(parent_key)
            parent_name = parent_key.to_user_string()
            parent_coin = _per_coin(parent.partitions_def)
            mapping = graph.get_partition_mapping(key, parent_key)
            if coin != parent_coin and not (
                isinstance(mapping, MultiToSingleDimensionPartitionMapping)
                and mapping.partition_dimension_name == "date"
            ):
                raise GraphShapeError(
                    f"{name} depends on {parent_name} across daily and date × symbol partitions without the "
                    f"by-date mapping (MultiToSingleDimensionPartitionMapping on 'date'): the planner cannot follow it"
                )
            target = coin_after if coin and parent_coin else gather if parent_coin else day_after
            target.append(step_of[parent_name])
        owners = set(day_after)
        if not coin and not gather and len(owners) == 1 and not steps[next(iter(owners))].per_coin:
            host = steps[next(iter(owners))]
            if not host.root:  # the root starts a generation: what follows it is a step of its own
                steps[host.name] = Step(
                    host.name, (*host.assets, name), False, host.coin_after, host.day_after, host.gather
                )
                step_of[name] = host.name
                continue
        steps[name] = Step(
            name,
            (name,),
            coin,
            tuple(dict.fromkeys(coin_after)),
            tuple(dict.fromkeys(day_after)),
            tuple(dict.fromkeys(gather)),
        )
        step_of[name] = name
    ordered = tuple(steps.values())
    roots = [s for s in ordered if s.root]
    if len(roots) != 1 or roots[0].per_coin:
        raise GraphShapeError(
            f"the night needs exactly one daily root asset, found {[s.name for s in roots]}"
        )
    return ordered


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
    timestamp: float = 0.0


@dataclass
class DayState:
    day: date
    generation: Generation | None
    steps: tuple[Step, ...] = ()
    done: dict[str, set[str]] = field(default_factory=dict)  # step -> partition keys complete
    failed: dict[str, set[str]] = field(default_factory=dict)
    in_flight: dict[str, set[str]] = field(default_factory=dict)
    started: dict[str, set[str]] = field(default_factory=dict)  # any run at all in this generation
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)  # runs per (step, key) so far
    failed_run_created: dict[tuple[str, str], float] = field(default_factory=dict)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def keys(self, step: Step) -> list[str]:
        if not step.per_coin:
            return [self.day.isoformat()]
        return [str(coin_key(self.day, s)) for s in (self.generation.symbols if self.generation else [])]

    def terminal(self, step: str, key: str) -> bool:
        return key in self.done.get(step, set()) or key in self.failed.get(step, set())

    def ready(self, step: Step, key: str) -> bool:
        """Every step `step` waits for is done or failed (for this coin, the day, or all the day's coins)."""
        day_key = self.day.isoformat()
        return (
            all(self.terminal(s, key) for s in step.coin_after)
            and all(self.terminal(s, day_key) for s in step.day_after)
            and all(self.terminal(s, k) for s in step.gather for k in self.keys(self.step(s)))
        )

    def finished(self) -> bool:
        """Every last step of the graph (one nothing else waits for) is done for the day."""
        waited_on = {n for s in self.steps for n in (*s.coin_after, *s.day_after, *s.gather)}
        sinks = [s for s in self.steps if s.name not in waited_on]
        return bool(sinks) and all(k in self.done.get(s.name, set()) for s in sinks for k in self.keys(s))


def latest_generation(instance: DagsterInstance, day: date, root: str = "universe") -> Generation | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(root), asset_partitions=[day.isoformat()]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    metadata = record.asset_materialization.metadata if record.asset_materialization else {}
    symbols = metadata["symbols"].value if "symbols" in metadata else []
    requested = metadata["requested"].value if "requested" in metadata else {}
    return Generation(record.run_id, record.storage_id, list(symbols), dict(requested), record.timestamp)


def _runs_since(instance: DagsterInstance, day: date, since: float) -> list:
    """Every run of the date's partitions (daily or date × symbol) created after `since`, oldest first."""
    after = datetime.fromtimestamp(since, UTC)
    records = []
    for tags in ({PARTITION_TAG: day.isoformat()}, {DATE_DIMENSION_TAG: day.isoformat()}):
        records += instance.get_run_records(RunsFilter(tags=tags, created_after=after), ascending=True)
    return sorted(records, key=lambda r: r.create_timestamp)


def _materialised_at(
    instance: DagsterInstance, asset: str, keys: list[str], after_id: int
) -> dict[str, float]:
    """When each of `keys` of `asset` was last materialised after the generation began (epoch seconds)."""
    if not keys:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=keys, after_storage_id=after_id),
        limit=10 * len(keys) + 10,
    ).records
    out: dict[str, float] = {}
    for record in records:  # newest first
        if record.partition_key is not None:
            out.setdefault(record.partition_key, record.timestamp)
    return out


def day_state(instance: DagsterInstance, day: date, steps: tuple[Step, ...] | None = None) -> DayState:
    steps = steps if steps is not None else STEPS
    gen = latest_generation(instance, day, steps[0].assets[0])
    state = DayState(day, gen, steps)
    if gen is None:
        return state
    day_key = day.isoformat()
    state.done[steps[0].name] = {day_key}  # the generation is the root's materialisation
    terminal_at: dict[tuple[str, str], float] = {(steps[0].name, day_key): gen.timestamp}
    owner = {asset: step for step in steps for asset in step.assets}
    materialised = {
        asset: _materialised_at(instance, asset, state.keys(step), gen.storage_id)
        for step in steps[1:]
        for asset in step.assets
    }
    latest_run: dict[tuple[str, str], Any] = {}
    for record in _runs_since(instance, day, gen.timestamp):
        run = record.dagster_run
        key = run.tags.get(PARTITION_TAG)
        selected = {k.to_user_string() for k in (run.asset_selection or ())}
        names = {owner[a].name for a in selected if a in owner} or {
            s.name for s in steps if s.job == run.job_name
        }
        for name in names:
            latest_run[(name, key)] = record
            state.attempts[(name, key)] = state.attempts.get((name, key), 0) + 1
    for step in steps[1:]:
        for key in state.keys(step):
            record = latest_run.get((step.name, key))
            status = record.dagster_run.status if record is not None else None
            if status is not None:
                state.started.setdefault(step.name, set()).add(key)
            if all(key in materialised[a] for a in step.assets):
                state.done.setdefault(step.name, set()).add(key)
                terminal_at[(step.name, key)] = max(materialised[a][key] for a in step.assets)
            elif status in IN_FLIGHT:
                state.in_flight.setdefault(step.name, set()).add(key)
            elif status in ENDED_BADLY:
                state.failed.setdefault(step.name, set()).add(key)
                terminal_at[(step.name, key)] = record.end_time or record.update_timestamp.timestamp()
                state.failed_run_created[(step.name, key)] = record.create_timestamp.timestamp()
    _forget_premature_failures(state, terminal_at)
    return state


def _forget_premature_failures(state: DayState, terminal_at: dict[tuple[str, str], float]) -> None:
    """A step that failed because it ran before its inputs were ready (a backfill launched with a stale set
    of coins ran `market_context` before the day's candles existed) is not a verdict on the day: once every
    input is terminal, and at least one became so after that run started, the step is due again."""
    day_key = state.day.isoformat()
    for step in state.steps[1:]:
        for key in list(state.failed.get(step.name, set())):
            inputs = [(s, key) for s in step.coin_after] + [(s, day_key) for s in step.day_after]
            inputs += [(s, k) for s in step.gather for k in state.keys(state.step(s))]
            created = state.failed_run_created[(step.name, key)]
            if any((s, k) not in terminal_at or terminal_at[(s, k)] > created for s, k in inputs):
                state.failed[step.name].discard(key)
                state.started.get(step.name, set()).discard(key)


def model_max_runtime_s(training: TrainingSettings) -> int:
    """`dagster/max_runtime` for a model run: every attempt may wait its start timeout and use its full
    training timeout, plus backoff room. Run monitoring then kills a run that outlives its own coin-level
    timeouts (a stuck process)."""
    per_attempt = training.timeout_minutes * 60 + training.start_timeout_s
    return int(per_attempt * (training.retries + 1) + 600)


def next_steps(
    state: DayState,
    *,
    attempted: set[str] | None = None,
    skip_started: bool = True,
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
    for step in state.steps[1:]:
        for key in state.keys(step):
            step_id = f"{step.name}:{key}"
            if (
                key in state.done.get(step.name, set())
                or key in state.in_flight.get(step.name, set())
                or (skip_started and key in state.started.get(step.name, set()))
                or step_id in attempted
                or not state.ready(step, key)
            ):
                continue
            runtime = model_max_runtime_s(training) if training is not None and step.name == "model" else None
            out.append(
                StepRequest(
                    step=step.name,
                    job=step.job,
                    partition_key=key,
                    symbol=key.split("|")[1] if step.per_coin else None,
                    run_key=f"{gen.run_id}:{step_id}"
                    + (f":{n}" if (n := state.attempts.get((step.name, key), 0)) else ""),
                    tags={
                        TAG_DATE: day_key,
                        TAG_STEP: step_id,
                        TAG_GENERATION: gen.run_id,
                        **({"dagster/max_runtime": str(runtime)} if runtime else {}),
                    },
                )
            )
    return out


def _steps() -> tuple[Step, ...]:
    from huracan_dagster.graph import ASSETS

    return derive_steps(ASSETS)


STEPS = _steps()
STEP_BY_NAME = {s.name: s for s in STEPS}
