"""The schedule tick, the chain sensor and the planner it shares with `huracan run`, called directly."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetDep,
    AssetKey,
    DagsterInstance,
    RunRequest,
    RunsFilter,
    SensorResult,
    asset,
    build_schedule_context,
    build_sensor_context,
)

from huracan_core.dates import last_complete_day
from huracan_dagster.defs.pipeline.plan import (
    STEPS,
    TAG_DATE,
    TAG_STEP,
    DayState,
    Generation,
    GraphShapeError,
    StepRequest,
    day_state,
    derive_steps,
    next_steps,
)
from huracan_dagster.defs.pipeline.sensors import chain_sensor
from huracan_dagster.defs.universe.schedules import nightly_universe
from huracan_dagster.partitions import coin_key, daily, date_symbol
from huracan_dagster.runner import execute


def test_schedule_tick_requests_yesterdays_night_from_its_universe(instance: DagsterInstance) -> None:
    ctx = build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 4, 21, 2, 0, tzinfo=UTC)
    )
    request = nightly_universe(ctx)
    assert request.partition_key == "2026-04-20"
    assert request.job_name in (None, "night_job")
    assert request.run_config == {"ops": {"carry_night": {"config": {"universe": True}}}}
    assert request.run_key == "nightly:2026-04-20"


def test_the_scheduled_night_is_one_run_from_universe_to_exports_and_the_sensor_leaves_it_alone(
    instance: DagsterInstance, home: Path
) -> None:
    """The schedule's run materialises the day's universe (its own run) and carries the day in the same
    process: no sensor tick and no second run process between them. While that process lives the sensor
    starts no night of its own for the day; once the day is done it closes it."""
    import os

    from huracan_dagster.defs.pipeline.plan import TAG_GENERATION, latest_generation

    day = date(2026, 4, 20)
    ctx = build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 4, 21, 2, 0, tzinfo=UTC)
    )
    request = nightly_universe(ctx)
    request = RunRequest(
        job_name="night_job",
        partition_key=request.partition_key,
        run_key=request.run_key,
        run_config=request.run_config,
        tags=request.tags,
    )
    assert _night(instance, request)
    gen = latest_generation(instance, day)
    assert gen is not None and len(gen.symbols) >= 1
    universe_run = instance.get_run_by_id(gen.run_id)
    assert universe_run is not None and universe_run.tags["huracan/trigger"] == "night"
    (night,) = instance.get_run_records(RunsFilter(job_name="night_job"))
    assert night.dagster_run.tags[TAG_GENERATION] == gen.run_id  # the sensor counts it among the nights
    assert day_state(instance, day).finished()
    assert (home / "exports" / day.isoformat() / "roster.json").is_file()
    tick = build_sensor_context(instance=instance)
    assert chain_sensor(tick).run_requests == [] and json.loads(tick.cursor)["open"] == []

    # a scheduled night still going (its process alive: here, this one) is left alone by the sensor
    later = date(2026, 4, 21)
    step = StepRequest(
        "universe",
        "universe_job",
        later.isoformat(),
        None,
        "",
        {TAG_DATE: later.isoformat(), TAG_STEP: f"universe:{later}", "huracan/trigger": "night"},
    )
    assert execute(instance, step, {"ops": {"universe": {"config": {"symbols": None, "top_n": 2}}}}).success
    assert instance.get_run_by_id(latest_generation(instance, later).run_id).tags["huracan/pid"] == str(
        os.getpid()
    )
    busy = build_sensor_context(instance=instance, cursor=tick.cursor)
    assert chain_sensor(busy).run_requests == []


def test_steps_are_read_off_the_asset_graph() -> None:
    """The chain is the graph's deps and partition mappings, not a second declaration."""
    shape = [(s.name, s.assets, s.per_coin, s.coin_after, s.day_after, s.gather) for s in STEPS]
    assert shape == [
        ("universe", ("universe",), False, (), (), ()),
        ("candles", ("candles",), True, (), ("universe",), ()),
        ("market_context", ("market_context",), False, (), (), ("candles",)),
        ("features", ("features",), True, ("candles",), ("market_context",), ()),
        ("shared_encoder", ("shared_encoder",), False, (), (), ("features",)),
        ("model", ("model",), True, ("features",), ("shared_encoder",), ()),
        ("roster", ("roster", "exports"), False, (), (), ("model",)),
    ]

    # a new asset in the graph is a new step with no other change; a dependency across daily and
    # date × symbol partitions without the by-date mapping is refused with its name
    from huracan_dagster.graph import ASSETS
    from huracan_dagster.partitions import by_date

    @asset(partitions_def=daily, deps=[AssetDep("model", partition_mapping=by_date)])
    def portfolio() -> None: ...

    extended = derive_steps([*ASSETS, portfolio])
    assert {s.name for s in extended} == {s.name for s in STEPS} | {"portfolio"}
    assert next(s for s in extended if s.name == "portfolio").gather == ("model",)

    @asset(partitions_def=date_symbol, deps=["roster"])
    def broken() -> None: ...

    with pytest.raises(GraphShapeError, match="broken depends on roster"):
        derive_steps([*ASSETS, broken])


def _universe(instance: DagsterInstance, day: str, top_n: int) -> None:
    step = StepRequest(
        "universe", "universe_job", day, None, "", {TAG_DATE: day, TAG_STEP: f"universe:{day}"}
    )
    outcome = execute(instance, step, {"ops": {"universe": {"config": {"symbols": None, "top_n": top_n}}}})
    assert outcome.success, outcome.error


def _night(instance: DagsterInstance, request: RunRequest) -> bool:
    """Execute a requested night run in this process, as the daemon's run worker would."""
    from huracan_dagster.definitions import defs

    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(
        partition_key=request.partition_key,
        instance=instance,
        tags=dict(request.tags),
        run_config=request.run_config or None,
        raise_on_error=False,
    ).success


def test_one_night_run_carries_the_day_with_a_run_per_coin_and_step(
    instance: DagsterInstance, home: Path
) -> None:
    """The sensor asks for one `night_job` run per open day; that run executes every step as its own
    run (one per coin for per-coin steps), so each date × coin partition keeps its own run."""
    day = last_complete_day().isoformat()
    _universe(instance, day, 3)

    ctx = build_sensor_context(instance=instance)
    result = chain_sensor(ctx)
    assert isinstance(result, SensorResult)
    added = [s for r in result.dynamic_partitions_requests for s in r.partition_keys]
    assert len(added) == 3 and all(s.endswith("-USDT") for s in added)
    gen = day_state(instance, date.fromisoformat(day)).generation
    assert [(r.job_name, r.partition_key, r.run_key) for r in result.run_requests] == [
        ("night_job", day, f"{gen.run_id}:night")
    ]
    assert json.loads(ctx.cursor)["open"] == [day]

    instance.add_dynamic_partitions("symbols", added)
    assert _night(instance, result.run_requests[0])
    state = day_state(instance, date.fromisoformat(day))
    assert state.finished()
    for asset_name in ("candles", "features", "model"):
        runs = instance.get_run_records(RunsFilter(job_name=f"{asset_name}_job"))
        assert sorted(r.dagster_run.tags["dagster/partition"] for r in runs) == sorted(
            f"{day}|{s}" for s in added
        )
    assert (home / "exports" / day / "roster.json").is_file()
    closed = build_sensor_context(instance=instance, cursor=ctx.cursor)
    assert chain_sensor(closed).run_requests == [] and json.loads(closed.cursor)["open"] == []


def test_the_scheduled_night_leaves_a_day_to_the_live_huracan_run_carrying_it(
    instance: DagsterInstance, home: Path
) -> None:
    """A `huracan run` for yesterday started just before 02:00 is carrying the day (its process, here
    this one, is alive): the scheduled night runs no step beside it."""
    from huracan_dagster.runner import TRIGGER_CLI, materialise_universe

    day = date(2026, 4, 20)
    requested = {"symbols": None, "top_n": 2}
    assert materialise_universe(instance, day, requested, TRIGGER_CLI).success
    request = nightly_universe(
        build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 4, 21, 2, 0, tzinfo=UTC)
        )
    )
    request = RunRequest(
        job_name="night_job",
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
    )
    assert _night(instance, request)
    assert instance.get_run_records(RunsFilter(job_name="candles_job")) == []
    assert not day_state(instance, day).finished()


def test_a_night_in_flight_is_waited_for_and_a_dead_one_replaced(
    instance: DagsterInstance, home: Path
) -> None:
    """One night run per day at a time; a night whose process died (kill -9) is marked failed by the next
    tick, with its step runs, and a new night (next run key) picks the day up."""
    import os
    import socket
    import subprocess

    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    from huracan_dagster.defs.pipeline.plan import TAG_GENERATION
    from huracan_dagster.runner import TAG_HOST, TAG_PID

    day = last_complete_day().isoformat()
    _universe(instance, day, 2)
    gen = day_state(instance, date.fromisoformat(day)).generation
    ctx = build_sensor_context(instance=instance)
    assert len(chain_sensor(ctx).run_requests) == 1
    dead = subprocess.Popen(["true"])
    dead.wait()

    def night_run(run_id: str, pid: int, job: str = "night_job", partition: str = day) -> None:
        tags = {TAG_GENERATION: gen.run_id, TAG_DATE: day, TAG_HOST: socket.gethostname(), TAG_PID: str(pid)}
        instance.add_run(
            DagsterRun(
                job_name=job,
                run_id=run_id,
                status=DagsterRunStatus.STARTED,
                tags={**tags, "dagster/partition": partition},
            )
        )

    night_run("alive-night", os.getpid())
    assert chain_sensor(build_sensor_context(instance=instance, cursor=ctx.cursor)).run_requests == []

    instance.delete_run("alive-night")
    night_run("dead-night", dead.pid)
    coin = f"{day}|{gen.symbols[0]}"
    night_run("dead-candles", dead.pid, "candles_job", coin)
    result = chain_sensor(build_sensor_context(instance=instance, cursor=ctx.cursor))
    assert instance.get_run_by_id("dead-night").status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("dead-candles").status == DagsterRunStatus.FAILURE
    assert [r.run_key for r in result.run_requests] == [f"{gen.run_id}:night:1"]


def test_no_night_run_while_huracan_run_carries_the_day(instance: DagsterInstance, home: Path) -> None:
    """A day started by a live `huracan run` on this host is left to it (two carriers would race); once
    that process is gone, the sensor finishes the day."""
    import subprocess

    from huracan_dagster.runner import TAG_PID, TAG_TRIGGER

    day = last_complete_day().isoformat()
    step = StepRequest(
        "universe",
        "universe_job",
        day,
        None,
        "",
        {TAG_DATE: day, TAG_STEP: f"universe:{day}", TAG_TRIGGER: "cli"},
    )
    assert execute(instance, step, {"ops": {"universe": {"config": {"symbols": None, "top_n": 2}}}}).success
    ctx = build_sensor_context(instance=instance)
    assert chain_sensor(ctx).run_requests == []  # this test process plays the live `huracan run`
    dead = subprocess.Popen(["true"])
    dead.wait()
    gen = day_state(instance, date.fromisoformat(day)).generation
    instance.add_run_tags(gen.run_id, {TAG_PID: str(dead.pid)})
    again = chain_sensor(build_sensor_context(instance=instance, cursor=ctx.cursor))
    assert [r.job_name for r in again.run_requests] == ["night_job"]


def test_a_night_leaves_a_backfills_steps_to_it_and_waits_with_a_bound(
    instance: DagsterInstance, home: Path
) -> None:
    """Steps a running backfill targets are not the night's: it waits for them, and a wait that makes no
    progress ends in a clear failure instead of hanging."""
    from huracan_core.config import load_settings
    from huracan_dagster.runner import RunFailed, carry_day

    day = last_complete_day()
    _universe(instance, day.isoformat(), 2)
    gen = day_state(instance, day).generation
    theirs = {("candles", str(coin_key(day, s))) for s in gen.symbols}
    started = time.monotonic()
    with pytest.raises(RunFailed, match="waited 3 s for steps run elsewhere"):
        carry_day(instance, load_settings(), day, deferred=lambda: theirs, wait_limit_s=3)
    assert time.monotonic() - started < 30
    assert not instance.get_run_records(RunsFilter(job_name="candles_job"))


def test_an_old_day_is_carried_like_a_new_one(instance: DagsterInstance, home: Path) -> None:
    """A backfill of `universe` a year ago: the sensor opens that day from the materialisation, whatever
    its date (the old sensor only looked at the last 7 days and the backfill stopped after candles)."""
    old = (last_complete_day().replace(year=last_complete_day().year - 1)).isoformat()
    _universe(instance, old, 2)
    ctx = build_sensor_context(instance=instance)
    result = chain_sensor(ctx)
    assert [(r.job_name, r.partition_key) for r in result.run_requests] == [("night_job", old)]
    assert json.loads(ctx.cursor)["open"] == [old]


def test_a_failed_coin_never_blocks_the_day(instance: DagsterInstance, home: Path, monkeypatch) -> None:
    from huracan_core import stages
    from huracan_core.ledger import RunLedger
    from huracan_core.paths import EngineHome

    day = last_complete_day()
    _universe(instance, day.isoformat(), 3)
    gen = day_state(instance, day).generation
    instance.add_dynamic_partitions("symbols", gen.symbols)
    bad = gen.symbols[0]
    real = stages.candles_stage

    def flaky(settings, d, symbol):  # type: ignore[no-untyped-def]
        if symbol == bad:
            raise RuntimeError("exchange said no")
        return real(settings, d, symbol)

    monkeypatch.setattr(stages, "candles_stage", flaky)
    for step in next_steps(day_state(instance, day), skip_started=False):
        assert step.step == "candles"
        execute(instance, step)
    state = day_state(instance, day)
    assert len(state.failed["candles"]) == 1 and len(state.done["candles"]) == 2
    assert [s.step for s in next_steps(state)] == ["market_context"]
    entry = RunLedger(EngineHome(home), day).get(bad)
    assert entry.status == "failed" and entry.stage == "candles" and entry.error_type == "RuntimeError"

    monkeypatch.setattr(stages, "candles_stage", real)
    for step in next_steps(day_state(instance, day)):
        assert execute(instance, step).success
    # the failed coin's features still run, fast and red, naming the upstream failure (not "missing")
    nxt = next_steps(day_state(instance, day))
    assert sorted(s.symbol for s in nxt) == sorted(gen.symbols) and {s.step for s in nxt} == {"features"}
    outcomes = {s.symbol: execute(instance, s) for s in nxt}
    assert not outcomes[bad].success
    assert "features for" in outcomes[bad].error and "candles failed earlier" in outcomes[bad].error
    assert all(o.success for s, o in outcomes.items() if s != bad)


def test_model_runs_carry_a_max_runtime_tag(home: Path) -> None:
    from huracan_core.config import load_settings

    training = load_settings().training
    day = date(2026, 4, 20)
    key = "2026-04-20|BTC-USDT"
    state = DayState(
        day,
        Generation("run-1", 1, ["BTC-USDT"], {}),
        STEPS,
        done={
            "candles": {key},
            "market_context": {"2026-04-20"},
            "features": {key},
            "shared_encoder": {"2026-04-20"},
        },
    )
    steps = next_steps(state, training=training)
    assert [(s.step, s.partition_key) for s in steps] == [("model", key)]
    # 3 attempts of (start timeout + 45 min) + backoff
    assert steps[0].tags["dagster/max_runtime"] == str(int((45 * 60 + training.start_timeout_s) * 3 + 600))
    assert steps[0].run_key == f"run-1:model:{key}"


def test_coins_outside_the_days_universe_are_no_ops(instance: DagsterInstance, home: Path) -> None:
    """The UI's "Materialize all" targets every coin ever seen: a coin not in that day's universe
    materialises as a no-op that says so, and never fails the day."""
    day = last_complete_day().isoformat()
    _universe(instance, day, 2)
    instance.add_dynamic_partitions("symbols", ["ZZZ-USDT"])
    for job in ("candles_job", "features_job"):
        step = StepRequest(job.removesuffix("_job"), job, str(coin_key(day, "ZZZ-USDT")), "ZZZ-USDT", "", {})
        assert execute(instance, step).success, job
    record = instance.fetch_materializations(AssetKey("features"), limit=1).records[0]
    assert "not in the universe" in record.asset_materialization.metadata["note"].value


def test_a_step_that_ran_before_its_inputs_is_due_again(instance: DagsterInstance, home: Path) -> None:
    """A whole-graph UI backfill launched before the day's coins were known runs `market_context` with no
    candles: that failure is not the day's verdict. Once the candles land, the step is requested again
    (a new run key); a failure that saw all its inputs stays final."""
    day = last_complete_day()
    _universe(instance, day.isoformat(), 2)
    gen = day_state(instance, day).generation
    instance.add_dynamic_partitions("symbols", gen.symbols)
    early = StepRequest("market_context", "market_context_job", day.isoformat(), None, "", {})
    assert not execute(instance, early).success  # no candles yet
    state = day_state(instance, day)
    assert day.isoformat() not in state.failed.get("market_context", set())
    for step in next_steps(state):
        assert step.step == "candles"
        assert execute(instance, step).success
    again = next_steps(day_state(instance, day))
    assert [(s.step, s.run_key.rsplit(":", 1)[-1]) for s in again] == [("market_context", "1")]
    assert execute(instance, again[0]).success
    assert day.isoformat() in day_state(instance, day).done["market_context"]
